package leads

import (
	"context"
	"errors"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Scorer is the active scoring models and the segments, read once and used
// for many leads: routing a batch, or scoring leads as they arrive. It
// builds leads as routing rules see them: their fields, their segments, and
// their score, grade and MQL under the general model (the active one that
// scores the most leads).
type Scorer struct {
	vs      []*Version
	segs    []*Segment
	general *Version
}

// NewScorer takes the active models and the segments (kept between calls,
// see definitions) and reads which model is the general one.
func NewScorer(ctx context.Context, s *store.Store) (*Scorer, error) {
	vs, segs, err := definitions(ctx, s)
	if err != nil {
		return nil, err
	}
	sc := &Scorer{vs: vs, segs: segs}
	if g, err := pickVersion(ctx, s, 0, ""); err == nil {
		for _, v := range vs {
			if v.ID == g.ID {
				sc.general = v
			}
		}
	} else if !errors.Is(err, crm.ErrNotFound) {
		return nil, err
	}
	return sc, nil
}

// Record is the lead's record as of asOf, worked out from the given events
// without storing anything.
func (sc *Scorer) Record(l *crm.Lead, events []crm.LeadEvent, asOf time.Time) rules.Record {
	sub := NewSubject(l, events, nil)
	sc.record(&sub, scoreSubject(sc.generalOnly(), sc.segs, &sub, asOf))
	return sub.Record
}

// StoredRecords are stored leads as rules see them at their times: Record,
// with the manual segments each is in.
func (sc *Scorer) StoredRecords(ctx context.Context, s *store.Store, ls []*crm.Lead, at []time.Time) ([]rules.Record, error) {
	ids := make([]int64, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	manual, err := manualMembers(ctx, s.DB(), sc.segs, "lead_id IN ("+idList(ids)+")")
	if err != nil {
		return nil, err
	}
	out := make([]rules.Record, len(ls))
	for i, l := range ls {
		sub := NewSubject(l, nil, manual[l.ID])
		sc.record(&sub, scoreSubject(sc.generalOnly(), sc.segs, &sub, at[i]))
		out[i] = sub.Record
	}
	return out, nil
}

func (sc *Scorer) generalOnly() []*Version {
	if sc.general == nil {
		return nil
	}
	return []*Version{sc.general}
}

// record adds the general model's score to the subject's record.
func (sc *Scorer) record(sub *Subject, r scored) {
	if sc.general == nil {
		return
	}
	for _, res := range r.results {
		if res.version == sc.general.ID {
			sub.Record["score"], sub.Record["grade"], sub.Record["mql"] = res.Score, res.Grade, res.MQL
		}
	}
}

// NewLeads is a batch of leads that have just been created, scored and put
// in their segments in memory, to be written in the caller's transaction.
type NewLeads struct {
	sc       *Scorer
	subjects []Subject
	results  []scored
	asOf     time.Time
}

// ScoreNew scores leads that have just been created (they have ids and no
// events yet) with every active model as of asOf, without storing anything.
func (sc *Scorer) ScoreNew(ls []*crm.Lead, asOf time.Time) *NewLeads {
	n := &NewLeads{sc: sc, subjects: make([]Subject, len(ls)), results: make([]scored, len(ls)), asOf: asOf}
	for i, l := range ls {
		n.subjects[i] = NewSubject(l, nil, nil)
		n.results[i] = scoreSubject(sc.vs, sc.segs, &n.subjects[i], asOf)
		sc.record(&n.subjects[i], n.results[i])
	}
	return n
}

// Record is the i-th lead as routing rules see it.
func (n *NewLeads) Record(i int) rules.Record { return n.subjects[i].Record }

// Write stores the leads' scores, why-log lines and segment members, and
// queues the hot-lead alerts they reach, in b's transaction: a new lead's
// score exists exactly when the lead does.
func (n *NewLeads) Write(ctx context.Context, b *store.Bulk) error {
	if len(n.subjects) == 0 {
		return nil
	}
	results := [][]scored{n.results}
	if err := writeWith(ctx, insertRows(b), func(yield func([]scored) bool) { yield(n.results) }, n.asOf, nil); err != nil {
		return err
	}
	return alertHot(ctx, b, n.sc.vs, nil, results, n.subjects, n.asOf)
}

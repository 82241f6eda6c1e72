package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Version is one applied version of a scoring model.
type Version struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Version   int64      `json:"version"`
	File      string     `json:"file"`
	Active    bool       `json:"active"`
	AppliedBy *int64     `json:"applied_by"`
	AppliedAt time.Time  `json:"applied_at"`
	ScoredAt  *time.Time `json:"scored_at"`
	Source    string     `json:"source,omitempty"`
	Leads     int64      `json:"leads"`
	model     *Model
}

// Model is the compiled model of the version.
func (v *Version) Model() *Model { return v.model }

// Apply validates a model document and stores it as the next version of its
// name, the active one, then scores every lead with it, all in one
// transaction: a model that fails to apply leaves the previous version
// active and its scores untouched. Only ops and admin apply models.
func Apply(ctx context.Context, s *store.Store, p crm.Principal, file string, data []byte, asOf time.Time) (*Version, error) {
	defer forgetDefinitions()
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	m, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	v := &Version{Name: m.Doc.Name, File: file, Active: true, AppliedAt: asOf, Source: string(data), model: m}
	if p.UserID != 0 {
		v.AppliedBy = &p.UserID
	}
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		var prev sql.NullInt64
		if err := b.QueryRow(ctx, `SELECT MAX(version) FROM scoring_models WHERE name = $1`, v.Name).Scan(&prev); err != nil {
			return fmt.Errorf("scoring model versions: %w", err)
		}
		v.Version = prev.Int64 + 1
		id, err := b.AllocIDs(ctx, 1)
		if err != nil {
			return err
		}
		v.ID = id
		if _, err := b.Exec(ctx, `UPDATE scoring_models SET active = FALSE WHERE name = $1 AND active`, v.Name); err != nil {
			return fmt.Errorf("retire the previous version: %w", err)
		}
		if _, err := b.Exec(ctx, `INSERT INTO scoring_models (id, name, version, source, file, active, applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7)`,
			v.ID, v.Name, v.Version, v.Source, v.File, v.AppliedBy, v.AppliedAt); err != nil {
			return fmt.Errorf("store the scoring model: %w", err)
		}
		if err := b.Audit(ctx, p, "apply", "scoring_model", v.ID, nil, map[string]any{"name": v.Name, "version": v.Version, "file": v.File}); err != nil {
			return err
		}
		n, err := rescore(ctx, s, b, []*Version{v}, nil, asOf)
		v.Leads = n
		return err
	})
	if err != nil {
		return nil, err
	}
	v.ScoredAt = &asOf
	return v, nil
}

// Active lists the active model versions, compiled, by name (without
// their lead counts: this runs on every write of a lead).
func Active(ctx context.Context, s *store.Store) ([]*Version, error) {
	vs, err := queryVersions(ctx, s.DB(), "0", `WHERE active ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.model, err = Parse(v.File, []byte(v.Source)); err != nil {
			return nil, fmt.Errorf("stored scoring model %s v%d no longer loads: %w", v.Name, v.Version, err)
		}
	}
	return vs, nil
}

// Versions lists every applied version (newest first per name) with how many
// leads it scored. Everyone but the viewer may read the models: reps see why
// their leads score what they do.
func Versions(ctx context.Context, s *store.Store, p crm.Principal) ([]*Version, error) {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return nil, crm.ErrForbidden
	}
	vs, err := versions(ctx, s.DB(), `ORDER BY name, version DESC`)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		// An old version that no longer loads keeps a nil model; its
		// stored scores stay readable all the same.
		if v.model, err = Parse(v.File, []byte(v.Source)); err != nil && v.Active {
			return nil, fmt.Errorf("stored scoring model %s v%d no longer loads: %w", v.Name, v.Version, err)
		}
	}
	return vs, nil
}

// VersionByID is one version with its source.
func VersionByID(ctx context.Context, s *store.Store, p crm.Principal, id int64) (*Version, error) {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return nil, crm.ErrForbidden
	}
	vs, err := versions(ctx, s.DB(), `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("scoring model version %d: %w", id, crm.ErrNotFound)
	}
	vs[0].model, err = Parse(vs[0].File, []byte(vs[0].Source))
	return vs[0], err
}

func versions(ctx context.Context, db *sql.DB, where string, args ...any) ([]*Version, error) {
	return queryVersions(ctx, db, `(SELECT COUNT(*) FROM lead_scores s WHERE s.model_id = m.id)`, where, args...)
}

// queryVersions reads versions; leads is the SQL of their lead count
// ("0" where it is not needed: counting a million scores takes milliseconds).
func queryVersions(ctx context.Context, db *sql.DB, leads, where string, args ...any) ([]*Version, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.id, m.name, m.version, m.file, m.active, m.applied_by, m.applied_at, m.scored_at, m.source,
		`+leads+` FROM scoring_models m `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("scoring models: %w", err)
	}
	defer rows.Close()
	var out []*Version
	for rows.Next() {
		v := &Version{}
		var by sql.NullInt64
		var scored sql.NullTime
		if err := rows.Scan(&v.ID, &v.Name, &v.Version, &v.File, &v.Active, &by, &v.AppliedAt, &scored, &v.Source, &v.Leads); err != nil {
			return nil, err
		}
		if by.Valid {
			v.AppliedBy = &by.Int64
		}
		if scored.Valid {
			v.ScoredAt = &scored.Time
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RescoreAll scores every lead again with every active model as of asOf:
// decay moves on with time even when nothing else happens. It returns the
// number of leads scored (per model).
func RescoreAll(ctx context.Context, s *store.Store, p crm.Principal, asOf time.Time) (int64, error) {
	if !p.Role.SeesAll() {
		return 0, crm.ErrForbidden
	}
	vs, err := Active(ctx, s)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	var n int64
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		for _, v := range vs {
			for _, t := range []string{"lead_score_log", "lead_scores"} {
				if _, err := b.Exec(ctx, `DELETE FROM `+t+` WHERE model_id = $1`, v.ID); err != nil {
					return fmt.Errorf("clear %s: %w", t, err)
				}
			}
		}
		n, err = rescore(ctx, s, b, vs, nil, asOf)
		return err
	})
	return n, err
}

// RescoreLead scores one lead again with every active model; the API and the
// importer call it when a lead is written.
func RescoreLead(ctx context.Context, s *store.Store, leadID int64, asOf time.Time) error {
	return rescoreLeads(ctx, s, []int64{leadID}, asOf, true)
}

// RescoreAfterEvent scores a lead again once one of its events is written.
// Its segments are left as they are: they are filters on the lead's and its
// account's fields, which an event does not change.
func RescoreAfterEvent(ctx context.Context, s *store.Store, leadID int64, asOf time.Time) error {
	return rescoreLeads(ctx, s, []int64{leadID}, asOf, false)
}

// RescoreLeads scores some leads again with every active model.
func RescoreLeads(ctx context.Context, s *store.Store, ids []int64, asOf time.Time) error {
	return rescoreLeads(ctx, s, ids, asOf, true)
}

// rescoreLeads scores leads again, and puts them in their segments again
// when withSegments.
func rescoreLeads(ctx context.Context, s *store.Store, ids []int64, asOf time.Time, withSegments bool) error {
	if len(ids) == 0 {
		return nil
	}
	vs, segs, err := definitions(ctx, s)
	if err != nil || len(vs)+len(segs) == 0 || len(vs) == 0 && !withSegments {
		return err
	}
	// One lead (every API write) is an equality, which both engines answer
	// from the lead_id index; IN lists may scan.
	leadIs := func(col string) string {
		if len(ids) == 1 {
			return fmt.Sprintf("%s = %d", col, ids[0])
		}
		return col + " IN (" + idList(ids) + ")"
	}
	subjects, err := loadSubjects(ctx, s.DB(), `WHERE `+leadIs("l.id"), `WHERE `+leadIs("e.lead_id"), kindsOf(vs))
	if err != nil {
		return err
	}
	manual, err := manualMembers(ctx, s.DB(), segs, leadIs("lead_id"))
	if err != nil {
		return err
	}
	for i := range subjects {
		withManual(&subjects[i], manual)
	}
	before, err := currentScores(ctx, s.DB(), leadIs("lead_id"), vs)
	if err != nil {
		return err
	}
	return s.WithBulk(ctx, func(b *store.Bulk) error {
		for _, t := range []string{"lead_score_log", "lead_scores"} {
			if len(vs) == 0 {
				break
			}
			if _, err := b.Exec(ctx, `DELETE FROM `+t+` WHERE `+leadIs("lead_id")+` AND model_id IN (`+versionIDs(vs)+`)`); err != nil {
				return fmt.Errorf("clear %s: %w", t, err)
			}
		}
		if len(segs) > 0 && withSegments {
			if _, err := b.Exec(ctx, `DELETE FROM lead_segment_members WHERE `+leadIs("lead_id")+keepManual(segs)); err != nil {
				return fmt.Errorf("clear the segment members: %w", err)
			}
		}
		load := b.Load
		if len(ids) <= 20 {
			load = insertRows(b)
		}
		var results [][]scored
		for batch := range pipeline(ctx, vs, segs, slices.Values(subjects), asOf) {
			if !withSegments {
				for i := range batch {
					batch[i].segments = nil // stored already; only the scores are rewritten
				}
			}
			results = append(results, batch)
		}
		if err := writeWith(ctx, load, slices.Values(results), asOf, nil); err != nil {
			return err
		}
		return alertHot(ctx, b, vs, before, results, subjects, asOf)
	})
}

type scoreKey struct{ version, lead int64 }

// currentScores reads the stored grade and MQL of the leads, by version.
// Without alerts it reads nothing: one event's rescore stays as short as it was.
func currentScores(ctx context.Context, db *sql.DB, leadCond string, vs []*Version) (map[scoreKey]scoreRow, error) {
	out := map[scoreKey]scoreRow{}
	if !slices.ContainsFunc(vs, func(v *Version) bool { return len(v.model.Doc.Alerts) > 0 }) {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT model_id, lead_id, grade, mql FROM lead_scores WHERE `+leadCond+` AND model_id IN (`+versionIDs(vs)+`)`)
	if err != nil {
		return nil, fmt.Errorf("current scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r scoreRow
		if err := rows.Scan(&r.model, &r.lead, &r.grade, &r.mql); err != nil {
			return nil, err
		}
		out[scoreKey{r.model, r.lead}] = r
	}
	return out, rows.Err()
}

// alertHot tells each model's alert channels of the leads that have just
// reached an alert's grade or become MQLs, in the write's transaction. The
// dedupe key makes it once per lead, model version and alert.
func alertHot(ctx context.Context, b *store.Bulk, vs []*Version, before map[scoreKey]scoreRow, results [][]scored, subjects []Subject, asOf time.Time) error {
	byID := map[int64]*Version{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	names := map[int64]string{}
	for _, sub := range subjects {
		name := strings.TrimSpace(fmt.Sprint(sub.Record["first_name"]) + " " + fmt.Sprint(sub.Record["last_name"]))
		if c, _ := sub.Record["company"].(string); c != "" {
			name += " (" + c + ")"
		}
		names[sub.ID] = name
	}
	for _, batch := range results {
		for _, sc := range batch {
			for _, r := range sc.results {
				v := byID[r.version]
				old, had := before[scoreKey{r.version, r.LeadID}]
				for i, a := range v.model.Doc.Alerts {
					if a.Event != "" {
						if err := alertEvents(ctx, b, v, i, subjects, r.LeadID, names[r.LeadID], asOf); err != nil {
							return err
						}
						continue
					}
					reached := (a.MQL && r.MQL && (!had || !old.mql)) || (a.Grade != "" && r.Grade == a.Grade && (!had || old.grade != a.Grade))
					if !reached {
						continue
					}
					what := "grade " + a.Grade
					if a.MQL {
						what = "marketing-qualified"
					}
					msg := notify.Message{Channel: a.Channel, Event: "lead.hot",
						DedupeKey: fmt.Sprintf("lead:%d:model:%d:alert:%d", r.LeadID, r.version, i),
						Title:     fmt.Sprintf("Hot lead: %s is %s", names[r.LeadID], what),
						Text:      fmt.Sprintf("%s scores %s under %s (grade %s).", names[r.LeadID], FormatPoints(r.Score), v.Name, r.Grade),
						Fields:    []notify.Field{{Name: "Score", Value: FormatPoints(r.Score)}, {Name: "Grade", Value: r.Grade}},
						Link:      fmt.Sprintf("/leads/%d", r.LeadID),
						Data:      map[string]any{"lead_id": r.LeadID, "model": v.Name, "version": v.Version, "score": r.Score, "grade": r.Grade, "mql": r.MQL},
						At:        asOf}
					if _, _, err := notify.SendIn(ctx, b, msg); err != nil {
						return fmt.Errorf("hot-lead alert %s: %w", a.Channel, err)
					}
				}
			}
		}
	}
	return nil
}

// alertEvents tells a's channel of the lead's recent events of a's kind,
// once per event (the dedupe key has no model version: a new version does
// not tell again).
func alertEvents(ctx context.Context, b *store.Bulk, v *Version, alert int, subjects []Subject, lead int64, name string, asOf time.Time) error {
	i := slices.IndexFunc(subjects, func(s Subject) bool { return s.ID == lead })
	if i < 0 {
		return nil
	}
	a, when := v.model.Doc.Alerts[alert], v.model.alertWhen[alert]
	for _, e := range subjects[i].Events {
		if e.Kind != a.Event || e.OccurredAt.After(asOf) || asOf.Sub(e.OccurredAt) > EventWindow ||
			!when.Match(rules.Record{"kind": e.Kind, "detail": e.Detail, "occurred_at": e.OccurredAt}) {
			continue
		}
		what := strings.ReplaceAll(e.Kind, "_", " ")
		msg := notify.Message{Channel: a.Channel, Event: "lead.hot",
			DedupeKey: fmt.Sprintf("lead:%d:event:%d:%s", lead, e.ID, a.Channel),
			Title:     fmt.Sprintf("Hot lead: %s (%s)", name, what),
			Text:      fmt.Sprintf("%s: %s at %s.", name, what, e.OccurredAt.UTC().Format("2006-01-02 15:04 UTC")),
			Fields:    []notify.Field{{Name: "Event", Value: what}},
			Link:      fmt.Sprintf("/leads/%d", lead),
			Data:      map[string]any{"lead_id": lead, "model": v.Name, "event_id": e.ID, "kind": e.Kind},
			At:        asOf}
		if _, _, err := notify.SendIn(ctx, b, msg); err != nil {
			return fmt.Errorf("hot-lead alert %s: %w", a.Channel, err)
		}
	}
	return nil
}

// rescore scores every lead with vs inside the bulk session b, and works
// out every lead's segments again (segs nil: the stored ones).
func rescore(ctx context.Context, s *store.Store, b *store.Bulk, vs []*Version, segs []*Segment, asOf time.Time) (int64, error) {
	if segs == nil {
		var err error
		if segs, err = loadSegments(ctx, s.DB()); err != nil {
			return 0, err
		}
	}
	if _, err := b.Exec(ctx, `DELETE FROM lead_segment_members WHERE TRUE`+keepManual(segs)); err != nil {
		return 0, fmt.Errorf("clear the segment members: %w", err)
	}
	manual, err := manualMembers(ctx, s.DB(), segs, "")
	if err != nil {
		return 0, err
	}
	stream, errp := streamSubjects(ctx, s.DB(), kindsOf(vs))
	subjects := func(yield func(Subject) bool) {
		for sub := range stream {
			withManual(&sub, manual)
			if !yield(sub) {
				return
			}
		}
	}
	var n int64
	if err := write(ctx, b, pipeline(ctx, vs, segs, subjects, asOf), asOf, &n); err != nil {
		return n, err
	}
	if *errp != nil {
		return n, *errp
	}
	for _, v := range vs {
		if _, err := b.Exec(ctx, `UPDATE scoring_models SET scored_at = $1, scored_leads = (SELECT COUNT(*) FROM lead_scores s WHERE s.model_id = $2) WHERE id = $2`, asOf, v.ID); err != nil {
			return n, err
		}
	}
	if b.Engine() == "postgres" {
		// Millions of new rows: without fresh statistics the planner scans
		// the whole why-log to rescore one lead until autovacuum comes by.
		if _, err := b.Exec(ctx, `ANALYZE lead_score_log, lead_scores, lead_segment_members`); err != nil {
			return n, fmt.Errorf("analyze the scores: %w", err)
		}
	}
	return n, nil
}

// withManual puts the manual segments the lead is in into its record.
func withManual(sub *Subject, manual map[int64][]string) {
	if names := manual[sub.ID]; len(names) > 0 {
		sub.Record["segments"] = slices.Clone(names)
	}
}

// scored is one lead's results under every version that applies to it,
// and the segments it is in.
type scored struct {
	lead     int64
	segments []int64
	results  []versionResult
}

type versionResult struct {
	version int64
	Result
}

// scoreSubject puts a lead in its segments (adding their names to its
// record) and scores it with every version that applies.
func scoreSubject(vs []*Version, segs []*Segment, sub *Subject, asOf time.Time) scored {
	sc := scored{lead: sub.ID}
	names, _ := sub.Record["segments"].([]string) // the manual ones it is in, stored
	for _, sg := range segs {
		if sg.Matches(sub.Record) {
			sc.segments = append(sc.segments, sg.ID)
			names = append(names, sg.Name)
		}
	}
	if names != nil {
		sub.Record["segments"] = names
	}
	for _, v := range vs {
		if v.model.Applies(sub) {
			sc.results = append(sc.results, versionResult{v.ID, v.model.Score(sub, asOf)})
		}
	}
	return sc
}

// pipeline scores subjects with every version on another goroutine, in
// batches, so reading the next leads, scoring and writing the last ones
// overlap. Results come in the order of the subjects.
func pipeline(ctx context.Context, vs []*Version, segs []*Segment, subjects iter.Seq[Subject], asOf time.Time) iter.Seq[[]scored] {
	return func(yield func([]scored) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		const batch = 512
		in := make(chan []Subject, 4)
		out := make(chan []scored, 4)
		go func() {
			defer close(in)
			buf := make([]Subject, 0, batch)
			for sub := range subjects {
				buf = append(buf, sub)
				if len(buf) == batch {
					select {
					case in <- buf:
					case <-ctx.Done():
						return
					}
					buf = make([]Subject, 0, batch)
				}
			}
			if len(buf) > 0 {
				select {
				case in <- buf:
				case <-ctx.Done():
				}
			}
		}()
		go func() {
			defer close(out)
			for subs := range in {
				res := make([]scored, len(subs))
				for i := range subs {
					res[i] = scoreSubject(vs, segs, &subs[i], asOf)
				}
				select {
				case out <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
		for res := range out {
			if !yield(res) {
				return
			}
		}
	}
}

// write loads the why-log lines, the scores and the segment members of
// results. n, when given, counts the leads.
func write(ctx context.Context, b *store.Bulk, results iter.Seq[[]scored], asOf time.Time, n *int64) error {
	return writeWith(ctx, b.Load, results, asOf, n)
}

// loader writes rows to a table: the engine's bulk path (b.Load), or
// insertRows for a handful.
type loader func(ctx context.Context, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error)

// insertRows writes rows with multi-row INSERTs: for the few rows of a
// handful of leads, setting up an Appender or a COPY costs more than the rows.
func insertRows(b *store.Bulk) loader {
	return func(ctx context.Context, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error) {
		var all [][]any
		for row, err := range rows {
			if err != nil {
				return 0, err
			}
			all = append(all, slices.Clone(row))
		}
		return int64(len(all)), b.InsertRows(ctx, table, columns, all)
	}
}

func writeWith(ctx context.Context, load loader, results iter.Seq[[]scored], asOf time.Time, n *int64) error {
	var scores []scoreRow
	var members [][2]int64
	lines := func(yield func([]any, error) bool) {
		row := make([]any, 9)
		for batch := range results {
			for _, sc := range batch {
				if n != nil {
					*n++
				}
				for _, sg := range sc.segments {
					members = append(members, [2]int64{sg, sc.lead})
				}
				for _, r := range sc.results {
					scores = append(scores, scoreRow{r.version, r.LeadID, r.Score, r.Fit, r.Engagement, r.Grade, r.MQL, r.LastEngaged})
					for _, l := range r.Lines {
						row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] =
							r.version, r.LeadID, l.Part, l.Rule, l.Points, l.RawPoints, l.Cause, l.EventID, l.At
						if !yield(row, nil) {
							return
						}
					}
				}
			}
		}
	}
	if _, err := load(ctx, "lead_score_log", []string{"model_id", "lead_id", "part", "rule", "points", "raw_points", "cause", "event_id", "at_time"}, lines); err != nil {
		return fmt.Errorf("write the why-log: %w", err)
	}
	rows := func(yield func([]any, error) bool) {
		row := make([]any, 9)
		for _, r := range scores {
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] = r.model, r.lead, r.score, r.fit, r.eng, r.grade, r.mql, r.last, asOf
			if !yield(row, nil) {
				return
			}
		}
	}
	if _, err := load(ctx, "lead_scores", []string{"model_id", "lead_id", "score", "fit", "engagement", "grade", "mql", "last_engaged_at", "scored_at"}, rows); err != nil {
		return fmt.Errorf("write the scores: %w", err)
	}
	memberRows := func(yield func([]any, error) bool) {
		row := make([]any, 2)
		for _, m := range members {
			row[0], row[1] = m[0], m[1]
			if !yield(row, nil) {
				return
			}
		}
	}
	if _, err := load(ctx, "lead_segment_members", []string{"segment_id", "lead_id"}, memberRows); err != nil {
		return fmt.Errorf("write the segment members: %w", err)
	}
	return nil
}

type scoreRow struct {
	model, lead     int64
	score, fit, eng float64
	grade           string
	mql             bool
	last            *time.Time
}

func kindsOf(vs []*Version) []string {
	var kinds []string
	for _, v := range vs {
		for _, k := range v.model.EventKinds() {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

func versionIDs(vs []*Version) string {
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return idList(ids)
}

// idList formats ids for an IN list; they are integers, never user text.
func idList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

const leadColumns = `l.id, l.first_name, l.last_name, l.email, l.company, l.title, l.industry, l.employees,
	CAST(l.annual_revenue AS VARCHAR), l.country, l.state, l.city, l.source, l.channel, l.status, l.created_at, l.custom_fields`

func scanLead(rows *sql.Rows, l *crm.Lead) error {
	var emp sql.NullInt64
	var rev sql.NullString
	var custom string
	if err := rows.Scan(&l.ID, &l.FirstName, &l.LastName, &l.Email, &l.Company, &l.Title, &l.Industry, &emp,
		&rev, &l.Country, &l.State, &l.City, &l.Source, &l.Channel, &l.Status, &l.CreatedAt, &custom); err != nil {
		return err
	}
	l.Employees, l.AnnualRevenue, l.CustomFields = nil, nil, nil
	if emp.Valid {
		l.Employees = &emp.Int64
	}
	if rev.Valid {
		d, err := decimal.NewFromString(rev.String)
		if err != nil {
			return fmt.Errorf("lead %d annual revenue %q: %w", l.ID, rev.String, err)
		}
		l.AnnualRevenue = &d
	}
	if custom != "" && custom != "{}" {
		if err := json.Unmarshal([]byte(custom), &l.CustomFields); err != nil {
			return fmt.Errorf("lead %d custom fields: %w", l.ID, err)
		}
	}
	return nil
}

// streamSubjects yields every lead with its events of the given kinds, in
// lead id order, merging two ordered scans so neither is held in memory.
// The error, if any, is in *err after the sequence ends.
func streamSubjects(ctx context.Context, db *sql.DB, kinds []string) (iter.Seq[Subject], *error) {
	var failed error
	seq := func(yield func(Subject) bool) {
		ls, err := db.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads l ORDER BY l.id`)
		if err != nil {
			failed = fmt.Errorf("read leads: %w", err)
			return
		}
		defer ls.Close()
		var es *sql.Rows
		if len(kinds) > 0 {
			es, err = db.QueryContext(ctx, `SELECT e.lead_id, e.id, e.kind, e.occurred_at, e.detail FROM lead_events e
				WHERE e.kind IN (`+quoteList(kinds)+`) ORDER BY e.lead_id, e.occurred_at, e.id`)
			if err != nil {
				failed = fmt.Errorf("read lead events: %w", err)
				return
			}
			defer es.Close()
		}
		var pending *crm.LeadEvent
		next := func() (*crm.LeadEvent, error) {
			if es == nil || !es.Next() {
				if es != nil {
					return nil, es.Err()
				}
				return nil, nil
			}
			e := &crm.LeadEvent{}
			return e, es.Scan(&e.LeadID, &e.ID, &e.Kind, &e.OccurredAt, &e.Detail)
		}
		if pending, err = next(); err != nil {
			failed = err
			return
		}
		for ls.Next() {
			var l crm.Lead
			if err := scanLead(ls, &l); err != nil {
				failed = err
				return
			}
			var events []crm.LeadEvent // kept by the subject: not reused
			for pending != nil && pending.LeadID <= l.ID {
				if pending.LeadID == l.ID {
					events = append(events, *pending)
				}
				if pending, err = next(); err != nil {
					failed = err
					return
				}
			}
			if !yield(NewSubject(&l, events, nil)) {
				return
			}
		}
		if err := ls.Err(); err != nil {
			failed = err
		}
	}
	return seq, &failed
}

// loadSubjects reads the leads and events the conditions select.
func loadSubjects(ctx context.Context, db *sql.DB, leadWhere, eventWhere string, kinds []string) ([]Subject, error) {
	// The events are read beside the leads, on another connection: for the
	// one lead of an API write, the two reads are most of the time it takes.
	type events struct {
		byLead map[int64][]crm.LeadEvent
		err    error
	}
	evc := make(chan events, 1)
	go func() {
		byLead, err := loadEvents(ctx, db, eventWhere, kinds)
		evc <- events{byLead, err}
	}()
	ls, err := db.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads l `+leadWhere+` ORDER BY l.id`)
	if err != nil {
		<-evc
		return nil, fmt.Errorf("read leads: %w", err)
	}
	defer ls.Close()
	var leads []crm.Lead
	for ls.Next() {
		var l crm.Lead
		if err := scanLead(ls, &l); err != nil {
			<-evc
			return nil, err
		}
		leads = append(leads, l)
	}
	ev := <-evc
	if err := ls.Err(); err != nil {
		return nil, err
	}
	if ev.err != nil {
		return nil, ev.err
	}
	out := make([]Subject, len(leads))
	for i := range leads {
		out[i] = NewSubject(&leads[i], ev.byLead[leads[i].ID], nil)
	}
	return out, nil
}

// loadEvents reads the events of the kinds the models score, by lead, in
// time order.
func loadEvents(ctx context.Context, db *sql.DB, eventWhere string, kinds []string) (map[int64][]crm.LeadEvent, error) {
	byLead := map[int64][]crm.LeadEvent{}
	if len(kinds) == 0 {
		return byLead, nil
	}
	// The kinds are filtered here, not in SQL: a condition beside the lead
	// id keeps DuckDB from answering from the lead_id index.
	es, err := db.QueryContext(ctx, `SELECT e.lead_id, e.id, e.kind, e.occurred_at, e.detail FROM lead_events e `+eventWhere+
		` ORDER BY e.lead_id, e.occurred_at, e.id`)
	if err != nil {
		return nil, fmt.Errorf("read lead events: %w", err)
	}
	defer es.Close()
	for es.Next() {
		var e crm.LeadEvent
		if err := es.Scan(&e.LeadID, &e.ID, &e.Kind, &e.OccurredAt, &e.Detail); err != nil {
			return nil, err
		}
		if slices.Contains(kinds, e.Kind) {
			byLead[e.LeadID] = append(byLead[e.LeadID], e)
		}
	}
	return byLead, es.Err()
}

// quoteList writes event kinds as SQL string literals. Kinds come from
// validated model files; quotes are doubled all the same.
func quoteList(vals []string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(parts, ",")
}

package routing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Breach is a routed lead its owner did not answer within the rule's SLA.
type Breach struct {
	AssignmentID int64     `json:"assignment_id"`
	LeadID       int64     `json:"lead_id"`
	Lead         string    `json:"lead"`
	OwnerID      int64     `json:"owner_id"`
	Owner        string    `json:"owner"`
	Rule         string    `json:"rule"`
	DueAt        time.Time `json:"due_at"`
	BreachedAt   time.Time `json:"breached_at"`
	Alert        string    `json:"alert,omitempty"`
}

// unanswered is the SQL condition, on an assignment a and its lead l, that
// the owner had not first answered the lead by the time by (a column or a
// parameter): no first_response_at by then and no outbound call, e-mail,
// meeting or demo logged on it since the assignment, which is what the lead
// response-time KPI counts as a first touch.
func unanswered(by string) string {
	return `(l.first_response_at IS NULL OR l.first_response_at > ` + by + `)
		AND NOT EXISTS (SELECT 1 FROM activities act WHERE act.lead_id = a.lead_id AND act.kind IN ('call', 'email', 'meeting', 'demo')
			AND act.direction <> 'inbound' AND act.occurred_at >= a.assigned_at AND act.occurred_at <= ` + by + `)`
}

// firstTouch is the SQL of the first outbound touch logged on assignment
// a's lead since the assignment (NULL when none).
const firstTouch = `(SELECT MIN(act.occurred_at) FROM activities act WHERE act.lead_id = a.lead_id AND act.kind IN ('call', 'email', 'meeting', 'demo')
	AND act.direction <> 'inbound' AND act.occurred_at >= a.assigned_at)`

// CheckSLA finds the assignments whose SLA has passed while their lead,
// still with that owner, has no first response by then (its
// first_response_at, or an outbound call, e-mail, meeting or demo logged on
// it, as the lead response-time KPI counts a first touch), records each breach once
// and tells its rule's channel, in one transaction. serve runs it every
// minute; `quarterdeck leads sla check` runs it at once.
func CheckSLA(ctx context.Context, s *store.Store, now time.Time) ([]Breach, error) {
	found, err := dueSLAs(ctx, s, `a.sla_due_at IS NOT NULL AND a.sla_due_at <= $1 AND a.sla_breached_at IS NULL AND `+unanswered("a.sla_due_at"), now)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return recordSLA(ctx, s, found, "sla_breached_at", now, func(br Breach, name string) notify.Message {
		return notify.Message{Channel: br.Alert, Event: "lead.sla_breach", DedupeKey: fmt.Sprintf("assignment:%d:sla", br.AssignmentID),
			Title: "SLA missed: " + name, Text: fmt.Sprintf("%s has not answered %s, due %s (rule %q).", br.Owner, name, br.DueAt.UTC().Format("2006-01-02 15:04 UTC"), br.Rule),
			Fields: []notify.Field{{Name: "Owner", Value: br.Owner}, {Name: "Due", Value: br.DueAt.UTC().Format(time.RFC3339)}},
			Link:   fmt.Sprintf("/leads/%d", br.LeadID), Data: br, At: now}
	})
}

// WarnSLA tells each rule's channel of the leads whose SLA warning time
// (sla.warn_before ahead of the due time) has come while they are still
// unanswered and not yet due: the one alert that can still save them. Once
// per assignment; serve runs it with the SLA check.
func WarnSLA(ctx context.Context, s *store.Store, now time.Time) ([]Breach, error) {
	found, err := dueSLAs(ctx, s, `a.sla_warn_at IS NOT NULL AND a.sla_warn_at <= $1 AND a.sla_due_at > $1 AND a.sla_warned_at IS NULL AND `+unanswered("$1"), now)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return recordSLA(ctx, s, found, "sla_warned_at", now, func(br Breach, name string) notify.Message {
		left := br.DueAt.Sub(now).Round(time.Minute)
		return notify.Message{Channel: br.Alert, Event: "lead.sla_warning", DedupeKey: fmt.Sprintf("assignment:%d:sla-warning", br.AssignmentID),
			Title: fmt.Sprintf("SLA in %s: %s", left, name), Text: fmt.Sprintf("%s has not answered %s yet, due %s (rule %q).", br.Owner, name, br.DueAt.UTC().Format("2006-01-02 15:04 UTC"), br.Rule),
			Fields: []notify.Field{{Name: "Owner", Value: br.Owner}, {Name: "Due", Value: br.DueAt.UTC().Format(time.RFC3339)}},
			Link:   fmt.Sprintf("/leads/%d", br.LeadID), Data: br, At: now}
	})
}

// dueSLAs reads the latest assignments, still with their owner, that pass
// cond ($1 is now). It reads outside a transaction: a check that finds
// nothing (most minutes) writes nothing, so it leaves every page's cache alone.
func dueSLAs(ctx context.Context, s *store.Store, cond string, now time.Time) ([]Breach, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT a.id, a.lead_id, TRIM(l.first_name || ' ' || l.last_name), a.owner_id, u.email, a.rule, a.sla_due_at, COALESCE(a.sla_alert, '')
		FROM lead_assignments a JOIN leads l ON l.id = a.lead_id AND l.owner_id = a.owner_id JOIN users u ON u.id = a.owner_id
		WHERE `+cond+`
		AND a.id = (SELECT MAX(x.id) FROM lead_assignments x WHERE x.lead_id = a.lead_id)
		ORDER BY a.sla_due_at, a.id`, now)
	if err != nil {
		return nil, fmt.Errorf("SLA check: %w", err)
	}
	defer rows.Close()
	var found []Breach
	for rows.Next() {
		br := Breach{BreachedAt: now}
		if err := rows.Scan(&br.AssignmentID, &br.LeadID, &br.Lead, &br.OwnerID, &br.Owner, &br.Rule, &br.DueAt, &br.Alert); err != nil {
			return nil, err
		}
		found = append(found, br)
	}
	return found, rows.Err()
}

// recordSLA stamps column (when the breach or warning was found) on each
// assignment that does not have it yet and tells its channel, in one
// transaction. Another server may have stamped one meanwhile: then it is not
// ours to tell (and the alert's dedupe key would drop a second one anyway).
func recordSLA(ctx context.Context, s *store.Store, found []Breach, column string, now time.Time, message func(br Breach, name string) notify.Message) ([]Breach, error) {
	var out []Breach
	err := s.WithBulk(ctx, func(b *store.Bulk) error {
		out = out[:0]
		for _, br := range found {
			res, err := b.Exec(ctx, `UPDATE lead_assignments SET `+column+` = $1 WHERE id = $2 AND `+column+` IS NULL`, now, br.AssignmentID)
			if err != nil {
				return fmt.Errorf("record the SLA: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			out = append(out, br)
			if br.Alert == "" {
				continue
			}
			name := br.Lead
			if name == "" {
				name = fmt.Sprintf("Lead %d", br.LeadID)
			}
			if _, _, err := notify.SendIn(ctx, b, message(br, name)); err != nil {
				return fmt.Errorf("SLA alert %s: %w", br.Alert, err)
			}
		}
		return nil
	})
	return out, err
}

// EscalateSLA hands every lead still unanswered at its rule's
// escalate_after time, and still with that owner, to the next available
// rep of the pool (the owner passed over as "did not answer in time"),
// logged like any assignment. serve runs it with the SLA check.
func EscalateSLA(ctx context.Context, s *store.Store, now time.Time) ([]Assignment, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT a.id, a.lead_id, a.owner_id FROM lead_assignments a JOIN leads l ON l.id = a.lead_id AND l.owner_id = a.owner_id
		WHERE a.sla_escalate_at IS NOT NULL AND a.sla_escalate_at <= $1 AND a.sla_escalated_at IS NULL
		AND `+unanswered("$1")+`
		AND a.id = (SELECT MAX(x.id) FROM lead_assignments x WHERE x.lead_id = a.lead_id)
		ORDER BY a.sla_escalate_at, a.id`, now)
	if err != nil {
		return nil, fmt.Errorf("SLA escalation: %w", err)
	}
	esc := map[int64]escalation{}
	var ids []int64
	for rows.Next() {
		var id, lead, owner int64
		if err := rows.Scan(&id, &lead, &owner); err != nil {
			rows.Close()
			return nil, err
		}
		esc[lead] = escalation{from: owner, assignment: id}
		ids = append(ids, lead)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	return assignMany(ctx, s, crm.System, ids, now, esc)
}

// Breaches lists the recorded SLA breaches of the leads p may see, newest first.
func Breaches(ctx context.Context, s *store.Store, p crm.Principal, limit int) ([]Breach, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if !f.Individuals() {
		return nil, crm.ErrForbidden
	}
	rows, err := s.DB().QueryContext(ctx, fmt.Sprintf(`SELECT a.id, a.lead_id, TRIM(l.first_name || ' ' || l.last_name), a.owner_id, u.email, a.rule, a.sla_due_at, a.sla_breached_at, COALESCE(a.sla_alert, '')
		FROM lead_assignments a JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.owner_id
		WHERE a.sla_breached_at IS NOT NULL AND %s ORDER BY a.sla_breached_at DESC, a.id DESC LIMIT %d`, f.Condition("a.owner_id"), limit))
	if err != nil {
		return nil, fmt.Errorf("SLA breaches: %w", err)
	}
	defer rows.Close()
	var out []Breach
	for rows.Next() {
		var br Breach
		var due, at sql.NullTime
		if err := rows.Scan(&br.AssignmentID, &br.LeadID, &br.Lead, &br.OwnerID, &br.Owner, &br.Rule, &due, &at, &br.Alert); err != nil {
			return nil, err
		}
		br.DueAt, br.BreachedAt = due.Time, at.Time
		out = append(out, br)
	}
	return out, rows.Err()
}

// RunSLAChecks checks the SLAs every interval until ctx ends; failures
// are logged and the next check tries again.
func RunSLAChecks(ctx context.Context, s *store.Store, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			warned, err := WarnSLA(ctx, s, time.Now().UTC())
			if err == nil && len(warned) > 0 {
				log.Info("SLA warnings", "count", len(warned))
			}
			var br []Breach
			if err == nil {
				if br, err = CheckSLA(ctx, s, time.Now().UTC()); err == nil && len(br) > 0 {
					log.Info("SLA breaches", "count", len(br))
				}
			}
			if err == nil {
				var esc []Assignment
				if esc, err = EscalateSLA(ctx, s, time.Now().UTC()); err == nil && len(esc) > 0 {
					log.Info("SLA escalations", "count", len(esc))
				}
			}
			if err != nil && ctx.Err() == nil && !errors.Is(err, ErrNoRuleSet) {
				log.Error("SLA check failed", "err", err)
			}
		}
	}
}

// SLARow is one rep's response to the leads routed to them under an SLA.
type SLARow struct {
	OwnerID       int64    `json:"owner_id"`
	Owner         string   `json:"owner"`
	Team          string   `json:"team"`
	Leads         int      `json:"leads"`          // routed with an SLA, due by now
	WithinSLA     int      `json:"within_sla"`     // first answered by the due time
	Breaches      int      `json:"breaches"`       // recorded breaches
	MedianMinutes *float64 `json:"median_minutes"` // from assignment to first response, of the answered ones
}

// SLABoard is each rep's and each team's record against the SLAs since a
// time (team rows have no owner), for the leads p may see (a rep their own,
// a manager their team's, ops all).
func SLABoard(ctx context.Context, s *store.Store, p crm.Principal, since, now time.Time) (reps, teams []SLARow, err error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if !f.Individuals() {
		return nil, nil, crm.ErrForbidden
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT a.owner_id, u.email, COALESCE(t.name, ''), a.assigned_at, a.sla_due_at, l.first_response_at, `+firstTouch+`, a.sla_breached_at IS NOT NULL
		FROM lead_assignments a JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.owner_id LEFT JOIN teams t ON t.id = u.team_id
		WHERE a.sla_due_at IS NOT NULL AND a.assigned_at >= $1 AND a.sla_due_at <= $2 AND `+f.Condition("a.owner_id")+`
		ORDER BY u.email`, since, now)
	if err != nil {
		return nil, nil, fmt.Errorf("SLA board: %w", err)
	}
	defer rows.Close()
	byRep, byTeam := &slaTally{}, &slaTally{}
	for rows.Next() {
		var owner int64
		var email, team string
		var assigned, due time.Time
		var answered, touched sql.NullTime
		var breached bool
		if err := rows.Scan(&owner, &email, &team, &assigned, &due, &answered, &touched, &breached); err != nil {
			return nil, nil, err
		}
		// Answered by whichever came first: a recorded first response or
		// an outbound touch, as the SLA check counts it.
		if touched.Valid && (!answered.Valid || touched.Time.Before(answered.Time)) {
			answered = touched
		}
		byRep.add(fmt.Sprint(owner), SLARow{OwnerID: owner, Owner: email, Team: team}, assigned, due, answered, breached)
		byTeam.add(team, SLARow{Team: team}, assigned, due, answered, breached)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return byRep.rows(), byTeam.rows(), nil
}

// slaTally counts SLA rows by a key, in the order keys first come.
type slaTally struct {
	order   []string
	byKey   map[string]*SLARow
	minutes map[string][]float64
}

func (t *slaTally) add(key string, first SLARow, assigned, due time.Time, answered sql.NullTime, breached bool) {
	if t.byKey == nil {
		t.byKey, t.minutes = map[string]*SLARow{}, map[string][]float64{}
	}
	r := t.byKey[key]
	if r == nil {
		r = &first
		t.byKey[key] = r
		t.order = append(t.order, key)
	}
	r.Leads++
	if breached {
		r.Breaches++
	}
	if answered.Valid {
		if !answered.Time.After(due) {
			r.WithinSLA++
		}
		t.minutes[key] = append(t.minutes[key], answered.Time.Sub(assigned).Minutes())
	}
}

func (t *slaTally) rows() []SLARow {
	out := make([]SLARow, 0, len(t.order))
	for _, k := range t.order {
		r := t.byKey[k]
		if m := t.minutes[k]; len(m) > 0 {
			slices.Sort(m)
			med := m[len(m)/2]
			if len(m)%2 == 0 {
				med = (m[len(m)/2-1] + m[len(m)/2]) / 2
			}
			r.MedianMinutes = &med
		}
		out = append(out, *r)
	}
	return out
}

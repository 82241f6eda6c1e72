package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Event is a committed write a trigger may fire on: a row of the store's
// change feed.
type Event struct {
	ID       int64          `json:"id"`
	Entity   string         `json:"entity"`
	EntityID int64          `json:"entity_id"`
	Action   string         `json:"action"`            // created, updated, deleted, or manual
	Before   map[string]any `json:"before,omitempty"`  // the record's fields before an update
	Changed  []string       `json:"changed,omitempty"` // the fields an update changed
	ActorID  *int64         `json:"actor_id,omitempty"`
	Depth    int            `json:"depth"`           // workflow steps that led to the write
	Cause    string         `json:"cause,omitempty"` // the workflow whose step wrote
	At       time.Time      `json:"at"`
	// Key names the occurrence of a state or schedule trigger (the
	// assignment whose SLA was missed, the schedule's time); change events
	// are named by their id.
	Key    string         `json:"key,omitempty"`
	before map[string]any // as JSON decoded, for from/to filters
	after  map[string]any
}

// The actions of events.
const (
	actionCreated = "created"
	actionUpdated = "updated"
	actionDeleted = "deleted"
	actionManual  = "manual"
)

// JobKind is the job kind of a run's steps.
const JobKind = "automation.run"

// dispatchBatch is how many change events one dispatch reads.
const dispatchBatch = 500

// Dispatch turns pending change events into runs of the enabled workflows
// they trigger, and removes the events, in one transaction: an event starts
// each workflow's run once. It returns how many events it read; call it
// until that is 0 to drain the feed.
func Dispatch(ctx context.Context, s *store.Store, now time.Time) (int, error) {
	wfs, err := enabled(ctx, s)
	if err != nil {
		return 0, err
	}
	// Most ticks find nothing: look before opening a transaction, whose
	// commit would count as a write and drop every cached report.
	var pending bool
	if err := s.DB().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM change_events)`).Scan(&pending); err != nil || !pending {
		return 0, err
	}
	n := 0
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		evs, err := readEvents(ctx, b)
		if err != nil || len(evs) == 0 {
			return err
		}
		n = len(evs)
		d := &dispatcher{s: s, b: b, now: now.UTC()}
		for _, ev := range evs {
			for _, v := range wfs {
				if err := d.offer(ctx, v, ev); err != nil {
					return err
				}
			}
		}
		if err := d.flush(ctx); err != nil {
			return err
		}
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = fmt.Sprint(ev.ID)
		}
		_, err = b.Exec(ctx, `DELETE FROM change_events WHERE id IN (`+strings.Join(ids, ",")+`)`)
		return err
	})
	return n, err
}

// readEvents reads the oldest pending events; on PostgreSQL rows another
// server is dispatching are skipped.
func readEvents(ctx context.Context, b *store.Bulk) ([]*Event, error) {
	lock := ""
	if b.Engine() == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := b.Query(ctx, `SELECT id, entity, entity_id, action, before_json, after_json, actor_id, depth, cause, at_time
		FROM change_events ORDER BY id LIMIT `+fmt.Sprint(dispatchBatch)+lock)
	if err != nil {
		return nil, fmt.Errorf("read change events: %w", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		ev := &Event{}
		var before, after string
		var actor sql.NullInt64
		var depth int64
		if err := rows.Scan(&ev.ID, &ev.Entity, &ev.EntityID, &ev.Action, &before, &after, &actor, &depth, &ev.Cause, &ev.At); err != nil {
			return nil, err
		}
		if actor.Valid {
			ev.ActorID = &actor.Int64
		}
		ev.Depth = int(depth)
		ev.Action = map[string]string{"create": actionCreated, "update": actionUpdated, "delete": actionDeleted}[ev.Action]
		if err := ev.decode(before, after); err != nil {
			return nil, fmt.Errorf("change event %d: %w", ev.ID, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// decode reads the record before and after the write, and which fields
// changed.
func (ev *Event) decode(before, after string) error {
	for _, x := range []struct {
		src string
		dst *map[string]any
	}{{before, &ev.before}, {after, &ev.after}} {
		if x.src == "" {
			continue
		}
		if err := json.Unmarshal([]byte(x.src), x.dst); err != nil {
			return err
		}
	}
	if ev.before != nil && ev.after != nil {
		for k, v := range ev.after {
			if k == "updated_at" {
				continue
			}
			if b, _ := json.Marshal(ev.before[k]); string(b) != mustJSON(v) {
				ev.Changed = append(ev.Changed, k)
			}
		}
		sort.Strings(ev.Changed)
	}
	if e, ok := entities[ev.Entity]; ok && ev.before != nil {
		ev.Before = jsonValues(e.columns, ev.before)
	}
	return nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonValues turns a record's JSON fields into condition values.
func jsonValues(cols map[string]column, m map[string]any) map[string]any {
	out := map[string]any{}
	for name, c := range cols {
		v, ok := m[name]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			if c.kind == rules.Time {
				if t, err := parseTime(x); err == nil {
					out[name] = t
				}
				continue
			}
			if c.kind == rules.Number { // decimals are written as text
				var f float64
				if _, err := fmt.Sscanf(x, "%g", &f); err == nil {
					out[name] = f
				}
				continue
			}
			out[name] = x
		case map[string]any:
			out[name] = maps.Clone(x)
		default:
			out[name] = x
		}
	}
	return out
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(crm.DateLayout, s)
}

// fires reports whether ev is an event of v's trigger (before its condition).
func fires(wf *Workflow, ev *Event) bool {
	t := wf.Doc.Trigger
	if ev.Entity != t.Entity {
		return false
	}
	switch t.Type {
	case OnCreated:
		return ev.Action == actionCreated
	case OnDeleted:
		return ev.Action == actionDeleted
	case OnUpdated, OnStageChanged:
		if ev.Action != actionUpdated {
			return false
		}
		if wf.change == nil {
			return len(ev.Changed) > 0
		}
		c := wf.change
		if !slices.Contains(ev.Changed, c.field) {
			return false
		}
		return matchesText(c.from, ev.before[c.field]) && matchesText(c.to, ev.after[c.field])
	case OnCloseDatePushed:
		if ev.Action != actionUpdated || !slices.Contains(ev.Changed, "expected_close") {
			return false
		}
		was, _ := ev.before["expected_close"].(string)
		is, _ := ev.after["expected_close"].(string)
		return was != "" && is > was // YYYY-MM-DD sorts as it reads
	}
	return false
}

// matchesText: an empty list matches anything; text compares as routing
// and scoring do, without case.
func matchesText(list []string, v any) bool {
	if len(list) == 0 {
		return true
	}
	s := strings.TrimSpace(fmt.Sprint(v))
	if v == nil {
		s = ""
	}
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), s) })
}

// dispatcher starts the runs of one dispatch transaction.
type dispatcher struct {
	s     *store.Store
	b     *store.Bulk
	now   time.Time
	runs  [][]any
	jobs  []jobs.Job
	trees map[int64][]int64 // scoped workflows' teams, by the team named
}

// offer starts a run of v for ev when its trigger fires, the record is in
// its scope, its condition holds and its re-entry policy lets the record in.
func (d *dispatcher) offer(ctx context.Context, v *Version, ev *Event) error {
	if !fires(v.wf, ev) {
		return nil
	}
	_, err := d.offerRecord(ctx, v, ev.EntityID, ev)
	return err
}

// offerRecord loads the record an event names and lets it enter; it
// returns 1 when a run starts.
func (d *dispatcher) offerRecord(ctx context.Context, v *Version, id int64, ev *Event) (int, error) {
	// Only what entry reads: the run's step jobs read what their steps need.
	sub, err := loadNeeded(ctx, d.s, v.Entity, id, ev, ev.Depth, d.now, entryNeeds(v))
	if errors.Is(err, crm.ErrNotFound) {
		return 0, nil // gone since the event: nothing to run on
	}
	if err != nil {
		return 0, err
	}
	before := len(d.jobs)
	if err := d.enter(ctx, v, sub, ev); err != nil {
		return 0, err
	}
	return len(d.jobs) - before, nil
}

// enter applies scope, condition, loop protection and re-entry, then queues
// the run.
func (d *dispatcher) enter(ctx context.Context, v *Version, sub *subject, ev *Event) error {
	wf := v.wf
	if v.TeamID != nil {
		teams, ok := d.trees[*v.TeamID]
		if !ok {
			var err error
			if teams, err = d.s.TeamTree(ctx, *v.TeamID); err != nil {
				return err
			}
			if d.trees == nil {
				d.trees = map[int64][]int64{}
			}
			d.trees[*v.TeamID] = teams // read once per dispatch, not per event
		}
		if !slices.Contains(teams, sub.teamID) {
			return nil
		}
	}
	if wf.when != nil && !wf.when.Match(sub.record) {
		return nil
	}
	key := runKey(v, ev)
	if ev.Action == actionManual {
		key = fmt.Sprintf("%s:%d:manual:%s:%d", v.Name, v.ID, sub.entity, sub.id) + ":" + d.now.Format(time.RFC3339Nano)
	}
	state, reason := stateQueued, ""
	if ev.Depth > wf.Doc.MaxDepth {
		// Loop protection: the change came from workflow steps already
		// max_depth deep. The run is recorded, not started.
		state, reason = stateSkipped, fmt.Sprintf("loop protection: the change was made %d workflow steps deep (%s), more than max_depth %d", ev.Depth, ev.Cause, wf.Doc.MaxDepth)
	} else {
		ok, err := d.admit(ctx, v.Name, wf.Doc.Reentry, sub)
		if err != nil || !ok {
			return err
		}
	}
	id, err := d.b.AllocIDs(ctx, 1)
	if err != nil {
		return err
	}
	evJSON, _ := json.Marshal(ev)
	var owner *int64
	if sub.ownerID != 0 {
		owner = &sub.ownerID
	}
	var finished *time.Time
	if state == stateSkipped {
		finished = &d.now
	}
	d.runs = append(d.runs, []any{id, v.Name, v.ID, sub.entity, sub.id, owner, key, string(evJSON), int64(ev.Depth), state, int64(0), int64(0), "{}", reason, d.now, d.now, finished})
	if state == stateQueued {
		j := stepJob(id, 0, 0, d.now)
		j.MaxAttempts = wf.tries(0)
		d.jobs = append(d.jobs, j)
	}
	return nil
}

// runKey names the run an event starts: one run per workflow and event.
func runKey(v *Version, ev *Event) string {
	if ev.Key != "" {
		return fmt.Sprintf("%s:%s:%s", v.Name, ev.Action, ev.Key)
	}
	return fmt.Sprintf("%s:%d:%s:%d", v.Name, v.ID, ev.Action, ev.ID)
}

// admit applies the re-entry policy and counts the record in.
func (d *dispatcher) admit(ctx context.Context, workflow, policy string, sub *subject) (bool, error) {
	rk := fmt.Sprintf("%s:%d", sub.entity, sub.id)
	var entered, open int64
	err := d.b.QueryRow(ctx, `SELECT entered, open_runs FROM automation_enrollments WHERE workflow = $1 AND record_key = $2`, workflow, rk).Scan(&entered, &open)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read enrollment: %w", err)
	}
	switch {
	case policy == EnterOnce && entered > 0:
		return false, nil
	case policy == EnterOneAtATime && open > 0:
		return false, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		_, err = d.b.Exec(ctx, `INSERT INTO automation_enrollments (workflow, record_key, entered, open_runs) VALUES ($1, $2, 1, 1)`, workflow, rk)
	} else {
		_, err = d.b.Exec(ctx, `UPDATE automation_enrollments SET entered = entered + 1, open_runs = open_runs + 1 WHERE workflow = $1 AND record_key = $2`, workflow, rk)
	}
	if err != nil {
		return false, fmt.Errorf("enroll %s in %s: %w", rk, workflow, err)
	}
	return true, nil
}

var runColumns = []string{"id", "workflow", "workflow_id", "entity", "record_id", "owner_id", "event_key", "event_json", "depth", "state", "pc", "tries", "vars_json", "error", "started_at", "updated_at", "finished_at"}

// flush writes the runs and their first jobs.
func (d *dispatcher) flush(ctx context.Context) error {
	if len(d.runs) > 0 {
		if err := d.b.InsertRows(ctx, "automation_runs", runColumns, d.runs); err != nil {
			return fmt.Errorf("start runs: %w", err)
		}
	}
	if len(d.jobs) > 0 {
		if _, _, err := jobs.EnqueueBatch(ctx, d.b, d.jobs); err != nil {
			return err
		}
	}
	d.runs, d.jobs = nil, nil
	return nil
}

// stepJob is the job that runs a run from step pc; try distinguishes the
// re-checks of a wait.
func stepJob(runID int64, pc, try int, at time.Time) jobs.Job {
	return jobs.Job{Kind: JobKind, Key: fmt.Sprintf("automation:run:%d:pc:%d:%d", runID, pc, try),
		Payload: fmt.Sprintf(`{"run":%d,"pc":%d}`, runID, pc), RunAt: at}
}

// RunManually starts v's run on each record of ids, as p (who must be able
// to see each record), and returns the run ids.
func RunManually(ctx context.Context, s *store.Store, p crm.Principal, name string, ids []int64, now time.Time) ([]int64, error) {
	v, err := Get(ctx, s, p, name)
	if err != nil {
		return nil, err
	}
	if err := mayDefine(ctx, s, p, v.TeamID); err != nil {
		return nil, err
	}
	if !v.Enabled {
		return nil, crm.Invalid("workflow", "name", fmt.Sprintf("%s is disabled: enable it first", name))
	}
	var runIDs []int64
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		d := &dispatcher{s: s, b: b, now: now.UTC()}
		for _, id := range ids {
			if err := canSee(ctx, s, p, v.Entity, id); err != nil {
				return err
			}
			sub, err := loadSubject(ctx, s, v.Entity, id, &Event{Action: actionManual}, 0, d.now)
			if err != nil {
				return err
			}
			before := len(d.runs)
			if err := d.enter(ctx, v, sub, &Event{Entity: v.Entity, EntityID: id, Action: actionManual, ActorID: &p.UserID, At: d.now}); err != nil {
				return err
			}
			if len(d.runs) > before {
				runIDs = append(runIDs, d.runs[len(d.runs)-1][0].(int64))
			}
		}
		return d.flush(ctx)
	})
	return runIDs, err
}

// canSee checks p may read the record (the answer for a record p may not
// see is the one for a missing record).
func canSee(ctx context.Context, s *store.Store, p crm.Principal, entity string, id int64) error {
	var err error
	switch entity {
	case "lead":
		_, err = s.Leads.Get(ctx, p, id)
	case "contact":
		_, err = s.Contacts.Get(ctx, p, id)
	case "account":
		_, err = s.Accounts.Get(ctx, p, id)
	case "opportunity":
		_, err = s.Opportunities.Get(ctx, p, id)
	case "activity":
		_, err = s.Activities.Get(ctx, p, id)
	}
	return err
}

// RunDispatcher dispatches change events every interval until ctx ends,
// draining the feed each time, and calls started after dispatching any
// (so that the worker claims the new runs at once).
func RunDispatcher(ctx context.Context, s *store.Store, log *slog.Logger, every time.Duration, started func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := Dispatch(ctx, s, time.Now())
			if err != nil {
				if ctx.Err() == nil {
					log.Error("dispatch workflow triggers", "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
			started()
		}
	}
}

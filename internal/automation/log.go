package automation

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Run is one run as the run log shows it.
type Run struct {
	ID         int64      `json:"id"`
	Workflow   string     `json:"workflow"`
	WorkflowID int64      `json:"workflow_id"`
	Entity     string     `json:"entity"`
	RecordID   int64      `json:"record_id"`
	OwnerID    *int64     `json:"owner_id"`
	Event      string     `json:"event"` // the trigger event as JSON
	Depth      int        `json:"depth"`
	State      string     `json:"state"`
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Steps      []Step     `json:"steps,omitempty"`
}

// Step is one line of a run's log.
type Step struct {
	Seq        int64     `json:"seq"`
	Step       string    `json:"step"` // where it is written: steps[1].then[0]
	Kind       string    `json:"kind"`
	Attempt    int       `json:"attempt"`
	Outcome    string    `json:"outcome"` // then, else, waiting, resumed, timed_out, delivered, retry, done, failed
	Detail     string    `json:"detail,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// RunQuery selects runs; zero fields select everything.
type RunQuery struct {
	ID       int64
	Workflow string
	Entity   string
	RecordID int64
	State    string
	Limit    int // [100], at most 1000
}

// Runs lists runs, newest first, that p may see: ops and admin all; a
// manager the runs on records of their team; a rep the runs on their own
// records.
func Runs(ctx context.Context, s *store.Store, p crm.Principal, q RunQuery) ([]Run, error) {
	pr := crm.NewProblems("run query")
	pr.Require(q.State == "" || slices.Contains(States, q.State), "state", fmt.Sprintf("%q is not a state (known: %s)", q.State, strings.Join(States, ", ")))
	pr.Require(q.Entity == "" || entities[q.Entity] != nil, "entity", fmt.Sprintf("%q is not a record type", q.Entity))
	pr.Require(q.Limit >= 0 && q.Limit <= 1000, "limit", "must be from 1 to 1000")
	if err := pr.Err(); err != nil {
		return nil, err
	}
	where, args := []string{"TRUE"}, []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.ID != 0 {
		add("id = $%d", q.ID)
	}
	if q.Workflow != "" {
		add("workflow = $%d", q.Workflow)
	}
	if q.Entity != "" {
		add("entity = $%d", q.Entity)
	}
	if q.RecordID != 0 {
		add("record_id = $%d", q.RecordID)
	}
	if q.State != "" {
		add("state = $%d", q.State)
	}
	if p.Role == crm.RoleViewer {
		return nil, fmt.Errorf("list runs: %w", crm.ErrForbidden) // runs are about single records
	}
	of, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	where = append(where, of.Condition("owner_id"))
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, workflow, workflow_id, entity, record_id, owner_id, event_json, depth, state, error, started_at, updated_at, finished_at
		FROM automation_runs WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		var r Run
		var record, owner sql.NullInt64
		var depth int64
		var finished sql.NullTime
		if err := rows.Scan(&r.ID, &r.Workflow, &r.WorkflowID, &r.Entity, &record, &owner, &r.Event, &depth, &r.State, &r.Error, &r.StartedAt, &r.UpdatedAt, &finished); err != nil {
			return nil, err
		}
		r.RecordID, r.Depth = record.Int64, int(depth)
		if owner.Valid {
			r.OwnerID = &owner.Int64
		}
		if finished.Valid {
			r.FinishedAt = &finished.Time
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunByID is one run with its steps.
func RunByID(ctx context.Context, s *store.Store, p crm.Principal, id int64) (*Run, error) {
	all, err := Runs(ctx, s, p, RunQuery{ID: id})
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("run %d: %w", id, crm.ErrNotFound)
	}
	r := all[0]
	rows, err := s.DB().QueryContext(ctx, `SELECT seq, step, kind, attempt, outcome, detail, error, duration_ms, at_time FROM automation_steps WHERE run_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("steps of run %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st Step
		var attempt int64
		if err := rows.Scan(&st.Seq, &st.Step, &st.Kind, &attempt, &st.Outcome, &st.Detail, &st.Error, &st.DurationMS, &st.At); err != nil {
			return nil, err
		}
		st.Attempt = int(attempt)
		r.Steps = append(r.Steps, st)
	}
	return &r, rows.Err()
}

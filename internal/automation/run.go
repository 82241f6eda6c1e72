package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The states of a run.
const (
	stateQueued  = "queued"  // its next step's job is due or running
	stateWaiting = "waiting" // paused by a wait step until its job's time
	stateDone    = "done"
	stateFailed  = "failed"
	stateSkipped = "skipped" // recorded, not started (loop protection)
)

// States lists the run states, for filters.
var States = []string{stateQueued, stateWaiting, stateDone, stateFailed, stateSkipped}

// maxStepsPerJob stops a program that would loop without waiting.
const maxStepsPerJob = 1000

// Options tune the engine; zero values take the defaults in brackets.
type Options struct {
	Now     func() time.Time // [time.Now]
	Log     *slog.Logger
	BaseURL string // for links to records in messages ["" gives relative links]
}

// Engine runs workflow steps as jobs of the queue.
type Engine struct {
	s    *store.Store
	dl   *notify.Deliverer // nil: notify steps fail (no channels configured)
	opts Options
}

// Register makes w run workflow steps; dl delivers their notifications.
func Register(w *jobs.Worker, s *store.Store, dl *notify.Deliverer, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	e := &Engine{s: s, dl: dl, opts: opts}
	w.Handle(JobKind, e.handle)
	return e
}

// run is a row of automation_runs, as a step job reads it.
type run struct {
	ID         int64
	Workflow   string
	WorkflowID int64
	Entity     string
	RecordID   int64
	Depth      int
	State      string
	PC         int
	Tries      int
	Vars       runVars
	startPC    int
	startState string
}

// runVars is what a run remembers between its jobs.
type runVars struct {
	Deadline *time.Time `json:"deadline,omitempty"` // of the wait at the current step
	Error    string     `json:"error,omitempty"`    // what sent the run to its error path
	InError  bool       `json:"in_error,omitempty"`
}

func readRun(ctx context.Context, s *store.Store, id int64) (*run, error) {
	r := &run{}
	var vars string
	var depth, pc, tries int64
	var record sql.NullInt64
	err := s.DB().QueryRowContext(ctx, `SELECT id, workflow, workflow_id, entity, record_id, depth, state, pc, tries, vars_json FROM automation_runs WHERE id = $1`, id).
		Scan(&r.ID, &r.Workflow, &r.WorkflowID, &r.Entity, &record, &depth, &r.State, &pc, &tries, &vars)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	r.RecordID, r.Depth, r.PC, r.Tries = record.Int64, int(depth), int(pc), int(tries)
	r.startPC, r.startState = r.PC, r.State
	if err := json.Unmarshal([]byte(vars), &r.Vars); err != nil {
		return nil, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

// exec is one job's execution of a run: the steps it logged and the run's
// position, written together at each persist.
type exec struct {
	e       *Engine
	j       *jobs.Job
	r       *run
	wf      *Workflow
	actor   crm.Principal
	sub     *subject
	steps   [][]any
	started time.Time
}

func (e *Engine) handle(ctx context.Context, j *jobs.Job) error {
	var in struct {
		Run int64 `json:"run"`
		PC  int   `json:"pc"`
	}
	if err := j.Decode(&in); err != nil {
		return jobs.Permanent(err)
	}
	r, err := readRun(ctx, e.s, in.Run)
	if errors.Is(err, crm.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if (r.State != stateQueued && r.State != stateWaiting) || r.PC != in.PC {
		return nil // this step already ran: the job is a duplicate
	}
	// In memory the run is going (queued) until a step ends, pauses or
	// fails it; the guard of its next write is the state it was read in.
	r.State = stateQueued
	v, err := versionByID(ctx, e.s, r.WorkflowID)
	if err != nil {
		return err
	}
	x := &exec{e: e, j: j, r: r, wf: v.wf, started: e.opts.Now()}
	if x.actor, err = actorOf(ctx, e.s, v.AppliedBy); err != nil {
		return x.fail(ctx, err.Error())
	}
	return x.loop(ctx)
}

// actorOf is the principal a workflow acts as: the user who applied it, so
// that its steps can do no more than they could.
func actorOf(ctx context.Context, s *store.Store, userID *int64) (crm.Principal, error) {
	if userID == nil {
		return crm.System, nil
	}
	u, err := s.Users.Get(ctx, crm.System, *userID)
	if err != nil {
		return crm.Principal{}, fmt.Errorf("the user who applied the workflow: %w", err)
	}
	if !u.Active {
		return crm.Principal{}, fmt.Errorf("%s, who applied the workflow, is disabled: apply it again as an active user", u.Email)
	}
	return crm.Principal{UserID: u.ID, Role: u.Role}, nil
}

// subject reads the run's record (again after a step changed it).
func (x *exec) subject(ctx context.Context) (*subject, error) {
	if x.sub == nil {
		var ev Event
		_ = x.readEvent(ctx, &ev)
		sub, err := loadSubject(ctx, x.e.s, x.r.Entity, x.r.RecordID, &ev, x.r.Depth, x.e.opts.Now().UTC())
		if err != nil {
			return nil, err
		}
		x.sub = sub
	}
	return x.sub, nil
}

func (x *exec) readEvent(ctx context.Context, ev *Event) error {
	var raw string
	if err := x.e.s.DB().QueryRowContext(ctx, `SELECT event_json FROM automation_runs WHERE id = $1`, x.r.ID).Scan(&raw); err != nil {
		return err
	}
	return json.Unmarshal([]byte(raw), ev)
}

// loop runs steps from the run's pc until the run ends, waits, or needs a
// job of its own for its next call-out.
func (x *exec) loop(ctx context.Context) error {
	calledOut := false
	for n := 0; ; n++ {
		if n == maxStepsPerJob {
			return x.fail(ctx, fmt.Sprintf("more than %d steps without a wait: the workflow loops", maxStepsPerJob))
		}
		o := x.wf.program[x.r.PC]
		if o.callsOut() && calledOut {
			// Each call-out has its own job: its attempts and delivery id.
			return x.persist(ctx, stateQueued, x.stepJob(x.r.PC, 0, x.now()), nil)
		}
		start := x.e.opts.Now()
		switch o.kind {
		case opEnd:
			if x.r.Vars.InError {
				// The error path ran to its end: the run still failed.
				return x.finish(ctx, stateFailed, "")
			}
			return x.finish(ctx, stateDone, "")
		case opJump:
			x.r.PC = o.jump
		case opFail:
			x.log(o, "failed", "", o.reason, start)
			if err := x.errorPath(ctx, o.reason); err != nil || x.r.State != stateQueued {
				return err
			}
		case opIf:
			sub, err := x.subject(ctx)
			if err != nil {
				return err
			}
			if o.cond.Match(sub.record) {
				x.log(o, "then", o.cond.Source+": true", "", start)
				x.r.PC++
			} else {
				x.log(o, "else", o.cond.Source+": false", "", start)
				x.r.PC = o.jump
			}
		case opWait:
			done, err := x.wait(ctx, o, start)
			if err != nil || done {
				return err
			}
		case opNotify:
			err := x.notify(ctx, o, start)
			if err != nil || x.r.State != stateQueued {
				return err
			}
			calledOut = true
		default:
			if err := x.act(ctx, o, start); err != nil {
				return err
			}
			if x.r.State != stateQueued {
				return nil
			}
		}
	}
}

func (x *exec) now() time.Time { return x.e.opts.Now().UTC() }

// log records a step for the next persist.
func (x *exec) log(o op, outcome, detail, errText string, start time.Time) {
	x.steps = append(x.steps, []any{x.r.ID, int64(0), o.path, o.label(), int64(max(x.j.Attempts, 1)), outcome, detail, errText,
		float64(x.e.opts.Now().Sub(start).Microseconds()) / 1000, x.now()})
}

var stepColumns = []string{"run_id", "seq", "step", "kind", "attempt", "outcome", "detail", "error", "duration_ms", "at_time"}

// persist writes the logged steps and the run's position in one
// transaction, with next (the job that continues the run, if any) and
// with fn (a step's own write); the run row is guarded by the position this
// job started from, so a duplicate job writes nothing.
func (x *exec) persist(ctx context.Context, state string, next *jobs.Job, fn func(ctx context.Context, b *store.Bulk) error) error {
	r := x.r
	now := x.now()
	vars, _ := json.Marshal(r.Vars)
	var finished *time.Time
	if state == stateDone || state == stateFailed {
		finished = &now
	}
	// What the steps write carries the run's depth, for loop protection.
	ctx = store.WithCause(ctx, store.Cause{Workflow: r.Workflow, Depth: r.Depth + 1})
	err := x.e.s.WithBulk(ctx, func(b *store.Bulk) error {
		if fn != nil {
			if err := fn(ctx, b); err != nil {
				return err
			}
		}
		res, err := b.Exec(ctx, `UPDATE automation_runs SET state = $1, pc = $2, tries = $3, vars_json = $4, error = $5, updated_at = $6, finished_at = $7
			WHERE id = $8 AND pc = $9 AND state = $10`,
			state, int64(r.PC), int64(r.Tries), string(vars), r.Vars.Error, now, finished, r.ID, int64(r.startPC), r.startState)
		if err != nil {
			return fmt.Errorf("record run %d: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errDuplicate
		}
		if len(x.steps) > 0 {
			first, err := b.AllocIDs(ctx, len(x.steps))
			if err != nil {
				return err
			}
			for i := range x.steps {
				x.steps[i][1] = first + int64(i)
			}
			if err := b.InsertRows(ctx, "automation_steps", stepColumns, x.steps); err != nil {
				return fmt.Errorf("log the steps of run %d: %w", r.ID, err)
			}
		}
		if finished != nil {
			if _, err := b.Exec(ctx, `UPDATE automation_enrollments SET open_runs = open_runs - 1 WHERE workflow = $1 AND record_key = $2 AND open_runs > 0`,
				r.Workflow, fmt.Sprintf("%s:%d", r.Entity, r.RecordID)); err != nil {
				return err
			}
		}
		if next != nil {
			if _, _, err := jobs.EnqueueIn(ctx, b, *next); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return nil
	}
	if err != nil {
		return err
	}
	x.steps = nil
	r.State, r.startPC, r.startState = state, r.PC, state
	return nil
}

// errDuplicate: the run moved on since this job read it.
var errDuplicate = errors.New("the run moved on: this job is a duplicate")

func (x *exec) stepJob(pc, try int, at time.Time) *jobs.Job {
	j := stepJob(x.r.ID, pc, try, at)
	j.MaxAttempts = x.wf.tries(pc)
	return &j
}

// tries is how many attempts the job of step pc gets.
func (wf *Workflow) tries(pc int) int {
	if o := wf.program[pc]; o.kind == opNotify {
		return o.notify.Tries
	}
	return 0 // the queue's default: only database trouble retries
}

func (x *exec) finish(ctx context.Context, state, reason string) error {
	if reason != "" {
		x.r.Vars.Error = reason
	}
	return x.persist(ctx, state, nil, nil)
}

func (x *exec) fail(ctx context.Context, reason string) error {
	x.r.Vars.Error = reason
	return x.persist(ctx, stateFailed, nil, nil)
}

// errorPath sends the run to its on_error steps, or fails it when it has
// none or is already on them.
func (x *exec) errorPath(ctx context.Context, reason string) error {
	if x.wf.onError < 0 || x.r.Vars.InError {
		return x.fail(ctx, reason)
	}
	x.r.Vars.Error, x.r.Vars.InError = reason, true
	x.r.PC, x.r.Tries = x.wf.onError, 0
	return nil
}

// wait pauses the run; done reports that this job's work is over.
func (x *exec) wait(ctx context.Context, o op, start time.Time) (done bool, err error) {
	now := x.now()
	if o.cond == nil {
		if x.r.Tries == 0 {
			// First arrival: sleep, then come back to this step once.
			wake := now.Add(o.wait)
			x.r.Tries = 1
			x.log(o, "waiting", "until "+wake.Format(time.RFC3339), "", start)
			return true, x.persist(ctx, stateWaiting, x.stepJob(x.r.PC, 1, wake), nil)
		}
		x.log(o, "resumed", "waited "+o.wait.String(), "", start)
		x.r.PC, x.r.Tries = x.r.PC+1, 0
		return false, nil
	}
	if x.r.Vars.Deadline == nil {
		d := now.Add(o.timeout)
		x.r.Vars.Deadline = &d
	}
	sub, err := x.subject(ctx)
	if err != nil {
		return true, err
	}
	switch {
	case o.cond.Match(sub.record):
		x.log(o, "resumed", o.cond.Source+": true", "", start)
	case !now.Before(*x.r.Vars.Deadline):
		x.log(o, "timed_out", fmt.Sprintf("%s still false after %s", o.cond.Source, o.timeout), "", start)
	default:
		x.r.Tries++
		next := now.Add(o.checkEvery)
		if next.After(*x.r.Vars.Deadline) {
			next = *x.r.Vars.Deadline
		}
		if x.r.Tries == 1 {
			x.log(o, "waiting", fmt.Sprintf("until %s, at most until %s", o.cond.Source, x.r.Vars.Deadline.Format(time.RFC3339)), "", start)
		}
		return true, x.persist(ctx, stateWaiting, x.stepJob(x.r.PC, x.r.Tries, next), nil)
	}
	x.r.Vars.Deadline = nil
	x.r.PC, x.r.Tries = x.r.PC+1, 0
	return false, nil
}

// notify delivers the step's message through the notification delivery,
// as this job's delivery: a failed attempt with tries left returns the
// error so the queue retries the job with backoff; the last failure takes
// the error path.
func (x *exec) notify(ctx context.Context, o op, start time.Time) error {
	sub, err := x.subject(ctx)
	if err != nil {
		return err
	}
	n := o.notify
	m := notify.Message{Channel: n.Channel, Event: "automation." + x.r.Workflow,
		DedupeKey: fmt.Sprintf("run:%d:pc:%d", x.r.ID, x.r.PC),
		Title:     render(n.Title, sub.record), Text: render(n.Text, sub.record),
		Link: x.e.opts.BaseURL + recordLink(x.r.Entity, x.r.RecordID),
		Data: map[string]any{"workflow": x.r.Workflow, "run": x.r.ID, "entity": x.r.Entity, "record": sub.raw}, At: x.now()}
	detail := fmt.Sprintf("%s: %s", n.Channel, firstNonEmpty(m.Title, m.Text))
	if x.e.dl == nil {
		// No channels in this process: the message waits in the queue, as
		// every notification does, until a server with channels runs.
		x.r.PC++
		err := x.persist(ctx, stateQueued, nil, func(ctx context.Context, b *store.Bulk) error {
			id, _, err := notify.SendIn(ctx, b, m)
			if err != nil {
				return err
			}
			x.log(o, "queued", fmt.Sprintf("%s (notification %d waits for its channel)", detail, id), "", start)
			return nil
		})
		if err != nil {
			x.r.PC--
			x.steps = x.steps[:len(x.steps)-countDone(x.steps, o.path, "queued")]
		}
		return err
	}
	err = x.e.dl.Deliver(ctx, x.j, m)
	if err == nil {
		x.log(o, "delivered", detail, "", start)
		x.r.PC, x.r.Tries = x.r.PC+1, 0
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if !jobs.IsPermanent(err) && x.j.Attempts < x.j.MaxAttempts {
		x.log(o, "retry", detail, err.Error(), start)
		x.r.Tries = x.j.Attempts
		if perr := x.persist(ctx, stateQueued, nil, nil); perr != nil {
			return perr
		}
		return err
	}
	x.log(o, "failed", detail, fmt.Sprintf("attempt %d of %d: %v", x.j.Attempts, x.j.MaxAttempts, err), start)
	return x.errorPath(ctx, fmt.Sprintf("%s: %v", o.path, err))
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// recordLink is the page of a record.
func recordLink(entity string, id int64) string {
	switch entity {
	case "opportunity":
		return "/opportunities/" + strconv.FormatInt(id, 10)
	case "lead":
		return "/leads/" + strconv.FormatInt(id, 10)
	case "account":
		return "/accounts/" + strconv.FormatInt(id, 10)
	}
	return ""
}

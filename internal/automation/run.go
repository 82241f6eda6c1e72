package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/rules"
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
	// programs holds each workflow version a run used, by id: a stored
	// version never changes, and every step job would otherwise read it
	// again.
	programs sync.Map // int64 → *program
	batch    *batcher
}

// program is a workflow version as its step jobs run it.
type program struct {
	v    *Version
	need needs
}

// program reads version id the first time a step job needs it.
func (e *Engine) program(ctx context.Context, id int64) (*program, error) {
	if p, ok := e.programs.Load(id); ok {
		return p.(*program), nil
	}
	v, err := versionByID(ctx, e.s, id)
	if err != nil {
		return nil, err
	}
	p := &program{v: v, need: needsOf(v.wf)}
	e.programs.Store(id, p)
	return p, nil
}

// Register makes w run workflow steps; dl delivers their notifications.
func Register(w *jobs.Worker, s *store.Store, dl *notify.Deliverer, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	e := &Engine{s: s, dl: dl, opts: opts, batch: newBatcher(s, opts.Now)}
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
	event      string // the trigger event as JSON
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
	err := s.DB().QueryRowContext(ctx, `SELECT id, workflow, workflow_id, entity, record_id, depth, state, pc, tries, vars_json, event_json FROM automation_runs WHERE id = $1`, id).
		Scan(&r.ID, &r.Workflow, &r.WorkflowID, &r.Entity, &record, &depth, &r.State, &pc, &tries, &vars, &r.event)
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
	need    needs // what of the record the workflow's steps read
	actor   crm.Principal
	sub     *subject
	steps   [][]any
	started time.Time
	// routes: the step being persisted assigns through routing (it takes
	// routing's lock); rescore: it changed the lead's segments.
	routes, rescore bool
}

func (e *Engine) handle(ctx context.Context, j *jobs.Job) error {
	var in struct {
		Run int64 `json:"run"`
		PC  int   `json:"pc"`
	}
	if err := j.Decode(&in); err != nil {
		return jobs.Permanent(err)
	}
	e.batch.begin()
	defer e.batch.end()
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
	p, err := e.program(ctx, r.WorkflowID)
	if err != nil {
		return err
	}
	x := &exec{e: e, j: j, r: r, wf: p.v.wf, need: p.need, started: e.opts.Now()}
	if x.actor, err = actorOf(ctx, e.s, p.v.AppliedBy); err != nil {
		return x.fail(ctx, err.Error())
	}
	err = x.loop(ctx)
	if errors.Is(err, errRunEnded) {
		return nil
	}
	if err != nil && r.startPC != in.PC && r.State == stateQueued {
		// This job moved the run on before the trouble (a failed step's
		// error path, say): its own retry would find the run past its pc and
		// stop as a duplicate. Go on from here in a job of its own instead.
		if perr := x.persist(ctx, stateQueued, x.stepJob(r.PC, 0, x.now().Add(resumePause)), nil); perr == nil {
			e.opts.Log.Warn("automation: a step will be tried again", "run", r.ID, "step", x.wf.program[r.PC].path, "err", err)
			return nil
		}
	}
	return err
}

var (
	// errRecordGone: the run's record was deleted (and its event is not
	// the delete, whose record the run reads from the event).
	errRecordGone = fmt.Errorf("deleted: %w", crm.ErrNotFound)
	// errRunEnded: the step ended the run itself; nothing to retry.
	errRunEnded = errors.New("the run ended")
)

// resumePause is how long a run waits before a step that met database
// trouble (a write conflict on DuckDB) is tried again in a new job.
const resumePause = 5 * time.Second

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

// subject reads the run's record (again after a step changed it), with
// what of its relations and history the workflow's steps read.
func (x *exec) subject(ctx context.Context) (*subject, error) {
	if x.sub == nil {
		var ev Event
		_ = json.Unmarshal([]byte(x.r.event), &ev) // an event that does not decode reads as empty
		if ev.Before != nil {
			// JSON gave times as text: read them back as conditions compare them.
			ev.Before = jsonValues(entities[x.r.Entity].columns, ev.Before)
		}
		sub, err := loadNeeded(ctx, x.e.s, x.r.Entity, x.r.RecordID, &ev, x.r.Depth, x.e.opts.Now().UTC(), x.need)
		if errors.Is(err, errRecordGone) {
			// Deleted since the run began: its steps have nothing to act on.
			if ferr := x.finish(ctx, stateFailed, fmt.Sprintf("the %s was deleted before step %s: the run ends here", x.r.Entity, x.wf.program[x.r.PC].path)); ferr != nil {
				return nil, ferr
			}
			return nil, errRunEnded
		}
		if err != nil {
			return nil, err
		}
		x.sub = sub
	}
	return x.sub, nil
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
// job started from, so a duplicate job writes nothing. Without fn the
// transaction is shared with the step jobs persisting at the same time.
func (x *exec) persist(ctx context.Context, state string, next *jobs.Job, fn func(ctx context.Context, b *store.Bulk) error) error {
	r := x.r
	vars, _ := json.Marshal(r.Vars)
	w := &runWrite{id: r.ID, workflow: r.Workflow, record: fmt.Sprintf("%s:%d", r.Entity, r.RecordID), steps: x.steps, next: next,
		to: move{state: state, pc: int64(r.PC), tries: int64(r.Tries), vars: string(vars), err: r.Vars.Error,
			ends: state == stateDone || state == stateFailed, fromPC: int64(r.startPC), fromState: r.startState}}
	var err error
	if fn == nil {
		err = x.e.batch.commit(w)
	} else {
		// What the step writes carries the run's depth, for loop protection.
		ctx = store.WithCause(ctx, store.Cause{Workflow: r.Workflow, Depth: r.Depth + 1})
		with := x.e.s.WithBulk
		if x.routes {
			// Routing's turn order and caps need its lock for the whole write.
			with = func(ctx context.Context, fn func(*store.Bulk) error) error { return routing.InTx(ctx, x.e.s, fn) }
		}
		err = with(ctx, func(b *store.Bulk) error {
			if err := fn(ctx, b); err != nil {
				return err
			}
			w.steps = x.steps // with the line fn logged
			return writeRuns(ctx, b, []*runWrite{w}, x.now())
		})
	}
	if errors.Is(err, errDuplicate) {
		// Another job ran this step: stop here, so that no later step
		// (a notify) runs twice.
		x.steps, r.State = nil, movedOn
		return nil
	}
	if err != nil {
		return err
	}
	x.steps = nil
	r.State, r.startPC, r.startState = state, r.PC, state
	return nil
}

// movedOn is the in-memory state of a run another job has moved past: the
// step loop stops as it does for a paused or ended run.
const movedOn = "moved on"

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
		Link: x.e.opts.BaseURL + RecordLink(x.r.Entity, x.r.RecordID),
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

// RecordLink is the page where a record is shown, for links in messages and pages.
func RecordLink(entity string, id int64) string {
	if entity == "lead" {
		return "/leads/" + strconv.FormatInt(id, 10)
	}
	// The other record types have no page of their own yet: the run log
	// of the record is where its automations show.
	return fmt.Sprintf("/automation?entity=%s&record_id=%d", entity, id)
}

// runWrite is what one persist writes.
type runWrite struct {
	id       int64
	workflow string
	record   string    // the record key of its enrollment
	to       move      // the run's new position, from the one its job read
	steps    [][]any   // the logged steps, in stepColumns (seq is set on writing)
	next     *jobs.Job // the job that continues the run
	done     chan error
}

// move is a change of a run's row: its new values, and the position it
// must be in (fromPC, fromState) for the change to apply.
type move struct {
	state     string
	pc, tries int64
	vars, err string
	ends      bool // the run is done or failed
	fromPC    int64
	fromState string
}

// writeRuns writes ws (each of a different run) in b at now: the runs'
// rows, their steps, the enrollments of those that ended and their next
// jobs. Every run must be where its job read it: if one moved on, it
// returns errDuplicate and b must be rolled back.
func writeRuns(ctx context.Context, b *store.Bulk, ws []*runWrite, now time.Time) error {
	if err := moveRuns(ctx, b, ws, now); err != nil {
		return err
	}
	var steps [][]any
	var next []jobs.Job
	for _, w := range ws {
		steps = append(steps, w.steps...)
		if w.next != nil {
			next = append(next, *w.next)
		}
	}
	if len(steps) > 0 {
		first, err := b.AllocIDs(ctx, len(steps))
		if err != nil {
			return err
		}
		for i := range steps {
			steps[i][1] = first + int64(i)
		}
		if err := b.InsertRows(ctx, "automation_steps", stepColumns, steps); err != nil {
			return fmt.Errorf("log the steps of %d runs: %w", len(ws), err)
		}
	}
	if err := closeEnrollments(ctx, b, ws); err != nil {
		return err
	}
	if len(next) > 0 {
		if _, _, err := jobs.EnqueueBatch(ctx, b, next); err != nil {
			return err
		}
	}
	return nil
}

// moveRuns updates the runs' rows, those making the same move in one
// statement: on DuckDB an UPDATE costs about the same for one row as for
// hundreds picked by id, while RETURNING or a join with VALUES (UpdateRows)
// cost several times more.
func moveRuns(ctx context.Context, b *store.Bulk, ws []*runWrite, now time.Time) error {
	ids := map[move][]any{}
	var moves []move
	for _, w := range ws {
		if ids[w.to] == nil {
			moves = append(moves, w.to)
		}
		ids[w.to] = append(ids[w.to], w.id)
	}
	for _, m := range moves {
		var finished *time.Time
		if m.ends {
			finished = &now
		}
		args := append([]any{m.state, m.pc, m.tries, m.vars, m.err, now, finished, m.fromPC, m.fromState}, ids[m]...)
		res, err := b.Exec(ctx, `UPDATE automation_runs SET state = $1, pc = $2, tries = $3, vars_json = $4, error = $5, updated_at = $6, finished_at = $7
			WHERE pc = $8 AND state = $9 AND id IN (`+marks(10, len(ids[m]))+`)`, args...)
		if err != nil {
			return fmt.Errorf("record %d runs: %w", len(ids[m]), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record %d runs: %w", len(ids[m]), err)
		}
		if n != int64(len(ids[m])) {
			return errDuplicate
		}
	}
	return nil
}

// closeEnrollments closes an open run of its record for each run of ws that
// ended (never below 0); the records of a workflow that close as many runs
// share a statement.
func closeEnrollments(ctx context.Context, b *store.Bulk, ws []*runWrite) error {
	type enrollment struct{ workflow, record string }
	ended := map[enrollment]int64{}
	var order []enrollment
	for _, w := range ws {
		if !w.to.ends {
			continue
		}
		k := enrollment{w.workflow, w.record}
		if ended[k] == 0 {
			order = append(order, k)
		}
		ended[k]++
	}
	type closing struct {
		workflow string
		runs     int64
	}
	records := map[closing][]any{}
	var closings []closing
	for _, k := range order {
		c := closing{k.workflow, ended[k]}
		if records[c] == nil {
			closings = append(closings, c)
		}
		records[c] = append(records[c], k.record)
	}
	for _, c := range closings {
		args := append([]any{c.workflow, c.runs}, records[c]...)
		if _, err := b.Exec(ctx, `UPDATE automation_enrollments SET open_runs = GREATEST(open_runs - $2, 0)
			WHERE workflow = $1 AND open_runs > 0 AND record_key IN (`+marks(3, len(records[c]))+`)`, args...); err != nil {
			return fmt.Errorf("close the enrollments of %d runs: %w", len(records[c]), err)
		}
	}
	return nil
}

// marks is n parameter marks from $first on, comma-separated.
func marks(first, n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(m, ", ")
}

// batcher commits the writes of step jobs that persist at the same time in
// one transaction: on DuckDB a commit costs more than the rest of a step
// job's writes together, so a commit per job would bound the engine to a
// few hundred runs a second. A batch waits for the writes of the step jobs
// still running, up to linger, as the queue's outcomes do; a lone job
// waits for nobody.
type batcher struct {
	s       *store.Store
	now     func() time.Time
	mu      sync.Mutex
	queue   []*runWrite
	running bool          // a goroutine is committing the queue
	active  atomic.Int64  // step jobs running that are not waiting for a commit
	more    chan struct{} // a write was queued or a job ended
}

// maxBatch bounds the runs of one transaction (and its parameters). linger
// is how long a batch waits for the writes of running jobs: the jobs of a
// busy worker end over tens of milliseconds, so 2 ms gathers a few; a step
// job's own latency grows by at most this.
const (
	maxBatch = 256
	linger   = 10 * time.Millisecond
)

func newBatcher(s *store.Store, now func() time.Time) *batcher {
	return &batcher{s: s, now: now, more: make(chan struct{}, 1)}
}

// begin counts a step job that may write; end when it has returned.
func (bt *batcher) begin() { bt.active.Add(1) }
func (bt *batcher) end() {
	bt.active.Add(-1)
	bt.poke()
}

func (bt *batcher) poke() {
	select {
	case bt.more <- struct{}{}:
	default:
	}
}

// commit writes w with the others queued, and returns once it is
// committed (nil), or not: errDuplicate when w's run had moved on.
func (bt *batcher) commit(w *runWrite) error {
	w.done = make(chan error, 1)
	bt.mu.Lock()
	bt.queue = append(bt.queue, w)
	if !bt.running {
		bt.running = true
		go bt.loop()
	}
	bt.mu.Unlock()
	bt.end()
	defer bt.begin()
	return <-w.done
}

// loop commits batches until the queue is empty.
func (bt *batcher) loop() {
	for {
		bt.gather()
		bt.mu.Lock()
		var batch, rest []*runWrite
		seen := map[int64]bool{}
		for _, w := range bt.queue {
			// A run twice in one statement would be matched twice: its
			// second write (a duplicate job's) waits for the next batch.
			if seen[w.id] || len(batch) == maxBatch {
				rest = append(rest, w)
				continue
			}
			seen[w.id] = true
			batch = append(batch, w)
		}
		bt.queue = rest
		if len(batch) == 0 {
			bt.running = false
			bt.mu.Unlock()
			return
		}
		bt.mu.Unlock()
		bt.write(batch)
	}
}

// gather waits, up to linger, until no step job that may still write is
// running or a batch is full.
func (bt *batcher) gather() {
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for {
		bt.mu.Lock()
		full := len(bt.queue) >= maxBatch
		bt.mu.Unlock()
		if full || bt.active.Load() <= 0 {
			return
		}
		select {
		case <-bt.more:
		case <-timer.C:
			return
		}
	}
}

// write commits batch, or if that fails each of its writes alone, so that
// one run's trouble (a duplicate job, a write conflict) is only its own
// job's.
func (bt *batcher) write(batch []*runWrite) {
	if len(batch) > 1 && bt.tx(batch) == nil {
		for _, w := range batch {
			w.done <- nil
		}
		return
	}
	for _, w := range batch {
		w.done <- bt.tx([]*runWrite{w})
	}
}

// tx writes ws in one transaction. It does not end with a job's context,
// as it holds other jobs' writes; a panic is an error of theirs, as the
// worker makes of a handler's, not the end of the process.
func (bt *batcher) tx(ws []*runWrite) error {
	ctx := context.Background()
	return bt.s.WithBulk(ctx, func(b *store.Bulk) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("record %d runs: panicked: %v", len(ws), p)
			}
		}()
		return writeRuns(ctx, b, ws, bt.now().UTC())
	})
}

// needs are the parts of a run's subject beyond the record's own fields
// (which every step job reads: a message carries them) that the steps of
// its workflow read. Each part costs a query or two a step job: a webhook
// naming a deal and its owner need not read the deal's account, manager
// and history.
type needs struct {
	related map[string]bool // by relation name (account, opportunity...)
	owner   bool
	team    bool // owner.team
	manager bool
	facts   bool // the derived fields: a deal's close date pushes and days since activity, a lead's score
}

// everything are all the parts of entity's subject, as loadSubject reads it.
func everything(entity string) needs {
	e := entities[entity]
	n := needs{related: map[string]bool{}, owner: true, team: true, manager: true, facts: true}
	for _, r := range e.related {
		n.related[r.name] = true
	}
	return n
}

// needsOf is what wf's steps read: the fields their conditions and
// templates name, and what their actions use. A text names a part when it
// holds its prefix (account., owner.), which may take in a part it does not
// need but never leaves out one it does; a condition that reads expr's
// whole environment ($env) may name any field.
func needsOf(wf *Workflow) needs {
	entity := wf.Doc.Trigger.Entity
	n := needs{related: map[string]bool{}}
	all := false
	reads := func(text string) { all = n.read(entity, text) || all }
	for _, o := range wf.program {
		if o.cond != nil {
			reads(o.cond.Source)
		}
		switch o.kind {
		case opNotify:
			reads(o.notify.Title)
			reads(o.notify.Text)
		case opTask:
			reads(o.task.Subject)
			// The task's owner, and who the log says it is for.
			n.owner = n.owner || o.task.For != "manager"
			n.manager = n.manager || o.task.For == "manager"
		case opAssign:
			n.manager = n.manager || strings.EqualFold(o.assign.To, "manager")
		case opRun:
			// The called workflow's scope and condition may read anything.
			all = true
		}
	}
	if all {
		return everything(entity)
	}
	return n
}

// entryNeeds is what deciding whether a record enters v reads: the fields
// of its condition, and the owner (for their team) when v has a scope.
func entryNeeds(v *Version) needs {
	n := needs{related: map[string]bool{}, owner: v.TeamID != nil}
	if v.wf.when != nil && n.read(v.Entity, v.wf.when.Source) {
		return everything(v.Entity)
	}
	return n
}

// read adds the parts text names (by their prefixes: account., owner.) and
// reports whether it may name any field ($env, expr's whole environment).
// A prefix may take in a part the text does not need, never leave one out.
func (n *needs) read(entity, text string) (all bool) {
	e := entities[entity]
	for _, r := range e.related {
		if strings.Contains(text, r.name+".") {
			n.related[r.name] = true
		}
	}
	n.owner = n.owner || strings.Contains(text, "owner.")
	n.team = n.team || strings.Contains(text, "owner.team")
	n.manager = n.manager || strings.Contains(text, "manager.")
	for f := range e.derived {
		n.facts = n.facts || strings.Contains(text, f)
	}
	return strings.Contains(text, "$env")
}

// loadNeeded is loadSubject reading only the parts in n (with everything,
// exactly what loadSubject reads).
func loadNeeded(ctx context.Context, s *store.Store, name string, id int64, ev *Event, depth int, now time.Time, n needs) (*subject, error) {
	e := entities[name]
	var own map[string]any
	var err error
	if ev != nil && ev.Action == actionDeleted {
		// The row is gone with its history: the run sees the record as the
		// delete found it, and no derived facts.
		own, n.facts = maps.Clone(ev.Before), false
	} else if own, err = readRecord(ctx, s, name, id); errors.Is(err, crm.ErrNotFound) {
		return nil, fmt.Errorf("%s %d: %w", name, id, errRecordGone)
	} else if err != nil {
		return nil, err
	}
	sub := &subject{entity: name, id: id, record: rules.Record{}, raw: own, deleted: ev != nil && ev.Action == actionDeleted}
	put := func(prefix string, m map[string]any) {
		for k, v := range m {
			sub.record[prefix+"."+k] = v
		}
	}
	put(name, own)
	for _, r := range e.related {
		rid, ok := own[r.via].(float64)
		if !ok || !n.related[r.name] {
			continue
		}
		rel, err := readRecord(ctx, s, r.entity, int64(rid))
		if err != nil && !errors.Is(err, crm.ErrNotFound) {
			return nil, err
		}
		put(r.name, rel)
	}
	if e.owner != "" {
		if oid, ok := own[e.owner].(float64); ok {
			sub.ownerID = int64(oid)
			if n.owner || n.team || n.manager {
				owner, err := readUser(ctx, s, sub.ownerID)
				if err != nil {
					return nil, err
				}
				put("owner", owner)
				if t, ok := owner["team_id"].(float64); ok {
					sub.teamID = int64(t)
					var team string
					if n.team && s.DB().QueryRowContext(ctx, `SELECT name FROM teams WHERE id = $1`, sub.teamID).Scan(&team) == nil {
						sub.record["owner.team"] = team
					}
				}
				if m, ok := owner["manager_id"].(float64); ok && n.manager {
					mgr, err := readUser(ctx, s, int64(m))
					if err != nil {
						return nil, err
					}
					put("manager", mgr)
				}
			}
		}
	}
	if n.facts {
		switch name {
		case "opportunity":
			err = opportunityFacts(ctx, s, id, now, sub.record)
		case "lead":
			err = leadFacts(ctx, s, id, sub.record)
		}
		if err != nil {
			return nil, err
		}
	}
	sub.record["run.depth"] = float64(depth)
	if ev != nil {
		sub.record["event.action"] = ev.Action
		sub.record["event.changed"] = ev.Changed
		put("before", ev.Before)
	}
	return sub, nil
}

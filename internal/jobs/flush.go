package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Outcomes are recorded in batches: a commit costs about what a whole batch
// of updates does (2 ms on DuckDB), so one job's commit after another would
// bound a worker to a few hundred jobs a second.
const (
	maxFlush = 256                  // outcomes a transaction records at most (a batch is also at most Concurrency: slots wait for their commit)
	linger   = 2 * time.Millisecond // how long a batch waits for more while jobs run
)

// outcome is how an attempt ended, as it is to be recorded.
type outcome struct {
	j       *Job
	state   string
	runAt   time.Time
	lastErr string
	uncount int  // 1 gives back the attempt (the worker stopped)
	then    bool // the handler succeeded: enqueue its follow-ups
	bare    bool // record without the job's writes (they failed)
	done    chan struct{}
}

// flusher records the outcomes of one Run or RunDue. It waits for the
// outcome of every job running before it commits a batch, up to linger, so
// that jobs finishing together share a transaction and a lone job is not
// kept waiting.
type flusher struct {
	w       *Worker
	in      chan *outcome
	running atomic.Int64 // jobs started whose outcome the flusher has not taken
	stopped chan struct{}
}

func (w *Worker) startFlusher() *flusher {
	f := &flusher{w: w, in: make(chan *outcome, maxFlush), stopped: make(chan struct{})}
	go f.loop()
	return f
}

// begin counts a job about to run; its goroutine calls record when it ends.
func (f *flusher) begin() { f.running.Add(1) }

// record hands over o and waits until it is committed (or given up on), so
// the job's slot stays taken until then.
func (f *flusher) record(o *outcome) {
	o.done = make(chan struct{})
	f.in <- o
	<-o.done
}

// stop waits for the last batch; every job must have been recorded.
func (f *flusher) stop() {
	close(f.in)
	<-f.stopped
}

func (f *flusher) loop() {
	defer close(f.stopped)
	// One held connection: on DuckDB its Appenders stay open between
	// batches. Without one, the pool's.
	var tx store.Transactor = f.w.s
	if wr, err := f.w.s.OpenWriter(context.Background()); err == nil {
		defer wr.Close()
		tx = wr
	}
	timer := time.NewTimer(linger)
	for o := range f.in {
		f.running.Add(-1)
		batch := []*outcome{o}
		timer.Reset(linger)
	gather:
		for len(batch) < maxFlush && f.running.Load() > 0 {
			select {
			case o, ok := <-f.in:
				if !ok {
					break gather
				}
				f.running.Add(-1)
				batch = append(batch, o)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		f.flush(tx, batch)
	}
}

// flush records batch in one transaction. If that fails, it records each
// outcome alone, so that one bad row does not lose the others' outcomes.
func (f *flusher) flush(tx store.Transactor, batch []*outcome) {
	if len(batch) > 1 {
		err := f.commit(tx, batch)
		if err == nil {
			for _, o := range batch {
				close(o.done)
			}
			return
		}
		f.w.opts.Log.Warn("record job outcomes; recording them one by one", "worker", f.w.opts.ID, "jobs", len(batch), "err", err)
	}
	for _, o := range batch {
		f.flushOne(tx, o)
		close(o.done)
	}
}

// flushOne records o, trying again on errors (DuckDB aborts a write that
// conflicts with a concurrent one). When the job's writes are what fails,
// the attempt is recorded without them as a failed one (see Job.Append).
func (f *flusher) flushOne(tx store.Transactor, o *outcome) {
	err := f.retry(tx, o)
	var we *writesError
	if errors.As(err, &we) {
		o = f.w.withoutWrites(o, we)
		err = f.retry(tx, o)
	}
	if err != nil {
		f.w.opts.Log.Error("record job outcome", "job", o.j.ID, "kind", o.j.Kind, "state", o.state, "err", err)
	}
}

func (f *flusher) retry(tx store.Transactor, o *outcome) error {
	var err error
	for try := range 5 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 10 * time.Millisecond)
		}
		if err = f.commit(tx, []*outcome{o}); err == nil {
			return nil
		}
	}
	return err
}

// writesError is a failure to write what a job's handler appended or
// enqueued, as opposed to a failure to record its outcome.
type writesError struct{ err error }

func (e *writesError) Error() string { return e.err.Error() }
func (e *writesError) Unwrap() error { return e.err }

// withoutWrites is o recorded without the job's writes, which failed with
// err: a finished job's attempt becomes a failed one; an outcome that was
// already a failure stands, with err added to its error.
func (w *Worker) withoutWrites(o *outcome, err error) *outcome {
	err = fmt.Errorf("write the job's results: %w", err)
	var n *outcome
	if o.state == Done {
		n = w.outcome(o.j, err, false)
	} else {
		c := *o
		n = &c
		n.lastErr = clip(o.lastErr + "; " + err.Error())
	}
	n.then, n.bare, n.done = false, true, o.done
	return n
}

// recordOutcomes updates the row of each job whose attempt this worker
// still holds (Args: the worker's id, the time): a job whose lease ran out
// may have been claimed again. A row is the job's id and claimed attempts,
// then its state, run_at, last_error and attempts (one fewer for an
// attempt given back).
var recordOutcomes = store.Update{
	Table:     "jobs",
	Key:       []store.Col{{Name: "id", Type: "BIGINT"}, {Name: "attempts", Type: "BIGINT"}},
	Set:       []store.Col{{Name: "state", Type: "VARCHAR"}, {Name: "run_at", Type: "TIMESTAMP"}, {Name: "last_error", Type: "VARCHAR"}, {Name: "attempts", Type: "BIGINT"}},
	Where:     "t.locked_by = $1",
	Also:      "locked_by = NULL, locked_until = NULL, updated_at = $2",
	Returning: "id",
}

// commit records batch in one transaction: the outcomes, the rows their
// handlers appended and the follow-up jobs of those that succeeded. The
// writes of a job whose lease was lost are dropped with its outcome.
func (f *flusher) commit(tx store.Transactor, batch []*outcome) error {
	ctx := context.Background()
	w := f.w
	now := w.opts.Now().UTC()
	u := recordOutcomes
	u.Args = []any{w.opts.ID, now}
	rows := make([][]any, len(batch))
	for i, o := range batch {
		a := int64(o.j.Attempts)
		rows[i] = []any{o.j.ID, a, o.state, o.runAt, o.lastErr, a - int64(o.uncount)}
	}
	var landed map[int64]bool
	var follow []Job
	err := tx.WithBulk(ctx, func(b *store.Bulk) error {
		ids, err := b.UpdateRows(ctx, u, rows)
		if err != nil {
			return fmt.Errorf("record %d job outcomes: %w", len(batch), err)
		}
		landed = make(map[int64]bool, len(ids))
		for _, id := range ids {
			landed[id] = true
		}
		// The appended rows, by table and columns in the order they came.
		type group struct {
			table   string
			columns []string
			rows    [][]any
		}
		var groups []*group
		byName := map[string]*group{}
		follow = follow[:0]
		for _, o := range batch {
			if !landed[o.j.ID] || o.bare {
				continue
			}
			for _, wr := range o.j.writes {
				name := wr.table + "\x00" + strings.Join(wr.columns, ",")
				g := byName[name]
				if g == nil {
					g = &group{table: wr.table, columns: wr.columns}
					byName[name] = g
					groups = append(groups, g)
				}
				g.rows = append(g.rows, wr.row)
			}
			if o.then {
				follow = append(follow, o.j.then...)
			}
		}
		for _, g := range groups {
			if err := b.InsertRows(ctx, g.table, g.columns, g.rows); err != nil {
				return &writesError{fmt.Errorf("insert %d rows into %s: %w", len(g.rows), g.table, err)}
			}
		}
		if _, _, err := EnqueueBatch(ctx, b, follow); err != nil {
			return &writesError{fmt.Errorf("enqueue %d follow-up jobs: %w", len(follow), err)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range batch {
		switch {
		case !landed[o.j.ID]:
			w.opts.Log.Warn("job lease lost before it finished; another worker owns it now", "job", o.j.ID, "kind", o.j.Kind, "state", o.state)
		case o.state == Dead || o.state == Failed:
			w.opts.Log.Warn("job gave up", "job", o.j.ID, "kind", o.j.Kind, "state", o.state, "attempts", o.j.Attempts, "err", o.lastErr)
		}
	}
	if len(follow) > 0 {
		w.Wake()
	}
	return nil
}

package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Handler does one job. A nil error marks the job done; an error wrapped
// with Permanent fails it without retrying; any other error retries it with
// backoff until its attempts run out (then it is dead).
type Handler func(ctx context.Context, j *Job) error

// Options tune a Worker; zero values take the defaults in brackets.
type Options struct {
	ID          string        // names the worker in locked_by [host-pid-n]
	Concurrency int           // jobs run at once [4]
	Poll        time.Duration // wait between claims when nothing is due [1s]
	Lease       time.Duration // a claim not renewed for this long is re-claimed by anyone [2m]
	Backoff     time.Duration // delay after the first failure, doubled after each [10s]
	MaxBackoff  time.Duration // the longest delay [1h]
	MaxAttempts int           // tries per job unless the job says [8]
	Now         func() time.Time
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), workerCount.Add(1))
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

var workerCount atomic.Int64

// Worker claims due jobs of the kinds it has handlers for and runs them.
// Any number of workers may share a database: on PostgreSQL a job is
// claimed by one of them (FOR UPDATE SKIP LOCKED); on DuckDB, one process
// per file, claims are serialised in the process.
type Worker struct {
	s        *store.Store
	opts     Options
	handlers map[string]Handler
	wake     chan struct{}
}

// NewWorker makes a worker on s; register handlers with Handle before Run.
func NewWorker(s *store.Store, opts Options) *Worker {
	return &Worker{s: s, opts: opts.withDefaults(), handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Handle registers the handler of a kind of job.
func (w *Worker) Handle(kind string, h Handler) { w.handlers[kind] = h }

// Wake makes a running worker look for due jobs now instead of at its next
// poll (call it after enqueuing work that should start at once).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends, then waits for the running ones.
// A job interrupted by the end of ctx goes back to the queue without
// counting the attempt.
func (w *Worker) Run(ctx context.Context) {
	f := w.startFlusher()
	defer f.stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, w.opts.Concurrency)
	// freed says a slot came free: with every slot taken, the loop waits
	// for one instead of the next poll.
	freed := make(chan struct{}, 1)
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		var claimed []*Job
		if free > 0 {
			var err error
			if claimed, err = w.claim(ctx, free); err != nil && ctx.Err() == nil {
				w.opts.Log.Warn("claim jobs", "worker", w.opts.ID, "err", err)
			}
		}
		for _, j := range claimed {
			slots <- struct{}{}
			f.begin()
			wg.Go(func() {
				w.run(ctx, f, j) // returns once the outcome is committed
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			})
		}
		if free > 0 && len(claimed) == free {
			continue // there may be more due
		}
		var slot <-chan struct{}
		if free == 0 {
			slot = freed
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-slot:
		case <-time.After(w.opts.Poll):
		}
	}
}

// RunDue claims and runs the jobs due now, Concurrency at a time, until none
// is due (follow-ups that jobs enqueue with Then included), and returns how
// many ran (for commands and tests) once their outcomes are committed.
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	f := w.startFlusher()
	defer f.stop()
	total := 0
	for {
		claimed, err := w.claim(ctx, w.opts.Concurrency)
		if err != nil {
			return total, err
		}
		if len(claimed) == 0 {
			return total, nil
		}
		var wg sync.WaitGroup
		for _, j := range claimed {
			f.begin()
			wg.Go(func() { w.run(ctx, f, j) })
		}
		wg.Wait()
		total += len(claimed)
	}
}

// duckClaim serialises claims on DuckDB, which has no SKIP LOCKED and is
// used by one process per database file.
var duckClaim sync.Mutex

// claimLocking is where the engines differ: PostgreSQL locks the rows it
// claims and skips the rows other servers are claiming; DuckDB claims under
// an in-process mutex.
func claimLocking(engine string) (sqlSuffix string, mu *sync.Mutex) {
	if engine == "postgres" {
		return ` FOR UPDATE SKIP LOCKED`, nil
	}
	return "", &duckClaim
}

// claim marks up to n due jobs as running by this worker: queued jobs whose
// time has come, and running jobs whose lease ended (their worker died).
func (w *Worker) claim(ctx context.Context, n int) ([]*Job, error) {
	if len(w.handlers) == 0 {
		return nil, nil
	}
	kinds := make([]string, 0, len(w.handlers))
	for k := range w.handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	lock, mu := claimLocking(w.s.Engine())
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	now := w.opts.Now().UTC()
	args := []any{w.opts.ID, now.Add(w.opts.Lease), now, n}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Not cancelled half way: jobs marked but not read back would stay
	// running until their lease ran out. Run gives the attempt of a job
	// claimed as it stops back (the handler sees ctx ended).
	rows, err := w.s.DB().QueryContext(context.WithoutCancel(ctx), `UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3
		WHERE id IN (SELECT id FROM jobs
			WHERE kind IN (`+strings.Join(marks, ", ")+`)
			  AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND locked_until <= $3))
			ORDER BY run_at, id LIMIT $4`+lock+`)
		RETURNING `+jobColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		if j.MaxAttempts == 0 {
			j.MaxAttempts = w.opts.MaxAttempts
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return out, nil
}

// run runs one claimed job, renewing its lease while it runs, and hands the
// outcome to f; it returns once the outcome is committed.
func (w *Worker) run(ctx context.Context, f *flusher, j *Job) {
	j.writes, j.then, j.invalid = nil, nil, nil
	runCtx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(runCtx, j)
	}()
	err := w.call(runCtx, j)
	if err == nil && j.invalid != nil {
		err = Permanent(j.invalid)
	}
	stop()
	<-renewed
	f.record(w.outcome(j, err, ctx.Err() != nil))
}

// outcome is what an attempt that ended with err makes of j; stopping says
// the worker is shutting down.
func (w *Worker) outcome(j *Job, err error, stopping bool) *outcome {
	now := w.opts.Now().UTC()
	o := &outcome{j: j, state: Queued, runAt: now}
	switch {
	case err == nil:
		o.state, o.then = Done, true
	case stopping:
		// Back to the queue, this attempt not counted.
		o.lastErr, o.uncount = "interrupted: "+err.Error(), 1
	case IsPermanent(err):
		o.state, o.lastErr = Failed, err.Error()
	case j.Attempts >= j.MaxAttempts:
		o.state, o.lastErr = Dead, err.Error()
	default:
		o.runAt, o.lastErr = now.Add(w.delay(j.Attempts, err)), err.Error()
	}
	o.lastErr = clip(o.lastErr)
	return o
}

// clip bounds an error kept in the table, as valid UTF-8 (PostgreSQL refuses
// anything else, and a receiver's reply may be cut in the middle of a rune).
func clip(msg string) string {
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	return strings.ToValidUTF8(msg, "")
}

func (w *Worker) call(ctx context.Context, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	h := w.handlers[j.Kind]
	return h(ctx, j)
}

// renew extends the lease of j every third of the lease until ctx ends, so
// that only a job whose worker died is re-claimed.
func (w *Worker) renew(ctx context.Context, j *Job) {
	t := time.NewTicker(w.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := w.s.DB().ExecContext(ctx, `UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND attempts = $4`,
				w.opts.Now().UTC().Add(w.opts.Lease), j.ID, w.opts.ID, j.Attempts)
			if err != nil && ctx.Err() == nil {
				w.opts.Log.Warn("renew job lease", "job", j.ID, "kind", j.Kind, "err", err)
			}
		}
	}
}

// delay is the wait before the next try after the attempt-th failed:
// Backoff doubled per failure, at most MaxBackoff, plus up to 10% jitter so
// that retries of many jobs do not arrive together; a RetryAfter error asks
// for its own delay.
func (w *Worker) delay(attempt int, err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > 0 {
		return min(ra.after, w.opts.MaxBackoff)
	}
	d := w.opts.Backoff
	for i := 1; i < attempt && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a receiver that
// refuses the request): the job fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter asks for the next try after d instead of the backoff (a
// receiver's Retry-After), still counting the attempt.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err, d}
}

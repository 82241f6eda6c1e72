package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

var ctx = context.Background()

// fast is a worker's options for tests: millisecond polls and backoff.
func fast() Options {
	return Options{Poll: 5 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
}

func enqueue(t *testing.T, s *store.Store, j Job) int64 {
	t.Helper()
	id, created, err := Enqueue(ctx, s, j)
	if err != nil || !created {
		t.Fatalf("enqueue %+v: id %d created %v, %v", j, id, created, err)
	}
	return id
}

// runUntil runs w until job id reaches a final state, and returns the job.
func runUntil(t *testing.T, s *store.Store, w *Worker, id int64) *Job {
	t.Helper()
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(c); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j, err := Get(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == Done || j.State == Failed || j.State == Dead {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
	return nil
}

func TestEnqueueIsIdempotentByKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		first := enqueue(t, s, Job{Kind: "test", Key: "lead:7:hot", Payload: `{"n":1}`})
		id, created, err := Enqueue(ctx, s, Job{Kind: "test", Key: "lead:7:hot", Payload: `{"n":2}`})
		if err != nil || created || id != first {
			t.Fatalf("second enqueue of the key: id %d created %v, %v; want %d, false", id, created, err, first)
		}
		// Inside a transaction too.
		err = s.WithBulk(ctx, func(b *store.Bulk) error {
			id, created, err = EnqueueIn(ctx, b, Job{Kind: "test", Key: "lead:7:hot"})
			return err
		})
		if err != nil || created || id != first {
			t.Fatalf("enqueue in a transaction: id %d created %v, %v; want %d, false", id, created, err, first)
		}
		j, err := Get(ctx, s, first)
		if err != nil {
			t.Fatal(err)
		}
		if j.Payload != `{"n":1}` || j.State != Queued || j.Attempts != 0 {
			t.Errorf("job %+v, want the first payload, queued, 0 attempts", j)
		}
		// Jobs without a key are each their own.
		a := enqueue(t, s, Job{Kind: "test"})
		b := enqueue(t, s, Job{Kind: "test"})
		if a == b {
			t.Errorf("two jobs without a key got one id %d", a)
		}
		counts, err := Counts(ctx, s)
		if err != nil || counts[Queued] != 3 {
			t.Errorf("counts %v, %v; want 3 queued", counts, err)
		}
		if _, _, err := Enqueue(ctx, s, Job{Kind: "test", Payload: "{not json"}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("bad payload: %v, want ErrInvalid", err)
		}
		if _, _, err := Enqueue(ctx, s, Job{Payload: "{}"}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("no kind: %v, want ErrInvalid", err)
		}
	})
}

func TestConcurrentEnqueueOfOneKeyIsOneJob(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Go(func() { ids[i], _, errs[i] = Enqueue(ctx, s, Job{Kind: "test", Key: "same"}) })
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("enqueue %d: id %d, %v; want %d", i, ids[i], errs[i], ids[0])
			}
		}
		var n int
		s.DB().QueryRow(`SELECT COUNT(*) FROM jobs`).Scan(&n)
		if n != 1 {
			t.Errorf("%d jobs, want 1", n)
		}
	})
}

func TestRetryWithBackoffThenDone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		w := NewWorker(s, fast())
		var calls atomic.Int32
		w.Handle("flaky", func(ctx context.Context, j *Job) error {
			if calls.Add(1) <= 2 {
				return fmt.Errorf("receiver down (try %d)", j.Attempts)
			}
			return nil
		})
		id := enqueue(t, s, Job{Kind: "flaky"})
		j := runUntil(t, s, w, id)
		if j.State != Done || j.Attempts != 3 || calls.Load() != 3 {
			t.Errorf("state %s after %d attempts and %d calls, want done after 3", j.State, j.Attempts, calls.Load())
		}
		if j.LastError != "" {
			t.Errorf("a done job keeps the error %q", j.LastError)
		}
	})
}

func TestPermanentErrorFailsWithoutRetry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		w := NewWorker(s, fast())
		var calls atomic.Int32
		w.Handle("refused", func(ctx context.Context, j *Job) error {
			calls.Add(1)
			return Permanent(errors.New("400 Bad Request"))
		})
		j := runUntil(t, s, w, enqueue(t, s, Job{Kind: "refused"}))
		if j.State != Failed || j.Attempts != 1 || calls.Load() != 1 || j.LastError != "400 Bad Request" {
			t.Errorf("job %+v after %d calls, want failed after 1 with the error", j, calls.Load())
		}
	})
}

func TestDeadAfterMaxAttempts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		opts := fast()
		opts.MaxAttempts = 4
		w := NewWorker(s, opts)
		var calls atomic.Int32
		w.Handle("broken", func(ctx context.Context, j *Job) error {
			calls.Add(1)
			return errors.New("still down")
		})
		w.Handle("panics", func(ctx context.Context, j *Job) error { panic("boom") })
		j := runUntil(t, s, w, enqueue(t, s, Job{Kind: "broken"}))
		if j.State != Dead || j.Attempts != 4 || calls.Load() != 4 || j.LastError != "still down" {
			t.Errorf("job %+v after %d calls, want dead after the worker's 4", j, calls.Load())
		}
		// The job's own limit wins over the worker's; a panic is an error.
		j = runUntil(t, s, w, enqueue(t, s, Job{Kind: "panics", MaxAttempts: 2}))
		if j.State != Dead || j.Attempts != 2 || j.LastError != "handler panicked: boom" {
			t.Errorf("job %+v, want dead after its own 2 attempts", j)
		}
	})
}

func TestJobSurvivesRestart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		opts := fast()
		opts.Lease = time.Minute
		dying := NewWorker(s, opts)
		dying.Handle("sync", func(ctx context.Context, j *Job) error { return nil })
		id := enqueue(t, s, Job{Kind: "sync"})
		// The first process claims the job and dies before finishing it.
		claimed, err := dying.claim(ctx, 10)
		if err != nil || len(claimed) != 1 || claimed[0].ID != id {
			t.Fatalf("claimed %v, %v", claimed, err)
		}
		var ran atomic.Int32
		handler := func(ctx context.Context, j *Job) error { ran.Add(1); return nil }

		// A new worker does not take it while the lease holds...
		early := NewWorker(s, fast())
		early.Handle("sync", handler)
		if n, err := early.RunDue(ctx); err != nil || n != 0 {
			t.Fatalf("ran %d jobs under a live lease, %v", n, err)
		}
		// ...and takes it once the lease has expired.
		opts = fast()
		opts.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		late := NewWorker(s, opts)
		late.Handle("sync", handler)
		if n, err := late.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("after the lease: ran %d jobs, %v; want 1", n, err)
		}
		j, err := Get(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != Done || j.Attempts != 2 || ran.Load() != 1 {
			t.Errorf("job %+v, %d runs; want done on its second attempt", j, ran.Load())
		}
	})
}

func TestShutdownReturnsJobUncounted(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		w := NewWorker(s, fast())
		started := make(chan struct{})
		w.Handle("slow", func(ctx context.Context, j *Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		id := enqueue(t, s, Job{Kind: "slow"})
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(c); close(done) }()
		<-started
		cancel()
		<-done
		j, err := Get(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != Queued || j.Attempts != 0 {
			t.Errorf("interrupted job %+v, want queued with 0 attempts", j)
		}
	})
}

// Two workers (two servers on one PostgreSQL; on DuckDB two workers in one
// process) run every one of 200 jobs exactly once.
func TestTwoWorkersRunEachJobOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		const n = 200
		for i := range n {
			enqueue(t, s, Job{Kind: "count", Key: fmt.Sprint("job-", i)})
		}
		var mu sync.Mutex
		runs := map[int64]int{}
		byWorker := map[string]int{}
		c, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, name := range []string{"a", "b"} {
			opts := fast()
			opts.ID, opts.Concurrency = name, 4
			w := NewWorker(s, opts)
			w.Handle("count", func(ctx context.Context, j *Job) error {
				mu.Lock()
				runs[j.ID]++
				byWorker[name]++
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return nil
			})
			wg.Go(func() { w.Run(c) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			counts, err := Counts(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if counts[Done] == n {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		if len(runs) != n {
			t.Errorf("%d jobs ran, want %d", len(runs), n)
		}
		for id, k := range runs {
			if k != 1 {
				t.Errorf("job %d ran %d times", id, k)
			}
		}
		t.Logf("runs per worker: %v", byWorker)
	})
}

func TestBackoffDoublesUpToTheMaximum(t *testing.T) {
	w := NewWorker(nil, Options{Backoff: time.Second, MaxBackoff: 10 * time.Second})
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {30, 10 * time.Second}} {
		got := w.delay(c.attempt, errors.New("x"))
		if got < c.want || got > c.want+c.want/10 {
			t.Errorf("delay after attempt %d: %v, want %v plus at most 10%%", c.attempt, got, c.want)
		}
	}
	if got := w.delay(1, RetryAfter(errors.New("429"), 7*time.Second)); got != 7*time.Second {
		t.Errorf("retry-after delay %v, want 7s", got)
	}
}

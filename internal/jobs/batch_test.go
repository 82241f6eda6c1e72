package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

func enqueueBatch(t *testing.T, s *store.Store, js []Job) (ids []int64, created []bool) {
	t.Helper()
	err := s.WithBulk(ctx, func(b *store.Bulk) error {
		var err error
		ids, created, err = EnqueueBatch(ctx, b, js)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue %d jobs: %v", len(js), err)
	}
	return ids, created
}

func countJobs(t *testing.T, s *store.Store, where string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnqueueBatchIsIdempotentByKey(t *testing.T) {
	// Every case starts with one job of key "old".
	for _, c := range []struct {
		name    string
		jobs    []Job
		same    [][]int // groups of indexes that must share an id ("old" is -1)
		created []bool
		total   int // jobs in the table afterwards
	}{
		{
			name:    "new jobs, keyed and not",
			jobs:    []Job{{Kind: "test", Key: "a"}, {Kind: "test"}, {Kind: "test"}},
			created: []bool{true, true, true},
			total:   4,
		},
		{
			name:    "a key that exists",
			jobs:    []Job{{Kind: "test", Key: "old", Payload: `{"n":2}`}},
			same:    [][]int{{-1, 0}},
			created: []bool{false},
			total:   1,
		},
		{
			name:    "a key repeated in the batch",
			jobs:    []Job{{Kind: "test", Key: "a", Payload: `{"n":1}`}, {Kind: "test", Key: "a", Payload: `{"n":2}`}},
			same:    [][]int{{0, 1}},
			created: []bool{true, false},
			total:   2,
		},
		{
			name: "mixed",
			jobs: []Job{{Kind: "test", Key: "a"}, {Kind: "test", Key: "old"}, {Kind: "test"}, {Kind: "test", Key: "a"},
				{Kind: "test", Key: "old"}, {Kind: "test", Key: "b"}},
			same:    [][]int{{0, 3}, {-1, 1, 4}},
			created: []bool{true, false, true, false, false, true},
			total:   4,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, s *store.Store) {
				old := enqueue(t, s, Job{Kind: "test", Key: "old", Payload: `{"n":1}`})
				ids, created := enqueueBatch(t, s, c.jobs)
				if len(ids) != len(c.jobs) || fmt.Sprint(created) != fmt.Sprint(c.created) {
					t.Fatalf("ids %v created %v, want %d ids created %v", ids, created, len(c.jobs), c.created)
				}
				groupOf := map[int]int{}
				for g, idx := range c.same {
					for _, i := range idx {
						groupOf[i] = g + 1
					}
				}
				idOf := func(i int) int64 {
					if i < 0 {
						return old
					}
					return ids[i]
				}
				for i := -1; i < len(ids); i++ {
					for k := i + 1; k < len(ids); k++ {
						want := groupOf[i] != 0 && groupOf[i] == groupOf[k]
						if (idOf(i) == idOf(k)) != want {
							t.Errorf("jobs %d and %d: ids %d and %d, want the same: %v", i, k, idOf(i), idOf(k), want)
						}
					}
				}
				if n := countJobs(t, s, "1 = 1"); n != c.total {
					t.Errorf("%d jobs, want %d", n, c.total)
				}
				// The first job of a key keeps its payload.
				if j, err := Get(ctx, s, old); err != nil || j.Payload != `{"n":1}` {
					t.Errorf("the old job: %+v, %v", j, err)
				}
				for i, j := range c.jobs {
					if got, err := Get(ctx, s, ids[i]); err != nil || (created[i] && got.Payload != "{}" && got.Payload != j.Payload) {
						t.Errorf("job %d: %+v, %v", i, got, err)
					}
				}
			})
		})
	}
}

func TestEnqueueBatchInChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		// Every 100th key exists; the batch spans three INSERTs.
		var old []Job
		for i := 0; i < 1200; i += 100 {
			old = append(old, Job{Kind: "test", Key: fmt.Sprint("k", i)})
		}
		oldIDs, _ := enqueueBatch(t, s, old)
		js := make([]Job, 1200)
		for i := range js {
			js[i] = Job{Kind: "test", Key: fmt.Sprint("k", i), Payload: fmt.Sprintf(`{"i":%d}`, i)}
		}
		ids, created := enqueueBatch(t, s, js)
		seen := map[int64]bool{}
		for i := range js {
			if existed := i%100 == 0; created[i] == existed || (existed && ids[i] != oldIDs[i/100]) {
				t.Errorf("job %d: id %d created %v", i, ids[i], created[i])
			}
			if seen[ids[i]] {
				t.Errorf("job %d: id %d twice", i, ids[i])
			}
			seen[ids[i]] = true
		}
		if n := countJobs(t, s, "1 = 1"); n != 1200 {
			t.Errorf("%d jobs, want 1200", n)
		}
	})
}

func TestEnqueueBatchRefusesInvalidJobs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		for _, js := range [][]Job{
			{{Kind: "test", Key: "ok"}, {Kind: "test", Payload: "{not json"}},
			{{Kind: "test", Key: "ok"}, {Key: "no kind"}},
			{{Kind: "test", MaxAttempts: -1}},
		} {
			err := s.WithBulk(ctx, func(b *store.Bulk) error {
				_, _, err := EnqueueBatch(ctx, b, js)
				return err
			})
			if !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", js, err)
			}
		}
		if n := countJobs(t, s, "1 = 1"); n != 0 {
			t.Errorf("%d jobs written by refused batches", n)
		}
	})
}

// logBuffer collects a worker's log for tests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func logTo(o Options, l *logBuffer) Options {
	o.Log = slog.New(slog.NewTextHandler(l, nil))
	return o
}

// attemptTogether claims up to n due jobs for w and runs each once, all at
// once, recording their outcomes through one flusher.
func attemptTogether(t *testing.T, w *Worker, n int) []*Job {
	t.Helper()
	claimed, err := w.claim(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	f := w.startFlusher()
	for range claimed {
		f.begin()
	}
	var wg sync.WaitGroup
	for _, j := range claimed {
		wg.Go(func() { w.run(ctx, f, j) })
	}
	wg.Wait()
	f.stop()
	return claimed
}

// jobLog is a table handlers append to in tests: one row per attempt and seq.
func jobLog(t *testing.T, s *store.Store) {
	t.Helper()
	_, err := s.DB().ExecContext(ctx, `CREATE TABLE job_log (job_id BIGINT NOT NULL, attempt BIGINT NOT NULL, seq BIGINT NOT NULL,
		note VARCHAR NOT NULL, PRIMARY KEY (job_id, attempt, seq))`)
	storetest.Must(t, err)
}

var jobLogColumns = []string{"job_id", "attempt", "seq", "note"}

// logged returns the attempts of job id that have rows in job_log, and how many rows.
func logged(t *testing.T, s *store.Store, id int64) (attempts []int64, rows int) {
	t.Helper()
	rs, err := s.DB().QueryContext(ctx, `SELECT attempt, COUNT(*) FROM job_log WHERE job_id = $1 GROUP BY attempt ORDER BY attempt`, id)
	storetest.Must(t, err)
	defer rs.Close()
	for rs.Next() {
		var a, n int64
		storetest.Must(t, rs.Scan(&a, &n))
		attempts, rows = append(attempts, a), rows+int(n)
	}
	storetest.Must(t, rs.Err())
	return attempts, rows
}

// Many jobs running at once, with every kind of outcome: each is recorded
// as its handler said, and jobs finishing together share transactions.
func TestOutcomesOfManyConcurrentJobs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		jobLog(t, s)
		type class struct {
			kind     string
			max      int
			handler  Handler
			state    string
			attempts int
			lastErr  string
		}
		classes := []class{
			{"ok", 0, func(ctx context.Context, j *Job) error { return nil }, Done, 1, ""},
			{"flaky", 0, func(ctx context.Context, j *Job) error {
				if j.Attempts == 1 {
					return errors.New("try again")
				}
				return nil
			}, Done, 2, ""},
			{"refused", 0, func(ctx context.Context, j *Job) error { return Permanent(errors.New("400")) }, Failed, 1, "400"},
			{"broken", 2, func(ctx context.Context, j *Job) error { return errors.New("down") }, Dead, 2, "down"},
			{"later", 0, func(ctx context.Context, j *Job) error { return RetryAfter(errors.New("429"), time.Hour) }, Queued, 1, "429"},
		}
		opts := fast()
		opts.Concurrency, opts.MaxBackoff = 32, time.Hour // the retry-after of later stands
		w := NewWorker(s, opts)
		const per = 60
		var js []Job
		for _, c := range classes {
			w.Handle(c.kind, func(ctx context.Context, j *Job) error {
				j.Append("job_log", jobLogColumns, []any{j.ID, j.Attempts, 1, c.kind})
				return c.handler(ctx, j)
			})
			for range per {
				js = append(js, Job{Kind: c.kind, MaxAttempts: c.max})
			}
		}
		enqueueBatch(t, s, js)
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		before := s.Version()
		go func() { w.Run(c); close(done) }()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if countJobs(t, s, `state = 'running' OR (kind IN ('ok', 'flaky') AND state <> 'done') OR (kind = 'refused' AND state <> 'failed')
				OR (kind = 'broken' AND state <> 'dead') OR (kind = 'later' AND attempts = 0)`) == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		commits := s.Version() - before
		for _, c := range classes {
			if n := countJobs(t, s, "kind = $1 AND state = $2 AND attempts = $3 AND last_error = $4 AND locked_by IS NULL", c.kind, c.state, c.attempts, c.lastErr); n != per {
				t.Errorf("%s: %d jobs %s after %d attempts with error %q, want %d", c.kind, n, c.state, c.attempts, c.lastErr, per)
			}
			var rows int
			storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM job_log WHERE note = $1`, c.kind).Scan(&rows))
			if rows != per*c.attempts {
				t.Errorf("%s: %d rows logged, want one for each of %d attempts", c.kind, rows, per*c.attempts)
			}
		}
		// 360 attempts: one commit each would be 360.
		if commits > 120 {
			t.Errorf("%d commits for %d attempts: outcomes are not batched", commits, 6*per)
		}
		t.Logf("%d commits", commits)
	})
}

// A job whose lease was lost (another worker claimed it again) keeps the
// other worker's claim; its appended rows go with the dropped outcome.
func TestLeaseLostOutcomeIsNotOverwritten(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		jobLog(t, s)
		var log logBuffer
		opts := logTo(fast(), &log)
		opts.ID = "a"
		w := NewWorker(s, opts)
		w.Handle("sync", func(ctx context.Context, j *Job) error {
			j.Append("job_log", jobLogColumns, []any{j.ID, j.Attempts, 1, "a"})
			j.Then(Job{Kind: "next", Key: fmt.Sprint("next-", j.ID)})
			return nil
		})
		ids, _ := enqueueBatch(t, s, []Job{{Kind: "sync"}, {Kind: "sync"}, {Kind: "sync"}})
		claimed, err := w.claim(ctx, 3)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claimed %d, %v", len(claimed), err)
		}
		// Worker b takes the second job over while a runs it.
		_, err = s.DB().ExecContext(ctx, `UPDATE jobs SET locked_by = 'b', attempts = attempts + 1 WHERE id = $1`, ids[1])
		storetest.Must(t, err)
		f := w.startFlusher()
		for range claimed {
			f.begin()
		}
		var wg sync.WaitGroup
		for _, j := range claimed {
			wg.Go(func() { w.run(ctx, f, j) })
		}
		wg.Wait()
		f.stop()

		for i, id := range ids {
			j, err := Get(ctx, s, id)
			storetest.Must(t, err)
			attempts, _ := logged(t, s, id)
			follow := countJobs(t, s, "idem_key = $1", fmt.Sprint("next-", id))
			if i == 1 {
				var by string
				storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT locked_by FROM jobs WHERE id = $1`, id).Scan(&by))
				if j.State != Running || j.Attempts != 2 || by != "b" || len(attempts) != 0 || follow != 0 {
					t.Errorf("the taken job: %+v locked by %s, logged %v, %d follow-ups; want running by b, nothing written", j, by, attempts, follow)
				}
				continue
			}
			if j.State != Done || len(attempts) != 1 || follow != 1 {
				t.Errorf("job %d: %+v, logged %v, %d follow-ups; want done, logged, one follow-up", i, j, attempts, follow)
			}
		}
		if !strings.Contains(log.String(), "lease lost") {
			t.Errorf("no warning of the lost lease in the log:\n%s", log.String())
		}
	})
}

// Appended rows are written with every outcome of every attempt; Then jobs
// are enqueued only when the handler succeeded.
func TestAppendAndThenCommitWithTheOutcome(t *testing.T) {
	for _, c := range []struct {
		name     string
		max      int
		fail     func(attempt int) error // the handler's error on an attempt
		state    string
		attempts int
		follow   []string // the keys of the follow-up jobs
	}{
		{"done", 0, func(int) error { return nil }, Done, 1, []string{"child-1-a", "child-1-b"}},
		{"retried then done", 0, func(a int) error {
			if a < 3 {
				return errors.New("not yet")
			}
			return nil
		}, Done, 3, []string{"child-3-a", "child-3-b"}},
		{"failed", 0, func(int) error { return Permanent(errors.New("no")) }, Failed, 1, nil},
		{"dead", 2, func(int) error { return errors.New("down") }, Dead, 2, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, s *store.Store) {
				jobLog(t, s)
				w := NewWorker(s, fast())
				w.Handle("parent", func(ctx context.Context, j *Job) error {
					// 1 row, and 4 (DuckDB's Appender) across two jobs' worth of rows.
					for seq := range 5 {
						j.Append("job_log", jobLogColumns, []any{j.ID, j.Attempts, seq, "parent"})
					}
					for _, k := range []string{"a", "b", "a"} { // a repeated key is one job
						j.Then(Job{Kind: "child", Key: fmt.Sprintf("child-%d-%s", j.Attempts, k)})
					}
					return c.fail(j.Attempts)
				})
				var children []string
				var mu sync.Mutex
				w.Handle("child", func(ctx context.Context, j *Job) error {
					mu.Lock()
					children = append(children, j.Key)
					mu.Unlock()
					return nil
				})
				id := enqueue(t, s, Job{Kind: "parent", MaxAttempts: c.max})
				j := runUntil(t, s, w, id)
				if j.State != c.state || j.Attempts != c.attempts {
					t.Errorf("job %+v, want %s after %d attempts", j, c.state, c.attempts)
				}
				attempts, rows := logged(t, s, id)
				if len(attempts) != c.attempts || rows != 5*c.attempts {
					t.Errorf("logged attempts %v (%d rows), want 5 rows for each of %d", attempts, rows, c.attempts)
				}
				if n := countJobs(t, s, "kind = 'child'"); n != len(c.follow) {
					t.Errorf("%d follow-up jobs, want %v", n, c.follow)
				}
				for _, k := range c.follow {
					if countJobs(t, s, "idem_key = $1", k) != 1 {
						t.Errorf("no follow-up job %s", k)
					}
				}
				// Follow-ups are due at once: RunDue runs what is left of them.
				if _, err := w.RunDue(ctx); err != nil {
					t.Fatal(err)
				}
				if n := countJobs(t, s, "kind = 'child' AND state = 'done'"); n != len(c.follow) {
					t.Errorf("%d follow-up jobs done, want %d", n, len(c.follow))
				}
			})
		})
	}
}

func TestBadAppendOrThenFailsTheJob(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		jobLog(t, s)
		w := NewWorker(s, fast())
		w.Handle("short-row", func(ctx context.Context, j *Job) error {
			j.Append("job_log", jobLogColumns, []any{j.ID})
			return nil
		})
		w.Handle("no-kind", func(ctx context.Context, j *Job) error {
			j.Then(Job{Key: "x"})
			return nil
		})
		for kind, msg := range map[string]string{"short-row": "1 values for 4 columns", "no-kind": "follow-up job"} {
			j := runUntil(t, s, w, enqueue(t, s, Job{Kind: kind}))
			if j.State != Failed || j.Attempts != 1 || !strings.Contains(j.LastError, msg) {
				t.Errorf("%s: %+v, want failed with %q", kind, j, msg)
			}
		}
	})
}

// A row that cannot be written fails the batch; each outcome is then
// recorded alone, so the others land with their rows, and the job with the
// bad row has its attempt recorded as failed, without its writes.
func TestFlushFallsBackToOneOutcomeAtATime(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		jobLog(t, s)
		// The row the bad job appends is taken.
		_, err := s.DB().ExecContext(ctx, `INSERT INTO job_log VALUES (0, 0, 0, 'taken')`)
		storetest.Must(t, err)
		var log logBuffer
		opts := logTo(fast(), &log)
		opts.Concurrency, opts.Backoff, opts.MaxBackoff = 8, time.Hour, time.Hour
		w := NewWorker(s, opts)
		w.Handle("step", func(ctx context.Context, j *Job) error {
			var p struct{ Bad, Refuse bool }
			if err := j.Decode(&p); err != nil {
				return err
			}
			j.Append("job_log", jobLogColumns, []any{j.ID, j.Attempts, 1, "ok"})
			j.Append("job_log", jobLogColumns, []any{j.ID, j.Attempts, 2, "ok"})
			if p.Bad {
				j.Append("job_log", jobLogColumns, []any{0, 0, 0, "duplicate"})
			}
			j.Then(Job{Kind: "after", Key: fmt.Sprint("after-", j.ID)})
			if p.Refuse {
				return Permanent(errors.New("refused"))
			}
			return nil
		})
		ids, _ := enqueueBatch(t, s, []Job{
			{Kind: "step", Payload: `{}`},
			{Kind: "step", Payload: `{"Bad":true}`},                 // retried
			{Kind: "step", Payload: `{"Bad":true}`, MaxAttempts: 1}, // dead: its last attempt
			{Kind: "step", Payload: `{"Bad":true,"Refuse":true}`},   // failed anyway
			{Kind: "step", Payload: `{}`},
		})
		if n := len(attemptTogether(t, w, 8)); n != 5 {
			t.Fatalf("ran %d jobs, want 5", n)
		}
		for i, want := range []struct {
			state   string
			lastErr string
			logged  int
			follow  int
		}{
			{Done, "", 2, 1},
			{Queued, "write the job's results", 0, 0},
			{Dead, "write the job's results", 0, 0},
			{Failed, "refused; write the job's results", 0, 0},
			{Done, "", 2, 1},
		} {
			j, err := Get(ctx, s, ids[i])
			storetest.Must(t, err)
			_, rows := logged(t, s, ids[i])
			follow := countJobs(t, s, "idem_key = $1", fmt.Sprint("after-", ids[i]))
			if j.State != want.state || j.Attempts != 1 || !strings.HasPrefix(j.LastError, want.lastErr) || rows != want.logged || follow != want.follow {
				t.Errorf("job %d: %s after %d attempts, error %q, %d rows, %d follow-ups; want %s, %q..., %d rows, %d follow-ups",
					i, j.State, j.Attempts, j.LastError, rows, follow, want.state, want.lastErr, want.logged, want.follow)
			}
			if want.state == Queued && !j.RunAt.After(j.UpdatedAt) {
				t.Errorf("job %d is retried at %v, not after a backoff from %v", i, j.RunAt, j.UpdatedAt)
			}
		}
		if !strings.Contains(log.String(), "one by one") {
			t.Errorf("the failed batch is not in the log:\n%s", log.String())
		}
	})
}

// With every slot taken, Run claims again as soon as one comes free, and a
// follow-up job wakes it, instead of both waiting for the next poll.
func TestRunClaimsAsSlotsComeFree(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		opts := fast()
		opts.Poll, opts.Concurrency = time.Hour, 2
		w := NewWorker(s, opts)
		w.Handle("work", func(ctx context.Context, j *Job) error {
			time.Sleep(time.Millisecond)
			return nil
		})
		w.Handle("parent", func(ctx context.Context, j *Job) error {
			j.Then(Job{Kind: "work", Key: "child"})
			return nil
		})
		var js []Job
		for range 20 {
			js = append(js, Job{Kind: "work"})
		}
		js = append(js, Job{Kind: "parent"}) // claimed last: only a wake-up runs its child
		enqueueBatch(t, s, js)
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(c); close(done) }()
		defer func() { cancel(); <-done }()
		deadline := time.Now().Add(20 * time.Second)
		for countJobs(t, s, "state = 'done'") < 22 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of 22 jobs done", countJobs(t, s, "state = 'done'"))
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

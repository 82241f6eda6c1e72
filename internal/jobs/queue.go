package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The states of a job.
const (
	Queued  = "queued"  // waiting for its run time (also between retries)
	Running = "running" // claimed by a worker until its lease ends
	Done    = "done"    // the handler succeeded
	Failed  = "failed"  // the handler returned a permanent error: not retried
	Dead    = "dead"    // every attempt failed
)

// Job is one unit of durable work: a row of the jobs table.
type Job struct {
	ID   int64
	Kind string // selects the handler, e.g. "notify.deliver"
	// Payload is the handler's input as JSON text ("{}" when empty).
	Payload string
	// Key is the idempotency key: enqueuing a key that exists is a no-op
	// that returns the existing job. Empty gives the job a key of its own.
	Key string
	// MaxAttempts bounds the tries; 0 uses the worker's MaxAttempts.
	MaxAttempts int
	// RunAt is when the job is due; zero means now.
	RunAt time.Time

	// Read back from the table.
	State     string
	Attempts  int // tries started, including the one running
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time

	// What the handler asked to commit with the attempt's outcome (Append,
	// Then); reset when an attempt starts.
	writes  []write
	then    []Job
	invalid error // the first bad Append or Then
}

// write is a row to insert with a job's outcome.
type write struct {
	table   string
	columns []string
	row     []any
}

// Append asks for a row (values in the order of columns) to be inserted into
// table in the transaction that records this attempt's outcome, whatever the
// outcome is (done, a retry, failed, dead, or back to the queue when the
// worker stops): the row exists exactly when the outcome does, so a log of
// attempts neither misses one nor has one twice. Rows are dropped with the
// outcome when the job's lease was lost (another worker runs it again). If
// they cannot be written (a constraint they violate), the outcome is recorded
// without them as a failed attempt: a job the handler finished is retried
// (dead after its last attempt) with the write's error as its last error; an
// attempt that had failed keeps its outcome, the write's error added to its
// own. A row of the wrong width fails the attempt permanently.
// Call Append and Then from the handler, not from goroutines it leaves
// running.
func (j *Job) Append(table string, columns []string, row []any) {
	if len(row) != len(columns) {
		j.fail(fmt.Errorf("job %d (%s): append to %s: %d values for %d columns", j.ID, j.Kind, table, len(row), len(columns)))
		return
	}
	j.writes = append(j.writes, write{table, slices.Clone(columns), slices.Clone(row)})
}

// Then asks for next to be enqueued (as by EnqueueBatch: idempotent by its
// key) in the transaction that records this attempt's outcome, only when the
// handler returns nil: a follow-up exists exactly when the work it follows is
// done. On any other outcome (a retry, failed, dead, interrupted) it is
// dropped, and the next attempt asks again; it is dropped too when the
// job's lease was lost. A follow-up that cannot be enqueued fails the attempt
// as a row that cannot be written does (see Append); an invalid one fails
// it permanently.
func (j *Job) Then(next Job) {
	if err := check(&next); err != nil {
		j.fail(fmt.Errorf("job %d (%s): follow-up job: %w", j.ID, j.Kind, err))
		return
	}
	j.then = append(j.then, next)
}

// fail remembers a bad Append or Then: the attempt fails permanently (it
// is a bug in the handler, which retrying does not fix) unless the handler
// returned an error of its own.
func (j *Job) fail(err error) {
	if j.invalid == nil {
		j.invalid = err
	}
}

// Decode unmarshals the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal([]byte(j.Payload), v); err != nil {
		return fmt.Errorf("job %d (%s): decode payload: %w", j.ID, j.Kind, err)
	}
	return nil
}

// Enqueue stores j and returns its id; created is false when a job with the
// same idempotency key already existed (that job's id is returned and j is
// dropped).
func Enqueue(ctx context.Context, s *store.Store, j Job) (id int64, created bool, err error) {
	if j.Key != "" {
		if id, ok, err := lookupKey(ctx, s.DB(), j.Key); err != nil || ok {
			return id, false, err
		}
	}
	for attempt := 1; ; attempt++ {
		err = s.WithBulk(ctx, func(b *store.Bulk) error {
			id, created, err = EnqueueIn(ctx, b, j)
			return err
		})
		if err == nil || j.Key == "" {
			return id, created, err
		}
		// A concurrent enqueue of the same key got there first: DuckDB
		// reports the conflict at once instead of waiting for the other
		// transaction, which may not have committed yet. Once it has, its
		// job is the one.
		if id, ok, lerr := lookupKey(ctx, s.DB(), j.Key); lerr == nil && ok {
			return id, false, nil
		}
		if attempt == 5 || ctx.Err() != nil {
			return id, created, err
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
}

// EnqueueIn stores j inside the caller's transaction, so that the job exists
// exactly when the write that caused it commits.
func EnqueueIn(ctx context.Context, b *store.Bulk, j Job) (id int64, created bool, err error) {
	ids, made, err := EnqueueBatch(ctx, b, []Job{j})
	if err != nil {
		return 0, false, err
	}
	return ids[0], made[0], nil
}

// enqueueChunk bounds the jobs of one INSERT: 6 parameters a job, far
// under PostgreSQL's 65,535 a statement.
const enqueueChunk = 500

// EnqueueBatch stores js inside the caller's transaction as EnqueueIn does
// each of them, with a few multi-row statements: ids[i] and created[i] are
// those of js[i]. A job whose key exists gets that job's id and created
// false; a key repeated in js is one job, created (when new) by its first
// occurrence. An invalid job fails the call before anything is written.
func EnqueueBatch(ctx context.Context, b *store.Bulk, js []Job) (ids []int64, created []bool, err error) {
	if len(js) == 0 {
		return nil, nil, nil
	}
	js = slices.Clone(js) // check fills in defaults
	for i := range js {
		if err := check(&js[i]); err != nil {
			if len(js) > 1 {
				err = fmt.Errorf("job %d of %d: %w", i+1, len(js), err)
			}
			return nil, nil, err
		}
	}
	first, err := b.AllocIDs(ctx, len(js))
	if err != nil {
		return nil, nil, err
	}
	ids, created = make([]int64, len(js)), make([]bool, len(js))
	keys := make([]string, len(js))
	firstOf := map[string]int{} // key → index of its first job in js
	var unique []int            // indexes of the jobs to insert
	for i, j := range js {
		ids[i] = first + int64(i)
		keys[i] = j.Key
		if keys[i] == "" {
			keys[i] = fmt.Sprintf("%s#%d", j.Kind, ids[i])
		}
		if _, dup := firstOf[keys[i]]; !dup {
			firstOf[keys[i]] = i
			unique = append(unique, i)
		}
	}
	now := time.Now().UTC()
	for len(unique) > 0 {
		chunk := unique[:min(enqueueChunk, len(unique))]
		unique = unique[len(chunk):]
		if err := insertJobs(ctx, b, js, ids, keys, created, chunk, now); err != nil {
			return nil, nil, err
		}
	}
	for i, k := range keys {
		if f := firstOf[k]; f != i {
			ids[i], created[i] = ids[f], false
		}
	}
	return ids, created, nil
}

// check validates j and fills in its defaults.
func check(j *Job) error {
	if j.Kind == "" {
		return crm.Invalid("job", "kind", "is required")
	}
	if j.Payload == "" {
		j.Payload = "{}"
	} else if !json.Valid([]byte(j.Payload)) {
		return crm.Invalid("job", "payload", "is not valid JSON")
	}
	if j.MaxAttempts < 0 {
		return crm.Invalid("job", "max_attempts", "must not be negative")
	}
	return nil
}

// insertJobs inserts the jobs js[i] for i in chunk, with the ids and keys
// given, skipping keys that exist; then ids[i] is the job of its key and
// created[i] says whether it is the one inserted.
func insertJobs(ctx context.Context, b *store.Bulk, js []Job, ids []int64, keys []string, created []bool, chunk []int, now time.Time) error {
	what := fmt.Sprintf("%d jobs", len(chunk))
	if len(chunk) == 1 {
		what = "a " + js[chunk[0]].Kind + " job"
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO jobs (id, kind, payload, idem_key, state, attempts, max_attempts, run_at, last_error, created_at, updated_at) VALUES `)
	args := []any{now}
	for n, i := range chunk {
		if n > 0 {
			q.WriteString(", ")
		}
		p := len(args) + 1
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, 'queued', 0, $%d, $%d, '', $1, $1)", p, p+1, p+2, p+3, p+4, p+5)
		runAt := js[i].RunAt.UTC()
		if js[i].RunAt.IsZero() {
			runAt = now
		}
		args = append(args, ids[i], js[i].Kind, js[i].Payload, keys[i], js[i].MaxAttempts, runAt)
	}
	q.WriteString(` ON CONFLICT (idem_key) DO NOTHING`)
	res, err := b.Exec(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", what, err)
	}
	if int(n) == len(chunk) {
		for _, i := range chunk {
			created[i] = true
		}
		return nil
	}
	// Some keys existed: find their jobs.
	args = args[:0]
	marks := make([]string, len(chunk))
	for n, i := range chunk {
		args = append(args, keys[i])
		marks[n] = fmt.Sprintf("$%d", n+1)
	}
	rows, err := b.Query(ctx, `SELECT id, idem_key FROM jobs WHERE idem_key IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("enqueue %s: find the jobs of their keys: %w", what, err)
	}
	defer rows.Close()
	byKey := make(map[string]int64, len(chunk))
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return fmt.Errorf("enqueue %s: find the jobs of their keys: %w", what, err)
		}
		byKey[key] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enqueue %s: find the jobs of their keys: %w", what, err)
	}
	for _, i := range chunk {
		id, ok := byKey[keys[i]]
		if !ok {
			return fmt.Errorf("enqueue %s: no job of key %q", what, keys[i])
		}
		created[i] = id == ids[i]
		ids[i] = id
	}
	return nil
}

func lookupKey(ctx context.Context, db *sql.DB, key string) (int64, bool, error) {
	var id int64
	err := db.QueryRowContext(ctx, `SELECT id FROM jobs WHERE idem_key = $1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up job key %q: %w", key, err)
	}
	return id, true, nil
}

const jobColumns = `id, kind, payload, idem_key, state, attempts, max_attempts, run_at, last_error, created_at, updated_at`

func scanJob(sc interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var attempts, maxAttempts int64
	if err := sc.Scan(&j.ID, &j.Kind, &j.Payload, &j.Key, &j.State, &attempts, &maxAttempts, &j.RunAt, &j.LastError, &j.CreatedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	j.Attempts, j.MaxAttempts = int(attempts), int(maxAttempts)
	return &j, nil
}

// Get reads one job.
func Get(ctx context.Context, s *store.Store, id int64) (*Job, error) {
	j, err := scanJob(s.DB().QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, nil
}

// Counts returns how many jobs are in each state, for health pages.
func Counts(ctx context.Context, s *store.Store) (map[string]int, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = int(n)
	}
	return out, rows.Err()
}

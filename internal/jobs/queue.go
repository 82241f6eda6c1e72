package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	if j.Kind == "" {
		return 0, false, crm.Invalid("job", "kind", "is required")
	}
	if j.Payload == "" {
		j.Payload = "{}"
	} else if !json.Valid([]byte(j.Payload)) {
		return 0, false, crm.Invalid("job", "payload", "is not valid JSON")
	}
	if j.MaxAttempts < 0 {
		return 0, false, crm.Invalid("job", "max_attempts", "must not be negative")
	}
	now := time.Now().UTC()
	runAt := j.RunAt.UTC()
	if j.RunAt.IsZero() {
		runAt = now
	}
	newID, err := b.AllocIDs(ctx, 1)
	if err != nil {
		return 0, false, err
	}
	key := j.Key
	if key == "" {
		key = fmt.Sprintf("%s#%d", j.Kind, newID)
	}
	res, err := b.Exec(ctx, `INSERT INTO jobs (id, kind, payload, idem_key, state, attempts, max_attempts, run_at, last_error, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, '', $7, $7) ON CONFLICT (idem_key) DO NOTHING`,
		newID, j.Kind, j.Payload, key, j.MaxAttempts, runAt, now)
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s job: %w", j.Kind, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, fmt.Errorf("enqueue %s job: %w", j.Kind, err)
	} else if n == 1 {
		return newID, true, nil
	}
	if err := b.QueryRow(ctx, `SELECT id FROM jobs WHERE idem_key = $1`, key).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("enqueue %s job: find the job of key %q: %w", j.Kind, key, err)
	}
	return id, false, nil
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

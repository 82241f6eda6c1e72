package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Backlog is the part of the queue that is not finished, for monitoring
// (the web server's /metrics): done jobs are not counted.
type Backlog struct {
	// Counts is, per kind, how many jobs are in each unfinished state:
	// queued (due or waiting for their run time, retries included),
	// running, failed and dead (given up: they stay until someone acts).
	Counts map[string]map[string]int
	// OldestDue is how long the oldest queued job whose run time has come
	// has waited past it: 0 when no queued job is due, growing when the
	// worker is stopped, stuck or too slow.
	OldestDue time.Duration
}

// ReadBacklog reads the queue's Backlog at now. It only reads, with two
// queries on the jobs_due (state, run_at) index.
func ReadBacklog(ctx context.Context, s *store.Store, now time.Time) (Backlog, error) {
	now = now.UTC()
	b := Backlog{Counts: map[string]map[string]int{}}
	rows, err := s.DB().QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM jobs
		WHERE state IN ('queued', 'running', 'failed', 'dead') GROUP BY kind, state`)
	if err != nil {
		return b, fmt.Errorf("read job backlog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return b, fmt.Errorf("read job backlog: %w", err)
		}
		if b.Counts[kind] == nil {
			b.Counts[kind] = map[string]int{}
		}
		b.Counts[kind][state] = int(n)
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("read job backlog: %w", err)
	}
	var oldest sql.NullTime
	if err := s.DB().QueryRowContext(ctx, `SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND run_at <= $1`, now).Scan(&oldest); err != nil {
		return b, fmt.Errorf("read oldest due job: %w", err)
	}
	if oldest.Valid {
		// run_at is stored as UTC wall time without a zone.
		at := oldest.Time
		at = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), at.Nanosecond(), time.UTC)
		if d := now.Sub(at); d > 0 {
			b.OldestDue = d
		}
	}
	return b, nil
}

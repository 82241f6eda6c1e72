package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Attempt is one row of the delivery log.
type Attempt struct {
	JobID      int64     `json:"job_id"`
	Attempt    int       `json:"attempt"`
	Channel    string    `json:"channel"`
	Event      string    `json:"event"`
	DedupeKey  string    `json:"dedupe_key"`
	StatusCode int       `json:"status_code"` // 0 when the receiver did not answer
	Outcome    string    `json:"outcome"`     // delivered, retry, failed, dead, interrupted
	Error      string    `json:"error,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// Query selects delivery log rows; zero fields select everything.
type Query struct {
	JobID   int64
	Channel string
	Limit   int // [100]
}

// Deliveries reads the delivery log, newest first.
func Deliveries(ctx context.Context, s *store.Store, q Query) ([]Attempt, error) {
	where, args := "WHERE 1 = 1", []any{}
	if q.JobID != 0 {
		args = append(args, q.JobID)
		where += fmt.Sprintf(" AND job_id = $%d", len(args))
	}
	if q.Channel != "" {
		args = append(args, q.Channel)
		where += fmt.Sprintf(" AND channel = $%d", len(args))
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT job_id, attempt, channel, event, dedupe_key, status_code, outcome, error, duration_ms, at_time
		FROM notify_deliveries `+where+fmt.Sprintf(` ORDER BY at_time DESC, job_id DESC, attempt DESC LIMIT %d`, q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("read the delivery log: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var attempt, status int64
		if err := rows.Scan(&a.JobID, &attempt, &a.Channel, &a.Event, &a.DedupeKey, &status, &a.Outcome, &a.Error, &a.DurationMS, &a.At); err != nil {
			return nil, fmt.Errorf("read the delivery log: %w", err)
		}
		a.Attempt, a.StatusCode = int(attempt), int(status)
		out = append(out, a)
	}
	return out, rows.Err()
}

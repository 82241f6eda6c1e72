package notify

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
	"github.com/quarterdeck/quarterdeck/internal/jobs"
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

// Notification is one queued message and where its delivery stands: the
// job's state with the outcome of its latest attempt.
type Notification struct {
	JobID     int64  `json:"job_id"`
	Channel   string `json:"channel"`
	Event     string `json:"event"`
	DedupeKey string `json:"dedupe_key"`
	Title     string `json:"title,omitempty"`
	Link      string `json:"link,omitempty"` // the record's page
	// State is the job's: queued (not yet attempted, or waiting for a
	// retry), running, done, failed or dead.
	State    string `json:"state"`
	Attempts int    `json:"attempts"` // counted so far; an interrupted attempt is not
	// The latest attempt; empty and zero before the first.
	LastOutcome   string     `json:"last_outcome,omitempty"`
	LastStatus    int        `json:"last_status_code"`
	LastError     string     `json:"last_error,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	// NextRunAt is when a queued notification is tried next; nil otherwise.
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
}

// MaxLimit bounds how many rows one read of the log returns.
const MaxLimit = 1000

// States are the job states a Query may select.
var States = []string{jobs.Queued, jobs.Running, jobs.Done, jobs.Failed, jobs.Dead}

// Query selects delivery log rows; zero fields select everything.
type Query struct {
	JobID   int64
	Channel string
	Event   string // e.g. lead.routed
	State   string // the job's state, one of States
	Limit   int    // [100], at most MaxLimit
}

func (q Query) validate() error {
	p := crm.NewProblems("notification query")
	p.Require(q.JobID >= 0, "job_id", "must be a notification's job id")
	p.Require(q.State == "" || slices.Contains(States, q.State), "state",
		fmt.Sprintf("%q is not a state (known: %s)", q.State, strings.Join(States, ", ")))
	p.Require(q.Limit >= 0 && q.Limit <= MaxLimit, "limit", fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit))
	return p.Err()
}

func (q Query) limit() int {
	if q.Limit <= 0 {
		return 100
	}
	return q.Limit
}

// Deliveries reads the delivery log, newest first.
func Deliveries(ctx context.Context, s *store.Store, q Query) ([]Attempt, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	where, args := "WHERE 1 = 1", []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if q.JobID != 0 {
		add("job_id = $%d", q.JobID)
	}
	if q.Channel != "" {
		add("channel = $%d", q.Channel)
	}
	if q.Event != "" {
		add("event = $%d", q.Event)
	}
	if q.State != "" {
		add("job_id IN (SELECT id FROM jobs WHERE state = $%d)", q.State)
	}
	return readAttempts(ctx, s, where+fmt.Sprintf(` ORDER BY at_time DESC, job_id DESC, attempt DESC LIMIT %d`, q.limit()), args)
}

func readAttempts(ctx context.Context, s *store.Store, whereOrder string, args []any) ([]Attempt, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT job_id, attempt, channel, event, dedupe_key, status_code, outcome, error, duration_ms, at_time
		FROM notify_deliveries `+whereOrder, args...)
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

// mayRead refuses the log to everyone but ops and admins: messages name
// leads and owners of every team, and errors describe the receivers.
func mayRead(p crm.Principal) error {
	if !p.Role.SeesAll() {
		return fmt.Errorf("the notification log is for ops and admins: %w", crm.ErrForbidden)
	}
	return nil
}

// Attempts reads one notification's delivery attempts, oldest first.
func Attempts(ctx context.Context, s *store.Store, p crm.Principal, jobID int64) ([]Attempt, error) {
	if err := mayRead(p); err != nil {
		return nil, err
	}
	var kind string
	err := s.DB().QueryRowContext(ctx, `SELECT kind FROM jobs WHERE id = $1`, jobID).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && kind != Kind) {
		return nil, fmt.Errorf("notification %d: %w", jobID, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read notification %d: %w", jobID, err)
	}
	return readAttempts(ctx, s, `WHERE job_id = $1 ORDER BY at_time, attempt`, []any{jobID})
}

// Notifications reads one row per notification, newest first, for ops and
// admins.
func Notifications(ctx context.Context, s *store.Store, p crm.Principal, q Query) ([]Notification, error) {
	if err := mayRead(p); err != nil {
		return nil, err
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	// Channel and event live in the JSON payload, which the two engines
	// query differently. The job's key starts notify:CHANNEL:EVENT:, so SQL
	// narrows by it and the decoded message decides: a name with a colon
	// can match another's key. Reading page by page keeps the limit exact
	// when such rows are dropped.
	base, args := "WHERE kind = $1", []any{Kind}
	add := func(cond string, v any) {
		args = append(args, v)
		base += fmt.Sprintf(" AND "+cond, len(args))
	}
	if q.JobID != 0 {
		add("id = $%d", q.JobID)
	}
	if q.State != "" {
		add("state = $%d", q.State)
	}
	switch {
	case q.Channel != "" && q.Event != "":
		add(`idem_key LIKE $%d ESCAPE '\'`, "notify:"+likeEscape(q.Channel)+":"+likeEscape(q.Event)+":%")
	case q.Channel != "":
		add(`idem_key LIKE $%d ESCAPE '\'`, "notify:"+likeEscape(q.Channel)+":%")
	case q.Event != "":
		add(`idem_key LIKE $%d ESCAPE '\'`, "notify:%:"+likeEscape(q.Event)+":%")
	}
	limit := q.limit()
	var out []Notification
	var after *Notification
	for {
		where, pageArgs := base, args
		if after != nil {
			n := len(pageArgs)
			where += fmt.Sprintf(" AND (created_at < $%d OR (created_at = $%d AND id < $%d))", n+1, n+1, n+2)
			pageArgs = append(slices.Clip(pageArgs), after.CreatedAt, after.JobID)
		}
		page, err := readNotifications(ctx, s, where, pageArgs, limit)
		if err != nil {
			return nil, err
		}
		for _, n := range page {
			if (q.Channel == "" || n.Channel == q.Channel) && (q.Event == "" || n.Event == q.Event) {
				out = append(out, n)
			}
		}
		if len(page) < limit || len(out) >= limit {
			return out[:min(len(out), limit)], nil
		}
		after = &page[len(page)-1]
	}
}

// readNotifications reads up to limit jobs of where, newest first, each
// with its latest attempt.
func readNotifications(ctx context.Context, s *store.Store, where string, args []any, limit int) ([]Notification, error) {
	rows, err := s.DB().QueryContext(ctx, `WITH picked AS (
			SELECT id, payload, state, attempts, run_at, last_error, created_at FROM jobs `+where+`
			ORDER BY created_at DESC, id DESC LIMIT `+fmt.Sprint(limit)+`),
		latest AS (
			SELECT job_id, outcome, status_code, error, at_time,
				ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY at_time DESC, attempt DESC) AS nth
			FROM notify_deliveries WHERE job_id IN (SELECT id FROM picked))
		SELECT p.id, p.payload, p.state, p.attempts, p.run_at, p.last_error, p.created_at,
			l.outcome, l.status_code, l.error, l.at_time
		FROM picked p LEFT JOIN latest l ON l.job_id = p.id AND l.nth = 1
		ORDER BY p.created_at DESC, p.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("read the notification log: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var payload, jobError string
		var attempts int64
		var runAt time.Time
		var outcome, lastError sql.NullString
		var status sql.NullInt64
		var at sql.NullTime
		if err := rows.Scan(&n.JobID, &payload, &n.State, &attempts, &runAt, &jobError, &n.CreatedAt, &outcome, &status, &lastError, &at); err != nil {
			return nil, fmt.Errorf("read the notification log: %w", err)
		}
		var m struct {
			Channel   string `json:"channel"`
			Event     string `json:"event"`
			DedupeKey string `json:"dedupe_key"`
			Title     string `json:"title"`
			Link      string `json:"link"`
		}
		// A payload that does not decode is shown with its job's error
		// (the worker fails it for the same reason) rather than hiding it.
		_ = json.Unmarshal([]byte(payload), &m)
		n.Channel, n.Event, n.DedupeKey, n.Title, n.Link = m.Channel, m.Event, m.DedupeKey, m.Title, m.Link
		n.Attempts = int(attempts)
		n.LastOutcome, n.LastStatus, n.LastError = outcome.String, int(status.Int64), lastError.String
		if !outcome.Valid {
			// No attempt was logged: the job's own error says why, if any.
			n.LastError = jobError
		}
		if at.Valid {
			t := at.Time
			n.LastAttemptAt = &t
		}
		if n.State == jobs.Queued {
			n.NextRunAt = &runAt
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// likeEscape makes s match itself in a LIKE pattern escaped with \.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Login throttling: an account may fail accountFreeFailures times and an
// address addressFreeFailures times; each failure after that locks the key
// for twice as long as the one before (1 s, 2 s, 4 s, ...), up to
// maxLockout. A key's count starts again after throttleMemory without a
// failure, and an account's after a successful login. The state is in the
// database, so every server on it enforces the same limits.
const (
	accountFreeFailures = 5
	addressFreeFailures = 20
	maxLockout          = 15 * time.Minute
	throttleMemory      = time.Hour
)

// ThrottledError refuses a login attempt for a while.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Login checks an email and password from a client address like
// Authenticate, refusing with a *ThrottledError while the account or the
// address is locked, and counting each failure against both.
func (s *Store) Login(ctx context.Context, email, password, addr string) (*crm.User, error) {
	keys := []string{"email:" + strings.ToLower(strings.TrimSpace(email)), "addr:" + addr}
	now := s.now().UTC()
	for _, k := range keys {
		var until *time.Time
		err := s.db.QueryRowContext(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1`, k).Scan(&until)
		if err != nil && !isNoRows(err) {
			return nil, fmt.Errorf("login throttle: %w", err)
		}
		if until != nil && until.After(now) {
			return nil, &ThrottledError{RetryAfter: until.Sub(now)}
		}
	}
	u, err := s.Authenticate(ctx, email, password)
	if errors.Is(err, ErrBadCredentials) {
		if ferr := s.countFailure(ctx, keys, now); ferr != nil {
			return nil, ferr
		}
	}
	if err != nil {
		return nil, err
	}
	s.throttleMu.Lock()
	defer s.throttleMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, keys[0]); err != nil {
		return nil, fmt.Errorf("login throttle: %w", err)
	}
	return u, nil
}

// countFailure adds a failure to each key and locks those past their free
// failures. One upsert per key counts it, so concurrent failures (an
// attacker's parallel guesses) all count, on every server.
func (s *Store) countFailure(ctx context.Context, keys []string, now time.Time) error {
	s.throttleMu.Lock()
	defer s.throttleMu.Unlock()
	for _, k := range keys {
		free := int64(accountFreeFailures)
		if strings.HasPrefix(k, "addr:") {
			free = addressFreeFailures
		}
		var n int64
		err := s.db.QueryRowContext(ctx, `INSERT INTO login_throttle (key, failures, last_failure) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET last_failure = EXCLUDED.last_failure,
				failures = CASE WHEN login_throttle.last_failure < $3 THEN 1 ELSE login_throttle.failures + 1 END
			RETURNING failures`, k, now, now.Add(-throttleMemory)).Scan(&n)
		if err == nil && n > free {
			_, err = s.db.ExecContext(ctx, `UPDATE login_throttle SET locked_until = $1 WHERE key = $2`, now.Add(lockout(n-free)), k)
		}
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
	}
	return nil
}

// lockout is how long the nth failure past the free ones locks its key.
func lockout(n int64) time.Duration {
	if n > 20 {
		return maxLockout
	}
	return min(time.Second<<(n-1), maxLockout)
}

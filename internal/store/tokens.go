package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Token lifetimes: a token expires, by default after DefaultTokenTTL, at most
// after MaxTokenTTL; a leaked token stops working on its own.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
)

// APIToken describes a token without the token itself, which is never stored.
type APIToken struct {
	ID         string     `json:"id"` // the first 12 hex digits of its hash
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"` // nil: made before tokens expired
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// tokenIDLength is how much of the hash names a token.
const tokenIDLength = 12

// CreateAPIToken makes a named bearer token for a user (an admin's, or the
// user's own) that expires after ttl (0: DefaultTokenTTL), and returns it
// once with its description.
func (s *Store) CreateAPIToken(ctx context.Context, p crm.Principal, userID int64, name string, ttl time.Duration) (string, APIToken, error) {
	if p.Role != crm.RoleAdmin && p.UserID != userID {
		return "", APIToken{}, crm.ErrForbidden
	}
	probs := crm.NewProblems("token")
	name = strings.TrimSpace(name)
	probs.Require(name != "", "name", "is required: say what the token is for")
	if why := crm.TextProblem(name); why != "" || len(name) > 100 {
		probs.Add("name", "must be text of at most 100 characters")
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	probs.Require(ttl > 0 && ttl <= MaxTokenTTL, "expires", fmt.Sprintf("must be within %d days", int(MaxTokenTTL.Hours()/24)))
	if err := probs.Err(); err != nil {
		return "", APIToken{}, err
	}
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return "", APIToken{}, err
	}
	if !u.Active {
		return "", APIToken{}, crm.Invalid("token", "user_id", "the user is disabled")
	}
	tok, err := newSecret()
	if err != nil {
		return "", APIToken{}, err
	}
	tok = "qd_" + tok
	now := s.now().UTC().Truncate(time.Microsecond)
	exp := now.Add(ttl)
	hash := hashSecret(tok)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, created_at, name, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hash, userID, now, name, exp); err != nil {
			return fmt.Errorf("save token: %w", err)
		}
		return s.audit(ctx, tx, p, "create_token", "user", userID, nil, map[string]any{"token": hash[:tokenIDLength], "name": name, "expires_at": exp})
	})
	return tok, APIToken{ID: hash[:tokenIDLength], UserID: userID, Name: name, CreatedAt: now, ExpiresAt: &exp}, err
}

// APITokens lists a user's tokens (an admin's view, or the user's own),
// newest first, revoked and expired ones included.
func (s *Store) APITokens(ctx context.Context, p crm.Principal, userID int64) ([]APIToken, error) {
	if p.Role != crm.RoleAdmin && p.UserID != userID {
		return nil, crm.ErrForbidden
	}
	rows, err := s.db.QueryContext(ctx, `SELECT token_hash, user_id, COALESCE(name, ''), created_at, expires_at, last_used_at, revoked_at
		FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, token_hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		var hash string
		if err := rows.Scan(&hash, &t.UserID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
			return nil, fmt.Errorf("read tokens: %w", err)
		}
		t.ID = hash[:tokenIDLength]
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes one of a user's tokens by its id, for good. A
// token of someone else answers as a missing one.
func (s *Store) RevokeAPIToken(ctx context.Context, p crm.Principal, userID int64, id string) error {
	if p.Role != crm.RoleAdmin && p.UserID != userID {
		return crm.ErrForbidden
	}
	if len(id) != tokenIDLength || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("token %q: %w", id, crm.ErrNotFound)
	}
	defer s.forgetTokens()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND token_hash LIKE $3 AND revoked_at IS NULL`,
			s.now().UTC(), userID, id+"%")
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %s: %w", id, crm.ErrNotFound)
		}
		return s.audit(ctx, tx, p, "revoke_token", "user", userID, map[string]any{"token": id}, nil)
	})
}

// EndAllSessions logs a user out everywhere (every browser; tokens stay),
// and returns how many sessions ended.
func (s *Store) EndAllSessions(ctx context.Context, p crm.Principal, userID int64) (int64, error) {
	if p.Role != crm.RoleAdmin && p.UserID != userID {
		return 0, crm.ErrForbidden
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return s.audit(ctx, tx, p, "end_sessions", "user", userID, nil, map[string]any{"sessions": n})
	})
	return n, err
}

// revokeAccess ends a disabled user's sessions and revokes their tokens in
// the transaction that disables them: enabling them again brings neither back.
func (s *Store) revokeAccess(ctx context.Context, q querier, userID int64) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, s.now().UTC(), userID); err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}

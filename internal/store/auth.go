package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"golang.org/x/crypto/bcrypt"
)

// ErrBadCredentials is returned for a wrong email, password, token or session,
// without saying which.
var ErrBadCredentials = errors.New("bad credentials")

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// SetPassword stores a bcrypt hash of password for a user (admin, or the user themselves).
func (s *Store) SetPassword(ctx context.Context, p crm.Principal, userID int64, password string) error {
	if p.Role != crm.RoleAdmin && p.UserID != userID {
		return crm.ErrForbidden
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	defer s.forgetTokens()
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.storePassword(ctx, tx, p, userID, hash) })
}

// CheckPassword says why a password would be refused, or returns nil: too
// short, too long for bcrypt, one character repeated, or one of the common
// passwords attackers try first.
func CheckPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return crm.Invalid("user", "password", fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	case len(password) > 72:
		return crm.Invalid("user", "password", "must be at most 72 bytes (bcrypt's limit)")
	case strings.Count(password, password[:1]) == len(password):
		return crm.Invalid("user", "password", "is one character repeated")
	case commonPasswords[strings.ToLower(password)]:
		return crm.Invalid("user", "password", "is one of the most common passwords: choose another")
	}
	return nil
}

// commonPasswords are the passwords of at least MinPasswordLength characters
// among zxcvbn's list of common passwords (see common_passwords.txt).
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for line := range strings.Lines(commonPasswordList) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
}()

//go:embed common_passwords.txt
var commonPasswordList string

func hashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}

func (s *Store) storePassword(ctx context.Context, tx *sql.Tx, p crm.Principal, userID int64, hash string) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", userID, crm.ErrNotFound)
	}
	return s.audit(ctx, tx, p, "set_password", "user", userID, nil, nil)
}

// CreateUser creates a user and, unless password is empty, sets their
// password, in one transaction: no user is ever left half-made.
func (s *Store) CreateUser(ctx context.Context, p crm.Principal, u *crm.User, password string) error {
	var hash string
	if password != "" {
		var err error
		if hash, err = hashPassword(password); err != nil {
			// Report the password with the user's other problems, if any.
			probs := crm.NewProblems("user")
			probs.Merge(u.Validate())
			probs.Merge(err)
			return probs.Err()
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.Users.create(ctx, tx, p, u); err != nil {
			return err
		}
		if hash == "" {
			return nil
		}
		return s.storePassword(ctx, tx, p, u.ID, hash)
	})
}

// Authenticate checks an email and password of an active user.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*crm.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var id int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email = $1 AND active`, email).Scan(&id, &hash)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	// Every path spends one bcrypt comparison, so the answer's time does not
	// tell an unknown or disabled email, or an account without a password,
	// from a wrong password.
	ok := hash != ""
	if !ok {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || !ok {
		return nil, ErrBadCredentials
	}
	return s.userByID(ctx, id)
}

// dummyHash is a bcrypt hash at the default cost that no password matches
// in practice, compared when there is no real one.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z2oa2QJzvYHHMzDeVqLBYqWC"

func (s *Store) userByID(ctx context.Context, id int64) (*crm.User, error) {
	return s.Users.Get(ctx, crm.System, id)
}

// UserByEmail finds a user (for the CLI).
func (s *Store) UserByEmail(ctx context.Context, email string) (*crm.User, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, strings.ToLower(strings.TrimSpace(email))).Scan(&id)
	if isNoRows(err) {
		return nil, fmt.Errorf("user %s: %w", email, crm.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return s.userByID(ctx, id)
}

// CountUsers tells whether the organisation has anyone yet.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Secrets are stored as their SHA-256: a leaked database holds no usable token.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewAPIToken creates a bearer token named "api" that expires after
// DefaultTokenTTL (see CreateAPIToken); only its hash is kept.
func (s *Store) NewAPIToken(ctx context.Context, p crm.Principal, userID int64) (string, error) {
	tok, _, err := s.CreateAPIToken(ctx, p, userID, "api", 0)
	return tok, err
}

// UserByToken resolves a bearer token to its active user. Resolved tokens
// are kept for tokenTTL: an integration posting thousands of leads a second
// would otherwise spend most of its time on this lookup. A change to any
// user through this store forgets them all at once; one made elsewhere
// (another server on the same PostgreSQL, a bulk import) counts within
// tokenTTL.
func (s *Store) UserByToken(ctx context.Context, token string) (*crm.User, error) {
	hash := hashSecret(token)
	if e, ok := s.tokens.Load(hash); ok && time.Since(e.(tokenEntry).at) < tokenTTL {
		u := e.(tokenEntry).user
		return &u, nil
	}
	var id int64
	var used *time.Time
	now := s.now().UTC()
	err := s.db.QueryRowContext(ctx, `SELECT u.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND u.active AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)`, hash, now).Scan(&id, &used)
	if isNoRows(err) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("check token: %w", err)
	}
	if used == nil || now.Sub(*used) > tokenUseResolution {
		// Best effort: a token in use must not fail for want of its timestamp.
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2`, now, hash); err != nil {
			s.log.Warn("token last use", "err", err)
		}
	}
	u, err := s.userByID(ctx, id)
	if err == nil {
		s.tokens.Store(hash, tokenEntry{user: *u, at: time.Now()})
	}
	return u, err
}

const tokenTTL = 2 * time.Second

// tokenUseResolution is how exact a token's last-used time is: writing it on
// every request would turn each read into a write.
const tokenUseResolution = time.Minute

type tokenEntry struct {
	user crm.User
	at   time.Time
}

// forgetTokens drops the resolved tokens after a change to users.
func (s *Store) forgetTokens() { s.tokens.Clear() }

// Session is a logged-in browser.
type Session struct {
	Token     string // the cookie value; only its hash is stored
	CSRFToken string // echoed in every form
	User      crm.User
	ExpiresAt time.Time
}

// NewSession logs a user in for ttl.
func (s *Store) NewSession(ctx context.Context, userID int64, ttl time.Duration) (*Session, error) {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	tok, err := newSecret()
	if err != nil {
		return nil, err
	}
	csrf, err := newSecret()
	if err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, ErrBadCredentials
	}
	now := s.now().UTC()
	exp := now.Add(ttl)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		hashSecret(tok), userID, csrf, exp, now); err != nil {
		return nil, fmt.Errorf("save session: %w", err)
	}
	return &Session{Token: tok, CSRFToken: csrf, User: *u, ExpiresAt: exp}, nil
}

// SessionByToken resolves a session cookie of an active user.
func (s *Store) SessionByToken(ctx context.Context, token string) (*Session, error) {
	var id int64
	var csrf string
	var exp time.Time
	err := s.db.QueryRowContext(ctx, `SELECT s.user_id, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND u.active AND s.expires_at > $2`,
		hashSecret(token), s.now()).Scan(&id, &csrf, &exp)
	if isNoRows(err) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("check session: %w", err)
	}
	u, err := s.userByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, CSRFToken: csrf, User: *u, ExpiresAt: exp}, nil
}

// EndSession logs a browser out.
func (s *Store) EndSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashSecret(token))
	return err
}

// CSRFValid compares tokens in constant time.
func CSRFValid(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

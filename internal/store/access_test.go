package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// TestLoginThrottle (issue 18, finding 5): past its free failures an account
// is locked for longer after each failure, even for the right password, and
// a login from another address is locked too; the lock ends on its own; a
// good login clears the account's count; an address is locked past its own
// limit whatever accounts it tries; concurrent guesses all count.
func TestLoginThrottle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		const good = "a long passphrase here"
		storetest.Must(t, s.SetPassword(ctx, crm.System, o.RepA1.ID, good))
		var throttled *store.ThrottledError
		for i := range 5 {
			if _, err := s.Login(ctx, o.RepA1.Email, "wrong password", "10.0.0.1"); !errors.Is(err, store.ErrBadCredentials) {
				t.Fatalf("failure %d: %v, want bad credentials", i+1, err)
			}
		}
		if _, err := s.Login(ctx, o.RepA1.Email, good, "10.0.0.1"); err != nil {
			t.Fatalf("the right password within the free failures: %v", err)
		}
		for i := range 6 { // the good login cleared the count: five free, the sixth locks for 1 s
			_, err := s.Login(ctx, o.RepA1.Email, "wrong password", "10.0.0.1")
			if !errors.Is(err, store.ErrBadCredentials) {
				t.Fatalf("failure %d after a good login: %v", i+1, err)
			}
		}
		_, err := s.Login(ctx, o.RepA1.Email, good, "10.9.9.9")
		if !errors.As(err, &throttled) || throttled.RetryAfter != time.Second {
			t.Fatalf("locked account, right password, other address: %v, want locked for 1s", err)
		}
		now = now.Add(time.Second)
		if _, err := s.Login(ctx, o.RepA1.Email, "wrong password", "10.0.0.1"); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("after the lock: %v", err)
		}
		if _, err := s.Login(ctx, o.RepA1.Email, good, "10.0.0.1"); !errors.As(err, &throttled) || throttled.RetryAfter != 2*time.Second {
			t.Fatalf("second lock: %v, want 2s", err)
		}
		now = now.Add(2 * time.Second)
		if u, err := s.Login(ctx, o.RepA1.Email, good, "10.0.0.1"); err != nil || u.ID != o.RepA1.ID {
			t.Fatalf("after the second lock: %v %v", u, err)
		}

		// One address trying many accounts: locked past 20 failures.
		var wg sync.WaitGroup
		for i := range 21 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Login(ctx, []string{o.RepA2.Email, o.RepB.Email, o.MgrA.Email, o.MgrB.Email, "nobody@example.com"}[i%5], "guess number one", "192.0.2.7")
				if !errors.Is(err, store.ErrBadCredentials) {
					t.Errorf("concurrent guess: %v", err)
				}
			}()
		}
		wg.Wait()
		if _, err := s.Login(ctx, o.VP.Email, "guess number two", "192.0.2.7"); !errors.As(err, &throttled) {
			t.Fatalf("an address after 21 concurrent failures: %v, want locked", err)
		}
		if _, err := s.Login(ctx, o.VP.Email, "guess number two", "192.0.2.8"); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("another address: %v", err)
		}
	})
}

// TestPasswordPolicy (finding 5): length, one character repeated and the
// common passwords are refused.
func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                        false,
		"aaaaaaaaaaaa":                 false,
		"password123":                  false,
		"QwertyUIOP":                   false, // common, whatever the case
		"1234567890":                   false,
		"correct horse battery":        true,
		"kq7m-2xwd-p9ft":               true,
		"ééééééééé":                    false, // nine characters, eighteen bytes
		"ééééééééé1":                   true,
		string(make([]byte, 73)) + "x": false,
	} {
		if err := store.CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q) = %v, want ok %v", pw, err, ok)
		}
	}
}

// TestTokensExpireAndAreRevoked (finding 6): a token has a name, an expiry
// and a last-used time; it stops at its expiry or when revoked; disabling a
// user revokes their tokens and sessions for good, enabling them again
// brings neither back; logging out everywhere ends every session.
func TestTokensExpireAndAreRevoked(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		rep := storetest.As(o.RepA1)
		short, info, err := s.CreateAPIToken(ctx, rep, o.RepA1.ID, "crm sync", 48*time.Hour)
		storetest.Must(t, err)
		if info.Name != "crm sync" || !info.ExpiresAt.Equal(now.Add(48*time.Hour)) || len(info.ID) != 12 {
			t.Errorf("token %+v", info)
		}
		if _, _, err := s.CreateAPIToken(ctx, rep, o.RepA2.ID, "not mine", 0); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a token for someone else: %v", err)
		}
		if _, _, err := s.CreateAPIToken(ctx, rep, o.RepA1.ID, "", 500*24*time.Hour); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("no name, too long: %v", err)
		}
		long, _, err := s.CreateAPIToken(ctx, rep, o.RepA1.ID, "reports", 0)
		storetest.Must(t, err)
		if _, err := s.UserByToken(ctx, short); err != nil {
			t.Fatal(err)
		}
		list, err := s.APITokens(ctx, rep, o.RepA1.ID)
		storetest.Must(t, err)
		byName := map[string]store.APIToken{}
		for _, tk := range list {
			byName[tk.Name] = tk
		}
		if sync, reports := byName["crm sync"], byName["reports"]; len(list) != 2 || sync.LastUsedAt == nil || !sync.LastUsedAt.Equal(now) ||
			reports.LastUsedAt != nil || !reports.ExpiresAt.Equal(now.Add(store.DefaultTokenTTL)) {
			t.Errorf("tokens %+v", list)
		}
		now = now.Add(49 * time.Hour)
		time.Sleep(2100 * time.Millisecond) // past the resolved-token cache
		if _, err := s.UserByToken(ctx, short); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("an expired token: %v", err)
		}
		if _, err := s.UserByToken(ctx, long); err != nil {
			t.Errorf("a token not yet expired: %v", err)
		}
		storetest.Must(t, s.RevokeAPIToken(ctx, rep, o.RepA1.ID, byName["reports"].ID))
		if _, err := s.UserByToken(ctx, long); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("a revoked token: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, storetest.As(o.RepB), o.RepA1.ID, byName["reports"].ID); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("revoking another's token: %v", err)
		}

		// Disabling revokes for good.
		tok, _, err := s.CreateAPIToken(ctx, rep, o.RepA1.ID, "laptop", 0)
		storetest.Must(t, err)
		sess, err := s.NewSession(ctx, o.RepA1.ID, time.Hour)
		storetest.Must(t, err)
		for _, active := range []bool{false, true} {
			_, err := s.Users.Update(ctx, crm.System, o.RepA1.ID, func(u *crm.User) error { u.Active = active; return nil })
			storetest.Must(t, err)
		}
		if _, err := s.UserByToken(ctx, tok); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("a token after disable and enable: %v", err)
		}
		if _, err := s.SessionByToken(ctx, sess.Token); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("a session after disable and enable: %v", err)
		}

		// Log out everywhere.
		for range 3 {
			_, err := s.NewSession(ctx, o.RepA1.ID, time.Hour)
			storetest.Must(t, err)
		}
		if n, err := s.EndAllSessions(ctx, rep, o.RepA1.ID); err != nil || n != 3 {
			t.Errorf("ended %d sessions: %v", n, err)
		}
	})
}

// TestLoginTimeRevealsNothing (finding 5): a wrong password, an unknown
// email, a disabled account and an account without a password take the same
// time (one bcrypt comparison each), so timing cannot find accounts. Medians
// of a few tries; the bound is loose because the machine is shared, and the
// gap it guards against was 5 ms against 80 ms.
func TestLoginTimeRevealsNothing(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	o := storetest.NewOrg(t, s)
	storetest.Must(t, s.SetPassword(ctx, crm.System, o.RepA1.ID, "a long passphrase here"))
	storetest.Must(t, s.SetPassword(ctx, crm.System, o.RepB.ID, "a long passphrase here"))
	_, err := s.Users.Update(ctx, crm.System, o.RepB.ID, func(u *crm.User) error { u.Active = false; return nil })
	storetest.Must(t, err)
	// The cases take turns, round by round, so that a busy moment of the
	// machine slows all of them alike.
	cases := map[string]string{"a wrong password": o.RepA1.Email, "unknown email": "nobody@example.com",
		"disabled account": o.RepB.Email, "no password": o.RepA2.Email}
	times := map[string][]time.Duration{}
	for range 7 {
		for what, email := range cases {
			start := time.Now()
			if _, err := s.Authenticate(ctx, email, "not the password"); !errors.Is(err, store.ErrBadCredentials) {
				t.Fatalf("%s: %v", email, err)
			}
			times[what] = append(times[what], time.Since(start))
		}
	}
	median := func(what string) time.Duration {
		ds := times[what]
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	wrong := median("a wrong password")
	for what := range cases {
		if d := median(what); d < wrong/4 || d > wrong*4 {
			t.Errorf("%s: %s, a wrong password: %s", what, d, wrong)
		}
	}
}

// TestConcurrentUpdatesOfOneRecordAllLand: writers updating one deal at the
// same moment all succeed (DuckDB's refusal of the second is retried) and
// every change is in the history.
func TestConcurrentUpdatesOfOneRecordAllLand(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for w := range 4 {
			wg.Go(func() {
				for i := range 5 {
					_, err := s.Opportunities.Update(ctx, crm.System, o.OppA1.ID, func(v *crm.Opportunity) error {
						v.Amount = decimal.NewFromInt(int64(1000 + 10*w + i))
						return nil
					})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent update: %v", err)
			}
		}
		var audited int
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE entity = 'opportunity' AND entity_id = $1 AND action = 'update'`, o.OppA1.ID).Scan(&audited))
		if audited != 20 {
			t.Errorf("%d updates audited, want 20", audited)
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// eachEngine runs fn on a fresh database of each engine, given by its DSN.
func eachEngine(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, storetest.DSNFor(t, e.Name)) })
	}
}

func listUsers(t *testing.T, dsn string) []crm.User {
	t.Helper()
	r := mustRun(t, nil, "users", "list", "--json", "--database", dsn)
	var users []crm.User
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil {
		t.Fatalf("users list --json printed %q: %v", r.stdout, err)
	}
	return users
}

func authenticate(t *testing.T, dsn, email, password string) error {
	t.Helper()
	var err error
	withStore(t, dsn, func(s *store.Store) {
		var u *crm.User
		u, err = s.Authenticate(context.Background(), email, password)
		if err == nil && u.Email != email {
			t.Errorf("Authenticate(%s) = user %s", email, u.Email)
		}
	})
	return err
}

func TestUsersAddList(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		if users := listUsers(t, dsn); len(users) != 0 {
			t.Fatalf("fresh database lists %d users, want none", len(users))
		}
		r := mustRun(t, nil, "users", "add", "Ann@Example.com", "--name", "Ann Admin", "--role", "admin",
			"--password", "ann-password-1", "--hire-date", "2023-04-01", "--database", dsn)
		if !regexp.MustCompile(`^created user \d+ ann@example.com \(admin\)\n$`).MatchString(r.stdout) {
			t.Errorf("users add printed %q", r.stdout)
		}
		ann := listUsers(t, dsn)[0]

		// The password from the environment, and a manager.
		env := map[string]string{"QUARTERDECK_PASSWORD": "bob-password-1"}
		mustRun(t, env, "users", "add", "bob@example.com", "--name", "Bob", "--role", "manager",
			"--manager-id", strconv.FormatInt(ann.ID, 10), "--database", dsn)

		// A generated password is printed, and --quiet prints nothing else.
		r = mustRun(t, nil, "users", "add", "carol@example.com", "--name", "Carol", "--role", "rep", "--quiet", "--database", dsn)
		carolPassword, ok := strings.CutPrefix(strings.TrimSpace(r.stdout), "password: ")
		if !ok || strings.Contains(carolPassword, "\n") || len(carolPassword) < store.MinPasswordLength {
			t.Fatalf("users add --quiet with a generated password printed %q, want only the password line", r.stdout)
		}

		users := listUsers(t, dsn)
		if len(users) != 3 {
			t.Fatalf("users list --json: %d users, want 3: %+v", len(users), users)
		}
		ann, bob, carol := users[0], users[1], users[2]
		if ann.Email != "ann@example.com" || ann.Name != "Ann Admin" || ann.Role != crm.RoleAdmin || !ann.Active ||
			ann.HireDate == nil || ann.HireDate.String() != "2023-04-01" || ann.ManagerID != nil {
			t.Errorf("ann = %+v", ann)
		}
		if bob.Email != "bob@example.com" || bob.Role != crm.RoleManager || bob.ManagerID == nil || *bob.ManagerID != ann.ID || !bob.Active {
			t.Errorf("bob = %+v", bob)
		}
		if carol.Email != "carol@example.com" || carol.Role != crm.RoleRep || carol.HireDate != nil || !carol.Active {
			t.Errorf("carol = %+v", carol)
		}

		for _, c := range []struct{ email, password string }{
			{"ann@example.com", "ann-password-1"}, {"bob@example.com", "bob-password-1"}, {"carol@example.com", carolPassword},
		} {
			if err := authenticate(t, dsn, c.email, c.password); err != nil {
				t.Errorf("Authenticate(%s) after users add: %v", c.email, err)
			}
		}
		if err := authenticate(t, dsn, "bob@example.com", "ann-password-1"); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("Authenticate with the wrong password = %v, want ErrBadCredentials", err)
		}

		table := mustRun(t, nil, "users", "list", "--database", dsn).stdout
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "ann@example.com") ||
			!strings.Contains(lines[1], "2023-04-01") || !strings.Contains(lines[3], "carol@example.com") {
			t.Errorf("users list printed\n%s", table)
		}
	})
}

func TestUsersToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		mustRun(t, nil, "users", "add", "dana@example.com", "--name", "Dana", "--role", "ops", "--password", "dana-password", "--database", dsn)
		r := mustRun(t, nil, "users", "token", "DANA@example.com", "--database", dsn)
		token := strings.TrimSuffix(r.stdout, "\n")
		if !strings.HasPrefix(token, "qd_") || strings.ContainsAny(token, " \n") {
			t.Fatalf("users token printed %q, want only the token", r.stdout)
		}
		withStore(t, dsn, func(s *store.Store) {
			u, err := s.UserByToken(context.Background(), token)
			if err != nil || u.Email != "dana@example.com" {
				t.Errorf("UserByToken(printed token) = %+v, %v; want dana", u, err)
			}
			if _, err := s.UserByToken(context.Background(), token+"x"); !errors.Is(err, store.ErrBadCredentials) {
				t.Errorf("UserByToken(wrong token) = %v, want ErrBadCredentials", err)
			}
		})

		r = runCLI(t, nil, "users", "token", "nobody@example.com", "--database", dsn)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "not found") {
			t.Errorf("users token for an unknown email: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

func TestUsersDisable(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		mustRun(t, nil, "users", "add", "erin@example.com", "--name", "Erin", "--role", "rep", "--password", "erin-password", "--database", dsn)
		token := strings.TrimSpace(mustRun(t, nil, "users", "token", "erin@example.com", "--database", dsn).stdout)
		if err := authenticate(t, dsn, "erin@example.com", "erin-password"); err != nil {
			t.Fatalf("Authenticate before disable: %v", err)
		}

		r := mustRun(t, nil, "users", "disable", "erin@example.com", "--database", dsn)
		if !strings.Contains(r.stdout, "disabled user") {
			t.Errorf("users disable printed %q", r.stdout)
		}
		if err := authenticate(t, dsn, "erin@example.com", "erin-password"); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("Authenticate after disable = %v, want ErrBadCredentials", err)
		}
		withStore(t, dsn, func(s *store.Store) {
			if _, err := s.UserByToken(context.Background(), token); !errors.Is(err, store.ErrBadCredentials) {
				t.Errorf("UserByToken after disable = %v, want ErrBadCredentials", err)
			}
		})
		if users := listUsers(t, dsn); len(users) != 1 || users[0].Active {
			t.Errorf("users list after disable: %+v, want erin inactive", users)
		}
		if r := runCLI(t, nil, "users", "token", "erin@example.com", "--database", dsn); r.code != 1 || !strings.Contains(r.stderr, "disabled") {
			t.Errorf("users token for a disabled user: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := runCLI(t, nil, "users", "disable", "nobody@example.com", "--database", dsn); r.code != 1 || !strings.Contains(r.stderr, "not found") {
			t.Errorf("users disable for an unknown email: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestUsersAddInvalid(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		mustRun(t, nil, "users", "add", "taken@example.com", "--name", "Taken", "--role", "rep", "--password", "taken-password", "--database", dsn)
		tests := []struct {
			name string
			args []string
			want []string // lines of stderr after "quarterdeck: invalid user:"
		}{
			{"bad role", []string{"ann@example.com", "--name", "Ann", "--role", "boss"},
				[]string{`  role: "boss" is not one of admin, ops, manager, rep, viewer`}},
			{"no role", []string{"ann@example.com", "--name", "Ann"},
				[]string{`  role: "" is not one of admin, ops, manager, rep, viewer`}},
			{"bad email", []string{"not-an-email", "--name", "Ann", "--role", "rep"},
				[]string{`  email: "not-an-email" is not an email address`}},
			{"everything wrong", []string{"a@", "--role", "chief", "--hire-date", "01/02/2024", "--password", "short"},
				[]string{`  email: "a@" is not an email address`, "  name: is required",
					`  role: "chief" is not one of admin, ops, manager, rep, viewer`,
					`  hire_date: "01/02/2024" is not a date (want YYYY-MM-DD)`, "  password: must be at least 10 characters"}},
			{"unknown team", []string{"ann@example.com", "--name", "Ann", "--role", "rep", "--team-id", "999999"},
				[]string{"  team_id: "}},
			{"taken email", []string{"TAKEN@example.com", "--name", "Ann", "--role", "rep"},
				[]string{`  email: "taken@example.com" is already used`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"users", "add", "--database", dsn, "--password", "long-enough-password"}, tt.args...)
				r := runCLI(t, nil, args...)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1; stdout %q", r.code, r.stdout)
				}
				lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
				i := slices.Index(lines, "quarterdeck: invalid user:")
				if i < 0 || len(lines)-i-1 != len(tt.want) {
					t.Fatalf("stderr:\n%s\nwant quarterdeck: invalid user: and %d field lines", r.stderr, len(tt.want))
				}
				for j, w := range tt.want {
					if !strings.HasPrefix(lines[i+1+j], w) {
						t.Errorf("line %d = %q, want it to start with %q", j, lines[i+1+j], w)
					}
				}
			})
		}
		if users := listUsers(t, dsn); len(users) != 1 {
			t.Errorf("after invalid adds: %d users, want only the first", len(users))
		}
	})
}

// TestUsersTokens: a token is created with a name and an expiry, listed,
// revoked for good by its id; an unknown id is an error.
func TestUsersTokens(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		mustRun(t, nil, "users", "add", "ann@example.com", "--name", "Ann", "--role", "admin", "--password", "ann-password-1", "--database", dsn, "--quiet")
		tok := strings.TrimSpace(mustRun(t, nil, "users", "token", "ann@example.com", "--name", "nightly export", "--expires-days", "30", "--database", dsn).stdout)
		list := mustRun(t, nil, "users", "tokens", "ann@example.com", "--database", dsn).stdout
		m := regexp.MustCompile(`(?m)^([0-9a-f]{12})  nightly export  \S+ \S+  (\S+) \S+  -\s+active$`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("tokens list:\n%s", list)
		}
		withStore(t, dsn, func(s *store.Store) {
			if _, err := s.UserByToken(context.Background(), tok); err != nil {
				t.Errorf("the printed token: %v", err)
			}
		})
		mustRun(t, nil, "users", "revoke-token", "ann@example.com", m[1], "--database", dsn)
		if list := mustRun(t, nil, "users", "tokens", "ann@example.com", "--database", dsn).stdout; !strings.Contains(list, "revoked") {
			t.Errorf("after revoking:\n%s", list)
		}
		withStore(t, dsn, func(s *store.Store) {
			if _, err := s.UserByToken(context.Background(), tok); !errors.Is(err, store.ErrBadCredentials) {
				t.Errorf("a revoked token: %v", err)
			}
		})
		if r := runCLI(t, nil, "users", "revoke-token", "ann@example.com", "0123456789ab", "--database", dsn); r.code == 0 || !strings.Contains(r.stderr, "not found") {
			t.Errorf("unknown id: %d %s", r.code, r.stderr)
		}
		if r := runCLI(t, nil, "users", "token", "ann@example.com", "--expires-days", "999", "--database", dsn); r.code == 0 || !strings.Contains(r.stderr, "expires") {
			t.Errorf("too long: %d %s", r.code, r.stderr)
		}
	})
}

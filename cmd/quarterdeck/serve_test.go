package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

func TestServeWithoutUsers(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		r := runCLI(t, nil, "serve", "--addr", "127.0.0.1:0", "--database", dsn)
		if r.code != 1 || !strings.Contains(r.stderr, "quarterdeck: the database has no users yet") ||
			!strings.Contains(r.stderr, "--admin-email") || !strings.Contains(r.stderr, "quarterdeck users add") {
			t.Errorf("serve on an empty database: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

func TestEnsureAdmin(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		cfg := defaultConfig()
		cfg.AdminEmail, cfg.AdminPassword = "Root@Example.com", "root-password"
		withStore(t, dsn, func(s *store.Store) {
			if err := ensureAdmin(ctx, s, cfg, log); err != nil {
				t.Fatalf("ensureAdmin on an empty database: %v", err)
			}
			u, err := s.Authenticate(ctx, "root@example.com", "root-password")
			if err != nil {
				t.Fatalf("Authenticate the first admin: %v", err)
			}
			if u.Role != crm.RoleAdmin || !u.Active {
				t.Errorf("first admin = %+v, want an active admin", u)
			}
			// Once there are users, the admin settings are ignored and nothing is created.
			other := cfg
			other.AdminEmail = "other@example.com"
			if err := ensureAdmin(ctx, s, other, log); err != nil {
				t.Fatalf("ensureAdmin with users: %v", err)
			}
			if err := ensureAdmin(ctx, s, defaultConfig(), log); err != nil {
				t.Fatalf("ensureAdmin with users and no admin configured: %v", err)
			}
			if n, err := s.CountUsers(ctx); err != nil || n != 1 {
				t.Errorf("CountUsers = %d, %v; want 1", n, err)
			}
		})
	})
}

func TestServerURL(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		":8080":          "http://localhost:8080/",
		"0.0.0.0:80":     "http://localhost:80/",
		"[::1]:9000":     "http://[::1]:9000/",
		"[::]:9000":      "http://localhost:9000/",
	}
	for addr, want := range tests {
		if got := serverURL(addr); got != want {
			t.Errorf("serverURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestServeForReal starts `quarterdeck serve` on a free port, creates the first
// admin, logs in over HTTP and shuts down on cancel, as a user would.
func TestServeForReal(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan int, 1)
		go func() {
			env := map[string]string{"QUARTERDECK_ADMIN_PASSWORD": "first admin password"}
			done <- run(ctx, []string{"serve", "--database", dsn, "--addr", "127.0.0.1:0", "--admin-email", "boss@example.com", "--log-level", "error"}, pw, io.Discard, func(k string) string { return env[k] })
			pw.Close()
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			t.Fatalf("no URL printed: %v", err)
		}
		go io.Copy(io.Discard, pr)
		base := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "Quarterdeck is serving on ")), "/")
		resp, err := http.Get(base + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = client.PostForm(base+"/login", url.Values{"email": {"boss@example.com"}, "password": {"first admin password"}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login as the first admin: %v %v", resp, err)
		}
		resp.Body.Close()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d after cancel", code)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not shut down")
		}
	})
}

// serve refuses a channels file with a problem, naming file, line and field,
// and takes a good one.
func TestNotificationChannelsFile(t *testing.T) {
	dir := t.TempDir()
	s := storetest.OpenDuckDB(t)
	log := slog.New(slog.DiscardHandler)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("channels:\n  - name: sales\n    type: pigeon\n"), 0o644)
	if _, _, err := backgroundWorker(s, Config{NotifyChannels: bad}, log, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "bad.yaml:3") {
		t.Errorf("a bad channels file: %v", err)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("channels:\n  - name: sales\n    type: webhook\n    url: https://hooks.example.com/q\n    secret_env: HOOK_SECRET\n"), 0o644)
	w, names, err := backgroundWorker(s, Config{NotifyChannels: good}, log, func(k string) string { return map[string]string{"HOOK_SECRET": "x"}[k] })
	if err != nil || w == nil || len(names) != 1 || names[0] != "sales" {
		t.Errorf("a good channels file: %v", err)
	}
}

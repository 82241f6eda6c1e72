package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// result is what one in-process run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the root command in-process with args and env as the whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), args, &stdout, &stderr, getenv)
	return result{code, stdout.String(), stderr.String()}
}

// mustRun runs args and fails the test unless the command succeeds.
func mustRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := runCLI(t, env, args...)
	if r.code != 0 {
		t.Fatalf("quarterdeck %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// withStore opens the database at dsn directly, for checking what the CLI
// did, and closes it again before the test runs the CLI on it once more
// (a DuckDB file must not be open twice).
func withStore(t *testing.T, dsn string, fn func(s *store.Store)) {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	defer s.Close()
	fn(s)
}

func TestVersion(t *testing.T) {
	r := mustRun(t, nil, "version")
	if !strings.HasPrefix(r.stdout, "quarterdeck dev (go1.") {
		t.Errorf("version printed %q, want quarterdeck dev (go1.…)", r.stdout)
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"migrate", "--no-such-flag"}, {"users", "add"}} {
		r := runCLI(t, nil, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "quarterdeck: ") {
			t.Errorf("quarterdeck %v: exit %d, stderr %q; want 1 and a quarterdeck: error", args, r.code, r.stderr)
		}
	}
}

func TestPrintError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("boom"), "quarterdeck: boom\n"},
		{&crm.ValidationError{Entity: "user", Fields: []crm.FieldError{{Field: "email", Reason: "is required"}, {Field: "role", Reason: "is bad"}}},
			"quarterdeck: invalid user:\n  email: is required\n  role: is bad\n"},
		{crm.Invalid("", "x", "y"), "quarterdeck: invalid input:\n  x: y\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printError(&b, tt.err)
		if b.String() != tt.want {
			t.Errorf("printError(%v) wrote %q, want %q", tt.err, b.String(), tt.want)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// tableCounts is the number of rows of every table at dsn.
func tableCounts(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	withStore(t, dsn, func(s *store.Store) {
		ctx := context.Background()
		tables, err := store.Tables(ctx, s.DB())
		storetest.Must(t, err)
		for _, tb := range tables {
			var n int64
			storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+tb.Name+`"`).Scan(&n))
			out[tb.Name] = n
		}
	})
	return out
}

// TestBackupRestore backs up an organisation on each engine with the CLI and
// restores it into a new database of each engine.
func TestBackupRestore(t *testing.T) {
	summary := regexp.MustCompile(`^(backed up|restored) \d+ tables, \d+ rows, [\d.]+ (B|kB|MB) (to|from) .+ in [\d.]+m?s \((DuckDB|PostgreSQL), schema version [1-9]\d*\)\n$`)
	eachEngine(t, func(t *testing.T, dsn string) {
		withStore(t, dsn, func(s *store.Store) { storetest.NewOrg(t, s) })
		const password = "restored-passwords-still-work"
		mustRun(t, map[string]string{"QUARTERDECK_PASSWORD": password}, "users", "add", "ops@example.com", "--name", "Ops", "--role", "ops", "--quiet", "--database", dsn)
		want := tableCounts(t, dsn)
		dir := filepath.Join(t.TempDir(), "backup")
		r := mustRun(t, nil, "backup", "--quiet", "--database", dsn, dir)
		if !summary.MatchString(r.stdout) || !strings.HasPrefix(r.stdout, "backed up") {
			t.Errorf("backup printed %q", r.stdout)
		}
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
			t.Fatal(err)
		}
		// A second backup into the same directory would mix two.
		if r := runCLI(t, nil, "backup", "--quiet", "--database", dsn, dir); r.code != 1 || !strings.Contains(r.stderr, "is not empty") {
			t.Errorf("backup into a used directory: exit %d, stderr %q", r.code, r.stderr)
		}

		for _, e := range storetest.Engines(t) {
			t.Run("to_"+e.Name, func(t *testing.T) {
				target := storetest.DSNFor(t, e.Name)
				r := mustRun(t, nil, "restore", "--quiet", "--json", "--database", target, dir)
				var sum struct {
					Tables  int     `json:"tables"`
					Rows    int64   `json:"rows"`
					Engine  string  `json:"engine"`
					Seconds float64 `json:"seconds"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
					t.Fatalf("restore --json printed %q: %v", r.stdout, err)
				}
				var rows int64
				for _, n := range want {
					rows += n
				}
				if sum.Tables != len(want) || sum.Rows != rows || sum.Engine != e.Name || sum.Seconds <= 0 {
					t.Errorf("restore summary %+v, want %d tables and %d rows on %s", sum, len(want), rows, e.Name)
				}
				got := tableCounts(t, target)
				for name, n := range want {
					if got[name] != n {
						t.Errorf("table %s has %d rows after the restore, %d before", name, got[name], n)
					}
				}
				// The restored users sign in with their passwords.
				if err := authenticate(t, target, "ops@example.com", password); err != nil {
					t.Errorf("sign in after the restore: %v", err)
				}

				// Restoring again into the now full database is refused.
				again := runCLI(t, nil, "restore", "--quiet", "--database", target, dir)
				if again.code != 1 || !strings.Contains(again.stderr, "not empty") || !strings.Contains(again.stderr, "users (9 rows)") {
					t.Errorf("restore into a full database: exit %d, stderr %q", again.code, again.stderr)
				}
			})
		}
	})
}

// TestRestoreChecksFirst: a directory that is not a backup is refused
// before the database is opened, so no DuckDB file appears.
func TestRestoreChecksFirst(t *testing.T) {
	target := filepath.Join(t.TempDir(), "new.db")
	r := runCLI(t, nil, "restore", "--database", target, t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "manifest.json: missing") {
		t.Errorf("restore of an empty directory: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore created %s (%v)", target, err)
	}
	if r := runCLI(t, nil, "restore", "--database", target); r.code != 1 {
		t.Errorf("restore without a directory: exit %d", r.code)
	}
}

func TestBackupFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_345_678: "12.3 MB", 4_500_000_000: "4.50 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

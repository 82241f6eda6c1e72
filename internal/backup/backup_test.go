package backup_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/backup"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// testNow is "today" of the test organisations.
var testNow = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// fillDemo puts a small demo organisation in s, with what `quarterdeck
// demo` adds to it (forecast calls, lead scores and segments, routing,
// workflow runs, a predictive model), then edgeRows in every table.
func fillDemo(t testing.TB, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := demo.Generate(ctx, s, demo.Config{Seed: 7, Opportunities: 300, Activities: 1500, Now: testNow})
	storetest.Must(t, err)
	_, err = demo.SubmitCalls(ctx, s, testNow, 7)
	storetest.Must(t, err)
	_, err = demo.ApplyScoring(ctx, s, testNow)
	storetest.Must(t, err)
	storetest.Must(t, demo.ApplyRouting(ctx, s, testNow))
	_, err = demo.ApplyAutomation(ctx, s, testNow)
	storetest.Must(t, err)
	_, err = demo.TrainPredictive(ctx, s, testNow)
	storetest.Must(t, err)
	edgeRows(t, s)
}

// edgeRows inserts three rows into every table, whatever its columns, so
// that each table has rows and each type meets its hard values: the
// largest decimals of their precision, 8-digit rates, microseconds and
// times before 1970, the extreme bigints, NaN, infinities and negative
// zero, NULL next to the empty string, and text with newlines, commas,
// quotes, backslashes, control characters and every script of UTF-8.
func edgeRows(t testing.TB, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	tables, err := store.Tables(ctx, s.DB())
	storetest.Must(t, err)
	nullable := nullableColumns(t, s)
	text := []string{
		"line 1\nline 2\r\n\t\"quoted\", 'single', back\\slash; semi,colon \x01\x1f é ß 日本語 العربية 🚀\u2028 end",
		"B",
		"",
	}
	for _, tb := range tables {
		cols := make([]string, len(tb.Columns))
		for i, c := range tb.Columns {
			cols[i] = `"` + c.Name + `"`
		}
		for row := range 3 {
			vals := make([]any, len(tb.Columns))
			for i, c := range tb.Columns {
				if row == 1 && nullable[tb.Name+"."+c.Name] {
					continue // NULL
				}
				switch c.Type {
				case store.TypeBigint:
					vals[i] = []int64{1<<53 + 1, math.MinInt64, 0}[row]
				case store.TypeDouble:
					vals[i] = []float64{0.1, math.NaN(), math.Copysign(0, -1)}[row]
					if row == 0 && i%2 == 1 {
						vals[i] = math.Inf(-1)
					}
				case store.TypeBoolean:
					vals[i] = row == 0
				case store.TypeVarchar:
					vals[i] = text[row]
				case store.TypeDate:
					vals[i] = []time.Time{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}[row]
				case store.TypeTimestamp:
					vals[i] = []time.Time{time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC), time.Date(1969, 7, 20, 20, 17, 40, 1000, time.UTC), time.Date(2038, 1, 19, 3, 14, 8, 999999000, time.UTC)}[row]
				case store.TypeDecimal:
					// The largest magnitude the column holds, with every digit of its scale.
					nines := strings.Repeat("9", c.Precision-c.Scale) + "." + strings.Repeat("9", c.Scale)
					vals[i] = []string{"-" + nines, "0." + strings.Repeat("0", c.Scale-1) + "1", "12.5"}[row]
				default:
					t.Fatalf("edge rows: no value for %s.%s (%s)", tb.Name, c.Name, c.TypeName())
				}
			}
			q := `INSERT INTO "` + tb.Name + `" (` + strings.Join(cols, ", ") + `) VALUES (` + params(len(cols)) + `)`
			if _, err := s.DB().ExecContext(ctx, q, vals...); err != nil {
				t.Fatalf("edge row %d into %s: %v", row, tb.Name, err)
			}
		}
	}
}

func params(n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = "$" + strconv.Itoa(i+1)
	}
	return strings.Join(p, ", ")
}

func nullableColumns(t testing.TB, s *store.Store) map[string]bool {
	t.Helper()
	rows, err := s.DB().Query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_nullable = 'YES'`)
	storetest.Must(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var tb, c string
		storetest.Must(t, rows.Scan(&tb, &c))
		out[tb+"."+c] = true
	}
	storetest.Must(t, rows.Err())
	return out
}

// dump is every table of s as sorted lines of text: one line per row, each
// value with its Go type as the driver returned it, so NULL, "" and 0
// differ. It is written apart from the backup's own rendering so that a
// loss in that rendering cannot hide itself here.
func dump(t testing.TB, s *store.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	tables, err := store.Tables(ctx, s.DB())
	storetest.Must(t, err)
	out := map[string][]string{}
	for _, tb := range tables {
		cols := make([]string, len(tb.Columns))
		for i, c := range tb.Columns {
			cols[i] = `"` + c.Name + `"`
			if c.Type == store.TypeDecimal {
				cols[i] = `CAST("` + c.Name + `" AS VARCHAR)` // exact text of the decimal
			}
		}
		rows, err := s.DB().QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM "`+tb.Name+`"`)
		storetest.Must(t, err)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		lines := []string{}
		for rows.Next() {
			storetest.Must(t, rows.Scan(ptrs...))
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" | ")
				}
				b.WriteString(tb.Columns[i].Name + "=")
				switch x := v.(type) {
				case nil:
					b.WriteString("NULL")
				case time.Time:
					b.WriteString("time:" + x.UTC().Format(time.RFC3339Nano))
				case float64:
					b.WriteString("float64:" + strconv.FormatFloat(x, 'g', -1, 64))
				case []byte:
					b.WriteString("bytes:" + strconv.Quote(string(x)))
				case string:
					b.WriteString("string:" + strconv.Quote(x))
				default:
					fmt.Fprintf(&b, "%T:%v", x, x)
				}
			}
			lines = append(lines, b.String())
		}
		storetest.Must(t, rows.Err())
		rows.Close()
		slices.Sort(lines)
		out[tb.Name] = lines
	}
	return out
}

// diffDumps describes how got differs from want, at most a few rows per table.
func diffDumps(want, got map[string][]string) []string {
	var diffs []string
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for k := range names {
			if !yield(k) {
				return
			}
		}
	}) {
		w, g := want[n], got[n]
		if slices.Equal(w, g) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("table %s: %d rows, want %d", n, len(g), len(w)))
		missing, extra := setMinus(w, g), setMinus(g, w)
		for _, r := range missing[:min(3, len(missing))] {
			diffs = append(diffs, "  missing: "+r)
		}
		for _, r := range extra[:min(3, len(extra))] {
			diffs = append(diffs, "  extra:   "+r)
		}
	}
	return diffs
}

func setMinus(a, b []string) []string {
	have := map[string]int{}
	for _, x := range b {
		have[x]++
	}
	var out []string
	for _, x := range a {
		if have[x] > 0 {
			have[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

func assertSame(t *testing.T, want, got map[string][]string) {
	t.Helper()
	if d := diffDumps(want, got); len(d) > 0 {
		t.Errorf("restored database differs from the original:\n%s", strings.Join(d, "\n"))
	}
}

func countRows(d map[string][]string) (n int64) {
	for _, rows := range d {
		n += int64(len(rows))
	}
	return n
}

// TestBackupRestoreRoundTrip backs up a demo organisation on each engine and restores
// it into a new database of each engine: every table, row by row, and the
// schema's migrations come back the same, and new records do not collide.
func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, src := range storetest.Engines(t) {
		t.Run("from_"+src.Name, func(t *testing.T) {
			s := src.Open(t)
			fillDemo(t, s)
			want := dump(t, s)
			for name, rows := range want {
				if len(rows) == 0 {
					t.Errorf("table %s is empty in the source: the round trip would not test it", name)
				}
			}
			ids, err := store.IDsAllocated(ctx, s.DB())
			storetest.Must(t, err)

			dir := filepath.Join(t.TempDir(), "backup")
			var progressed atomic.Int64
			sum, err := backup.Create(ctx, s, dir, backup.Options{Program: "test", Progress: func(n int64) { progressed.Store(n) }})
			storetest.Must(t, err)
			if sum.Rows != countRows(want) || sum.Tables != len(want) || progressed.Load() != sum.Rows {
				t.Errorf("backup summary %+v (progress %d), want %d tables and %d rows", sum, progressed.Load(), len(want), countRows(want))
			}
			checkPermissions(t, dir)

			for _, dst := range storetest.Engines(t) {
				t.Run("to_"+dst.Name, func(t *testing.T) {
					d := dst.Open(t)
					rsum, err := backup.Restore(ctx, d, dir, backup.Options{})
					storetest.Must(t, err)
					if rsum.Rows != sum.Rows || rsum.Tables != sum.Tables || rsum.Bytes != sum.Bytes {
						t.Errorf("restore summary %+v, backup summary %+v", rsum, sum)
					}
					got := dump(t, d)
					assertSame(t, want, got)
					wantM, err := store.AppliedMigrations(ctx, s.DB())
					storetest.Must(t, err)
					gotM, err := store.AppliedMigrations(ctx, d.DB())
					storetest.Must(t, err)
					if !slices.Equal(wantM, gotM) {
						t.Errorf("migrations %v after restore, want %v", gotM, wantM)
					}

					// Ids continue after the restored counter: a new record
					// takes none of the restored ones.
					a := crm.Account{Name: "Created after the restore"}
					storetest.Must(t, d.Accounts.Create(ctx, crm.System, &a))
					if a.ID <= ids {
						t.Errorf("new account got id %d, the restored counter was at %d", a.ID, ids)
					}

					// The comparison sees a change of one microsecond or one
					// hundred-millionth: this test can fail.
					for _, q := range []string{
						`UPDATE exchange_rates SET rate = rate + 0.00000001 WHERE rate = (SELECT MIN(rate) FROM exchange_rates WHERE rate > 0)`,
						`UPDATE opportunity_history SET changed_at = changed_at + INTERVAL '1 microsecond' WHERE id = (SELECT MIN(id) FROM opportunity_history WHERE id > 0)`,
					} {
						before := dump(t, d)
						if _, err := d.DB().ExecContext(ctx, q); err != nil {
							t.Fatal(err)
						}
						if diffDumps(before, dump(t, d)) == nil {
							t.Errorf("the dump did not see %s", q)
						}
					}
				})
			}
		})
	}
}

// checkPermissions: the backup holds password and token hashes.
func checkPermissions(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	storetest.Must(t, err)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("backup directory mode %v, want 0700", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	storetest.Must(t, err)
	for _, e := range entries {
		fi, err := e.Info()
		storetest.Must(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
}

// smallBackup backs up a small organisation with edge rows, for the tests
// that damage backups.
func smallBackup(t *testing.T) string {
	t.Helper()
	s := storetest.OpenDuckDB(t)
	storetest.NewOrg(t, s)
	edgeRows(t, s)
	dir := filepath.Join(t.TempDir(), "backup")
	_, err := backup.Create(context.Background(), s, dir, backup.Options{})
	storetest.Must(t, err)
	return dir
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	storetest.Must(t, os.CopyFS(to, os.DirFS(from)))
	return to
}

// editLines rewrites the lines of a table file, keeping it a valid gzip
// file (the manifest's checksum no longer matches).
func editLines(t *testing.T, path string, edit func(lines []string) []string) {
	t.Helper()
	f, err := os.Open(path)
	storetest.Must(t, err)
	zr, err := gzip.NewReader(f)
	storetest.Must(t, err)
	var lines []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	storetest.Must(t, sc.Err())
	f.Close()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for _, l := range edit(lines) {
		fmt.Fprintln(zw, l)
	}
	storetest.Must(t, zw.Close())
	storetest.Must(t, os.WriteFile(path, b.Bytes(), 0o600))
}

// editManifest changes the manifest's JSON.
func editManifest(t *testing.T, dir string, edit func(m *backup.Manifest)) {
	t.Helper()
	m, err := backup.ReadManifest(dir)
	storetest.Must(t, err)
	edit(&m)
	b, err := json.Marshal(m)
	storetest.Must(t, err)
	storetest.Must(t, os.WriteFile(filepath.Join(dir, backup.ManifestFile), b, 0o600))
}

// setValue replaces the value of column col in a line of a table file.
func setValue(t *testing.T, dir, table, col string, line int, value any) {
	t.Helper()
	m, err := backup.ReadManifest(dir)
	storetest.Must(t, err)
	i := slices.IndexFunc(m.Tables, func(tf backup.TableFile) bool { return tf.Name == table })
	j := slices.IndexFunc(m.Tables[i].Columns, func(c backup.Column) bool { return c.Name == col })
	editLines(t, filepath.Join(dir, table+".jsonl.gz"), func(lines []string) []string {
		var vals []any
		storetest.Must(t, json.Unmarshal([]byte(lines[line-1]), &vals))
		vals[j] = value
		b, _ := json.Marshal(vals)
		lines[line-1] = string(b)
		return lines
	})
}

// TestRestoreRefusesDamaged: a damaged, incomplete or foreign backup is
// refused with the file and line at fault, and leaves the database as it
// was (everything loads in one transaction: "users" comes late, after
// most tables were loaded).
func TestRestoreRefusesDamaged(t *testing.T) {
	t.Parallel()
	good := smallBackup(t)
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		is     error
		want   []string // in the error
	}{
		{"a line that is not JSON", func(t *testing.T, dir string) {
			editLines(t, filepath.Join(dir, "users.jsonl.gz"), func(l []string) []string { l[2] = `["1", oops]`; return l })
		}, backup.ErrDamaged, []string{"users.jsonl.gz line 3", "not a JSON array"}},
		{"a number where text is expected", func(t *testing.T, dir string) {
			setValue(t, dir, "users", "name", 2, 42)
		}, backup.ErrDamaged, []string{"users.jsonl.gz line 2", "not a JSON array of strings"}},
		{"a value of the wrong type", func(t *testing.T, dir string) {
			setValue(t, dir, "users", "id", 4, "four")
		}, backup.ErrDamaged, []string{"users.jsonl.gz line 4", "column id", `"four" is not a BIGINT`}},
		{"a rate with more digits than its column", func(t *testing.T, dir string) {
			setValue(t, dir, "exchange_rates", "rate", 1, "1.123456789")
		}, backup.ErrDamaged, []string{"exchange_rates.jsonl.gz line 1", "column rate", "more than 8 digits"}},
		{"money too large for its column", func(t *testing.T, dir string) {
			setValue(t, dir, "opportunities", "amount", 1, "10000000000000000.00")
		}, backup.ErrDamaged, []string{"opportunities.jsonl.gz line 1", "column amount", "too large for DECIMAL(18,2)"}},
		{"a bad timestamp", func(t *testing.T, dir string) {
			setValue(t, dir, "users", "created_at", 1, "2025-02-30 10:00:00")
		}, backup.ErrDamaged, []string{"users.jsonl.gz line 1", "column created_at", "not a TIMESTAMP"}},
		{"a row with a value missing", func(t *testing.T, dir string) {
			editLines(t, filepath.Join(dir, "users.jsonl.gz"), func(l []string) []string {
				l[1] = l[1][:strings.LastIndex(l[1], ",")] + "]"
				return l
			})
		}, backup.ErrDamaged, []string{"users.jsonl.gz line 2", "values for"}},
		{"rows missing at the end", func(t *testing.T, dir string) {
			editLines(t, filepath.Join(dir, "users.jsonl.gz"), func(l []string) []string { return l[:len(l)-2] })
		}, backup.ErrDamaged, []string{"users.jsonl.gz", "rows, the manifest says"}},
		{"a file cut short", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "users.jsonl.gz")
			b, err := os.ReadFile(path)
			storetest.Must(t, err)
			storetest.Must(t, os.WriteFile(path, b[:len(b)/2], 0o600))
		}, backup.ErrDamaged, []string{"users.jsonl.gz line", "unexpected EOF"}},
		{"a value changed", func(t *testing.T, dir string) {
			setValue(t, dir, "users", "name", 1, "Mallory")
		}, backup.ErrDamaged, []string{"users.jsonl.gz", "the file was changed"}},
		{"a file missing", func(t *testing.T, dir string) {
			storetest.Must(t, os.Remove(filepath.Join(dir, "users.jsonl.gz")))
		}, backup.ErrDamaged, []string{"users.jsonl.gz", "no such file"}},
		{"no manifest", func(t *testing.T, dir string) {
			storetest.Must(t, os.Remove(filepath.Join(dir, backup.ManifestFile)))
		}, backup.ErrDamaged, []string{"manifest.json", "missing"}},
		{"a manifest pointing outside the backup", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *backup.Manifest) { m.Tables[0].File = "../../etc/passwd" })
		}, backup.ErrDamaged, []string{"manifest.json", "../../etc/passwd"}},
		{"a newer schema", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *backup.Manifest) {
				m.SchemaVersion++
				m.Migrations = append(m.Migrations, backup.Migration{Version: m.SchemaVersion, Name: "999_future.sql"})
				m.Program = "v9.9.9"
			})
		}, backup.ErrSchema, []string{"newer than this quarterdeck's", "v9.9.9"}},
		{"an older schema", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *backup.Manifest) {
				m.Migrations = m.Migrations[:len(m.Migrations)-1]
				m.SchemaVersion = m.Migrations[len(m.Migrations)-1].Version
			})
		}, backup.ErrSchema, []string{"older than this quarterdeck's"}},
		{"a column this schema does not have", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *backup.Manifest) { m.Tables[0].Columns[1].Name = "colour" })
		}, backup.ErrSchema, []string{"column " + "accounts.colour"}},
		{"a newer format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *backup.Manifest) { m.FormatVersion = 2 })
		}, backup.ErrDamaged, []string{"format version 2"}},
	}
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			// One database for every case: each failed restore must leave
			// it as empty as it was for the next, and the good backup.
			d := e.Open(t)
			empty := dump(t, d)
			for _, tt := range tests {
				t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
					dir := copyDir(t, good)
					tt.damage(t, dir)
					_, err := backup.Restore(context.Background(), d, dir, backup.Options{})
					if err == nil {
						t.Fatal("restore succeeded")
					}
					if !errors.Is(err, tt.is) {
						t.Errorf("error %q is not %q", err, tt.is)
					}
					for _, w := range tt.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not say %q", err, w)
						}
					}
					assertSame(t, empty, dump(t, d))
				})
			}
			if _, err := backup.Restore(context.Background(), d, good, backup.Options{}); err != nil {
				t.Errorf("restore of the good backup after the failed ones: %v", err)
			}
		})
	}
}

// TestRestoreRefusesNonEmpty: a restore never merges into data.
func TestRestoreRefusesNonEmpty(t *testing.T) {
	t.Parallel()
	good := smallBackup(t)
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		storetest.NewOrg(t, s)
		before := dump(t, s)
		_, err := backup.Restore(context.Background(), s, good, backup.Options{})
		if !errors.Is(err, backup.ErrNotEmpty) {
			t.Fatalf("restore into a database with an organisation: %v, want %v", err, backup.ErrNotEmpty)
		}
		for _, w := range []string{"accounts (1 row)", "users (8 rows)", "ids allocated"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		assertSame(t, before, dump(t, s))
	})
}

// TestBackupIsConsistent writes while a backup runs: every account created
// is in the backup together with its audit line (written in the same
// transaction, to a table read later), or neither is.
func TestBackupIsConsistent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		_, err := demo.Generate(ctx, s, demo.Config{Seed: 7, Opportunities: 300, Activities: 1500, Now: testNow})
		storetest.Must(t, err)
		var created atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := crm.Account{Name: "Concurrent"}
				if err := s.Accounts.Create(ctx, crm.System, &a); err != nil {
					t.Error(err)
					return
				}
				created.Add(1)
			}
		})
		for created.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		began := created.Load()
		dir := filepath.Join(t.TempDir(), "backup")
		_, err = backup.Create(ctx, s, dir, backup.Options{})
		during := created.Load() - began
		close(stop)
		wg.Wait()
		storetest.Must(t, err)
		if during == 0 {
			t.Fatal("no account was created while the backup ran: the test tests nothing")
		}
		d := storetest.OpenDuckDB(t)
		_, err = backup.Restore(ctx, d, dir, backup.Options{})
		storetest.Must(t, err)
		var accounts, audited int64
		storetest.Must(t, d.DB().QueryRow(`SELECT COUNT(*) FROM accounts WHERE name = 'Concurrent'`).Scan(&accounts))
		storetest.Must(t, d.DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE entity = 'account' AND action = 'create' AND entity_id IN (SELECT id FROM accounts WHERE name = 'Concurrent')`).Scan(&audited))
		t.Logf("%d accounts created while the backup ran; %d in the backup", during, accounts)
		if accounts != audited || accounts == 0 {
			t.Errorf("backup has %d concurrent accounts and %d audit lines of their creation", accounts, audited)
		}
		var total int64
		storetest.Must(t, d.DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE entity = 'account' AND action = 'create' AND after_json LIKE '%"Concurrent"%'`).Scan(&total))
		if total != accounts {
			t.Errorf("backup has %d audit lines of concurrent accounts for %d accounts", total, accounts)
		}
	})
}

func TestBackupRefusesUsedDirectory(t *testing.T) {
	t.Parallel()
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	dir := t.TempDir()
	storetest.Must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
	if _, err := backup.Create(ctx, s, dir, backup.Options{}); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("backup into a used directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the directory's file is now %q, %v", b, err)
	}

	// A failed backup leaves nothing that looks like one.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	fresh := filepath.Join(t.TempDir(), "new")
	if _, err := backup.Create(cancelled, s, fresh, backup.Options{}); err == nil {
		t.Fatal("backup with a cancelled context succeeded")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed backup left %s: %v", fresh, err)
	}
}

// The benchmarks back up and restore a demo organisation on DuckDB, by
// default of the size `quarterdeck demo` makes (5,000 deals, 50,000
// activities; QUARTERDECK_BENCH_OPPS changes it), without the extras the
// command adds (scores, workflow runs):
//
//	go test -run '^$' -bench 'Backup|Restore' -benchtime 5x ./internal/backup/
func BenchmarkBackup(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var sum backup.Summary
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "backup")
		var err error
		if sum, err = backup.Create(ctx, s, dir, backup.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Rows), "rows")
	b.ReportMetric(float64(sum.Bytes)/1e6, "MB")
}

func BenchmarkRestore(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "backup")
	sum, err := backup.Create(ctx, s, dir, backup.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		d := storetest.OpenBench(b)
		b.StartTimer()
		if _, err := backup.Restore(ctx, d, dir, backup.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Rows), "rows")
	b.ReportMetric(float64(sum.Bytes)/1e6, "MB")
}

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("QUARTERDECK_BENCH_OPPS")); err == nil && v > 0 {
		n = v
	}
	s := storetest.OpenDuckDB(b)
	if _, err := demo.Generate(context.Background(), s, demo.Config{Seed: 1, Opportunities: n, Activities: 10 * n, Now: testNow}); err != nil {
		b.Fatal(err)
	}
	return s
}

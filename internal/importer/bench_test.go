package importer

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// Benchmarks of the import of a Salesforce-format Opportunity.csv. The size
// comes from QUARTERDECK_BENCH_ROWS (default 20,000, so that CI runs them
// small); scripts/bench-import.sh runs them at 1,000,000 rows. They are
// benchmarks, not timed tests: nothing fails on speed.
//
//   QUARTERDECK_BENCH_ROWS=1000000 go test -run '^$' -bench BenchmarkImportOpportunities -benchtime 1x ./internal/importer
//   QUARTERDECK_BENCH_ROWS=1000000 go test -run '^$' -bench BenchmarkImportVsNative -benchtime 1x ./internal/importer

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("QUARTERDECK_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

var (
	benchMu   sync.Mutex
	benchDirs = map[int][2]string{}
)

// benchExport writes a Salesforce export of n opportunities: setup holds
// User.csv and Account.csv (loaded before the clock starts), opps holds
// Opportunity.csv. QUARTERDECK_BENCH_DIR keeps the files between runs.
func benchExport(tb testing.TB, n int) (setup, opps string) {
	tb.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchDirs[n]; ok {
		return d[0], d[1]
	}
	base := os.Getenv("QUARTERDECK_BENCH_DIR")
	if base == "" {
		var err error
		if base, err = os.MkdirTemp("", "qd-bench-"); err != nil {
			tb.Fatal(err)
		}
	}
	base = filepath.Join(base, strconv.Itoa(n))
	setup, opps = filepath.Join(base, "setup"), filepath.Join(base, "opportunities")
	if _, err := os.Stat(filepath.Join(opps, "Opportunity.csv")); err != nil {
		for _, d := range []string{setup, opps} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		users, accounts := 200, max(100, n/50)
		if err := writeSalesforceExport(setup, users, accounts, 0, 1); err != nil {
			tb.Fatal(err)
		}
		os.Remove(filepath.Join(setup, "Opportunity.csv"))
		if err := writeSalesforceExport(opps, users, accounts, n, 1); err != nil {
			tb.Fatal(err)
		}
		os.Remove(filepath.Join(opps, "User.csv"))
		os.Remove(filepath.Join(opps, "Account.csv"))
	}
	benchDirs[n] = [2]string{setup, opps}
	return setup, opps
}

// BenchmarkImportOpportunities imports Opportunity.csv into a database that
// already holds the export's users and accounts, on each engine.
func BenchmarkImportOpportunities(b *testing.B) {
	n := benchRows()
	setup, opps := benchExport(b, n)
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := e.Open(b)
				if _, err := ImportSalesforce(context.Background(), s, setup, Options{}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := ImportSalesforce(context.Background(), s, opps, Options{})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Written != int64(n) {
					b.Fatalf("wrote %d rows, want %d", res.Written, n)
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkImportVsNative measures, in one run, the import against each
// engine's own loading of the same file, several rounds each, and prints the
// medians and ratios (scripts/bench-import.sh). QUARTERDECK_BENCH_ROUNDS
// sets the rounds (default 3).
func BenchmarkImportVsNative(b *testing.B) {
	n := benchRows()
	rounds := 3
	if r, err := strconv.Atoi(os.Getenv("QUARTERDECK_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	setup, opps := benchExport(b, n)
	file := filepath.Join(opps, "Opportunity.csv")
	fi, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	type measure struct {
		engine, what string
		times        []time.Duration
	}
	var results []*measure
	get := func(engine, what string) *measure {
		for _, m := range results {
			if m.engine == engine && m.what == what {
				return m
			}
		}
		m := &measure{engine: engine, what: what}
		results = append(results, m)
		return m
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for round := range rounds {
			for _, e := range storetest.Engines(b) {
				for _, what := range nativeLoads(e.Name) {
					s := e.Open(b)
					if _, err := ImportSalesforce(ctx, s, setup, Options{}); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					loaded, err := what.load(ctx, s, file)
					d := time.Since(start)
					if err != nil {
						b.Fatalf("%s %s: %v", e.Name, what.name, err)
					}
					if loaded != int64(n) {
						b.Fatalf("%s %s loaded %d rows, want %d", e.Name, what.name, loaded, n)
					}
					get(e.Name, what.name).times = append(get(e.Name, what.name).times, d)
					s.Close()
				}
				s := e.Open(b)
				if _, err := ImportSalesforce(ctx, s, setup, Options{}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				res, err := ImportSalesforce(ctx, s, opps, Options{})
				d := time.Since(start)
				if err != nil || res.Written != int64(n) {
					b.Fatalf("%s import: %v (%d written)", e.Name, err, res.Written)
				}
				get(e.Name, "quarterdeck import").times = append(get(e.Name, "quarterdeck import").times, d)
				s.Close()
				fmt.Fprintf(os.Stderr, "round %d/%d %s done\n", round+1, rounds, e.Name)
			}
		}
	}
	b.StopTimer()
	var out strings.Builder
	fmt.Fprintf(&out, "\nImport of a Salesforce-format Opportunity.csv: %d rows, %.0f MB, %d rounds, medians\n\n", n, float64(fi.Size())/1e6, rounds)
	fmt.Fprintf(&out, "| engine | load | median | rows/s | quarterdeck ÷ this |\n|---|---|---|---|---|\n")
	for _, m := range results {
		med := median(m.times)
		ours := median(get(m.engine, "quarterdeck import").times)
		fmt.Fprintf(&out, "| %s | %s | %.2f s | %.0f | %.2f× |\n", m.engine, m.what, med.Seconds(), float64(n)/med.Seconds(), ours.Seconds()/med.Seconds())
	}
	fmt.Print(out.String())
	if path := os.Getenv("QUARTERDECK_BENCH_REPORT"); path != "" {
		os.WriteFile(path, []byte(out.String()), 0o644)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type nativeLoad struct {
	name string
	load func(ctx context.Context, s *store.Store, file string) (int64, error)
}

// nativeOpportunityInsert is the engine-native load of the file into the
// opportunities table: the same conversions as the import (stage flags,
// forecast category, deal type, owner and account ids), written in SQL.
const nativeOpportunityInsert = `INSERT INTO opportunities (id, external_id, name, account_id, owner_id, amount, currency, stage, probability,
	forecast_category, deal_type, source, created_at, expected_close, closed_at, is_closed, is_won, loss_reason, updated_at)
SELECT (SELECT value FROM id_counter WHERE name = 'id') + ROW_NUMBER() OVER (), o."Id", o."Name", a.id, u.user_id, CAST(o."Amount" AS DECIMAL(18,2)),
	COALESCE(o."CurrencyIsoCode", 'USD'), o."StageName", NULL,
	CASE o."ForecastCategoryName" WHEN 'Best Case' THEN 'best_case' WHEN 'Commit' THEN 'commit' WHEN 'Closed' THEN 'closed' WHEN 'Omitted' THEN 'omitted' ELSE 'pipeline' END,
	CASE WHEN o."Type" ILIKE '%%upgrade%%' THEN 'expansion' WHEN o."Type" ILIKE '%%replace%%' OR o."Type" ILIKE '%%downgrade%%' THEN 'renewal' ELSE 'new' END,
	COALESCE(o."LeadSource", ''), CAST(o."CreatedDate" AS TIMESTAMP), CAST(o."CloseDate" AS DATE),
	CASE WHEN CAST(o."IsClosed" AS BOOLEAN) THEN CAST(o."CloseDate" AS DATE) END, CAST(o."IsClosed" AS BOOLEAN), CAST(o."IsWon" AS BOOLEAN), '', CURRENT_TIMESTAMP
FROM %s o
JOIN accounts a ON a.external_id = o."AccountId"
JOIN user_external_ids u ON u.source = 'salesforce' AND u.external_id = o."OwnerId"`

func nativeLoads(engine string) []nativeLoad {
	if engine == "duckdb" {
		return []nativeLoad{
			{"read_csv into a table shaped like the file", func(ctx context.Context, s *store.Store, file string) (int64, error) {
				if _, err := s.DB().ExecContext(ctx, `CREATE TABLE raw_opportunity AS SELECT * FROM read_csv('`+file+`', header = true)`); err != nil {
					return 0, err
				}
				return countRows(ctx, s.DB(), "raw_opportunity")
			}},
			{"read_csv into opportunities (SQL conversions)", func(ctx context.Context, s *store.Store, file string) (int64, error) {
				r, err := s.DB().ExecContext(ctx, fmt.Sprintf(nativeOpportunityInsert, `read_csv('`+file+`', header = true)`))
				if err != nil {
					return 0, err
				}
				return r.RowsAffected()
			}},
		}
	}
	return []nativeLoad{
		{"COPY into a table shaped like the file", func(ctx context.Context, s *store.Store, file string) (int64, error) {
			return pgCopyRaw(ctx, s, file)
		}},
		{"COPY, then INSERT ... SELECT into opportunities", func(ctx context.Context, s *store.Store, file string) (int64, error) {
			if _, err := pgCopyRaw(ctx, s, file); err != nil {
				return 0, err
			}
			r, err := s.DB().ExecContext(ctx, fmt.Sprintf(nativeOpportunityInsert, "raw_opportunity"))
			if err != nil {
				return 0, err
			}
			return r.RowsAffected()
		}},
	}
}

func countRows(ctx context.Context, db *sql.DB, table string) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	return n, err
}

// pgCopyRaw streams the file to COPY ... FROM STDIN (what psql's \copy
// does) into a table with the file's columns, typed as the file's values.
func pgCopyRaw(ctx context.Context, s *store.Store, file string) (int64, error) {
	types := map[string]string{"Amount": "NUMERIC", "Probability": "NUMERIC", "ExpectedRevenue": "NUMERIC", "TotalOpportunityQuantity": "NUMERIC",
		"CloseDate": "DATE", "IsDeleted": "BOOLEAN", "IsPrivate": "BOOLEAN", "IsClosed": "BOOLEAN", "IsWon": "BOOLEAN", "HasOpportunityLineItem": "BOOLEAN",
		"CreatedDate": "TIMESTAMPTZ", "LastModifiedDate": "TIMESTAMPTZ", "SystemModstamp": "TIMESTAMPTZ", "LastActivityDate": "DATE",
		"FiscalQuarter": "INTEGER", "FiscalYear": "INTEGER"}
	var cols, forceNull []string
	for _, c := range sfOppColumns {
		t := types[c]
		if t == "" {
			t = "TEXT"
		} else {
			forceNull = append(forceNull, `"`+c+`"`) // Salesforce quotes empty values too
		}
		cols = append(cols, `"`+c+`" `+t)
	}
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE raw_opportunity (`+strings.Join(cols, ", ")+`)`); err != nil {
		return 0, err
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		tag, err := dc.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, f, `COPY raw_opportunity FROM STDIN WITH (FORMAT csv, HEADER true, FORCE_NULL (`+strings.Join(forceNull, ", ")+`))`)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// TestBenchImportStep imports one Salesforce folder (QUARTERDECK_BENCH_IMPORT)
// into one database (QUARTERDECK_BENCH_DSN) in a process of its own, so that
// scripts/bench-import.sh can measure the peak RSS of a single import with
// /usr/bin/time -v. It prints the summary and the Go heap's peak.
// QUARTERDECK_BENCH_MEMORY sets Options.MemoryLimit; QUARTERDECK_BENCH_NATIVE
// loads the folder's Opportunity.csv with the engine's own loader instead.
func TestBenchImportStep(t *testing.T) {
	dir, dsn := os.Getenv("QUARTERDECK_BENCH_IMPORT"), os.Getenv("QUARTERDECK_BENCH_DSN")
	if dir == "" || dsn == "" {
		t.Skip("QUARTERDECK_BENCH_IMPORT and QUARTERDECK_BENCH_DSN not set")
	}
	s, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var peak uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	if os.Getenv("QUARTERDECK_BENCH_NATIVE") != "" {
		start := time.Now()
		n, err := nativeLoads(s.Engine())[1].load(context.Background(), s, filepath.Join(dir, "Opportunity.csv"))
		close(done)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s native: %d rows in %s\n", s.Engine(), n, time.Since(start).Round(time.Millisecond))
		return
	}
	res, err := ImportSalesforce(context.Background(), s, dir, Options{MemoryLimit: os.Getenv("QUARTERDECK_BENCH_MEMORY")})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s: %s; Go heap peak %d MB\n", s.Engine(), res.Summary(), peak>>20)
}

// TestBenchGenerate writes the benchmark's files (QUARTERDECK_BENCH_ROWS rows
// into QUARTERDECK_BENCH_DIR) when QUARTERDECK_BENCH_GENERATE is set.
func TestBenchGenerate(t *testing.T) {
	if os.Getenv("QUARTERDECK_BENCH_GENERATE") == "" || os.Getenv("QUARTERDECK_BENCH_DIR") == "" {
		t.Skip("QUARTERDECK_BENCH_GENERATE and QUARTERDECK_BENCH_DIR not set")
	}
	setup, opps := benchExport(t, benchRows())
	fmt.Println(setup, opps)
}

package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// The overview benchmarks run on one demo organisation (internal/demo,
// seed 1, "today" 2025-12-31) per engine:
//
//	QUARTERDECK_BENCH_OPPS=1000000 go test -run '^$' -bench Overview -benchtime 5x ./internal/metrics/
//
// (QUARTERDECK_BENCH_DB=path keeps the generated DuckDB file for the next run.)
// with 10 activities per deal. BenchmarkOverview is the
// product (ComputeOverview: KPIs, trend, pipeline by stage and by close
// period, funnel, attainment for FY2025-Q4); BenchmarkOverviewBaseline is
// minimal hand-written DuckDB SQL producing the same numbers;
// BenchmarkOverviewPostgres the product on PostgreSQL when
// QUARTERDECK_TEST_POSTGRES is set.

func benchOpps() int {
	if n, err := strconv.Atoi(os.Getenv("QUARTERDECK_BENCH_OPPS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

var benchStores = struct {
	sync.Mutex
	m map[string]*store.Store
}{m: map[string]*store.Store{}}

var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	benchStores.Lock()
	for _, s := range benchStores.m {
		s.Close()
	}
	benchStores.Unlock()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchStore opens (once per process) the generated organisation on an engine.
func benchStore(b testing.TB, engine string) *store.Store {
	b.Helper()
	benchStores.Lock()
	defer benchStores.Unlock()
	if s, ok := benchStores.m[engine]; ok {
		return s
	}
	ctx := context.Background()
	var s *store.Store
	var err error
	switch engine {
	case "duckdb":
		path := os.Getenv("QUARTERDECK_BENCH_DB") // keep the generated file between runs
		if path == "" {
			if benchDir, err = os.MkdirTemp("", "quarterdeck-bench"); err != nil {
				b.Fatal(err)
			}
			path = filepath.Join(benchDir, "bench.db")
		}
		s, err = store.Open(ctx, path, nil)
		if err == nil {
			var n int
			if err = s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM opportunities`).Scan(&n); err == nil && n > 0 {
				b.Logf("duckdb: reusing %s (%d deals)", path, n)
				benchStores.m[engine] = s
				return s
			}
		}
	case "postgres":
		if os.Getenv("QUARTERDECK_TEST_POSTGRES") == "" {
			b.Skip("QUARTERDECK_TEST_POSTGRES not set")
		}
		s, err = store.Open(ctx, storetest.DSNFor(b, "postgres"), nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	n := benchOpps()
	start := time.Now()
	if _, err := demo.Generate(ctx, s, demo.Config{Seed: 1, Opportunities: n, Activities: 10 * n, Now: benchNow}); err != nil {
		b.Fatal(err)
	}
	if engine == "postgres" {
		if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: generated the demo organisation with %d deals and %d activities in %s", engine, n, 10*n, time.Since(start).Round(time.Millisecond))
	benchStores.m[engine] = s
	return s
}

// benchNow is "today" in the benchmark's organisation.
var benchNow = time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)

var benchFilter = Filter{Period: "FY2025-Q4", AsOf: benchNow}

func benchOverview(b *testing.B, engine string) {
	s := benchStore(b, engine)
	ctx := context.Background()
	p := crm.Principal{Role: crm.RoleOps}
	if _, err := ComputeOverview(ctx, s, p, benchFilter, OverviewOptions{}); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		ov, err := ComputeOverview(ctx, s, p, benchFilter, OverviewOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if ov.KPIs.WonCount == 0 {
			b.Fatal("no won deals in the benchmark period")
		}
	}
}

func BenchmarkOverview(b *testing.B)         { benchOverview(b, "duckdb") }
func BenchmarkOverviewPostgres(b *testing.B) { benchOverview(b, "postgres") }

// BenchmarkDashboard compares, iteration by iteration (so both meet the
// same machine at the same moment, in alternating order), what the
// dashboard computes: ComputeDashboard ("new") against the three calls it
// replaces, ComputeOverview, ComputeBy team and ComputeBy rep ("old"). It
// reports the median (p50) and p95 of each in milliseconds, and old÷new,
// the ratio of the medians; ns/op is both together.
//
//	QUARTERDECK_BENCH_OPPS=1000000 QUARTERDECK_BENCH_DB=/tmp/qd-bench-demo-1m.db \
//	  go test -run '^$' -bench 'Dashboard$' -benchtime 20x ./internal/metrics/
func BenchmarkDashboard(b *testing.B)         { benchDashboard(b, "duckdb") }
func BenchmarkDashboardPostgres(b *testing.B) { benchDashboard(b, "postgres") }

func benchDashboard(b *testing.B, engine string) {
	s := benchStore(b, engine)
	ctx := context.Background()
	p := crm.Principal{Role: crm.RoleOps}
	old := func() time.Duration {
		start := time.Now()
		if _, err := ComputeOverview(ctx, s, p, benchFilter, OverviewOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, dim := range []string{"team", "rep"} {
			if _, err := ComputeBy(ctx, s, p, benchFilter, dim); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	dashboard := func() time.Duration {
		start := time.Now()
		d, err := ComputeDashboard(ctx, s, p, benchFilter, OverviewOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if d.Overview.KPIs.WonCount == 0 || len(d.ByTeam) == 0 || len(d.ByRep) == 0 {
			b.Fatal("no won deals or no slices in the benchmark period")
		}
		return time.Since(start)
	}
	old()
	dashboard() // warm the caches
	var olds, news []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			olds, news = append(olds, old()), append(news, dashboard())
		} else {
			news, olds = append(news, dashboard()), append(olds, old())
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(percentile(olds, 0.5)), "old-p50-ms")
	b.ReportMetric(ms(percentile(olds, 0.95)), "old-p95-ms")
	b.ReportMetric(ms(percentile(news, 0.5)), "new-p50-ms")
	b.ReportMetric(ms(percentile(news, 0.95)), "new-p95-ms")
	b.ReportMetric(float64(percentile(olds, 0.5))/float64(percentile(news, 0.5)), "old÷new")
}

// percentile is the nearest-rank q-quantile of ds: the smallest value with
// at least a share q of the values at or below it.
func percentile(ds []time.Duration, q float64) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
}

func BenchmarkOverviewBaseline(b *testing.B) {
	s := benchStore(b, "duckdb")
	ctx := context.Background()
	if _, err := baselineOverview(ctx, s.DB()); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := baselineOverview(ctx, s.DB()); err != nil {
			b.Fatal(err)
		}
	}
}

// baseline holds the numbers the hand-written SQL produces.
type baseline struct {
	wonCount, lostCount, openCount, cohort, cohortWon int64
	wonAmount, openAmount, weighted, prevWon, lyWon   decimal.Decimal
	avgCycle, medCycle                                float64
	trendWon                                          map[string]decimal.Decimal
	stageAmount                                       map[string]decimal.Decimal
	closeAmount                                       map[string]decimal.Decimal
	funnelReached, funnelAdvanced                     map[string]int64
	leads, responded                                  int64
	medianResponse                                    float64
	activityRows                                      int
	attainment                                        map[int64]float64
	newCustomers                                      int64
	costs                                             decimal.Decimal
}

// baselineOverview is the minimal DuckDB SQL for the benchmark's overview
// (ops, FY2025-Q4, today 2025-12-31, USD corporate, January fiscal year):
// the same numbers as ComputeOverview, written by hand with DuckDB's own
// tools (a rate for every day by generate_series, then equality joins:
// the fastest of the ways tried, ASOF joins were 15 times slower here;
// median, GROUP BY ALL), no visibility or
// filter machinery. Every query is one statement; results are read fully.
func baselineOverview(ctx context.Context, db *sql.DB) (*baseline, error) {
	return baselineTraced(ctx, db, func(string) {})
}

// baselineTraced is baselineOverview calling mark after each query.
func baselineTraced(ctx context.Context, db *sql.DB, mark func(step string)) (*baseline, error) {
	bl := &baseline{trendWon: map[string]decimal.Decimal{}, stageAmount: map[string]decimal.Decimal{},
		closeAmount: map[string]decimal.Decimal{}, funnelReached: map[string]int64{}, funnelAdvanced: map[string]int64{}, attainment: map[int64]float64{}}
	const conv = `CASE WHEN o.currency = 'USD' THEN o.amount ELSE ROUND(o.amount * r.rate, 2) END`
	// fx: the rate of every day, from each rate's day to the next one's.
	const fx = `WITH fx AS (
			SELECT currency, CAST(unnest(generate_series(CAST(valid_from AS TIMESTAMP), CAST(valid_to AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS d, rate
			FROM (SELECT currency, rate, valid_from,
			             COALESCE(lead(valid_from) OVER (PARTITION BY currency ORDER BY valid_from), DATE '2030-01-01') AS valid_to
			      FROM exchange_rates))
		`
	err := db.QueryRowContext(ctx, fx+`, x AS (
			SELECT o.is_won, o.is_closed, o.closed_at, o.expected_close, o.created_at, `+conv+` AS amt,
			       COALESCE(o.probability, st.probability, 0) AS prob, o.closed_at - CAST(o.created_at AS DATE) AS cyc
			FROM opportunities o
			LEFT JOIN stages st ON st.name = o.stage
			LEFT JOIN fx r ON r.currency = o.currency
			    AND r.d = (CASE WHEN o.is_closed THEN o.closed_at ELSE COALESCE(o.expected_close, DATE '2025-12-31') END)
		)
		SELECT count(*) FILTER (is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       CAST(sum(amt) FILTER (is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01') AS VARCHAR),
		       count(*) FILTER (is_closed AND NOT is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       count(*) FILTER (NOT is_closed AND expected_close >= DATE '2025-10-01' AND expected_close < DATE '2026-01-01'),
		       CAST(sum(amt) FILTER (NOT is_closed AND expected_close >= DATE '2025-10-01' AND expected_close < DATE '2026-01-01') AS VARCHAR),
		       CAST(round(sum(amt * CAST(prob AS DECIMAL(18,6))) FILTER (NOT is_closed AND expected_close >= DATE '2025-10-01' AND expected_close < DATE '2026-01-01'), 2) AS VARCHAR),
		       count(*) FILTER (created_at >= TIMESTAMP '2025-10-01' AND created_at < TIMESTAMP '2026-01-01'),
		       count(*) FILTER (is_won AND created_at >= TIMESTAMP '2025-10-01' AND created_at < TIMESTAMP '2026-01-01'),
		       avg(cyc) FILTER (is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       median(cyc) FILTER (is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       avg(cyc) FILTER (is_closed AND NOT is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       median(cyc) FILTER (is_closed AND NOT is_won AND closed_at >= DATE '2025-10-01' AND closed_at < DATE '2026-01-01'),
		       CAST(sum(amt) FILTER (is_won AND closed_at >= DATE '2025-07-01' AND closed_at < DATE '2025-10-01') AS VARCHAR),
		       CAST(sum(amt) FILTER (is_won AND closed_at >= DATE '2024-10-01' AND closed_at < DATE '2025-01-01') AS VARCHAR),
		       count(*) FILTER (amt IS NULL)
		FROM x`).Scan(&bl.wonCount, scanMoney(&bl.wonAmount), &bl.lostCount, &bl.openCount, scanMoney(&bl.openAmount),
		scanMoney(&bl.weighted), &bl.cohort, &bl.cohortWon, &bl.avgCycle, &bl.medCycle, new(float64), new(float64),
		scanMoney(&bl.prevWon), scanMoney(&bl.lyWon), new(int64))
	if err != nil {
		return nil, fmt.Errorf("baseline deals: %w", err)
	}
	mark("deals")
	// Attainment: won in the quarter per rep against the quarter's quota.
	if err := eachRow(ctx, db, fx+`
		SELECT q.user_id, CAST(COALESCE(w.won, 0) / q.amount AS DOUBLE)
		FROM quotas q
		LEFT JOIN (SELECT o.owner_id, sum(`+conv+`) AS won FROM opportunities o
		           LEFT JOIN fx r ON r.currency = o.currency AND r.d = o.closed_at
		           WHERE o.is_won AND o.closed_at >= DATE '2025-10-01' AND o.closed_at < DATE '2026-01-01'
		           GROUP BY ALL) w ON w.owner_id = q.user_id
		WHERE q.period = 'FY2025-Q4' AND q.user_id IS NOT NULL`, func(r *sql.Rows) error {
		var id int64
		var a float64
		err := r.Scan(&id, &a)
		bl.attainment[id] = a
		return err
	}); err != nil {
		return nil, err
	}
	mark("attainment")
	// Activities of the quarter per rep and kind.
	if err := eachRow(ctx, db, `
		SELECT owner_id, kind, count(*), sum(duration_minutes), min(occurred_at), max(occurred_at)
		FROM activities WHERE occurred_at >= TIMESTAMP '2025-10-01' AND occurred_at < TIMESTAMP '2026-01-01'
		GROUP BY ALL`, func(r *sql.Rows) error { bl.activityRows++; return nil }); err != nil {
		return nil, err
	}
	mark("activities")
	// Leads of the quarter: response time and conversion.
	err = db.QueryRowContext(ctx, `
		WITH l AS (SELECT id, created_at, first_response_at, status, converted_opportunity_id FROM leads WHERE created_at >= TIMESTAMP '2025-10-01' AND created_at < TIMESTAMP '2026-01-01'),
		la AS (SELECT a.kind, a.direction, a.occurred_at, l.created_at, l.id AS on_lead, NULL AS on_deal FROM activities a JOIN l ON l.id = a.lead_id
		       UNION ALL
		       SELECT a.kind, a.direction, a.occurred_at, l.created_at, NULL, l.id FROM activities a JOIN l ON l.converted_opportunity_id = a.opportunity_id WHERE a.kind = 'demo'),
		ft AS (SELECT on_lead AS lead_id, min(occurred_at) AS first_at FROM la
		       WHERE on_lead IS NOT NULL AND kind IN ('call', 'email', 'meeting', 'demo') AND direction <> 'inbound' AND occurred_at >= created_at GROUP BY ALL),
		demo AS (SELECT DISTINCT coalesce(on_lead, on_deal) AS id FROM la WHERE kind = 'demo'),
		r AS (SELECT l.status, l.converted_opportunity_id, o.is_won, d.id IS NOT NULL AS demo,
		             (epoch(least(ft.first_at, l.first_response_at)) - epoch(l.created_at)) / 60 AS minutes
		      FROM l LEFT JOIN ft ON ft.lead_id = l.id LEFT JOIN demo d ON d.id = l.id
		      LEFT JOIN opportunities o ON o.id = l.converted_opportunity_id)
		SELECT count(*), count(minutes), median(minutes), count(*) FILTER (minutes <= 5), count(*) FILTER (minutes <= 60),
		       count(*) FILTER (status IN ('qualified', 'converted') OR converted_opportunity_id IS NOT NULL),
		       count(converted_opportunity_id), count(*) FILTER (is_won), count(*) FILTER (demo), count(*) FILTER (demo AND is_won)
		FROM r`).Scan(&bl.leads, &bl.responded, &bl.medianResponse, new(int64), new(int64), new(int64), new(int64), new(int64), new(int64), new(int64))
	if err != nil {
		return nil, fmt.Errorf("baseline leads: %w", err)
	}
	mark("leads")
	// Acquisition cost.
	if err := db.QueryRowContext(ctx, `
		SELECT count(*) FROM (SELECT account_id, min(closed_at) AS f FROM opportunities WHERE is_won GROUP BY ALL)
		WHERE f >= DATE '2025-10-01' AND f < DATE '2026-01-01'`).Scan(&bl.newCustomers); err != nil {
		return nil, fmt.Errorf("baseline customers: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT CAST(sum(amount) AS VARCHAR) FROM costs WHERE period IN ('FY2025-Q4', 'FY2025-M10', 'FY2025-M11', 'FY2025-M12')`).Scan(scanMoney(&bl.costs)); err != nil {
		return nil, fmt.Errorf("baseline costs: %w", err)
	}
	mark("cac")
	// Bookings trend: the 12 months ending with the quarter.
	if err := eachRow(ctx, db, fx+`
		SELECT strftime(o.closed_at, '%Y-%m'), count(*) FILTER (o.is_won), CAST(sum(`+conv+`) FILTER (o.is_won) AS VARCHAR), count(*) FILTER (NOT o.is_won)
		FROM opportunities o LEFT JOIN fx r ON r.currency = o.currency AND r.d = o.closed_at
		WHERE o.is_closed AND o.closed_at >= DATE '2025-01-01' AND o.closed_at < DATE '2026-01-01'
		GROUP BY ALL`, func(r *sql.Rows) error {
		var m string
		var n, lost int64
		var d decimal.Decimal
		err := r.Scan(&m, &n, scanMoney(&d), &lost)
		bl.trendWon[m] = d
		return err
	}); err != nil {
		return nil, err
	}
	mark("trend")
	// Pipeline by stage (expected in the quarter) and by close month from today.
	if err := eachRow(ctx, db, fx+`
		SELECT o.stage, count(*), CAST(sum(`+conv+`) AS VARCHAR), CAST(round(sum((`+conv+`) * CAST(COALESCE(o.probability, st.probability, 0) AS DECIMAL(18,6))), 2) AS VARCHAR)
		FROM opportunities o LEFT JOIN stages st ON st.name = o.stage
		LEFT JOIN fx r ON r.currency = o.currency AND r.d = COALESCE(o.expected_close, DATE '2025-12-31')
		WHERE NOT o.is_closed AND o.expected_close >= DATE '2025-10-01' AND o.expected_close < DATE '2026-01-01'
		GROUP BY ALL`, func(r *sql.Rows) error {
		var st string
		var n int64
		var a decimal.Decimal
		err := r.Scan(&st, &n, scanMoney(&a), new(string))
		bl.stageAmount[st] = a
		return err
	}); err != nil {
		return nil, err
	}
	if err := eachRow(ctx, db, fx+`
		SELECT CASE WHEN o.expected_close IS NULL THEN 'no date' WHEN o.expected_close < DATE '2025-12-01' THEN 'overdue'
		            WHEN o.expected_close >= DATE '2026-06-01' THEN 'later' ELSE strftime(o.expected_close, '%Y-%m') END,
		       count(*), CAST(sum(`+conv+`) AS VARCHAR), CAST(round(sum((`+conv+`) * CAST(COALESCE(o.probability, st.probability, 0) AS DECIMAL(18,6))), 2) AS VARCHAR)
		FROM opportunities o LEFT JOIN stages st ON st.name = o.stage
		LEFT JOIN fx r ON r.currency = o.currency AND r.d = COALESCE(o.expected_close, DATE '2025-12-31')
		WHERE NOT o.is_closed
		GROUP BY ALL`, func(r *sql.Rows) error {
		var k string
		var n int64
		var a decimal.Decimal
		err := r.Scan(&k, &n, scanMoney(&a), new(string))
		bl.closeAmount[k] = a
		return err
	}); err != nil {
		return nil, err
	}
	mark("pipelines")
	// Funnel of the deals created in the quarter.
	if err := eachRow(ctx, db, `
		WITH sel AS (SELECT id, stage, is_closed, is_won FROM opportunities
		             WHERE created_at >= TIMESTAMP '2025-10-01' AND created_at < TIMESTAMP '2026-01-01'),
		steps AS (SELECT h.opportunity_id AS id, h.stage, h.changed_at,
		                 lead(h.changed_at) OVER (PARTITION BY h.opportunity_id ORDER BY h.changed_at, h.id) AS next_at
		          FROM opportunity_history h JOIN sel ON sel.id = h.opportunity_id),
		visits AS (SELECT DISTINCT v.id, st.name AS stage, st.stage_order
		           FROM (SELECT id, stage FROM steps UNION ALL SELECT id, stage FROM sel) v
		           JOIN stages st ON st.name = v.stage AND st.kind = 'open'),
		furthest AS (SELECT id, max(stage_order) AS max_open FROM visits GROUP BY ALL),
		stays AS (SELECT id, stage, sum(epoch(next_at) - epoch(changed_at)) / 86400 AS days FROM steps WHERE next_at IS NOT NULL GROUP BY ALL)
		SELECT 0, v.stage, count(*), count(*) FILTER (sel.is_won OR f.max_open > v.stage_order),
		       count(*) FILTER (sel.is_closed AND NOT sel.is_won AND f.max_open = v.stage_order), NULL
		FROM visits v JOIN furthest f USING (id) JOIN sel USING (id) GROUP BY ALL
		UNION ALL
		SELECT 1, stage, count(*), 0, 0, avg(days) FROM stays GROUP BY ALL
		UNION ALL
		SELECT 2, stage, count(*), 0, 0, NULL FROM sel WHERE is_closed GROUP BY ALL`, func(r *sql.Rows) error {
		var part int
		var stage string
		var n, advanced, lost int64
		var days *float64
		err := r.Scan(&part, &stage, &n, &advanced, &lost, &days)
		if part != 1 {
			bl.funnelReached[stage] += n
			bl.funnelAdvanced[stage] += advanced
		}
		return err
	}); err != nil {
		return nil, err
	}
	mark("funnel")
	return bl, nil
}

func eachRow(ctx context.Context, db *sql.DB, q string, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
	}
	return rows.Err()
}

// TestBaselineMatchesOverview checks, on a small generated organisation,
// that the benchmark's baseline computes the same numbers as the product,
// so that the benchmark compares like with like.
func TestBaselineMatchesOverview(t *testing.T) {
	ctx := context.Background()
	s := storetest.OpenDuckDB(t)
	_, err := demo.Generate(ctx, s, demo.Config{Seed: 7, Opportunities: 5000, Now: benchNow})
	storetest.Must(t, err)
	ov, err := ComputeOverview(ctx, s, crm.Principal{Role: crm.RoleOps}, benchFilter, OverviewOptions{})
	storetest.Must(t, err)
	bl, err := baselineOverview(ctx, s.DB())
	storetest.Must(t, err)
	k := ov.KPIs
	if k.WonCount == 0 || k.OpenCount == 0 || k.LeadResponse.Leads == 0 {
		t.Fatalf("the generated organisation is too thin: %+v", k)
	}
	eqd := func(name string, a, b decimal.Decimal) {
		if !a.Equal(b) {
			t.Errorf("%s: product %s, baseline %s", name, a, b)
		}
	}
	eqi := func(name string, a, b int64) {
		if a != b {
			t.Errorf("%s: product %d, baseline %d", name, a, b)
		}
	}
	eqf := func(name string, a *float64, b float64) {
		if a == nil || *a-b > 1e-9 || b-*a > 1e-9 {
			t.Errorf("%s: product %v, baseline %v", name, a, b)
		}
	}
	eqi("won_count", k.WonCount, bl.wonCount)
	eqi("lost_count", k.LostCount, bl.lostCount)
	eqi("open_count", k.OpenCount, bl.openCount)
	eqi("cohort_count", k.CohortCount, bl.cohort)
	eqi("cohort_won_count", k.CohortWonCount, bl.cohortWon)
	eqd("won_amount", k.WonAmount, bl.wonAmount)
	eqd("open_pipeline", k.OpenPipeline, bl.openAmount)
	eqd("weighted_pipeline", k.WeightedPipeline, bl.weighted)
	eqd("previous_won_amount", k.SalesGrowth.PreviousWonAmount, bl.prevWon)
	eqd("last_year_won_amount", k.SalesGrowth.LastYearWonAmount, bl.lyWon)
	eqf("average_sales_cycle_days", k.AverageSalesCycleDays, bl.avgCycle)
	eqf("median_sales_cycle_days", k.MedianSalesCycleDays, bl.medCycle)
	eqi("leads", k.LeadResponse.Leads, bl.leads)
	eqi("responded", k.LeadResponse.Responded, bl.responded)
	eqf("median_minutes", k.LeadResponse.MedianMinutes, bl.medianResponse)
	eqi("new_customers", *k.NewCustomers, bl.newCustomers)
	eqd("costs", *k.Costs, bl.costs)
	for _, pt := range ov.Trend {
		eqd("trend "+pt.Period, pt.WonAmount, bl.trendWon[pt.Start.Format("2006-01")])
	}
	for _, bar := range ov.PipelineByStage {
		eqd("stage "+bar.Label, bar.Amount, bl.stageAmount[bar.Label])
	}
	for _, bar := range ov.PipelineByClosePeriod {
		key := bar.Label
		if bar.Start != nil {
			key = bar.Start.Format("2006-01")
		}
		eqd("close "+bar.Label, bar.Amount, bl.closeAmount[key])
	}
	if len(ov.Attainment) != len(bl.attainment) {
		t.Errorf("attainment: product %d reps, baseline %d", len(ov.Attainment), len(bl.attainment))
	}
	for _, a := range ov.Attainment {
		if b := bl.attainment[a.UserID]; a.Attainment-b > 1e-9 || b-a.Attainment > 1e-9 {
			t.Errorf("attainment of %d: product %v, baseline %v", a.UserID, a.Attainment, b)
		}
	}
	if len(ov.Funnel) == 0 {
		t.Error("no funnel")
	}
	var closed int64
	for _, st := range ov.Funnel {
		eqi("funnel reached "+st.Stage, st.Reached, bl.funnelReached[st.Stage])
		eqi("funnel advanced "+st.Stage, st.Advanced, bl.funnelAdvanced[st.Stage])
		if st.Reached > k.CohortCount {
			t.Errorf("funnel: %d deals reached %s, cohort %d", st.Reached, st.Stage, k.CohortCount)
		}
		if st.Kind != crm.StageOpen {
			closed += st.Reached
		}
	}
	if closed > k.CohortCount {
		t.Errorf("funnel: %d deals closed, cohort %d", closed, k.CohortCount)
	}
}

// TestOverviewBreakdown times each query of the overview against the
// baseline's (the fastest of five runs of each, which is robust on a shared
// machine). It runs only when QUARTERDECK_BENCH_BREAKDOWN is set, on the
// benchmark's organisation (=postgres: the product's queries on PostgreSQL):
//
//	QUARTERDECK_BENCH_BREAKDOWN=1 QUARTERDECK_BENCH_OPPS=1000000 go test -run OverviewBreakdown -v ./internal/metrics/
func TestOverviewBreakdown(t *testing.T) {
	if os.Getenv("QUARTERDECK_BENCH_BREAKDOWN") == "" {
		t.Skip("set QUARTERDECK_BENCH_BREAKDOWN to run")
	}
	engine := "duckdb"
	if os.Getenv("QUARTERDECK_BENCH_BREAKDOWN") == "postgres" {
		engine = "postgres" // the product's queries only: the baseline is DuckDB SQL
	}
	s := benchStore(t, engine)
	ctx := context.Background()
	mins := map[string]time.Duration{}
	var order []string
	rec := func(name string, d time.Duration) {
		if _, ok := mins[name]; !ok {
			order = append(order, name)
			mins[name] = d
		}
		mins[name] = min(mins[name], d)
	}
	for range 5 {
		sel, err := resolve(ctx, s, crm.Principal{Role: crm.RoleOps}, benchFilter)
		if err != nil {
			t.Fatal(err)
		}
		d := totalDimension()
		m := map[string]*raw{}
		get := func(k string) *raw {
			if m[k] == nil {
				m[k] = &raw{wonBy: map[int64]decimal.Decimal{}, acts: map[int64]map[string]actCell{}}
			}
			return m[k]
		}
		step := func(name string, fn func() error) {
			st := time.Now()
			if err := fn(); err != nil {
				t.Fatal(name, err)
			}
			rec("P "+name, time.Since(st))
		}
		step("resolve", func() error { _, err := resolve(ctx, s, crm.Principal{Role: crm.RoleOps}, benchFilter); return err })
		step("deals", func() error { return sel.oppFacts(ctx, s, d, get) })
		step("attainment", func() error {
			if err := sel.wonByOwner(ctx, s, d, get); err != nil {
				return err
			}
			_, _, err := sel.quotas(ctx, s)
			return err
		})
		step("activities", func() error { _, err := sel.activities(ctx, s, d); return err })
		step("cac", func() error {
			q := render("new-customers", nil, sel.timeParams(nil))
			var n int64
			if err := s.DB().QueryRowContext(ctx, q.sql, q.args...).Scan(&n); err != nil {
				return err
			}
			_, _, _, err := sel.costs(ctx, s)
			return err
		})
		step("leads", func() error { _, err := sel.leads(ctx, s, []*dimension{d}); return err })
		step("trend", func() error { _, err := sel.trend(ctx, s, crm.GrainMonth, 12); return err })
		step("pipelines", func() error {
			if _, err := sel.pipelineByStage(ctx, s); err != nil {
				return err
			}
			_, err := sel.pipelineByClose(ctx, s, crm.GrainMonth, 6)
			return err
		})
		step("funnel", func() error { _, err := sel.funnel(ctx, s); return err })
		st := time.Now()
		if _, err := ComputeOverview(ctx, s, crm.Principal{Role: crm.RoleOps}, benchFilter, OverviewOptions{}); err != nil {
			t.Fatal(err)
		}
		rec("overview", time.Since(st))
		if engine != "duckdb" {
			continue
		}
		st = time.Now()
		if _, err := baselineOverview(ctx, s.DB()); err != nil {
			t.Fatal(err)
		}
		rec("baseline", time.Since(st))
		last := time.Now()
		if _, err := baselineTraced(ctx, s.DB(), func(name string) {
			rec("B "+name, time.Since(last))
			last = time.Now()
		}); err != nil {
			t.Fatal(err)
		}
	}
	var product, base time.Duration
	for _, n := range order {
		t.Logf("%-14s %v", n, mins[n].Round(time.Millisecond))
		if strings.HasPrefix(n, "P ") {
			product += mins[n]
		} else if strings.HasPrefix(n, "B ") {
			base += mins[n]
		}
	}
	if base > 0 {
		t.Logf("sum of queries: product %v, baseline %v: %.2f×", product.Round(time.Millisecond), base.Round(time.Millisecond), float64(product)/float64(base))
		t.Logf("whole overview (ComputeOverview): %v, baseline: %v: %.2f×", mins["overview"].Round(time.Millisecond),
			mins["baseline"].Round(time.Millisecond), float64(mins["overview"])/float64(mins["baseline"]))
	} else {
		t.Logf("sum of queries: %v; whole overview: %v", product.Round(time.Millisecond), mins["overview"].Round(time.Millisecond))
	}
}

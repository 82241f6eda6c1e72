package web_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
	"github.com/shopspring/decimal"
)

// BenchmarkOverviewPage measures the server time of the overview dashboard
// page (all tiles, charts and drill-down tables for the current quarter) as
// the ops analyst sees it, over real HTTP, on a demo organisation of
// QUARTERDECK_BENCH_OPPS opportunities (default 5,000) with ten activities
// each. QUARTERDECK_BENCH_DB=path keeps the generated DuckDB file and reuses
// it when it already holds deals (generating a million deals takes about a
// minute).
//
// Every iteration first makes a change: one open deal's amount is updated
// through the store, which bumps the data version as every write does, so
// the next request is the first view after a change and computes the whole
// dashboard. Then cachedPerIteration more requests are served from the
// report cache. In the same iteration, so that both meet the same machine
// at the same moment, the computation is also timed on its own, both ways:
// the three calls the page made before (ComputeOverview, ComputeBy team,
// ComputeBy rep: "old") and ComputeDashboard ("new"), in alternating order.
// One untimed round warms up first. Reported, in milliseconds, the median
// (p50) and p95 (nearest rank) of each: first-*, cached-*, old-*, new-*,
// and old÷new, the ratio of the medians. ns/op is the whole iteration.
//
//	QUARTERDECK_BENCH_OPPS=1000000 go test -run '^$' -bench OverviewPage -benchtime 10x ./internal/web/
func BenchmarkOverviewPage(b *testing.B) {
	const cachedPerIteration = 5
	opps := 5000
	if v := os.Getenv("QUARTERDECK_BENCH_OPPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		opps = n
	}
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := benchStore(b, ctx, opps, quiet)
	var opsID, dealID int64
	if err := s.DB().QueryRowContext(ctx, `SELECT id FROM users WHERE role = $1 ORDER BY id LIMIT 1`, string(crm.RoleOps)).Scan(&opsID); err != nil {
		b.Fatal(err)
	}
	if err := s.DB().QueryRowContext(ctx, `SELECT id FROM opportunities WHERE NOT is_closed ORDER BY id DESC LIMIT 1`).Scan(&dealID); err != nil {
		b.Fatal(err)
	}
	sess, err := s.NewSession(ctx, opsID, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{}, s, quiet)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	get := func() time.Duration {
		req, _ := http.NewRequest("GET", ts.URL+"/dashboard", nil)
		req.AddCookie(&http.Cookie{Name: "qd_session", Value: sess.Token})
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	step := int64(1)
	change := func() {
		before := s.Version()
		if _, err := s.Opportunities.Update(ctx, crm.System, dealID, func(o *crm.Opportunity) error {
			o.Amount = o.Amount.Add(decimal.NewFromInt(step))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		step = -step // back and forth: the numbers stay put
		if s.Version() == before {
			b.Fatal("a write did not change the store's data version")
		}
	}
	// The page's filter: the current fiscal quarter.
	cal, err := s.Calendar(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := crm.Principal{UserID: opsID, Role: crm.RoleOps}
	f := metrics.Filter{Period: cal.PeriodOf(time.Now(), crm.GrainQuarter).String()}
	old := func() time.Duration {
		start := time.Now()
		if _, err := metrics.ComputeOverview(ctx, s, p, f, metrics.OverviewOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, dim := range []string{"team", "rep"} {
			if _, err := metrics.ComputeBy(ctx, s, p, f, dim); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	dashboard := func() time.Duration {
		start := time.Now()
		if _, err := metrics.ComputeDashboard(ctx, s, p, f, metrics.OverviewOptions{}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// The work is a sub-benchmark, so that the organisation is set up once
	// (Go runs a benchmark function again for each b.N it tries).
	b.Run("deals="+strconv.Itoa(opps), func(b *testing.B) {
		measure(b, change, get, old, dashboard, cachedPerIteration)
	})
}

// measure runs the iterations of BenchmarkOverviewPage and reports them.
func measure(b *testing.B, change func(), get, old, dashboard func() time.Duration, cachedPerIteration int) {
	var first, cached, olds, news []time.Duration
	round := func(i int) {
		change()
		first = append(first, get())
		for range cachedPerIteration {
			cached = append(cached, get())
		}
		if i%2 == 0 {
			olds, news = append(olds, old()), append(news, dashboard())
		} else {
			news, olds = append(news, dashboard()), append(olds, old())
		}
	}
	b.StopTimer()
	round(0) // warm-up
	first, cached, olds, news = nil, nil, nil, nil
	b.ResetTimer()
	b.StartTimer()
	for i := range b.N {
		round(i)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	// nearest rank: the smallest value with at least q of the values at or below it
	pct := func(ds []time.Duration, q float64) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
	}
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"first", first}, {"cached", cached}, {"old", olds}, {"new", news}} {
		b.ReportMetric(ms(pct(m.ds, 0.5)), m.name+"-p50-ms")
		b.ReportMetric(ms(pct(m.ds, 0.95)), m.name+"-p95-ms")
	}
	b.ReportMetric(float64(pct(olds, 0.5))/float64(pct(news, 0.5)), "old÷new")
}

// benchStore is the demo organisation: generated into a new database, or
// the one QUARTERDECK_BENCH_DB names (generated there the first time).
func benchStore(b *testing.B, ctx context.Context, opps int, log *slog.Logger) *store.Store {
	path := os.Getenv("QUARTERDECK_BENCH_DB")
	if path == "" {
		s := storetest.OpenDuckDB(b)
		generate(b, ctx, s, opps)
		return s
	}
	s, err := store.Open(ctx, path, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM opportunities`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		b.Logf("reusing %s (%d deals)", path, n)
		return s
	}
	generate(b, ctx, s, opps)
	return s
}

func generate(b *testing.B, ctx context.Context, s *store.Store, opps int) {
	start := time.Now()
	if _, err := demo.Generate(ctx, s, demo.Config{Seed: 1, Opportunities: opps, Now: time.Now()}); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d deals and %d activities in %s", opps, 10*opps, time.Since(start).Round(time.Second))
}

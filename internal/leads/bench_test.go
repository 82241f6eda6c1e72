package leads_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// BenchmarkRescore measures what a model change costs: applying a new
// version of examples/scoring/inbound.yaml scores every lead again from its
// whole history and writes the why-log. QUARTERDECK_BENCH_LEADS leads
// (default 10,000) with ten events each; QUARTERDECK_BENCH_ENGINE=postgres
// runs it on PostgreSQL (QUARTERDECK_TEST_POSTGRES must be set).
// QUARTERDECK_BENCH_DB=path keeps the generated DuckDB file and reuses it
// when it already holds the leads.
//
//	QUARTERDECK_BENCH_LEADS=1000000 go test -run '^$' -bench Rescore -benchtime 3x ./internal/leads/
//
// BenchmarkRescore/one-event is the cost of one new event: after it is
// stored, its lead is rescored as the API does (RescoreAfterEvent; the time of the rescore,
// 20 events an iteration, reported as p50 and p95 in ms).
func BenchmarkRescore(b *testing.B) {
	n := 10_000
	if v := os.Getenv("QUARTERDECK_BENCH_LEADS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("QUARTERDECK_BENCH_LEADS=%q: want a number of at least 100", v)
		}
	}
	var s *store.Store
	reuse := false
	switch e, path := os.Getenv("QUARTERDECK_BENCH_ENGINE"), os.Getenv("QUARTERDECK_BENCH_DB"); {
	case (e == "" || e == "duckdb") && path != "":
		var err error
		if s, err = store.Open(ctx, path, nil); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		var have int
		s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM leads`).Scan(&have)
		reuse = have == n
	case e == "" || e == "duckdb":
		s = storetest.OpenDuckDB(b)
	case e == "postgres":
		s = storetest.OpenPostgres(b)
	default:
		b.Fatalf("QUARTERDECK_BENCH_ENGINE=%q: want duckdb or postgres", e)
	}
	if !reuse {
		start := time.Now()
		generateLeads(b, s, n, 10)
		b.Logf("generated %d leads with %d events on %s in %v", n, 10*n, s.Engine(), time.Since(start).Round(time.Millisecond))
	}
	doc, err := os.ReadFile("../../examples/scoring/inbound.yaml")
	if err != nil {
		b.Fatal(err)
	}
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b.Run(fmt.Sprintf("%s/%d/apply", s.Engine(), n), func(b *testing.B) {
		for b.Loop() {
			if _, err := leads.Apply(ctx, s, crm.System, "inbound.yaml", doc, asOf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("%s/%d/one-event", s.Engine(), n), func(b *testing.B) {
		const perIteration = 20
		var ms []float64
		i := int64(0)
		for b.Loop() {
			for range perIteration {
				i++
				lead := 1 + (i*7919)%int64(n)
				e := crm.LeadEvent{LeadID: lead, Kind: "email_click", Detail: "Newsletter", OccurredAt: asOf.Add(-time.Duration(i) * time.Minute)}
				if err := s.AddLeadEvent(ctx, crm.System, &e); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := leads.RescoreAfterEvent(ctx, s, lead, asOf); err != nil {
					b.Fatal(err)
				}
				ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
			}
		}
		slices.Sort(ms)
		b.ReportMetric(ms[len(ms)/2], "p50-ms")
		b.ReportMetric(ms[(len(ms)*95+99)/100-1], "p95-ms")
	})
}

// generateLeads fills the leads table with n leads (ids 1..n) and perLead
// events each, in SQL both engines run, with values spread as real ones are.
func generateLeads(b testing.TB, s *store.Store, n, perLead int) {
	exec := func(q string) {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := s.WithBulk(ctx, func(bk *store.Bulk) error {
		_, err := bk.AllocIDs(ctx, n*(perLead+1)+10)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	exec(fmt.Sprintf(`INSERT INTO leads (id, first_name, last_name, email, company, title, industry, employees, country, source, channel, status, created_at, custom_fields)
		SELECT i, 'Lead', CAST(i AS VARCHAR),
			'lead' || CAST(i AS VARCHAR) || CASE i %% 4 WHEN 0 THEN '@gmail.com' ELSE '@company' || CAST(i %% 5000 AS VARCHAR) || '.example' END,
			CASE i %% 20 WHEN 0 THEN '' ELSE 'Company ' || CAST(i %% 5000 AS VARCHAR) END,
			CASE i %% 6 WHEN 0 THEN 'VP Sales' WHEN 1 THEN 'Director of IT' WHEN 2 THEN 'Analyst' WHEN 3 THEN 'Sales Manager' WHEN 4 THEN 'Owner' ELSE 'Engineer' END,
			CASE i %% 7 WHEN 0 THEN 'Technology' WHEN 1 THEN 'Healthcare' WHEN 2 THEN 'Retail' WHEN 3 THEN 'Financial Services' WHEN 4 THEN 'Manufacturing' WHEN 5 THEN 'Education' ELSE 'Construction' END,
			(i * 7919) %% 20000 + 1, 'US',
			CASE i %% 9 WHEN 0 THEN 'Partner referral' WHEN 1 THEN 'Purchased list' WHEN 2 THEN 'Free trial' ELSE 'Web form' END,
			'Organic search', 'new', TIMESTAMP '2025-01-01 00:00:00' + CAST(i %% 500 AS INTEGER) * INTERVAL '1 day', '{}'
		FROM generate_series(CAST(1 AS BIGINT), CAST(%d AS BIGINT)) AS t(i)`, n))
	exec(fmt.Sprintf(`INSERT INTO lead_events (id, lead_id, kind, occurred_at, detail)
		SELECT %d + i, (i %% %d) + 1,
			CASE (i * 31) %% 10 WHEN 0 THEN 'email_click' WHEN 1 THEN 'web_visit' WHEN 2 THEN 'web_visit' WHEN 3 THEN 'form_submit' WHEN 4 THEN 'webinar' ELSE 'email_open' END,
			TIMESTAMP '2025-01-01 00:00:00' + CAST((i %% %d) %% 500 AS INTEGER) * INTERVAL '1 day' + CAST((i * 13) %% 400 AS INTEGER) * INTERVAL '1 day' + CAST(i %% 1440 AS INTEGER) * INTERVAL '1 minute',
			CASE (i * 7) %% 5 WHEN 0 THEN '/pricing' WHEN 1 THEN 'Request a demo' ELSE '/blog' END
		FROM generate_series(CAST(1 AS BIGINT), CAST(%d AS BIGINT)) AS t(i)`, n, n, n, n*perLead))
	if s.Engine() == "postgres" {
		exec("ANALYZE")
	}
}

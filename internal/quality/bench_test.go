package quality_test

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/quality"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// BenchmarkRun times a whole report over a generated organisation:
//
//	QUARTERDECK_BENCH_OPPORTUNITIES=1000000 go test -run '^$' -bench Run -benchtime 3x ./internal/quality/
//
// The organisation has that many opportunities (default 10,000), ten
// activities per deal, a lead per deal, a contact per two deals, an account
// per five, line items on half the deals, and a sprinkling of every problem.
// QUARTERDECK_BENCH_ENGINE=postgres runs it on PostgreSQL
// (QUARTERDECK_TEST_POSTGRES must be set). On DuckDB it also reports the
// CPU time per run (cpu-s/op), which other work on the machine does not
// inflate as it does the wall-clock time.
func BenchmarkRun(b *testing.B) {
	n := 10_000
	if v := os.Getenv("QUARTERDECK_BENCH_OPPORTUNITIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("QUARTERDECK_BENCH_OPPORTUNITIES=%q: want a number of at least 100", v)
		}
	}
	s := storetest.OpenBench(b)
	start := time.Now()
	firstRep := generate(b, s, n)
	if s.Engine() == "postgres" { // as after an import: plans need statistics
		exec(b, s, "ANALYZE")
	}
	b.Logf("generated %d opportunities on %s in %v", n, s.Engine(), time.Since(start).Round(time.Millisecond))
	opt := quality.Options{Now: time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)}
	for _, who := range []struct {
		name string
		p    crm.Principal
	}{{"ops", crm.System}, {"rep", crm.Principal{UserID: firstRep, Role: crm.RoleRep}}} {
		b.Run(fmt.Sprintf("%s/%d/%s", s.Engine(), n, who.name), func(b *testing.B) {
			var rep quality.Report
			cpu0, cpuOK := cpuTime()
			for b.Loop() {
				var err error
				if rep, err = quality.Run(ctx, s, who.p, opt); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cpuTime(); cpuOK && s.Engine() == "duckdb" {
				b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			}
			b.ReportMetric(float64(rep.Totals[quality.SeverityError]+rep.Totals[quality.SeverityWarning]+rep.Totals[quality.SeverityInfo]), "findings")
		})
	}
}

// generate bulk-loads a believable organisation of n deals with problems
// and returns the id of its first rep.
func generate(b *testing.B, s *store.Store, n int) int64 {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	reps := min(max(n/200, 5), 5000)
	accounts, contacts, leads, products := max(n/5, 10), max(n/2, 10), n, 50
	pick := func(k int) int64 { return int64(r.IntN(k)) }
	money := func(median float64, spread float64) decimal.Decimal {
		return decimal.NewFromFloat(median * math.Exp(r.NormFloat64()*spread)).Round(2)
	}
	load := func(bk *store.Bulk, table string, cols []string, count int, row func(id int64, i int) []any) {
		first, err := bk.AllocIDs(ctx, count)
		if err != nil {
			b.Fatal(err)
		}
		rows := iter.Seq2[[]any, error](func(yield func([]any, error) bool) {
			for i := range count {
				if !yield(row(first+int64(i), i), nil) {
					return
				}
			}
		})
		if _, err := bk.Load(ctx, table, cols, rows); err != nil {
			b.Fatalf("load %s: %v", table, err)
		}
	}
	var firstRep int64
	err := s.WithBulk(ctx, func(bk *store.Bulk) error {
		var firstUser int64
		load(bk, "users", []string{"id", "email", "name", "role", "active", "created_at"}, reps+1, func(id int64, i int) []any {
			role := crm.RoleRep
			if i == 0 {
				role, firstUser = crm.RoleOps, id
			}
			return []any{id, fmt.Sprintf("user%d@example.com", id), fmt.Sprintf("User %d", id), string(role), i%50 != 7, base}
		})
		firstRep = firstUser + 1
		rep := func() int64 { return firstRep + pick(reps) }
		load(bk, "quotas", []string{"id", "user_id", "period", "amount", "currency"}, reps, func(id int64, i int) []any {
			period := "FY2025-Q2"
			if i%10 == 3 {
				period = "FY2025-Q1" // no quota this quarter
			}
			return []any{id, firstRep + int64(i), period, decimal.NewFromInt(250000), "USD"}
		})
		var firstProduct, firstAccount, firstLead, firstOpp int64
		load(bk, "products", []string{"id", "name", "list_price", "currency", "active"}, products, func(id int64, i int) []any {
			if i == 0 {
				firstProduct = id
			}
			return []any{id, fmt.Sprintf("Product %d", i), decimal.NewFromInt(int64(100 * (i + 1))), "USD", true}
		})
		segments := []string{"SMB", "Mid-market", "Enterprise"}
		load(bk, "accounts", []string{"id", "name", "domain", "owner_id", "segment", "created_at"}, accounts, func(id int64, i int) []any {
			if i == 0 {
				firstAccount = id
			}
			name, domain := fmt.Sprintf("Company %d", i), fmt.Sprintf("company%d.example", i)
			if i%100 == 1 { // a duplicate of the one before
				name, domain = fmt.Sprintf("company %d, inc.", i-1), ""
			}
			var owner any = rep()
			if i%1000 == 2 {
				owner = int64(99_999_999) // unknown owner
			}
			return []any{id, name, domain, owner, segments[i%3], base}
		})
		load(bk, "contacts", []string{"id", "account_id", "first_name", "last_name", "email", "owner_id", "created_at"}, contacts, func(id int64, i int) []any {
			email := fmt.Sprintf("person%d@example.com", i)
			if i%100 == 1 {
				email = fmt.Sprintf("person%d@example.com", i-1)
			}
			return []any{id, firstAccount + pick(accounts), "Person", strconv.Itoa(i), email, rep(), base}
		})
		load(bk, "opportunities", []string{"id", "name", "account_id", "owner_id", "amount", "currency", "stage", "forecast_category", "deal_type",
			"created_at", "expected_close", "closed_at", "is_closed", "is_won", "updated_at"}, n, func(id int64, i int) []any {
			if i == 0 {
				firstOpp = id
			}
			created := base.Add(time.Duration(r.IntN(500*24)) * time.Hour)
			closeDay := created.AddDate(0, 0, 20+r.IntN(120)).Truncate(24 * time.Hour)
			var expected, closed any = closeDay, nil
			stage, fc, isClosed, isWon := "Proposal", "best_case", false, false
			switch k := r.IntN(10); {
			case k < 4:
				stage, fc, isClosed, isWon, closed = "Closed Won", "closed", true, true, closeDay
			case k < 7:
				stage, fc, isClosed, closed = "Closed Lost", "omitted", true, closeDay
			case k < 8:
				stage, fc = "Qualification", "pipeline"
			}
			amount := money(20000, 0.8)
			switch {
			case i%211 == 5:
				amount = amount.Mul(decimal.NewFromInt(100)) // typo
			case i%307 == 6 && isWon:
				amount = decimal.Zero
			case i%401 == 7 && !isClosed:
				expected = nil
			case i%503 == 8 && isClosed:
				closed = created.AddDate(0, 0, -3).Truncate(24 * time.Hour)
			}
			return []any{id, fmt.Sprintf("Deal %d", i), firstAccount + pick(accounts), rep(), amount, "USD", stage, fc, "new",
				created, expected, closed, isClosed, isWon, created}
		})
		load(bk, "line_items", []string{"id", "opportunity_id", "product_id", "quantity", "unit_price", "total_price"}, n/2, func(id int64, i int) []any {
			product := firstProduct + pick(products)
			if i%997 == 3 {
				product = 88_888_888 // unknown product
			}
			price := decimal.NewFromInt(100 * (product - firstProduct + 1)).Mul(decimal.NewFromFloat(1 - 0.2*r.Float64())).Round(2)
			if i%389 == 4 {
				price = price.Mul(decimal.NewFromInt(10))
			}
			qty := decimal.NewFromInt(int64(1 + r.IntN(5)))
			return []any{id, firstOpp + int64(2*i), product, qty, price, qty.Mul(price).Round(2)}
		})
		load(bk, "leads", []string{"id", "first_name", "last_name", "email", "company", "status", "owner_id", "created_at", "first_response_at"}, leads, func(id int64, i int) []any {
			if i == 0 {
				firstLead = id
			}
			created := base.Add(time.Duration(r.IntN(500*24*60)) * time.Minute)
			var response any = created.Add(time.Duration(1+r.IntN(600)) * time.Minute)
			if i%20 == 9 {
				response = nil
			}
			email := fmt.Sprintf("lead%d@example.org", i)
			if i%150 == 1 {
				email = fmt.Sprintf("lead%d@example.org", i-1)
			}
			return []any{id, "Lead", strconv.Itoa(i), email, "Prospect Co", string(crm.LeadWorking), rep(), created, response}
		})
		kinds := []string{"call", "email", "meeting", "demo", "task"}
		load(bk, "activities", []string{"id", "kind", "owner_id", "opportunity_id", "lead_id", "occurred_at"}, 10*n, func(id int64, i int) []any {
			var opp, lead any = firstOpp + pick(n), nil
			if i%10 == 0 {
				opp, lead = nil, firstLead+pick(leads)
			}
			return []any{id, kinds[i%len(kinds)], rep(), opp, lead, base.Add(time.Duration(r.IntN(530*24)) * time.Hour)}
		})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return firstRep
}

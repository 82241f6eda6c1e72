package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// TestComputeBySumsToTotal: the additive KPIs of the slices add up to the
// total for every dimension (product too: the fixture's deals have at most
// one product), for several periods and roles.
func TestComputeBySumsToTotal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		for _, p := range []crm.Principal{ops, storetest.As(fx.MgrA), storetest.As(fx.RepB)} {
			for _, period := range []string{"", "FY2025-Q1", "FY2025", "FY2024-M12"} {
				f := Filter{Period: period, AsOf: asOf}
				total, err := Compute(ctx, s, p, f)
				storetest.Must(t, err)
				for _, dim := range Dimensions {
					sl, err := ComputeBy(ctx, s, p, f, dim)
					storetest.Must(t, err)
					var sum KPIs
					keys := map[string]bool{}
					for _, x := range sl {
						if keys[x.Key] {
							t.Errorf("%s %s %s: key %q twice", p.Role, period, dim, x.Key)
						}
						keys[x.Key] = true
						k := x.KPIs
						sum.WonAmount = sum.WonAmount.Add(k.WonAmount)
						sum.OpenPipeline = sum.OpenPipeline.Add(k.OpenPipeline)
						sum.WeightedPipeline = sum.WeightedPipeline.Add(k.WeightedPipeline)
						sum.WonCount += k.WonCount
						sum.LostCount += k.LostCount
						sum.OpenCount += k.OpenCount
						sum.CohortCount += k.CohortCount
						sum.QuotaCarryingReps += k.QuotaCarryingReps
						sum.RepsAtQuota += k.RepsAtQuota
					}
					where := p.Role + " " + crm.Role(period) + " by " + crm.Role(dim)
					eq := func(name string, got, want decimal.Decimal) {
						if !got.Equal(want) {
							t.Errorf("%s: sum of %s = %s, total %s", where, name, got, want)
						}
					}
					eq("won_amount", sum.WonAmount, total.WonAmount)
					eq("open_pipeline", sum.OpenPipeline, total.OpenPipeline)
					eq("weighted_pipeline", sum.WeightedPipeline, total.WeightedPipeline)
					for _, c := range []struct {
						name      string
						got, want int64
					}{{"won_count", sum.WonCount, total.WonCount}, {"lost_count", sum.LostCount, total.LostCount},
						{"open_count", sum.OpenCount, total.OpenCount}, {"cohort_count", sum.CohortCount, total.CohortCount}} {
						if c.got != c.want {
							t.Errorf("%s: sum of %s = %d, total %d", where, c.name, c.got, c.want)
						}
					}
					if dim == "rep" || dim == "team" || dim == "region" {
						if sum.QuotaCarryingReps != total.QuotaCarryingReps || sum.RepsAtQuota != total.RepsAtQuota {
							t.Errorf("%s: quota reps %d/%d, total %d/%d", where, sum.RepsAtQuota, sum.QuotaCarryingReps, total.RepsAtQuota, total.QuotaCarryingReps)
						}
					}
				}
			}
		}
		if _, err := ComputeBy(ctx, s, ops, Filter{}, "colour"); err == nil {
			t.Error("an unknown dimension must be refused")
		}
	})
}

// TestComputeBySlices checks a few slices by hand (FY2025-Q1).
func TestComputeBySlices(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		f := Filter{Period: "FY2025-Q1", AsOf: asOf}
		find := func(dim, label string) KPIs {
			t.Helper()
			sl, err := ComputeBy(ctx, s, ops, f, dim)
			storetest.Must(t, err)
			for _, x := range sl {
				if x.Label == label {
					return x.KPIs
				}
			}
			t.Fatalf("by %s: no slice %q in %+v", dim, label, sl)
			return KPIs{}
		}
		check(t, find("rep", fx.RepA1.Name), want{"won_amount": "1600", "quota": "1500", "quota_attainment_rate": 1.0, "lead_response.leads": 2})
		check(t, find("rep", fx.RepB.Name), want{"won_count": 1, "quota": nil, "time_spent_selling.sellers": 1, "meetings_per_seller": 1.0})
		check(t, find("team", fx.TeamA.Name), want{"won_amount": "3600", "quota": "4500", "quota_attainment": 0.8})
		check(t, find("region", "East"), want{"won_count": 4, "quota": "4500"})
		check(t, find("segment", "Enterprise"), want{"won_amount": "3600", "quota": nil, "time_spent_selling.sellers": 0})
		check(t, find("segment", "Mid-market"), want{"lost_count": 2, "open_count": 4, "open_pipeline": "1800"})
		check(t, find("source", "Referral"), want{"won_amount": "2000", "time_spent_selling": nil, "lead_response.leads": 0})
		check(t, find("source", "Web"), want{"lead_response.leads": 4})
		check(t, find("type", "expansion"), want{"won_amount": "600", "lead_response": nil})
		check(t, find("product", "Widget"), want{"won_amount": "1000"})
		check(t, find("product", "(no product)"), want{"won_amount": "2600"})
		check(t, find("industry", "Software"), want{"won_count": 2, "lead_response.leads": 4})
	})
}

// TestFiscalYearStartingInFebruary: with the year starting in February,
// FY2025 runs from February 2024 to January 2025.
func TestFiscalYearStartingInFebruary(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		storetest.Must(t, s.UpdateSettings(ctx, crm.System, crm.Settings{FiscalYearStartMonth: 2, CorporateCurrency: "USD"}))
		cases := []struct {
			period string
			want   want
		}{
			// Nov 2024 – Jan 2025: D6 (Dec 20) and D1 (Jan 31).
			{"FY2025-Q4", want{"period_start": "2024-11-01", "period_end": "2025-01-31", "won_count": 2, "won_amount": "1300",
				"lost_count": 0, "sales_growth.previous_period": "FY2025-Q3", "sales_growth.same_period_last_year": "FY2024-Q4"}},
			// Feb – Apr 2025: D2, D4, D8 (GBP) won; D3, D5 lost.
			{"FY2026-Q1", want{"period_start": "2025-02-01", "won_count": 3, "won_amount": "2600", "lost_count": 2,
				"unconverted_amounts": 1, "sales_growth.previous_won_amount": "1300"}},
			// Jan 2025 is the twelfth month of FY2025.
			{"FY2025-M12", want{"period_start": "2025-01-01", "period_end": "2025-01-31", "won_count": 1, "won_amount": "1000"}},
			// FY2025 = Feb 2024 – Jan 2025: D7 (Feb 15 2024), D6, D1.
			// Quota periods are names: "FY2025" is now Feb 2024 – Jan 2025.
			{"FY2025", want{"won_count": 3, "won_amount": "1700", "quota": "13500"}},
		}
		for _, c := range cases {
			k, err := Compute(ctx, s, ops, Filter{Period: c.period, AsOf: asOf})
			storetest.Must(t, err)
			t.Run(c.period, func(t *testing.T) { check(t, k, c.want) })
		}
	})
}

// TestEURConvertedAtItsDay: the same EUR deal converts at the rate of the
// day it closed, and has no value before the first rate.
func TestEURConvertedAtItsDay(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		ops := crm.Principal{UserID: o.Admin.ID, Role: crm.RoleOps}
		for _, r := range []struct{ from, rate string }{{"2025-01-01", "1.10"}, {"2025-02-01", "1.20"}, {"2025-03-01", "1.05"}} {
			storetest.Must(t, s.PutExchangeRate(ctx, crm.System, crm.ExchangeRate{Currency: "EUR", ValidFrom: day(r.from), Rate: dec(r.rate)}))
		}
		for _, c := range []struct {
			closed, want string
			unconverted  int
		}{
			{"2024-12-31", "0", 1},       // before the first rate
			{"2025-01-01", "1111.11", 0}, // 1010.10 × 1.10 = 1111.11
			{"2025-01-31", "1111.11", 0}, // still January's rate
			{"2025-02-01", "1212.12", 0}, // 1010.10 × 1.20
			{"2025-02-28", "1212.12", 0}, //
			{"2025-03-01", "1060.61", 0}, // 1010.10 × 1.05 = 1060.605 → 1060.61 (half away from zero)
			{"2026-06-30", "1060.61", 0}, // the last rate holds on
		} {
			closed := crm.NewDate(day(c.closed))
			v := &crm.Opportunity{Name: "EUR " + c.closed, AccountID: o.Account.ID, OwnerID: o.RepA1.ID, Amount: dec("1010.10"),
				Currency: "EUR", Stage: "Closed Won", ClosedAt: &closed, CreatedAt: day(c.closed).Add(-240 * time.Hour), Source: c.closed}
			storetest.Must(t, s.Opportunities.Create(ctx, crm.System, v))
			per := crm.FiscalCalendar{}.PeriodOf(day(c.closed), crm.GrainMonth).String()
			k, err := Compute(ctx, s, ops, Filter{Period: per, Source: c.closed, AsOf: asOf})
			storetest.Must(t, err)
			t.Run(c.closed, func(t *testing.T) {
				check(t, k, want{"won_count": 1, "won_amount": c.want, "unconverted_amounts": c.unconverted})
			})
		}
	})
}

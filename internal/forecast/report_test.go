package forecast_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// targetOrg is handOrg with two more deals, quotas (one in euros) and calls:
//
//	D       rep B 500 Prospecting 2024-11-01, expected 2024-12-15, open (overdue)
//	E       manager B (no quota) 700 Negotiation 2025-01-05, won 2025-02-05
//	quotas  A1 1000 USD for FY2025-Q1; A2 1000 EUR for FY2025-Q1 (1.10 on
//	        2025-01-01, 1.20 from 2025-04-01); B 4000 USD for FY2025
//	calls   B on 2025-01-10, A1 on 2025-02-01, A2 on 2025-02-20
func targetOrg(t *testing.T, s *store.Store) *storetest.Org {
	ctx := context.Background()
	o := handOrg(t, s)
	addDeal(t, s, o, o.RepB, "500", "2024-12-15", [2]string{"2024-11-01", "Prospecting"})
	addDeal(t, s, o, o.MgrB, "700", "2025-03-20", [2]string{"2025-01-05", "Negotiation"}, [2]string{"2025-02-05", "Closed Won"})
	dec := decimal.RequireFromString
	storetest.Must(t, s.PutExchangeRate(ctx, crm.System, crm.ExchangeRate{Currency: "EUR", ValidFrom: day("2025-01-01"), Rate: dec(eurQ1)}))
	storetest.Must(t, s.PutExchangeRate(ctx, crm.System, crm.ExchangeRate{Currency: "EUR", ValidFrom: day("2025-04-01"), Rate: dec("1.20")}))
	for _, q := range []struct {
		who                      crm.User
		period, amount, currency string
	}{{o.RepA1, "FY2025-Q1", "1000", "USD"}, {o.RepA2, "FY2025-Q1", "1000", "EUR"}, {o.RepB, "FY2025", "4000", "USD"}} {
		storetest.Must(t, s.Quotas.Create(ctx, crm.System, &crm.Quota{UserID: &q.who.ID, Period: q.period, Amount: dec(q.amount), Currency: q.currency}))
	}
	for _, c := range calls(o) {
		s.SetClock(func() time.Time { return day(c.on).Add(9 * time.Hour) })
		storetest.Must(t, s.SubmitForecast(ctx, storetest.As(c.who), &crm.ForecastSubmission{Period: "FY2025-Q1",
			Commit: decimal.NewFromFloat(c.commit), BestCase: decimal.NewFromFloat(c.best), Pipeline: decimal.NewFromFloat(c.pipe)}))
	}
	s.SetClock(time.Now)
	return o
}

const eurQ1 = "1.10"

type call struct {
	who                crm.User
	on                 string
	commit, best, pipe float64
}

func calls(o *storetest.Org) []call {
	return []call{{o.RepB, "2025-01-10", 100, 200, 300}, {o.RepA1, "2025-02-01", 500, 800, 1500}, {o.RepA2, "2025-02-20", 300, 400, 900}}
}

func TestReportTarget(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := targetOrg(t, s)
		eur, _ := decimal.RequireFromString(eurQ1).Float64()
		quotaOf := map[int64]float64{o.RepA1.ID: 1000, o.RepA2.ID: 1000 * eur, o.RepB.ID: 4000.0 / 4}
		// Won and open pipeline in Q1 as of 2025-02-15 and 2025-03-01, per
		// owner: stated is the open deals expected in Q1 as they say (not D).
		wonOf := map[int64]float64{o.RepA2.ID: 2000, o.MgrB.ID: 700}
		openOf := map[int64]float64{o.RepA1.ID: 1000 + 100, o.RepA2.ID: 200, o.RepB.ID: 400 + 300 + 500}
		statedOf := map[int64]float64{o.RepA1.ID: 1000 + 100, o.RepA2.ID: 200, o.RepB.ID: 400 + 300}
		cases := []struct {
			name   string
			as     crm.Principal
			team   int64
			owners []crm.User
			asOf   string
		}{
			{"organisation", crm.System, 0, []crm.User{o.RepA1, o.RepA2, o.RepB, o.MgrB}, "2025-02-15"},
			{"organisation later", crm.System, 0, []crm.User{o.RepA1, o.RepA2, o.RepB, o.MgrB}, "2025-03-01"},
			{"manager A", storetest.As(o.MgrA), 0, []crm.User{o.RepA1, o.RepA2}, "2025-02-15"},
			{"team B filter", crm.System, o.TeamB.ID, []crm.User{o.RepB}, "2025-02-15"},
			{"rep A1", storetest.As(o.RepA1), 0, []crm.User{o.RepA1}, "2025-02-15"},
			{"rep A2, quota in euros and beaten", storetest.As(o.RepA2), 0, []crm.User{o.RepA2}, "2025-02-15"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b, err := forecast.Load(ctx, s, c.as, day("2026-06-01"), forecast.LoadOptions{})
				storetest.Must(t, err)
				rep, err := b.Report(ctx, s, c.as, forecast.Query{Period: "FY2025-Q1", AsOf: day(c.asOf), TeamID: c.team}, nil)
				storetest.Must(t, err)
				var quota, won, carriersWon, open, stated, commit, best, pipe float64
				reps, carriers := 0, 0
				for _, u := range c.owners {
					if q, ok := quotaOf[u.ID]; ok {
						quota, carriersWon, carriers = quota+q, carriersWon+wonOf[u.ID], carriers+1
					}
					won += wonOf[u.ID]
					open += openOf[u.ID]
					stated += statedOf[u.ID]
					for _, k := range calls(o) {
						if k.who.ID == u.ID && day(k.on).Before(day(c.asOf)) {
							commit, best, pipe, reps = commit+k.commit, best+k.best, pipe+k.pipe, reps+1
						}
					}
				}
				if rep.Won != won || rep.OpenAmount != open || rep.OpenInPeriod != stated {
					t.Errorf("won %v, open %v of which %v stated in Q1; want %v, %v, %v", rep.Won, rep.OpenAmount, rep.OpenInPeriod, won, open, stated)
				}
				// Only the quota carriers' wins count against the quota; the
				// pipeline covering the gap is the stated one.
				tg := rep.Target
				if rep.Currency != "USD" || tg.Quota == nil || math.Abs(*tg.Quota-quota) > 0.005 || tg.QuotaCarriers != carriers ||
					tg.Won != carriersWon || tg.OpenPipeline != stated || math.Abs(*tg.Gap-(quota-carriersWon)) > 0.005 || math.Abs(*tg.Attainment-carriersWon/quota) > 1e-9 {
					t.Errorf("target %+v in %s, want quota %v of %d, won %v, open %v", tg, rep.Currency, quota, carriers, carriersWon, stated)
				}
				if gap := quota - carriersWon; gap > 0 {
					if tg.Coverage == nil || math.Abs(*tg.Coverage-stated/gap) > 1e-9 {
						t.Errorf("coverage %v, want %v", tg.Coverage, stated/gap)
					}
				} else if tg.Coverage != nil {
					t.Errorf("coverage %v with the quota beaten", *tg.Coverage)
				}
				// Q1 has ended; its wins came before both days.
				if tg.ActualAttainment == nil || math.Abs(*tg.ActualAttainment-carriersWon/quota) > 1e-9 {
					t.Errorf("actual attainment %v", tg.ActualAttainment)
				}
				roll := rep.CallRollup
				if reps == 0 {
					if roll != nil {
						t.Errorf("roll-up %+v without calls", roll)
					}
					return
				}
				if roll == nil || roll.Reps != reps || roll.Commit != commit || roll.BestCase != best || roll.Pipeline != pipe || roll.Currency != "USD" ||
					math.Abs(*roll.CommitVsQuota-commit/quota) > 1e-9 || math.Abs(*roll.PipelineVsQuota-pipe/quota) > 1e-9 {
					t.Fatalf("roll-up %+v, want %d reps: %v / %v / %v", roll, reps, commit, best, pipe)
				}
				if e, ok := rep.Estimate(forecast.MethodCommit); !ok || e.Forecast != commit {
					t.Errorf("rep commit estimate %+v, want %v", e, commit)
				}
				if len(rep.Calls) < reps {
					t.Errorf("%d calls listed, %d reps called by then", len(rep.Calls), reps)
				}
			})
		}
	})
}

// A closed period's report is what the methods forecast as of its first day
// (or the day asked for), beside its actual; never the actual itself.
func TestReportOfClosedPeriod(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		targetOrg(t, s)
		b, err := forecast.Load(ctx, s, crm.System, day("2026-06-01"), forecast.LoadOptions{Activities: true})
		storetest.Must(t, err)
		today := b.TrainWinModel(b.Today)
		prob := func(stage string) float64 { return b.Stages[stage].Probability }
		for _, c := range []struct {
			name, period, asOf string
			wantAsOf           string
			stage              float64 // the stage-weighted forecast then, from the deals open then
			calls              int     // calls submitted before the day
		}{
			// On 2025-01-01 C (Qualification), the three Prospecting deals and D (overdue) were open.
			{"first day by default", "FY2025-Q1", "", "2025-01-01", 400*prob("Qualification") + (600+500)*prob("Prospecting"), 0},
			// On 2025-02-15: B and E won; A in Proposal, C, the three, D.
			{"the day asked for", "FY2025-Q1", "2025-02-15", "2025-02-15", 2000 + 700 + 1000*prob("Proposal") + 400*prob("Qualification") + (600+500)*prob("Prospecting"), 2},
		} {
			t.Run(c.name, func(t *testing.T) {
				q := forecast.Query{Period: c.period, WinProb: true}
				if c.asOf != "" {
					q.AsOf = day(c.asOf)
				}
				rep, err := b.Report(ctx, s, crm.System, q, today)
				storetest.Must(t, err)
				if rep.AsOf.String() != c.wantAsOf || rep.Actual == nil || *rep.Actual != 2000+700 {
					t.Fatalf("as of %s, actual %v; want as of %s, actual 2700", rep.AsOf, rep.Actual, c.wantAsOf)
				}
				if st, _ := rep.Estimate(forecast.MethodStage); math.Abs(st.Forecast-c.stage) > 0.005 {
					t.Errorf("stage-weighted %v, want %v", st.Forecast, c.stage)
				}
				// The model is the one that could have been trained then.
				if rep.Model == nil || !rep.Model.TrainedAt.Equal(day(c.wantAsOf)) {
					t.Errorf("win-probability model %+v, want one trained as of %s", rep.Model, c.wantAsOf)
				}
				if len(rep.Calls) != c.calls {
					t.Errorf("%d calls, want the %d submitted before %s", len(rep.Calls), c.calls, c.wantAsOf)
				}
			})
		}
		for _, bad := range []struct{ period, asOf string }{{"FY2025-Q1", "2025-04-01"}, {"FY2026-Q2", "2026-06-02"}} {
			_, err := b.Report(ctx, s, crm.System, forecast.Query{Period: bad.period, AsOf: day(bad.asOf)}, nil)
			var ve *crm.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != "as_of" {
				t.Errorf("%s as of %s: %v, want an error on as_of", bad.period, bad.asOf, err)
			}
		}
	})
}

// Period to date: what was won by the same day of the previous period and
// of the same period last year, from each deal's close date.
func TestReportPeriodToDate(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	handOrg(t, s)
	b, err := forecast.Load(ctx, s, crm.System, day("2026-06-01"), forecast.LoadOptions{})
	storetest.Must(t, err)
	wins := map[string]float64{"2025-02-10": 2000} // B, the one deal won
	type cmp struct{ period, before string }
	for _, c := range []struct {
		period, asOf   string
		prev, lastYear cmp // the same day of each: won before it
	}{
		{"FY2025-Q2", "2025-05-15", cmp{"FY2025-Q1", "2025-02-15"}, cmp{"FY2024-Q2", "2024-05-15"}},
		{"FY2025-Q2", "2025-05-10", cmp{"FY2025-Q1", "2025-02-10"}, cmp{"FY2024-Q2", "2024-05-10"}},
		{"FY2026-Q1", "2026-02-20", cmp{"FY2025-Q4", "2025-11-20"}, cmp{"FY2025-Q1", "2025-02-20"}},
		{"FY2025-M03", "2025-03-31", cmp{"FY2025-M02", "2025-02-28"}, cmp{"FY2024-M03", "2024-03-31"}},
		{"FY2025-Q3", "2025-07-01", cmp{"FY2025-Q2", "2025-04-01"}, cmp{"FY2024-Q3", "2024-07-01"}},
	} {
		rep, err := b.Report(ctx, s, crm.System, forecast.Query{Period: c.period, AsOf: day(c.asOf)}, nil)
		storetest.Must(t, err)
		if len(rep.ToDate) != 2 {
			t.Fatalf("%s: %+v", c.period, rep.ToDate)
		}
		for i, want := range []cmp{c.prev, c.lastYear} {
			p, _ := b.Calendar.ParsePeriod(want.period)
			var won, total float64
			for on, v := range wins {
				if d := day(on); !d.Before(p.Start) && d.Before(p.End) {
					total += v
					if d.Before(day(want.before)) {
						won += v
					}
				}
			}
			got := rep.ToDate[i]
			if got.Period != want.period || got.AsOf.String() != want.before || got.Won != won || got.Total != total {
				t.Errorf("%s as of %s: %+v, want won %v in %s before %s of %v", c.period, c.asOf, got, won, want.period, want.before, total)
			}
			if (won == 0) != (got.Change == nil) || (got.Change != nil && math.Abs(*got.Change-(rep.Won-won)/won) > 1e-9) {
				t.Errorf("%s vs %s: change %v, won now %v", c.period, want.period, got.Change, rep.Won)
			}
		}
	}
}

package forecast_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// handOrg is storetest's organisation (three open Prospecting deals of 100,
// 200 and 300 expected 2025-03-31, moved to 2024-12-01) plus three deals
// whose every number below can be worked out by hand:
//
//	A  rep A1  1000  Prospecting 2025-01-01, Proposal 2025-01-20, expected 2025-03-15, open
//	B  rep A2  2000  Negotiation 2025-01-05, expected 2025-02-20, won 2025-02-10
//	C  rep B    400  Qualification 2024-12-01, expected 2025-03-01, lost 2025-03-05
func handOrg(t *testing.T, s *store.Store) *storetest.Org {
	ctx := context.Background()
	o := storetest.NewOrg(t, s)
	for _, id := range []int64{o.OppA1.ID, o.OppA2.ID, o.OppB.ID} {
		_, err := s.DB().ExecContext(ctx, `UPDATE opportunities SET created_at = $1 WHERE id = $2`, day("2024-12-01"), id)
		storetest.Must(t, err)
		_, err = s.DB().ExecContext(ctx, `UPDATE opportunity_history SET changed_at = $1 WHERE opportunity_id = $2`, day("2024-12-01"), id)
		storetest.Must(t, err)
	}
	addDeal(t, s, o, o.RepA1, "1000", "2025-03-15", [2]string{"2025-01-01", "Prospecting"}, [2]string{"2025-01-20", "Proposal"})
	addDeal(t, s, o, o.RepA2, "2000", "2025-02-20", [2]string{"2025-01-05", "Negotiation"}, [2]string{"2025-02-10", "Closed Won"})
	addDeal(t, s, o, o.RepB, "400", "2025-03-01", [2]string{"2024-12-01", "Qualification"}, [2]string{"2025-03-05", "Closed Lost"})
	return o
}

// addDeal creates a deal of owner in USD expected on expected, through the
// stages of steps (day, stage), each on its day.
func addDeal(t *testing.T, s *store.Store, o *storetest.Org, owner crm.User, amount, expected string, steps ...[2]string) {
	ctx := context.Background()
	exp := crm.NewDate(day(expected))
	v := &crm.Opportunity{Name: "Deal", AccountID: o.Account.ID, OwnerID: owner.ID, Amount: decimal.RequireFromString(amount), Currency: "USD",
		Stage: steps[0][1], Type: crm.DealNew, ExpectedClose: &exp, CreatedAt: day(steps[0][0])}
	s.SetClock(func() time.Time { return day(steps[0][0]) })
	storetest.Must(t, s.Opportunities.Create(ctx, crm.System, v))
	for _, st := range steps[1:] {
		s.SetClock(func() time.Time { return day(st[0]) })
		_, err := s.Opportunities.Update(ctx, crm.System, v.ID, func(x *crm.Opportunity) error { x.Stage = st[1]; return nil })
		storetest.Must(t, err)
	}
	s.SetClock(time.Now)
}

func TestForecastByHand(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := handOrg(t, s)
		q1 := crm.Period{Grain: crm.GrainQuarter, Year: 2025, Number: 1, Start: day("2025-01-01"), End: day("2025-04-01")}
		cases := []struct {
			name        string
			as          crm.Principal
			won, stage  float64
			open        int
			actual      float64
			stageHi80   float64
			historyNote string
		}{
			// Won B 2000; open A 1000×0.5, C 400×0.2, 100/200/300×0.1.
			{"whole organisation", crm.System, 2000, 2640, 5, 2000, 2640 + 1.2816*math.Sqrt(288200), "thin history"},
			// Rep A1 sees A and their Prospecting deal of 100.
			{"rep A1", storetest.As(o.RepA1), 0, 510, 2, 0, 510 + 1.2816*math.Sqrt(1000*1000*0.25+100*100*0.09), "thin history"},
			// Manager A: team A (A1, A2): won B; open A, 100, 200.
			{"manager A", storetest.As(o.MgrA), 2000, 2530, 3, 2000, 2530 + 1.2816*math.Sqrt(250000+0.09*(100*100+200*200)), "thin history"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b, err := forecast.Load(ctx, s, c.as, day("2026-06-01"), forecast.LoadOptions{Activities: true})
				storetest.Must(t, err)
				pf := b.Forecast(forecast.Request{Period: q1, AsOf: day("2025-02-15"), Series: true})
				if pf.Won != c.won || pf.OpenCount != c.open {
					t.Errorf("won %v open %d, want %v and %d", pf.Won, pf.OpenCount, c.won, c.open)
				}
				if pf.Actual == nil || *pf.Actual != c.actual {
					t.Errorf("actual %v, want %v", pf.Actual, c.actual)
				}
				st, _ := pf.Estimate(forecast.MethodStage)
				if math.Abs(st.Forecast-c.stage) > 0.005 || math.Abs(*st.Hi80-c.stageHi80) > 0.01 || *st.Lo80 < c.won {
					t.Errorf("stage-weighted %v [%v, %v], want %v with hi80 %v, lo80 ≥ won", st.Forecast, *st.Lo80, *st.Hi80, c.stage, c.stageHi80)
				}
				// No earlier period had deals: the history-weighted method
				// says its history is thin and falls back to the stages.
				hi, _ := pf.Estimate(forecast.MethodHistory)
				if math.Abs(hi.Forecast-c.stage) > 0.005 || !strings.Contains(hi.Note, c.historyNote) {
					t.Errorf("history-weighted %v (%s), want %v and a thin-history note", hi.Forecast, hi.Note, c.stage)
				}
				// Two months of bookings are too few for a time series.
				if _, ok := pf.Estimate(forecast.MethodSeries); ok || len(pf.Notes) == 0 {
					t.Errorf("time series ran on too little history: %+v", pf)
				}
			})
		}
	})
}

func TestReplayAndBacktest(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	handOrg(t, s)
	b, err := forecast.Load(context.Background(), s, crm.System, day("2025-04-10"), forecast.LoadOptions{})
	storetest.Must(t, err)
	var a, c *forecast.Deal
	for i := range b.Deals {
		switch d := &b.Deals[i]; d.Amount {
		case 1000:
			a = d
		case 400:
			c = d
		}
	}
	// A was in Prospecting until 2025-01-20, then in Proposal.
	for _, tc := range []struct {
		at    string
		stage string
		since string
	}{{"2025-01-10", "Prospecting", "2025-01-01"}, {"2025-01-20", "Prospecting", "2025-01-01"}, {"2025-01-21", "Proposal", "2025-01-20"}} {
		st := b.StateAt(a, day(tc.at), 0)
		if st.Stage != tc.stage || !st.StageSince.Equal(day(tc.since)) || !st.Expected.Equal(day("2025-03-15")) || !st.AmountKnown {
			t.Errorf("A at %s: %+v, want %s since %s", tc.at, st, tc.stage, tc.since)
		}
	}
	// C closed on 2025-03-05: open at the start of that day, not after.
	if !c.OpenAt(day("2025-03-05")) || c.OpenAt(day("2025-03-06")) || c.OpenAt(day("2024-11-30")) {
		t.Error("C's open interval is wrong")
	}
	// Overdue deals are expected on the day of the forecast.
	if st := b.StateAt(c, day("2025-03-03"), 0); !st.Expected.Equal(day("2025-03-03")) {
		t.Errorf("overdue C expected %v, want the as-of day", st.Expected)
	}
	bt := b.RunBacktest(forecast.BacktestOptions{Grain: crm.GrainQuarter, Periods: 1, DaysIn: 45})
	var got *forecast.BacktestPoint
	for i, p := range bt.Points {
		if p.Method == forecast.MethodStage {
			got = &bt.Points[i]
		}
	}
	// As of 2025-02-15 the stage-weighted forecast of Q1 was 2640 and 2000 was won.
	if got == nil || got.Period != "FY2025-Q1" || got.Forecast != 2640 || got.Actual != 2000 || *got.ErrorPct != -32 || *got.AbsErrorPct != 32 {
		t.Fatalf("backtest point %+v, want FY2025-Q1 2640 vs 2000 at -32%%", got)
	}
}

func TestPercentError(t *testing.T) {
	for _, c := range []struct {
		actual, forecast float64
		want             *float64
	}{
		{90000, 100000, ptr(-11.11)}, // the glossary's example: 11.1%, not 10%
		{100, 80, ptr(20)},
		{0, 10, nil},
	} {
		got := forecast.PercentError(c.actual, c.forecast)
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("PercentError(%v, %v) = %v, want %v", c.actual, c.forecast, got, c.want)
		}
	}
}

func ptr(v float64) *float64 { return &v }

func TestWinModelNeedsEnoughDeals(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	handOrg(t, s)
	b, err := forecast.Load(context.Background(), s, crm.System, day("2025-04-10"), forecast.LoadOptions{Activities: true})
	storetest.Must(t, err)
	wm := b.TrainWinModel(b.Today)
	if wm.Model != nil || !strings.Contains(wm.Note, "at least 200 won and 200 lost") {
		t.Fatalf("trained on two closed deals: %+v", wm)
	}
	pf := b.Forecast(forecast.Request{Period: crm.Period{Grain: crm.GrainQuarter, Year: 2025, Number: 2, Start: day("2025-04-01"), End: day("2025-07-01")}, Model: wm})
	if _, ok := pf.Estimate(forecast.MethodWinProb); ok || len(pf.Notes) != 1 || !strings.Contains(pf.Notes[0], "history-weighted method stands in") {
		t.Errorf("forecast without a model: %+v", pf)
	}
}

func TestSubmissionsAndRollUp(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		dec := decimal.RequireFromString
		submit := func(u crm.User, commit, best, pipe, reason string) (*crm.ForecastSubmission, error) {
			sub := &crm.ForecastSubmission{Period: "fy2025-q1", Commit: dec(commit), BestCase: dec(best), Pipeline: dec(pipe), Reason: reason}
			return sub, s.SubmitForecast(ctx, storetest.As(u), sub)
		}
		for _, bad := range []struct {
			commit, best, pipe, field string
		}{{"-1", "0", "0", "commit"}, {"200", "100", "300", "best_case"}, {"100", "200", "150", "pipeline"}} {
			_, err := submit(o.RepA1, bad.commit, bad.best, bad.pipe, "")
			var ve *crm.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != bad.field {
				t.Errorf("submit %v: %v, want an error on %s", bad, err, bad.field)
			}
		}
		if _, err := submit(o.Viewer, "1", "1", "1", ""); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("viewer submitted: %v", err)
		}
		_, err := submit(o.RepA1, "100", "150", "300", "")
		storetest.Must(t, err)
		v2, err := submit(o.RepA1, "120", "150", "300", "")
		storetest.Must(t, err)
		_, err = submit(o.RepA2, "50", "80", "90", "")
		storetest.Must(t, err)
		if v2.Version != 2 || v2.Period != "FY2025-Q1" {
			t.Errorf("second submission: version %d period %s", v2.Version, v2.Period)
		}
		// Manager A's roll-up is 120 + 50; a different commit needs a reason.
		if _, err := submit(o.MgrA, "150", "200", "400", ""); err == nil || !strings.Contains(err.Error(), "reason") {
			t.Errorf("override without a reason: %v", err)
		}
		m, err := submit(o.MgrA, "150", "200", "400", "one deal slips")
		storetest.Must(t, err)
		if m.RollupCommit == nil || !m.RollupCommit.Equal(dec("170")) {
			t.Errorf("roll-up %v, want 170", m.RollupCommit)
		}
		same, err := submit(o.MgrA, "170", "200", "400", "")
		storetest.Must(t, err)
		if same.Version != 2 {
			t.Errorf("manager version %d", same.Version)
		}
		for _, c := range []struct {
			who    crm.User
			latest bool
			want   int
		}{{o.RepA1, false, 2}, {o.RepA1, true, 1}, {o.RepA2, true, 1}, {o.RepB, true, 0}, {o.MgrA, true, 3}, {o.MgrB, true, 0}, {o.Admin, false, 5}} {
			got, err := s.ForecastSubmissions(ctx, storetest.As(c.who), "FY2025-Q1", c.latest)
			storetest.Must(t, err)
			if len(got) != c.want {
				t.Errorf("%s sees %d submissions (latest only %v), want %d", c.who.Email, len(got), c.latest, c.want)
			}
		}
		log, err := s.AuditLog(ctx, crm.System, "forecast_submission", m.ID, 10)
		storetest.Must(t, err)
		if len(log) != 1 || log[0].Action != "submit" {
			t.Errorf("audit of the override: %+v", log)
		}
	})
}

func TestSnapshotsFeedAccuracyKPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := handOrg(t, s)
		// The snapshot of 2025-01-01, replayed: open then were C (400 in
		// Qualification, 0.2) and the three Prospecting deals (600, 0.1);
		// nothing won yet, no earlier history: 80 + 60 = 140 for Q1.
		for range 2 { // a second run on the same day replaces the first
			res, err := forecast.Backfill(ctx, s, day("2026-06-01"), []time.Time{day("2025-01-01")})
			storetest.Must(t, err)
			if len(res) != 1 || strings.Join(res[0].Periods, " ") != "FY2025-M01 FY2025-M02 FY2025-Q1 FY2025-Q2" {
				t.Fatalf("snapshot %+v", res)
			}
		}
		snaps, err := s.ForecastSnapshots(ctx, crm.System, "FY2025-Q1")
		storetest.Must(t, err)
		var hist *crm.ForecastSnapshot
		for i := range snaps {
			if snaps[i].Method == forecast.MethodHistory {
				if hist != nil {
					t.Fatal("two history-weighted snapshots of one day")
				}
				hist = &snaps[i]
			}
		}
		if hist == nil || hist.Forecast != 140 || hist.OpenCount != 4 || hist.OpenAmount != 1000 || hist.TakenOn.String() != "2025-01-01" {
			t.Fatalf("history-weighted snapshot %+v", hist)
		}
		k, err := metrics.Compute(ctx, s, crm.System, metrics.Filter{Period: "FY2025-Q1"})
		storetest.Must(t, err)
		fa := k.ForecastAccuracy
		// Won in Q1: B, 2000. (2000 − 140) ÷ 2000 = 93%.
		if fa == nil || fa.Forecast != 140 || fa.Actual != 2000 || fa.ErrorPct != 93 || fa.AbsErrorPct != 93 {
			t.Fatalf("forecast accuracy %+v", fa)
		}
		ov, err := metrics.ComputeOverview(ctx, s, crm.System, metrics.Filter{Period: "FY2025-Q1"}, metrics.OverviewOptions{})
		storetest.Must(t, err)
		if ov.KPIs.ForecastAccuracy == nil || *ov.KPIs.ForecastAccuracy != *fa {
			t.Errorf("the overview's forecast accuracy %+v, the KPIs' %+v", ov.KPIs.ForecastAccuracy, fa)
		}
		// Rep B's own: C (400 × 0.2) and their Prospecting deal (300 × 0.1) = 110, nothing won.
		k, err = metrics.Compute(ctx, s, storetest.As(o.RepB), metrics.Filter{Period: "FY2025-Q1"})
		storetest.Must(t, err)
		if k.ForecastAccuracy != nil {
			t.Errorf("accuracy with nothing won: %+v", k.ForecastAccuracy)
		}
		repSnaps, err := s.ForecastSnapshots(ctx, storetest.As(o.RepB), "FY2025-Q1")
		storetest.Must(t, err)
		for _, sn := range repSnaps {
			if sn.Method == forecast.MethodHistory && sn.Forecast != 110 {
				t.Errorf("rep B's snapshot %+v, want 110", sn)
			}
		}
		// A filter the snapshots cannot follow leaves the KPI out.
		k, err = metrics.Compute(ctx, s, crm.System, metrics.Filter{Period: "FY2025-Q1", Region: "East"})
		storetest.Must(t, err)
		if k.ForecastAccuracy != nil {
			t.Errorf("accuracy under a region filter: %+v", k.ForecastAccuracy)
		}
	})
}

func TestRunDailySnapshotsAtStart(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	handOrg(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	today := day("2025-02-15")
	go func() {
		defer close(done)
		forecast.RunDaily(ctx, s, slog.New(slog.DiscardHandler), time.Hour, func() time.Time { return today.Add(10 * time.Hour) })
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, err := s.LastSnapshotDay(context.Background())
		storetest.Must(t, err)
		if last.Equal(today) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot of %s after 30s (last %v)", today, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunDaily did not stop with its context")
	}
}

func TestLeadDemand(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		// Months 2023-01 .. 2024-12 bring 2, 4, 6, ... 48 leads to rep A1,
		// and one a month to rep B: a straight line a trend model extends.
		// (Written in one statement per month, with ids far above the
		// store's: a create per lead would take most of a minute.)
		id := 1_000_000
		for i := range 24 {
			at := time.Date(2023, time.Month(1+i), 10, 9, 0, 0, 0, time.UTC)
			var vals []string
			for k := range 2*(i+1) + 1 {
				owner := o.RepA1.ID
				if k == 0 {
					owner = o.RepB.ID
				}
				id++
				vals = append(vals, fmt.Sprintf("(%d, 'Lead', 'new', %d, TIMESTAMP '%s')", id, owner, at.Format("2006-01-02 15:04:05")))
			}
			_, err := s.DB().ExecContext(ctx, `INSERT INTO leads (id, company, status, owner_id, created_at) VALUES `+strings.Join(vals, ", "))
			storetest.Must(t, err)
		}
		cal, err := s.Calendar(ctx)
		storetest.Must(t, err)
		month := func(s string) crm.Period {
			p, err := cal.ParsePeriod(s)
			storetest.Must(t, err)
			return p
		}
		for _, c := range []struct {
			who      crm.Principal
			period   string
			want     float64
			history  int
			lastHist float64
		}{
			{crm.System, "FY2025-M01", 51, 24, 49},            // 2·25 + 1
			{storetest.As(o.RepA1), "FY2025-M01", 50, 24, 48}, // the rep's own leads only
			{storetest.As(o.RepA1), "FY2025-M03", 54, 24, 48}, // three months ahead
		} {
			ld, err := forecast.ForecastLeads(ctx, s, c.who, month(c.period), day("2025-01-01"))
			storetest.Must(t, err)
			if math.Abs(ld.Leads.Forecast-c.want) > 1 || len(ld.History) != c.history || ld.History[c.history-1].Value != c.lastHist ||
				*ld.Leads.Lo80 > ld.Leads.Forecast || *ld.Leads.Hi80 < ld.Leads.Forecast {
				t.Errorf("%v %s: %+v (history %d), want about %v", c.who, c.period, ld.Leads, len(ld.History), c.want)
			}
		}
		// A quarter: the sums of its months; too few quarters for a model yet.
		if _, err := forecast.ForecastLeads(ctx, s, crm.System, month("FY2023-Q4"), day("2023-10-01")); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("three quarters of history gave %v", err)
		}
		ld, err := forecast.ForecastLeads(ctx, s, crm.System, month("FY2024-Q4"), day("2025-01-01"))
		storetest.Must(t, err)
		if ld.Actual == nil || *ld.Actual != 45+47+49 || len(ld.History) != 7 || ld.History[0].Value != 3+5+7 {
			t.Errorf("quarter: actual %v, history %+v", ld.Actual, ld.History)
		}
	})
}

// A rep's book shows only their deals but learns from the organisation's.
func TestScopedBookLearnsFromOrganisation(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	o := handOrg(t, s)
	ctx := context.Background()
	q2 := crm.Period{Grain: crm.GrainQuarter, Year: 2025, Number: 2, Start: day("2025-04-01"), End: day("2025-07-01")}
	for _, c := range []struct {
		who  crm.Principal
		open int
	}{{crm.System, 4}, {storetest.As(o.RepA1), 2}, {storetest.As(o.RepB), 1}} {
		b, err := forecast.Load(ctx, s, c.who, day("2026-06-01"), forecast.LoadOptions{})
		storetest.Must(t, err)
		// As of 2025-01-15 (the same day of Q1) six deals were open and
		// expected in Q1: A, B, C and the three Prospecting deals.
		pf := b.Forecast(forecast.Request{Period: q2, AsOf: day("2025-04-15")})
		hi, _ := pf.Estimate(forecast.MethodHistory)
		if !strings.Contains(hi.Note, "6 deal-periods over 1 earlier periods") {
			t.Errorf("%v learned: %s", c.who, hi.Note)
		}
		// Open on 2025-04-15: A (overdue, so expected now) and the three
		// Prospecting deals, as far as each may see them.
		if pf.OpenCount != c.open {
			t.Errorf("%v sees %d open deals, want %d", c.who, pf.OpenCount, c.open)
		}
	}
}

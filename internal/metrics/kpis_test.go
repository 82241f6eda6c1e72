package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// want maps a dotted JSON path of the KPIs to its expected value: a string
// for money ("3600.00" compares as a decimal), a float64 for numbers, nil
// for null.
type want map[string]any

// lookup walks a dotted path through decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func check(t *testing.T, got any, w want) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for path, exp := range w {
		v, ok := lookup(doc, path)
		if !ok {
			t.Errorf("%s: missing from %s", path, b)
			continue
		}
		switch e := exp.(type) {
		case nil:
			if v != nil {
				t.Errorf("%s = %v, want null", path, v)
			}
		case string:
			s, isString := v.(string)
			if !isString {
				t.Errorf("%s = %v, want %q", path, v, e)
				continue
			}
			gd, err1 := decimal.NewFromString(s)
			wd, err2 := decimal.NewFromString(e)
			if err1 == nil && err2 == nil {
				if !gd.Equal(wd) {
					t.Errorf("%s = %s, want %s", path, s, e)
				}
			} else if s != e {
				t.Errorf("%s = %q, want %q", path, s, e)
			}
		case float64, int:
			ef := toFloat(e)
			f, isNum := v.(float64)
			if !isNum || math.Abs(f-ef) > 1e-9*math.Max(1, math.Abs(ef)) {
				t.Errorf("%s = %v, want %v", path, v, ef)
			}
		default:
			t.Fatalf("%s: unsupported expectation %T", path, exp)
		}
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("not a number: %T", v))
}

// The hand-built organisation, FY2025-Q1 (Jan–Mar 2025), worked out by hand:
//
//	won:  D1 1000 USD (A1, cycle 30 d), D2 500 EUR at 1.20 = 600 (A1, 31 d),
//	      D4 2000 (A2, 134 d), D8 100 GBP (B, 19 d; no GBP rate: unconverted)
//	      → 4 won, 3600.00 over 3 converted deals, average 1200.00;
//	      cycles 30, 31, 134, 19 → mean 53.5, median 30.5
//	lost: D3 (A1, 55 d), D5 zero amount (A2, 10 d) → 2 lost, mean = median 32.5
//	win rate 4/6; cohort created in Q1: D1 D2 D3 D5 D8 D9 → 3 of 6 won
//	open expected in Q1: three org deals 100+200+300 at 10 %, D9 1000 EUR at
//	      1.20 = 1200 at its own 60 % → 4 open, 1800.00, weighted 780.00
//	quota: A1 1500 (quarter), A2 12000/4 = 3000 (year) → 4500; won by them
//	      1600 + 2000 = 3600 → attainment 0.8; A1 at quota, A2 not → rate 0.5;
//	      coverage 1800 ÷ (4500 − 3600) = 2
//	velocity 4 × 1200 × 4/6 ÷ 53.5 = 59.81 a day
//	growth: FY2024-Q4 won 300 (D6) → +11; FY2024-Q1 won 400 (D7) → +8
//	CAC: costs 3000 + 12000/4 = 6000; new customers Beta, Gamma, Delta → 2000.00
//	activities: selling minutes 140 (A1) + 30 (B), other 30 + 15 → 170/215;
//	      2 sellers, 90 days; meetings (meeting + demo) 3 → 1.5 per seller
//	leads: L1 3 min (call), L2 30 min (first_response_at), L3 60 min
//	      (first_response_at before its email), L4 only an inbound email
//	      → median 30, within 5 min 1/4, within 1 h 3/4; qualified L1 L2,
//	      opportunity L1 → D2 won; demo L1 → sale
func TestComputeHandBuilt(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		q1 := Filter{Period: "FY2025-Q1", AsOf: asOf}
		cases := []struct {
			name string
			p    crm.Principal
			f    Filter
			want want
		}{
			{"quarter, whole organisation", ops, q1, want{
				"period": "FY2025-Q1", "period_start": "2025-01-01", "period_end": "2025-03-31", "currency": "USD",
				"won_amount": "3600", "won_count": 4, "lost_count": 2, "open_count": 4, "win_rate": 4.0 / 6,
				"cohort_count": 6, "cohort_won_count": 3, "cohort_close_rate": 0.5,
				"average_deal_size": "1200", "average_sales_cycle_days": 53.5, "median_sales_cycle_days": 30.5,
				"average_lost_cycle_days": 32.5, "median_lost_cycle_days": 32.5,
				"quota": "4500", "quota_attainment": 0.8, "quota_carrying_reps": 2, "reps_at_quota": 1, "quota_attainment_rate": 0.5,
				"open_pipeline": "1800", "weighted_pipeline": "780", "pipeline_coverage": 2.0, "pipeline_velocity": "59.81",
				"sales_growth.previous_period": "FY2024-Q4", "sales_growth.previous_won_amount": "300", "sales_growth.vs_previous_period": 11.0,
				"sales_growth.same_period_last_year": "FY2024-Q1", "sales_growth.last_year_won_amount": "400", "sales_growth.vs_same_period_last_year": 8.0,
				"new_customers": 3, "costs": "6000", "customer_acquisition_cost": "2000",
				"unconverted_amounts":      1,
				"time_spent_selling.share": 170.0 / 215, "time_spent_selling.selling_minutes": 170, "time_spent_selling.other_minutes": 45,
				"time_spent_selling.sellers": 2, "time_spent_selling.days": 90,
				"time_spent_selling.calls_per_seller_per_day": 2.0 / 180, "time_spent_selling.emails_per_seller_per_day": 3.0 / 180,
				"time_spent_selling.meetings_per_seller_per_day": 3.0 / 180,
				"time_spent_selling.activities.call":             2, "time_spent_selling.activities.email": 3, "time_spent_selling.activities.task": 1,
				"meetings_per_seller": 1.5,
				"lead_response.leads": 4, "lead_response.responded": 3, "lead_response.median_minutes": 30,
				"lead_response.within_5_minutes": 0.25, "lead_response.within_1_hour": 0.75,
				"lead_conversion.qualified": 2, "lead_conversion.opportunities": 1, "lead_conversion.won": 1,
				"lead_conversion.lead_to_won": 0.25, "lead_conversion.demos": 1, "lead_conversion.sales": 1, "lead_conversion.demo_to_sale": 1,
			}},
			{"viewer sees the organisation's aggregates", crm.Principal{UserID: fx.Viewer.ID, Role: crm.RoleViewer}, q1, want{
				"won_amount": "3600", "won_count": 4, "customer_acquisition_cost": "2000"}},
			{"rep sees own deals only", storetest.As(fx.RepA1), q1, want{
				"won_amount": "1600", "won_count": 2, "lost_count": 1, "open_count": 2, "open_pipeline": "1300", "weighted_pipeline": "730",
				"quota": "1500", "quota_attainment": 1600.0 / 1500, "quota_attainment_rate": 1.0, "pipeline_coverage": nil,
				"new_customers": nil, "customer_acquisition_cost": nil, "unconverted_amounts": 0,
				"lead_response.leads": 2, "time_spent_selling.sellers": 1}},
			{"manager sees the team", storetest.As(fx.MgrA), q1, want{
				"won_amount": "3600", "won_count": 3, "lost_count": 2, "open_count": 3, "quota": "4500", "quota_attainment": 0.8,
				"unconverted_amounts": 0, "lead_response.leads": 2}},
			{"VP sees both teams", storetest.As(fx.VP), q1, want{"won_count": 4, "won_amount": "3600", "unconverted_amounts": 1}},
			{"rep filter outside a manager's team is not found", storetest.As(fx.MgrA), Filter{Period: "FY2025-Q1", RepID: fx.RepB.ID, AsOf: asOf}, nil},
			{"team filter includes sub-teams", ops, Filter{Period: "FY2025-Q1", TeamID: fx.Region.ID, AsOf: asOf}, want{
				"won_count": 4, "won_amount": "3600", "customer_acquisition_cost": nil, "quota": "4500"}},
			{"team filter", ops, Filter{Period: "FY2025-Q1", TeamID: fx.TeamB.ID, AsOf: asOf}, want{
				"won_count": 1, "won_amount": "0", "average_deal_size": nil, "win_rate": 1.0, "unconverted_amounts": 1,
				"quota": nil, "quota_attainment": nil, "quota_attainment_rate": nil, "quota_carrying_reps": 0, "pipeline_coverage": nil}},
			{"region filter", ops, Filter{Period: "FY2025-Q1", Region: "East", AsOf: asOf}, want{"won_count": 4}},
			{"unknown region", ops, Filter{Period: "FY2025-Q1", Region: "West", AsOf: asOf}, want{"won_count": 0, "win_rate": nil}},
			{"product filter (name)", ops, Filter{Period: "FY2025-Q1", Product: "Widget", AsOf: asOf}, want{
				"won_amount": "1000", "won_count": 1, "quota": nil, "time_spent_selling": nil, "lead_response": nil}},
			{"product filter (family)", ops, Filter{Period: "FY2025-Q1", Product: "Hardware", AsOf: asOf}, want{"won_count": 1}},
			{"segment filter", ops, Filter{Period: "FY2025-Q1", Segment: "Enterprise", AsOf: asOf}, want{
				"won_amount": "3600", "won_count": 3, "lost_count": 0, "time_spent_selling.sellers": 0, "lead_response": nil}},
			{"industry filter applies to leads", ops, Filter{Period: "FY2025-Q1", Industry: "Software", AsOf: asOf}, want{
				"won_amount": "1000", "won_count": 2, "unconverted_amounts": 1, "lead_response.leads": 4}},
			{"source filter", ops, Filter{Period: "FY2025-Q1", Source: "Referral", AsOf: asOf}, want{
				"won_amount": "2000", "won_count": 1, "lost_count": 1, "lead_response.leads": 0, "time_spent_selling": nil}},
			{"type filter", ops, Filter{Period: "FY2025-Q1", Type: "expansion", AsOf: asOf}, want{"won_amount": "600", "won_count": 1}},
			{"month: quotas prorated from the year, a third of the quarter", ops, Filter{Period: "FY2025-M02", AsOf: asOf}, want{
				"won_amount": "600", "won_count": 1, "lost_count": 1, "quota": "1500", "quota_attainment": 0.4,
				"quota_carrying_reps": 2, "reps_at_quota": 1, "open_count": 0, "pipeline_coverage": 0.0,
				"time_spent_selling.days": 28}},
			{"year: quarter quotas summed", ops, Filter{Period: "FY2025", AsOf: asOf}, want{
				"quota": "13500", "won_amount": "3600", "open_count": 5, "open_pipeline": "6800",
				"sales_growth.previous_period": "FY2024", "sales_growth.previous_won_amount": "700",
				"costs": "15000", "new_customers": 3, "customer_acquisition_cost": "5000",
				"time_spent_selling.days": 181}},
			{"no closed deals, no quota", ops, Filter{Period: "FY2023", AsOf: asOf}, want{
				"won_count": 0, "lost_count": 0, "won_amount": "0", "win_rate": nil, "average_deal_size": nil,
				"average_sales_cycle_days": nil, "median_sales_cycle_days": nil, "cohort_close_rate": nil,
				"quota": nil, "quota_attainment": nil, "pipeline_velocity": nil, "pipeline_coverage": nil,
				"customer_acquisition_cost": nil, "costs": nil, "new_customers": 0, "sales_growth.vs_previous_period": nil,
				"lead_response.median_minutes": nil, "time_spent_selling.share": nil, "meetings_per_seller": nil}},
			{"all time", ops, Filter{AsOf: asOf}, want{
				"period": "all", "period_start": nil, "won_count": 6, "won_amount": "4300", "lost_count": 2,
				"open_count": 5, "open_pipeline": "6800", "quota": nil, "sales_growth": nil, "cohort_count": 13,
				"new_customers": 4, "costs": "15000", "unconverted_amounts": 1, "time_spent_selling.sellers": 2}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				k, err := Compute(ctx, s, c.p, c.f)
				if c.want == nil {
					if !errors.Is(err, crm.ErrNotFound) {
						t.Fatalf("err = %v, want not found", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				check(t, k, c.want)
			})
		}
	})
}

// golden compares got, as indented JSON, with testdata/name.golden (or
// rewrites it with -update). Both engines must produce the same file.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", path, diffLines(string(want), string(b)))
	}
}

// diffLines shows the first lines that differ.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// TestReportGolden pins the whole report of the hand-built organisation.
func TestReportGolden(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		f := Filter{Period: "FY2025-Q1", AsOf: asOf}
		ov, err := ComputeOverview(ctx, s, ops, f, OverviewOptions{TrendPeriods: 6, PipelinePeriods: 3})
		storetest.Must(t, err)
		golden(t, "overview_fy2025_q1", ov)
		byRep, err := ComputeBy(ctx, s, ops, f, "rep")
		storetest.Must(t, err)
		golden(t, "by_rep_fy2025_q1", byRep)
		top, bottom, err := Performers(ctx, s, ops, f)
		storetest.Must(t, err)
		golden(t, "performers_fy2025_q1", map[string]any{"top": top, "bottom": bottom})
		all, err := Compute(ctx, s, ops, Filter{AsOf: asOf})
		storetest.Must(t, err)
		golden(t, "kpis_all_time", all)
	})
}

func fmtAny(v ...any) string { return fmt.Sprint(v...) }

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

const mavenDir = "../../../shared/data/maven-crm"

// TestForecastOnMaven backtests the Maven data set month by month and checks
// every period's actual against a pass over the CSV file itself.
func TestForecastOnMaven(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("Maven data set not found")
	}
	db := filepath.Join(t.TempDir(), "maven.db")
	mustRun(t, nil, "import", "--quiet", "--database", db, "--mapping", "../../examples/maven-crm/mapping.yaml", mavenDir)

	recs := storetest.ReadCSV(t, filepath.Join(mavenDir, "sales_pipeline.csv"))
	wonByMonth := map[string]float64{}
	for _, r := range recs[1:] { // opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
		if r[4] == "Won" {
			v, _ := strconv.ParseFloat(r[7], 64)
			wonByMonth[r[6][:7]] += v
		}
	}

	out := mustRun(t, nil, "forecast", "backtest", "--quiet", "--database", db, "--grain", "month", "--periods", "8", "--today", "2018-01-01", "--json")
	var bt forecast.Backtest
	if err := json.Unmarshal([]byte(out.stdout), &bt); err != nil {
		t.Fatalf("backtest JSON: %v\n%s", err, out.stdout)
	}
	methods := map[string]int{}
	for _, p := range bt.Points {
		methods[p.Method]++
		// FY2017-M05 is May 2017 (the fiscal year starts in January).
		key := p.Period[2:6] + "-" + p.Period[8:]
		if want := wonByMonth[key]; math.Abs(p.Actual-want) > 0.005 {
			t.Errorf("%s %s: actual %v, the file says %v", p.Method, p.Period, p.Actual, want)
		}
		if p.ErrorPct == nil || math.Abs(*p.ErrorPct-(p.Actual-p.Forecast)/p.Actual*100) > 0.01 {
			t.Errorf("%s %s: error %v for forecast %v and actual %v", p.Method, p.Period, p.ErrorPct, p.Forecast, p.Actual)
		}
	}
	for _, m := range []string{forecast.MethodStage, forecast.MethodHistory, forecast.MethodWinProb, forecast.MethodSeries} {
		if methods[m] != 8 {
			t.Errorf("%s has %d backtest points, want 8", m, methods[m])
		}
	}
	if len(bt.Summary) != 4 || bt.Summary[0].MAPE == nil {
		t.Errorf("summary %+v", bt.Summary)
	}

	// A closed month: as of its first day by default, or of a day within it;
	// the methods' forecasts then, beside the actual from the file.
	for _, c := range []struct{ asOf, want, err string }{
		{"", "2017-10-01", ""}, {"2017-10-15", "2017-10-15", ""}, {"2017-11-05", "", "as_of: FY2017-M10 ended before 2017-11-05"}, {"Oct 5", "", `as-of: "Oct 5" is not a date`},
	} {
		args := []string{"forecast", "show", "--quiet", "--database", db, "--period", "FY2017-M10", "--today", "2018-01-01", "--json"}
		if c.asOf != "" {
			args = append(args, "--as-of", c.asOf)
		}
		if c.err != "" {
			if r := runCLI(t, nil, args...); r.code != 1 || !strings.Contains(r.stderr, c.err) {
				t.Errorf("show as of %s: exit %d, %q, want %q", c.asOf, r.code, r.stderr, c.err)
			}
			continue
		}
		var rep forecast.Report
		if err := json.Unmarshal([]byte(mustRun(t, nil, args...).stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.AsOf.String() != c.want || rep.Actual == nil || math.Abs(*rep.Actual-wonByMonth["2017-10"]) > 0.005 || len(rep.Estimates) < 4 {
			t.Errorf("show as of %q: as of %s, actual %v (the file: %v), %d estimates", c.asOf, rep.AsOf, rep.Actual, wonByMonth["2017-10"], len(rep.Estimates))
			continue
		}
		for _, e := range rep.Estimates {
			if e.Forecast == *rep.Actual {
				t.Errorf("show as of %q: %s forecast the actual, %v", c.asOf, e.Method, e.Forecast)
			}
		}
	}

	out = mustRun(t, nil, "forecast", "model", "--quiet", "--database", db, "--today", "2018-01-01", "--json")
	var wm forecast.WinModel
	if err := json.Unmarshal([]byte(out.stdout), &wm); err != nil {
		t.Fatal(err)
	}
	if len(wm.Holdout) != 3 || wm.Chosen == "" || wm.TrainedOn < 6000 {
		t.Fatalf("model %+v", wm)
	}
	for _, h := range wm.Holdout {
		n := 0
		for _, r := range h.Reliability {
			n += r.Count
		}
		if h.N < 1000 || n != h.N || h.Brier <= 0 || h.Brier >= 0.3 || h.AUC == nil {
			t.Errorf("holdout of %s: %+v", h.Model, h)
		}
	}
}

// TestForecastCommands runs the forecast commands on a demo organisation as
// its users: a rep's call, a viewer refused deals, a snapshot.
func TestForecastCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	demo := mustRun(t, nil, "demo", "--quiet", "--database", db, "--opportunities", "3000", "--no-serve")
	login := func(role string) string {
		m := regexp.MustCompile(`(?m)^` + role + `\s+(\S+@\S+)`).FindStringSubmatch(demo.stdout)
		if m == nil {
			t.Fatalf("no %s login in\n%s", role, demo.stdout)
		}
		return m[1]
	}
	rep, viewer := login("rep"), login("viewer")
	if !strings.Contains(demo.stdout, "forecast calls submitted") {
		t.Errorf("demo output: %s", demo.stdout)
	}
	quarter := func() string {
		now := time.Now().UTC()
		return "FY" + strconv.Itoa(now.Year()) + "-Q" + strconv.Itoa((int(now.Month())+2)/3)
	}()

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--period", quarter, "--commit", "1", "--best-case", "2", "--pipeline", "3"}, "as: say who submits"},
		{[]string{"--as", rep, "--period", quarter, "--commit", "lots", "--best-case", "2", "--pipeline", "3"}, `commit: "lots" is not an amount`},
		{[]string{"--as", rep, "--period", "Q5", "--commit", "1", "--best-case", "2", "--pipeline", "3"}, "period:"},
		{[]string{"--as", rep, "--period", quarter, "--commit", "5", "--best-case", "2", "--pipeline", "3"}, "best_case: must be at least the commit"},
		{[]string{"--as", viewer, "--period", quarter, "--commit", "1", "--best-case", "2", "--pipeline", "3"}, "forbidden"},
	} {
		r := runCLI(t, nil, append([]string{"forecast", "submit", "--quiet", "--database", db}, bad.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("submit %v: exit %d, stderr %q, want %q", bad.args, r.code, r.stderr, bad.want)
		}
	}
	sub := mustRun(t, nil, "forecast", "submit", "--quiet", "--database", db, "--as", rep, "--period", quarter,
		"--commit", "1000", "--best-case", "2000", "--pipeline", "3000")
	if !strings.Contains(sub.stdout, "Submitted version 2 of the "+quarter) { // the demo submitted version 1
		t.Errorf("submit printed %q", sub.stdout)
	}

	out := mustRun(t, nil, "forecast", "show", "--quiet", "--database", db, "--as", rep, "--json")
	var r forecast.Report
	if err := json.Unmarshal([]byte(out.stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Calls) != 1 || r.Calls[0].Latest.Version != 2 || r.Calls[0].Latest.Commit.String() != "1000" {
		t.Errorf("a rep's calls: %+v", r.Calls)
	}
	if c, ok := r.Estimate(forecast.MethodCommit); !ok || c.Forecast != 1000 {
		t.Errorf("rep commit estimate %+v", c)
	}
	if _, ok := r.Estimate(forecast.MethodWinProb); !ok {
		t.Errorf("a rep gets no win probability (the organisation's model applies): %+v", r.Notes)
	}
	// The rep's number: their quota as the KPIs compute it, their own call.
	kpi := mustRun(t, nil, "kpi", "--quiet", "--database", db, "--as", rep, "--period", quarter, "--json")
	var k struct {
		Quota      *decimal.Decimal `json:"quota"`
		Currency   string           `json:"currency"`
		Attainment *float64         `json:"quota_attainment"`
		Coverage   *float64         `json:"pipeline_coverage"`
	}
	if err := json.Unmarshal([]byte(kpi.stdout), &k); err != nil {
		t.Fatal(err)
	}
	near := func(a, b *float64) bool { // the KPIs convert deal by deal in decimals, the forecast in floats
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) <= 1e-6*math.Max(1, math.Abs(*b)))
	}
	if k.Quota == nil || r.Target.Quota == nil || *r.Target.Quota != k.Quota.InexactFloat64() || r.Currency != k.Currency || r.Target.QuotaCarriers != 1 ||
		!near(r.Target.Attainment, k.Attainment) || !near(r.Target.Coverage, k.Coverage) {
		t.Errorf("target %+v in %s, the KPIs say quota %v in %s, attainment %v, coverage %v", r.Target, r.Currency, k.Quota, k.Currency, k.Attainment, k.Coverage)
	} else if gap := *r.Target.Quota - r.Target.Won; r.Target.Gap == nil || math.Abs(*r.Target.Gap-gap) > 0.005 {
		t.Errorf("gap %v, want %v", r.Target.Gap, gap)
	}
	if c := r.CallRollup; c == nil || c.Reps != 1 || c.Commit != 1000 || c.BestCase != 2000 || c.Pipeline != 3000 || c.Currency != r.Currency {
		t.Errorf("a rep's roll-up %+v", c)
	}

	if r := runCLI(t, nil, "forecast", "deals", "--quiet", "--database", db, "--as", viewer); r.code != 1 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("viewer listed deals: exit %d %q", r.code, r.stderr)
	}
	deals := mustRun(t, nil, "forecast", "deals", "--quiet", "--database", db, "--as", rep, "--json", "--limit", "0")
	var d struct {
		Deals []forecast.DealScore `json:"deals"`
	}
	if err := json.Unmarshal([]byte(deals.stdout), &d); err != nil {
		t.Fatal(err)
	}
	for _, ds := range d.Deals {
		if ds.OwnerID != r.Calls[0].UserID || ds.Probability <= 0 || ds.Probability >= 1 || len(ds.Factors) != 3 {
			t.Errorf("rep's deal list has %+v", ds)
		}
		// Each reason in words, with the way it moves the probability.
		for _, f := range ds.Factors {
			effect := map[bool]string{true: "raises", false: "lowers"}[f.Contribution > 0]
			if f.Contribution == 0 {
				effect = "none"
			}
			if f.Effect != effect || !strings.HasSuffix(f.Description, map[string]string{"raises": ": raises it", "lowers": ": lowers it", "none": ": no effect"}[effect]) ||
				strings.HasPrefix(f.Description, f.Name) { // not the model's own terms
				t.Errorf("deal %d: factor %+v", ds.DealID, f)
			}
		}
	}

	snap := mustRun(t, nil, "snapshot", "--quiet", "--database", db, "--json")
	var res forecast.SnapshotResult
	if err := json.Unmarshal([]byte(snap.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows == 0 || len(res.Periods) != 4 || !strings.Contains(strings.Join(res.Periods, " "), quarter) {
		t.Errorf("snapshot %+v", res)
	}
}

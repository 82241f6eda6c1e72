package forecast_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const (
	mavenDir     = "../../../shared/data/maven-crm"
	mavenMapping = "../../examples/maven-crm/mapping.yaml"
)

// mavenRow is one row of sales_pipeline.csv, read with encoding/csv.
type mavenRow struct {
	stage          string    // Prospecting, Engaging, Won, Lost
	engage, closed time.Time // zero when empty
	value          float64
}

// maven imports the data set with the shipped mapping and reads the CSV
// file itself, by opportunity_id (the deals' external id).
func maven(t *testing.T, s *store.Store) (byID map[int64]mavenRow, rows []mavenRow) {
	t.Helper()
	f, err := os.Open(filepath.Join(mavenDir, "sales_pipeline.csv"))
	if err != nil {
		t.Skip("Maven data set not found")
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	storetest.Must(t, err)
	byExt := map[string]mavenRow{}
	date := func(v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		return day(v)
	}
	for _, r := range recs[1:] { // opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
		m := mavenRow{stage: r[4], engage: date(r[5]), closed: date(r[6])}
		m.value, _ = strconv.ParseFloat(r[7], 64)
		byExt[r[0]] = m
		rows = append(rows, m)
	}
	ctx := context.Background()
	res, err := importer.ImportMapped(ctx, s, mavenMapping, mavenDir, importer.Options{})
	storetest.Must(t, err)
	if res.Rejected != 0 {
		t.Fatalf("import rejected %d rows", res.Rejected)
	}
	q, err := s.DB().QueryContext(ctx, `SELECT id, external_id FROM opportunities`)
	storetest.Must(t, err)
	defer q.Close()
	byID = map[int64]mavenRow{}
	for q.Next() {
		var id int64
		var ext string
		storetest.Must(t, q.Scan(&id, &ext))
		byID[id] = byExt[ext]
	}
	return byID, rows
}

func days(a, b time.Time) float64 { return a.Sub(b).Hours() / 24 }

// Maven's open deals are years old by now, far older than any deal the
// model learned from (the data set ends in 2017): their age must not decide
// their probability. Every numeric feature is clamped to its training range.
func TestWinProbabilityStaysInTrainingRange(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	byID, rows := maven(t, s)
	// The oldest any training deal can be: the longest cycle in the file.
	longest := 0.0
	for _, r := range rows {
		if !r.closed.IsZero() {
			longest = max(longest, days(r.closed, r.engage))
		}
	}
	age := slices.Index(forecast.FeatureSchema.Numeric, "age_days")
	for _, today := range []string{"2018-01-01", "2020-06-01", "2026-12-01"} {
		t.Run(today, func(t *testing.T) {
			b, err := forecast.Load(ctx, s, crm.System, day(today), forecast.LoadOptions{Activities: true})
			storetest.Must(t, err)
			wm := b.TrainWinModel(b.Today)
			if wm.Model == nil {
				t.Fatal(wm.Note)
			}
			// The model is named in words; its code name is a detail.
			if wm.Label != forecast.ModelLabels[wm.Chosen] || !strings.HasPrefix(wm.Note, wm.Label+", learned from") || len(wm.Holdout) != 3 {
				t.Errorf("model %q labelled %q: %s", wm.Chosen, wm.Label, wm.Note)
			}
			for _, h := range wm.Holdout {
				if h.Label != forecast.ModelLabels[h.Model] || h.Label == "" {
					t.Errorf("holdout model %q labelled %q", h.Model, h.Label)
				}
			}
			// Maven's deals hold nothing before the close: every model
			// ranks the held-out deals as a coin toss, and the report says
			// so in words, with what to trust instead.
			if !strings.HasPrefix(wm.Signal, "No signal before the close") || !strings.Contains(wm.Signal, "trust the history-weighted forecast") {
				t.Errorf("signal %q (holdout %+v)", wm.Signal, wm.Holdout)
			}
			// What the model saw: ages, their contributions, its scores.
			trained := b.TrainingRows(b.Today, b.MedianCycle(b.Today))
			maxAge, maxContribution := 0.0, 0.0
			lo, hi := 1.0, 0.0
			for _, r := range trained {
				maxAge = max(maxAge, r.Num[age])
				for _, f := range wm.Model.Explain(r, 0) {
					if f.Feature == "age_days" {
						maxContribution = max(maxContribution, math.Abs(f.Contribution))
					}
				}
				p := wm.Model.Score(r)
				lo, hi = min(lo, p), max(hi, p)
			}
			if maxAge > longest {
				t.Fatalf("a training deal was %v days old, the file's longest cycle is %v", maxAge, longest)
			}
			far := 0
			for _, d := range b.ScoreOpen(wm, nil, len(forecast.FeatureSchema.Numeric)+len(forecast.FeatureSchema.Categorical)) {
				r := byID[d.DealID]
				if r.engage.IsZero() || days(b.Today, r.engage) < 2*longest {
					continue
				}
				far++
				i := slices.IndexFunc(d.Factors, func(f forecast.Factor) bool { return f.Feature == "age_days" })
				if i < 0 {
					t.Fatalf("deal %d has no age factor: %+v", d.DealID, d.Factors)
				}
				f := d.Factors[i]
				want := grouped(days(b.Today, r.engage)) + " days since created (more than any deal it learned from: counted as " + grouped(maxAge) + ")"
				if math.Abs(f.Contribution) > maxContribution+1e-9 || !f.Capped || !strings.HasPrefix(f.Description, want) {
					t.Errorf("deal %d, engaged %s: age factor %+v, want at most ±%.3f and %q", d.DealID, r.engage.Format(time.DateOnly), f, maxContribution, want)
				}
				if d.Probability < lo || d.Probability > hi {
					t.Errorf("deal %d scores %.4f, outside the %.4f–%.4f of the deals it learned from", d.DealID, d.Probability, lo, hi)
				}
			}
			if far == 0 {
				t.Fatalf("no open deal engaged more than %v days before %s: the test proves nothing", 2*longest, today)
			}
		})
	}
}

// grouped writes a whole number with thousands separated, as people read it.
func grouped(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The recommended forecast is the method with the lowest MAPE over the
// track record, worked out here from its points and the file's bookings.
func TestRecommendedOnMaven(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, rows := maven(t, s)
		wonIn := func(p crm.Period) float64 {
			sum := 0.0
			for _, r := range rows {
				if r.stage == "Won" && !r.closed.Before(p.Start) && r.closed.Before(p.End) {
					sum += r.value
				}
			}
			return sum
		}
		b, err := forecast.Load(ctx, s, crm.System, day("2018-01-01"), forecast.LoadOptions{Activities: true})
		storetest.Must(t, err)
		model := b.TrainWinModel(b.Today)
		for _, c := range []struct {
			period, asOf string
			daysIn       int
		}{
			{"FY2017-M12", "", 0},           // ended: as of its first day
			{"FY2017-M11", "2017-11-10", 9}, // as of a day within it
			{"FY2017-Q4", "", 0},
		} {
			t.Run(c.period, func(t *testing.T) {
				q := forecast.Query{Period: c.period, WinProb: true}
				if c.asOf != "" {
					q.AsOf = day(c.asOf)
				}
				rep, err := b.Report(ctx, s, crm.System, q, model)
				storetest.Must(t, err)
				per, _ := b.Calendar.ParsePeriod(c.period)
				if *rep.Actual != wonIn(per) {
					t.Errorf("actual %v, the file says %v", *rep.Actual, wonIn(per))
				}
				tr := rep.TrackRecord
				if tr == nil || tr.DaysIn != c.daysIn || tr.Grain != per.Grain.String() || tr.AsOf != rep.AsOf {
					t.Fatalf("track record %+v, want %d days in, as of %s", tr, c.daysIn, rep.AsOf)
				}
				abs, signed, n := map[string]float64{}, map[string]float64{}, map[string]int{}
				for _, p := range tr.Points {
					pp, err := b.Calendar.ParsePeriod(p.Period)
					storetest.Must(t, err)
					if pp.End.After(rep.AsOf.Time) || p.AsOf.String() != crm.NewDate(pp.Start.AddDate(0, 0, c.daysIn)).String() {
						t.Errorf("point %+v: a period not ended by %s, or not %d days in", p, rep.AsOf, c.daysIn)
					}
					actual := wonIn(pp)
					if p.Actual != actual {
						t.Errorf("%s %s: actual %v, the file says %v", p.Method, p.Period, p.Actual, actual)
					}
					if actual > 0 {
						e := (actual - p.Forecast) / actual * 100
						abs[p.Method] += math.Abs(e)
						signed[p.Method] += e
						n[p.Method]++
					}
				}
				most := 0
				for _, k := range n {
					most = max(most, k)
				}
				best, bestMAPE := "", math.Inf(1)
				for m, k := range n {
					if _, ran := rep.Estimate(m); ran && k == most && (abs[m]/float64(k) < bestMAPE || (abs[m]/float64(k) == bestMAPE && m < best)) {
						best, bestMAPE = m, abs[m]/float64(k)
					}
				}
				rec := rep.Recommended
				if most < forecast.MinTrackPeriods {
					if rec != nil {
						t.Errorf("recommended %+v on %d periods", rec, most)
					}
					return
				}
				e, _ := rep.Estimate(best)
				if rec == nil || rec.Method != best || rec.Forecast != e.Forecast || rec.Periods != most ||
					math.Abs(rec.MAPE-bestMAPE) > 0.01 || math.Abs(rec.Bias-signed[best]/float64(most)) > 0.01 || rec.Why == "" {
					t.Errorf("recommended %+v, want %s (%v) with MAPE %.2f over %d periods", rec, best, e.Forecast, bestMAPE, most)
				}
				t.Log(rec.Why)
				// Computed once per book: asking again reuses the backtest.
				again, err := b.Report(ctx, s, crm.System, q, model)
				storetest.Must(t, err)
				if again.TrackRecord != tr {
					t.Error("the track record was computed twice")
				}
			})
		}
	})
}

// A closed period's forecast is each method's as of its first day: the same
// figures a backtest of that period replays, the time series included.
func TestClosedPeriodOnMaven(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	maven(t, s)
	b, err := forecast.Load(ctx, s, crm.System, day("2018-01-01"), forecast.LoadOptions{Activities: true})
	storetest.Must(t, err)
	for _, c := range []struct{ period, asOf string }{{"FY2017-M10", ""}, {"FY2017-M10", "2017-10-15"}, {"FY2017-Q4", ""}} {
		rep, err := b.Report(ctx, s, crm.System, forecast.Query{Period: c.period, WinProb: true, AsOf: dayOrZero(c.asOf)}, nil)
		storetest.Must(t, err)
		per, _ := b.Calendar.ParsePeriod(c.period)
		daysIn := int(days(rep.AsOf.Time, per.Start))
		bt := b.RunBacktest(forecast.BacktestOptions{Grain: per.Grain, Periods: 1, DaysIn: daysIn, AsOf: per.End, WinProb: true})
		if len(bt.Points) == 0 || bt.Points[0].Period != per.String() {
			t.Fatalf("%s: backtest %+v", c.period, bt.Points)
		}
		for _, p := range bt.Points {
			e, ok := rep.Estimate(p.Method)
			if !ok || e.Forecast != p.Forecast || e.Forecast == *rep.Actual {
				t.Errorf("%s as of %s: %s forecast %+v, the backtest says %v (actual %v)", c.period, rep.AsOf, p.Method, e, p.Forecast, *rep.Actual)
			}
		}
		ts, ok := rep.Estimate(forecast.MethodSeries)
		if !ok || !strings.HasPrefix(ts.Detail, "mean of ETS(") || !strings.Contains(ts.Detail, "Theta") || !strings.HasPrefix(ts.Note, "the average of ") ||
			!strings.Contains(ts.Note, " methods (ETS(") || !strings.Contains(ts.Note, "), learned from ") || ts.Label != "Time series" {
			t.Errorf("%s: time series %+v, notes %v", c.period, ts, rep.Notes)
		}
	}
}

// Every key of the forecast JSON the API returns is snake_case.
func TestJSONKeysAreSnakeCase(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	maven(t, s)
	b, err := forecast.Load(ctx, s, crm.System, day("2018-01-01"), forecast.LoadOptions{Activities: true})
	storetest.Must(t, err)
	wm := b.TrainWinModel(b.Today)
	rep, err := b.Report(ctx, s, crm.System, forecast.Query{Period: "FY2017-M12", By: "team", WinProb: true}, wm)
	storetest.Must(t, err)
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !snake.MatchString(k) {
					t.Errorf("%s.%s is not snake_case", path, k)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	for name, v := range map[string]any{"report": rep, "deals": b.ScoreOpen(wm, nil, 3), "model": wm,
		"backtest": b.RunBacktest(forecast.BacktestOptions{Grain: crm.GrainMonth, WinProb: true, ByTeam: true})} {
		raw, err := json.Marshal(v)
		storetest.Must(t, err)
		var back any
		storetest.Must(t, json.Unmarshal(raw, &back))
		walk(name, back)
	}
}

// A backtest as of a day replays the periods that had ended by then, as the
// CLI's --today does, never past the book's day.
func TestBacktestAsOf(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	_, rows := maven(t, s)
	b, err := forecast.Load(ctx, s, crm.System, day("2018-01-01"), forecast.LoadOptions{})
	storetest.Must(t, err)
	for _, c := range []struct {
		asOf, want string // want: the day the periods had ended by
	}{{"2017-07-01", "2017-07-01"}, {"2017-07-15", "2017-07-15"}, {"", "2018-01-01"}, {"2030-01-01", "2018-01-01"}} {
		bt := b.RunBacktest(forecast.BacktestOptions{Grain: crm.GrainMonth, Periods: 3, AsOf: dayOrZero(c.asOf)})
		var want []string
		for p := b.Calendar.PeriodOf(day(c.want), crm.GrainMonth); len(want) < 3; {
			p = b.Calendar.Prev(p)
			want = append([]string{p.String()}, want...)
		}
		var got []string
		for _, p := range bt.Points {
			if p.Method == forecast.MethodStage {
				got = append(got, p.Period)
			}
			per, _ := b.Calendar.ParsePeriod(p.Period)
			actual := 0.0
			for _, r := range rows {
				if r.stage == "Won" && !r.closed.Before(per.Start) && r.closed.Before(per.End) {
					actual += r.value
				}
			}
			if p.Actual != actual {
				t.Errorf("as of %s: %s %s actual %v, the file says %v", c.asOf, p.Method, p.Period, p.Actual, actual)
			}
		}
		if bt.AsOf.String() != c.want || !slices.Equal(got, want) {
			t.Errorf("as of %q: replayed %v as of %s, want %v as of %s", c.asOf, got, bt.AsOf, want, c.want)
		}
	}
}

func dayOrZero(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return day(s)
}

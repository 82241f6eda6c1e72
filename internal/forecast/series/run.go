package series

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/univar"
)

// Options tunes Run.
type Options struct {
	// Levels are the prediction interval levels in percent; default 80, 95.
	Levels []float64
	// Workers is the number of series fitted at once; default GOMAXPROCS.
	Workers int
	// Method is a univar method name; "" for univar.Default.
	Method string
}

// Result is the forecast of one series for one step ahead.
type Result struct {
	Series   string
	Index    int // continues the train split's index
	Forecast float64
	// Lower[i] and Upper[i] bound the Levels[i] prediction interval.
	Lower, Upper []float64
	Model        string
}

// Run fits the method to the train split of every series in values and
// forecasts its horizon. Results come in the order of series, steps in order.
func Run(series []Series, values Values, opt Options) ([]Result, error) {
	if opt.Method != "" {
		if err := univar.CheckMethod(opt.Method); err != nil {
			return nil, err
		}
	}
	levels := opt.Levels
	if levels == nil {
		levels = ets.DefaultLevels
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var todo []Series
	for _, s := range series {
		if values[s.Name] != nil {
			todo = append(todo, s)
		}
	}
	out := make([][]Result, len(todo))
	errs := make([]error, len(todo))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(todo), 1)) {
		wg.Go(func() {
			for i := range jobs {
				out[i], errs[i] = forecastOne(todo[i], values[todo[i].Name], levels, opt.Method)
			}
		})
	}
	for i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var all []Result
	for i := range todo {
		if errs[i] != nil {
			return nil, fmt.Errorf("series %s: %w", todo[i].Name, errs[i])
		}
		all = append(all, out[i]...)
	}
	return all, nil
}

func forecastOne(s Series, v *Split, levels []float64, method string) ([]Result, error) {
	fc, err := univar.Forecast(v.Train, s.Frequency, s.Horizon, levels, method)
	if err != nil {
		return nil, err
	}
	res := make([]Result, s.Horizon)
	for j := range res {
		r := Result{Series: s.Name, Index: v.TrainStart + len(v.Train) + j, Forecast: fc.Point[j], Model: fc.Model}
		for i := range levels {
			r.Lower = append(r.Lower, fc.Lower[i][j])
			r.Upper = append(r.Upper, fc.Upper[i][j])
		}
		res[j] = r
	}
	return res, nil
}

// Score is the accuracy of one series' forecasts.
type Score struct {
	Series string  `json:"series"`
	Period string  `json:"period"`
	Model  string  `json:"model"`
	SMAPE  float64 `json:"smape"`
	MASE   float64 `json:"mase"`
	// Seasonal naive on the same series, the benchmark to beat.
	NaiveSMAPE float64 `json:"snaive_smape"`
	NaiveMASE  float64 `json:"snaive_mase"`
	// Coverage[i] is the share of test values inside the i-th prediction
	// interval of the results (80% and 95% by default).
	Coverage []float64 `json:"coverage"`

	steps int
}

// Summary is the mean accuracy over a group of series. MASE means skip
// series whose in-sample scale is zero (MASE undefined); MASECount says
// how many were averaged.
type Summary struct {
	Period     string  `json:"period"` // "ALL" for every series
	Series     int     `json:"series"`
	SMAPE      float64 `json:"smape"`
	MASE       float64 `json:"mase"`
	NaiveSMAPE float64 `json:"snaive_smape"`
	NaiveMASE  float64 `json:"snaive_mase"`
	MASECount  int     `json:"mase_series"`
	// Coverage is pooled over every forecast step of the group, so that it
	// reads directly against the nominal levels.
	Coverage []float64 `json:"coverage"`
}

// Evaluation is the accuracy per series, per period type and overall.
type Evaluation struct {
	Series   []Score   `json:"series"`
	ByPeriod []Summary `json:"by_period"`
	Overall  Summary   `json:"overall"`
}

// SMAPE is the M4 symmetric MAPE in percent: mean of 200|y-f|/(|y|+|f|),
// with 0 for a step where both are 0.
func SMAPE(y, f []float64) float64 {
	var s float64
	for i := range y {
		d := math.Abs(y[i]) + math.Abs(f[i])
		if d > 0 {
			s += 200 * math.Abs(y[i]-f[i]) / d
		}
	}
	return s / float64(len(y))
}

// MASE is the mean absolute error scaled by the in-sample mean absolute
// seasonal difference of lag m (lag 1 when m = 1 or the train split is not
// longer than m). It is NaN when that scale is zero.
func MASE(train, y, f []float64, m int) float64 {
	if m < 1 || len(train) <= m {
		m = 1
	}
	if len(train) <= m {
		return math.NaN()
	}
	var scale float64
	for i := m; i < len(train); i++ {
		scale += math.Abs(train[i] - train[i-m])
	}
	scale /= float64(len(train) - m)
	if scale == 0 {
		return math.NaN()
	}
	var mae float64
	for i := range y {
		mae += math.Abs(y[i] - f[i])
	}
	return mae / float64(len(y)) / scale
}

// Evaluate scores results (from Run) against the test splits, next to
// seasonal naive forecasts of the same horizon.
func Evaluate(series []Series, values Values, results []Result) (Evaluation, error) {
	bySeries := map[string][]Result{}
	for _, r := range results {
		bySeries[r.Series] = append(bySeries[r.Series], r)
	}
	var ev Evaluation
	groups := map[string]*accum{}
	all := &accum{}
	for _, s := range series {
		rs := bySeries[s.Name]
		v := values[s.Name]
		if len(rs) == 0 || v == nil {
			continue
		}
		h := min(len(rs), len(v.Test))
		if h == 0 {
			return Evaluation{}, fmt.Errorf("series %s: no test values to evaluate against", s.Name)
		}
		f := make([]float64, h)
		for i := range h {
			f[i] = rs[i].Forecast
		}
		y := v.Test[:h]
		nv, err := ets.SeasonalNaive(v.Train, s.Frequency, h)
		if err != nil {
			return Evaluation{}, fmt.Errorf("series %s: %w", s.Name, err)
		}
		sc := Score{
			Series: s.Name, Period: s.Period, Model: rs[0].Model,
			SMAPE: SMAPE(y, f), MASE: MASE(v.Train, y, f, s.Frequency),
			NaiveSMAPE: SMAPE(y, nv), NaiveMASE: MASE(v.Train, y, nv, s.Frequency),
			Coverage: make([]float64, len(rs[0].Lower)), steps: h,
		}
		for i := range h {
			for l := range sc.Coverage {
				if rs[i].Lower[l] <= y[i] && y[i] <= rs[i].Upper[l] {
					sc.Coverage[l]++
				}
			}
		}
		for l := range sc.Coverage {
			sc.Coverage[l] /= float64(h)
		}
		ev.Series = append(ev.Series, sc)
		g := groups[s.Period]
		if g == nil {
			g = &accum{}
			groups[s.Period] = g
		}
		g.add(sc)
		all.add(sc)
	}
	periods := make([]string, 0, len(groups))
	for p := range groups {
		periods = append(periods, p)
	}
	slices.SortFunc(periods, comparePeriods)
	for _, p := range periods {
		ev.ByPeriod = append(ev.ByPeriod, groups[p].summary(p))
	}
	ev.Overall = all.summary("ALL")
	return ev, nil
}

// comparePeriods orders the usual period types from yearly to monthly,
// others after them alphabetically.
func comparePeriods(a, b string) int {
	rank := func(p string) int {
		if i := slices.Index([]string{"YEARLY", "QUARTERLY", "MONTHLY"}, p); i >= 0 {
			return i
		}
		return 3
	}
	if d := rank(a) - rank(b); d != 0 {
		return d
	}
	return strings.Compare(a, b)
}

type accum struct {
	n, nm                      int
	smape, mase, nsmape, nmase float64
	steps                      int
	inside                     []float64
}

func (a *accum) add(s Score) {
	a.n++
	if a.inside == nil {
		a.inside = make([]float64, len(s.Coverage))
	}
	for l, c := range s.Coverage {
		if l < len(a.inside) {
			a.inside[l] += c * float64(s.steps)
		}
	}
	a.steps += s.steps
	a.smape += s.SMAPE
	a.nsmape += s.NaiveSMAPE
	if !math.IsNaN(s.MASE) && !math.IsNaN(s.NaiveMASE) {
		a.nm++
		a.mase += s.MASE
		a.nmase += s.NaiveMASE
	}
}

func (a *accum) summary(period string) Summary {
	s := Summary{Period: period, Series: a.n, MASECount: a.nm}
	if a.n > 0 {
		s.SMAPE = a.smape / float64(a.n)
		s.NaiveSMAPE = a.nsmape / float64(a.n)
	}
	if a.nm > 0 {
		s.MASE = a.mase / float64(a.nm)
		s.NaiveMASE = a.nmase / float64(a.nm)
	}
	for _, in := range a.inside {
		s.Coverage = append(s.Coverage, in/float64(max(a.steps, 1)))
	}
	return s
}

// Filter keeps the series whose period is in periods (case-insensitive);
// all of them when periods is empty.
func Filter(series []Series, periods []string) []Series {
	if len(periods) == 0 {
		return series
	}
	var out []Series
	for _, s := range series {
		for _, p := range periods {
			if strings.EqualFold(strings.TrimSpace(p), s.Period) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

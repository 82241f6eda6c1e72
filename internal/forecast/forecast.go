package forecast

import (
	"fmt"
	"math"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/univar"
)

// Estimate is one method's forecast of a period's bookings, with its
// prediction intervals where the method has them.
type Estimate struct {
	Method   string   `json:"method"`
	Label    string   `json:"label"` // the method in words, as the pages name it
	Forecast float64  `json:"forecast"`
	Lo80     *float64 `json:"lo80,omitempty"`
	Hi80     *float64 `json:"hi80,omitempty"`
	Lo95     *float64 `json:"lo95,omitempty"`
	Hi95     *float64 `json:"hi95,omitempty"`
	Note     string   `json:"note,omitempty"`   // in words: what it learned from, or why it is thin
	Detail   string   `json:"detail,omitempty"` // the technical name of the model, e.g. "mean of ETS(M,A,N), Theta, ETS(A,Ad,N)"
}

// MethodLabels name the methods in words.
var MethodLabels = map[string]string{MethodStage: "Stage-weighted", MethodHistory: "History-weighted",
	MethodWinProb: "Win probability", MethodSeries: "Time series", MethodCommit: "Reps' commit"}

func estimate(method string) Estimate { return Estimate{Method: method, Label: MethodLabels[method]} }

// PeriodForecast is every method's forecast of one period as of one day.
type PeriodForecast struct {
	Period     string   `json:"period"`
	AsOf       crm.Date `json:"as_of"`
	Won        float64  `json:"won_to_date"`
	OpenCount  int      `json:"open_count"`
	OpenAmount float64  `json:"open_amount"`
	// OpenInPeriod is the part of OpenAmount whose expected close, as the
	// deals had it, falls in the period: the KPIs' open pipeline. The rest
	// is overdue deals (taken as expected now) and deals without one.
	OpenInPeriod float64    `json:"open_amount_in_period"`
	Actual       *float64   `json:"actual,omitempty"` // once the period has ended
	Estimates    []Estimate `json:"estimates"`
	Notes        []string   `json:"notes,omitempty"` // methods that could not run, and why
}

// Estimate returns the named method's estimate, if present.
func (f *PeriodForecast) Estimate(method string) (Estimate, bool) {
	for _, e := range f.Estimates {
		if e.Method == method {
			return e, true
		}
	}
	return Estimate{}, false
}

// Request says what to forecast.
type Request struct {
	Period  crm.Period
	AsOf    time.Time        // start of this day; default the book's day
	Keep    func(*Deal) bool // limit the deals shown (a team); nil for all the book shows
	History int              // earlier periods the history-weighted method learns from; default 8
	Model   *WinModel        // trained win-probability model; nil leaves that method out
	Series  bool             // add the time-series forecast
}

// Forecast runs the methods for one period.
func (b *Book) Forecast(r Request) PeriodForecast {
	return *b.ForecastBy(r, func(*Deal) int64 { return 0 })[0]
}

// ForecastBy runs the methods for one period and reports them per group of
// the deals shown (a team, an owner). Probabilities are learned once, from
// the whole organisation's history, and applied to each group: a rep or a
// small team gets the organisation's experience, not its own thin one. The
// time series and the usual inflow come from each group's own bookings.
func (b *Book) ForecastBy(r Request, group func(*Deal) int64) map[int64]*PeriodForecast {
	if r.AsOf.IsZero() {
		r.AsOf = b.Today
	}
	if r.History == 0 {
		r.History = 8
	}
	cycle := b.MedianCycle(r.AsOf)
	all := b.SliceAt(r.AsOf, r.Period, cycle, r.Keep)
	cv := b.LearnConversion(&all, r.History, cycle, r.Keep, group)
	var f *featurizer
	if r.Model != nil && r.Model.Model != nil {
		f = b.featurizer()
	}
	slices := map[int64]*Slice{}
	sliceOf := func(k int64) *Slice {
		if slices[k] == nil {
			slices[k] = &Slice{AsOf: all.AsOf, Period: all.Period}
		}
		return slices[k]
	}
	ended := !r.Period.End.After(b.Today)
	actual := map[int64]float64{} // per group, in the same pass: a pass per group is slow at a million deals
	for i := range b.Deals {
		d := &b.Deals[i]
		if !b.shows(d, r.Keep) || !d.WonIn(r.Period.Start, r.Period.End) {
			continue
		}
		if ended {
			actual[group(d)] += d.Amount
		}
		if d.Closed.Before(r.AsOf) {
			sliceOf(group(d)).Won += d.Amount
		}
	}
	for _, o := range all.Open {
		sl := sliceOf(group(o.Deal))
		sl.Open = append(sl.Open, o)
	}
	if len(slices) == 0 {
		sliceOf(group(&Deal{}))
	}
	out := map[int64]*PeriodForecast{}
	for k, s := range slices {
		pf := &PeriodForecast{Period: r.Period.String(), AsOf: crm.NewDate(r.AsOf), Won: round2(s.Won), OpenCount: len(s.Open), OpenAmount: round2(s.OpenAmount())}
		for _, o := range s.Open {
			if st := o.State.Stated; !st.Before(r.Period.Start) && st.Before(r.Period.End) {
				pf.OpenInPeriod += o.State.Amount
			}
		}
		pf.OpenInPeriod = round2(pf.OpenInPeriod)
		keep := func(d *Deal) bool { return (r.Keep == nil || r.Keep(d)) && group(d) == k }
		if ended {
			a := round2(actual[k])
			pf.Actual = &a
		}
		pf.Estimates = append(pf.Estimates, weighted(MethodStage, s, func(o OpenDeal) float64 { return b.Stages[o.State.Stage].Probability }, ""))
		hist := weighted(MethodHistory, s, func(o OpenDeal) float64 {
			return cv.Probability(o.State, o.Deal.Segment, s.AsOf)
		}, cv.Note())
		shiftBy(&hist, cv.Inflow(k))
		pf.Estimates = append(pf.Estimates, hist)
		if f != nil {
			// The model says whether a deal is won at all; the history says
			// how many such deals are won within the period, and what comes
			// from outside the expected pipeline, as history-weighted uses.
			wp := weighted(MethodWinProb, s, func(o OpenDeal) float64 {
				return r.Model.score(f.row(o.Deal, o.State, s.AsOf)) * cv.Timely(o.State)
			}, r.Model.Note+"; times the share of such deals won within their period, "+cv.TimelyNote())
			shiftBy(&wp, cv.Inflow(k))
			pf.Estimates = append(pf.Estimates, wp)
		} else if r.Model != nil {
			pf.Notes = append(pf.Notes, MethodWinProb+": "+r.Model.Note)
		}
		if r.Series {
			if e, err := b.seriesEstimate(r.Period, r.AsOf, keep); err != nil {
				pf.Notes = append(pf.Notes, MethodSeries+": "+err.Error())
			} else {
				pf.Estimates = append(pf.Estimates, e)
			}
		}
		out[k] = pf
	}
	return out
}

// weighted sums won-to-date and each open deal's amount times its
// probability. Deals are taken as independent wins, so the total's variance
// is the sum of amount²·p·(1−p); the intervals are the normal approximation
// of that sum, floored at what is already won.
func weighted(method string, s *Slice, prob func(OpenDeal) float64, note string) Estimate {
	sum, variance := s.Won, 0.0
	for _, o := range s.Open {
		p := prob(o)
		sum += o.State.Amount * p
		variance += o.State.Amount * o.State.Amount * p * (1 - p)
	}
	e := estimate(method)
	e.Forecast, e.Note = round2(sum), note
	sd := math.Sqrt(variance)
	e.Lo80, e.Hi80 = bound(math.Max(s.Won, sum-1.2816*sd)), bound(sum+1.2816*sd)
	e.Lo95, e.Hi95 = bound(math.Max(s.Won, sum-1.96*sd)), bound(sum+1.96*sd)
	return e
}

// shiftBy adds an amount taken as certain to an estimate and its bounds.
func shiftBy(e *Estimate, v float64) {
	e.Forecast = round2(e.Forecast + v)
	for _, p := range []*float64{e.Lo80, e.Hi80, e.Lo95, e.Hi95} {
		if p != nil {
			*p = round2(*p + v)
		}
	}
}

func bound(v float64) *float64 { v = round2(v); return &v }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Bookings is the won amount per period of the grain, from the first period
// with a deal up to (not including) the period containing the day before.
func (b *Book) Bookings(g crm.Grain, before time.Time, keep func(*Deal) bool) ([]crm.Period, []float64) {
	first := time.Time{}
	for i := range b.Deals {
		d := &b.Deals[i]
		if b.shows(d, keep) && (first.IsZero() || d.Created.Before(first)) {
			first = d.Created
		}
	}
	if first.IsZero() {
		return nil, nil
	}
	var pers []crm.Period
	for p := b.Calendar.PeriodOf(first, g); !p.End.After(before); p = b.Calendar.Next(p) {
		pers = append(pers, p)
	}
	vals := make([]float64, len(pers))
	if len(pers) == 0 {
		return pers, vals
	}
	for i := range b.Deals {
		d := &b.Deals[i]
		if !b.shows(d, keep) || !d.Won || d.Closed.IsZero() || d.Closed.Before(pers[0].Start) || !d.Closed.Before(pers[len(pers)-1].End) {
			continue
		}
		p := b.Calendar.PeriodOf(d.Closed, g)
		for j := len(pers) - 1; j >= 0; j-- { // usually near the end
			if pers[j].Start.Equal(p.Start) {
				vals[j] += d.Amount
				break
			}
		}
	}
	return pers, vals
}

// seasonality is the number of periods in a year for the grain.
func seasonality(g crm.Grain) int {
	switch g {
	case crm.GrainMonth:
		return 12
	case crm.GrainQuarter:
		return 4
	}
	return 1
}

// seriesEstimate forecasts the period's bookings from the bookings of
// earlier complete periods of the same grain (univar's default method).
// It does not look at the pipeline.
func (b *Book) seriesEstimate(per crm.Period, asOf time.Time, keep func(*Deal) bool) (Estimate, error) {
	e := estimate(MethodSeries)
	pers, vals := b.Bookings(per.Grain, asOf, keep)
	h := 0
	if len(pers) > 0 {
		for p := pers[len(pers)-1]; p.Start.Before(per.Start); p = b.Calendar.Next(p) {
			h++
		}
	}
	if len(vals) < 4 || h < 1 {
		return e, fmt.Errorf("too little history: %d complete %s periods before %s", len(vals), per.Grain, per)
	}
	fc, err := univar.Forecast(vals, seasonality(per.Grain), h, ets.DefaultLevels, univar.Default)
	if err != nil {
		return e, err
	}
	e.Forecast = round2(math.Max(0, fc.Point[h-1]))
	e.Lo80, e.Hi80 = bound(math.Max(0, fc.Lower[0][h-1])), bound(fc.Upper[0][h-1])
	e.Lo95, e.Hi95 = bound(math.Max(0, fc.Lower[1][h-1])), bound(fc.Upper[1][h-1])
	e.Note, e.Detail = seriesNote(fc, len(vals)), fc.Model
	return e, nil
}

// seriesNote says in words what the time series assumed and learned from.
func seriesNote(fc univar.Result, periods int) string {
	return fmt.Sprintf("%s, learned from %d periods", fc.Label, periods)
}

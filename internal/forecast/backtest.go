package forecast

import (
	"math"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// BacktestOptions says which past periods to replay.
type BacktestOptions struct {
	Grain   crm.Grain
	Periods int       // the latest complete periods to replay; default 4
	DaysIn  int       // forecast as of this many days after each period's start (negative: before it); default 0
	AsOf    time.Time // replay the periods that had ended by the start of this day; default (and at most) the book's day
	ByTeam  bool
	WinProb bool             // train the win-probability model as of each period (slower; each model is trained once per book)
	Teams   map[int64]string // team names, for the per-team rows
	Keep    func(*Deal) bool // limit the deals (a team); nil for all the book shows
}

// BacktestPoint is one method's forecast of one period against the actual.
// Errors follow the glossary: (actual − forecast) ÷ actual × 100, absent
// when nothing was won.
type BacktestPoint struct {
	Period      string   `json:"period"`
	AsOf        crm.Date `json:"as_of"`
	Team        string   `json:"team,omitempty"`
	Method      string   `json:"method"`
	Forecast    float64  `json:"forecast"`
	Actual      float64  `json:"actual"`
	ErrorPct    *float64 `json:"error_pct"`
	AbsErrorPct *float64 `json:"abs_error_pct"`
}

// BacktestSummary is one method's accuracy over the periods replayed:
// MAPE and bias (the mean signed error; positive means under-forecast).
type BacktestSummary struct {
	Team    string   `json:"team,omitempty"`
	Method  string   `json:"method"`
	Periods int      `json:"periods"`
	MAPE    *float64 `json:"mape"`
	Bias    *float64 `json:"bias_pct"`
}

// Backtest is the replay of several past periods.
type Backtest struct {
	Grain   string            `json:"grain"`
	DaysIn  int               `json:"days_in"`
	AsOf    crm.Date          `json:"as_of"` // the periods replayed had ended by this day
	Points  []BacktestPoint   `json:"points"`
	Summary []BacktestSummary `json:"summary"`
	Models  []*WinModel       `json:"win_models,omitempty"`
}

// RunBacktest replays the stage history: for each of the latest periods
// that had ended by o.AsOf, what each method would have forecast as of
// DaysIn days into it, knowing only what was known then, against what was
// actually won. A report's track record is one (see Report.TrackRecord).
func (b *Book) RunBacktest(o BacktestOptions) Backtest {
	if o.Periods <= 0 {
		o.Periods = 4
	}
	if o.AsOf.IsZero() || o.AsOf.After(b.Today) {
		o.AsOf = b.Today
	}
	o.AsOf = day(o.AsOf)
	bt := Backtest{Grain: o.Grain.String(), DaysIn: o.DaysIn, AsOf: crm.NewDate(o.AsOf)}
	var pers []crm.Period
	for p := b.Calendar.Prev(b.Calendar.PeriodOf(o.AsOf, o.Grain)); len(pers) < o.Periods; p = b.Calendar.Prev(p) {
		if p.End.Before(b.earliest()) {
			break
		}
		pers = append([]crm.Period{p}, pers...)
	}
	group := func(*Deal) int64 { return 0 }
	if o.ByTeam {
		group = func(d *Deal) int64 { return d.TeamID }
	}
	for _, per := range pers {
		asOf := per.Start.AddDate(0, 0, o.DaysIn)
		if !asOf.Before(per.End) {
			asOf = per.End.AddDate(0, 0, -1) // a long period's day count in a short one: its last day
		}
		r := Request{Period: per, AsOf: asOf, Series: true, Keep: o.Keep}
		if o.WinProb {
			r.Model = b.winModelAt(asOf)
			bt.Models = append(bt.Models, r.Model)
		}
		for k, pf := range b.ForecastBy(r, group) {
			team := ""
			if o.ByTeam {
				team = o.Teams[k]
				if team == "" {
					team = "(no team)"
				}
			}
			for _, e := range pf.Estimates {
				bt.Points = append(bt.Points, point(pf, team, e.Method, e.Forecast))
			}
		}
	}
	sort.Slice(bt.Points, func(i, j int) bool {
		a, c := bt.Points[i], bt.Points[j]
		if a.Team != c.Team {
			return a.Team < c.Team
		}
		if a.Method != c.Method {
			return a.Method < c.Method
		}
		return a.Period < c.Period
	})
	bt.Summary = summarise(bt.Points)
	return bt
}

func point(pf *PeriodForecast, team, method string, forecast float64) BacktestPoint {
	p := BacktestPoint{Period: pf.Period, AsOf: pf.AsOf, Team: team, Method: method, Forecast: forecast}
	if pf.Actual != nil {
		p.Actual = *pf.Actual
	}
	p.ErrorPct = PercentError(p.Actual, forecast)
	if p.ErrorPct != nil {
		a := math.Abs(*p.ErrorPct)
		p.AbsErrorPct = &a
	}
	return p
}

// PercentError is the glossary's forecast accuracy: (actual − forecast) ÷
// actual × 100, nil when the actual is zero.
func PercentError(actual, forecast float64) *float64 {
	if actual == 0 {
		return nil
	}
	v := math.Round((actual-forecast)/actual*100*100) / 100
	return &v
}

func summarise(points []BacktestPoint) []BacktestSummary {
	type key struct{ team, method string }
	type acc struct{ abs, signed, n float64 }
	accs := map[key]*acc{}
	var keys []key
	for _, p := range points {
		k := key{p.Team, p.Method}
		if accs[k] == nil {
			accs[k] = &acc{}
			keys = append(keys, k)
		}
		if p.ErrorPct != nil {
			a := accs[k]
			a.abs += *p.AbsErrorPct
			a.signed += *p.ErrorPct
			a.n++
		}
	}
	var out []BacktestSummary
	for _, k := range keys {
		a := accs[k]
		s := BacktestSummary{Team: k.team, Method: k.method, Periods: int(a.n)}
		if a.n > 0 {
			mape, bias := round2(a.abs/a.n), round2(a.signed/a.n)
			s.MAPE, s.Bias = &mape, &bias
		}
		out = append(out, s)
	}
	return out
}

// earliest is the creation time of the first deal.
func (b *Book) earliest() time.Time {
	var t time.Time
	for i := range b.Deals {
		if c := b.Deals[i].Created; t.IsZero() || c.Before(t) {
			t = c
		}
	}
	return t
}

package forecast

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/univar"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// LeadDemand is the time-series forecast of how many leads a period will
// bring, for demand planning (how many reps and SDRs the leads will need).
type LeadDemand struct {
	Period  string        `json:"period"`
	Leads   Estimate      `json:"forecast"`
	Actual  *float64      `json:"actual,omitempty"` // once the period has ended
	History []PeriodValue `json:"history"`          // leads per earlier complete period
}

// PeriodValue is one period's count or amount.
type PeriodValue struct {
	Period string  `json:"period"`
	Value  float64 `json:"value"`
}

// ForecastLeads fits the default time-series method to the leads p may see created per period of
// per's grain, up to the last complete period before asOf, and forecasts per.
func ForecastLeads(ctx context.Context, s *store.Store, p crm.Principal, per crm.Period, asOf time.Time) (*LeadDemand, error) {
	cond, err := s.OwnerCondition(ctx, p, "owner_id")
	if err != nil {
		return nil, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	// Months are counted in the database; fiscal periods are sums of months.
	rows, err := s.DB().QueryContext(ctx, `SELECT CAST(EXTRACT(YEAR FROM created_at) AS BIGINT), CAST(EXTRACT(MONTH FROM created_at) AS BIGINT), COUNT(*)
		FROM leads WHERE `+cond+` GROUP BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("forecast: count leads: %w", err)
	}
	defer rows.Close()
	counts := map[time.Time]float64{}
	var first time.Time
	for rows.Next() {
		var y, m, n int64
		if err := rows.Scan(&y, &m, &n); err != nil {
			return nil, fmt.Errorf("forecast: count leads: %w", err)
		}
		start := cal.PeriodOf(time.Date(int(y), time.Month(m), 1, 0, 0, 0, 0, time.UTC), per.Grain).Start
		counts[start] += float64(n)
		if first.IsZero() || start.Before(first) {
			first = start
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := &LeadDemand{Period: per.String(), Leads: estimate(MethodSeries), History: []PeriodValue{}}
	asOf = day(asOf)
	if !per.End.After(asOf) {
		a := counts[per.Start]
		out.Actual = &a
	}
	var vals []float64
	h := 0
	if !first.IsZero() {
		q := cal.PeriodOf(first, per.Grain)
		for ; !q.End.After(asOf) && q.Start.Before(per.Start); q = cal.Next(q) {
			vals = append(vals, counts[q.Start])
			out.History = append(out.History, PeriodValue{Period: q.String(), Value: counts[q.Start]})
		}
		for ; q.Start.Before(per.End); q = cal.Next(q) {
			h++
		}
	}
	if len(vals) < 4 || h < 1 {
		return nil, crm.Invalid("forecast", "period", fmt.Sprintf("too little lead history before %s: %d complete %s periods", per, len(vals), per.Grain))
	}
	fc, err := univar.Forecast(vals, seasonality(per.Grain), h, ets.DefaultLevels, univar.Default)
	if err != nil {
		return nil, err
	}
	e := &out.Leads
	e.Forecast = math.Round(math.Max(0, fc.Point[h-1]))
	e.Lo80, e.Hi80 = bound(math.Max(0, fc.Lower[0][h-1])), bound(fc.Upper[0][h-1])
	e.Lo95, e.Hi95 = bound(math.Max(0, fc.Lower[1][h-1])), bound(fc.Upper[1][h-1])
	e.Note, e.Detail = seriesNote(fc, len(vals)), fc.Model
	return out, nil
}

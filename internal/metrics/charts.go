package metrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Point is one period of a bookings trend.
type Point struct {
	Period      string          `json:"period"`
	Start       crm.Date        `json:"start"`
	End         crm.Date        `json:"end"` // last day
	WonAmount   decimal.Decimal `json:"won_amount"`
	WonCount    int64           `json:"won_count"`
	LostCount   int64           `json:"lost_count"`
	WinRate     *float64        `json:"win_rate"`
	Unconverted int64           `json:"unconverted_amounts"`
}

// bucketExpr numbers column's value by the periods: 0 before bounds[1], ...
// It adds the bounds as params b_1, b_2, ... Values before bounds[0] get
// below (and values from the last bound on get len(bounds)-1) unless the
// query excludes them.
func bucketExpr(column string, bounds []crm.Period, params map[string]any) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i := 1; i < len(bounds); i++ {
		name := "b_" + strconv.Itoa(i)
		params[name] = bounds[i].Start
		fmt.Fprintf(&b, " WHEN %s < CAST(:%s AS DATE) THEN %d", column, name, i-1)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(bounds)-1)
	return b.String()
}

// lastPeriods is the n periods of grain g ending with the one containing end.
func (sel *selection) lastPeriods(g crm.Grain, n int, end crm.Period) []crm.Period {
	p := sel.cal.PeriodOf(end.End.AddDate(0, 0, -1), g)
	out := make([]crm.Period, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = p
		p = sel.cal.Prev(p)
	}
	return out
}

// Trend returns bookings for the n periods of grain g that end with the
// filter's period (or with the current period for all time), oldest first.
// The other filters apply.
func Trend(ctx context.Context, s *store.Store, p crm.Principal, f Filter, g crm.Grain, n int) ([]Point, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	return sel.trend(ctx, s, g, n)
}

func (sel *selection) trend(ctx context.Context, s *store.Store, g crm.Grain, n int) ([]Point, error) {
	if g < crm.GrainMonth || g > crm.GrainYear || n < 1 || n > 240 {
		return nil, crm.Invalid("trend", "periods", "want a grain (month, quarter, year) and 1 to 240 periods")
	}
	end := sel.cal.PeriodOf(sel.today, g)
	if sel.period != nil {
		end = *sel.period
	}
	ps := sel.lastPeriods(g, n, end)
	where, params, _ := sel.where(entOpp)
	params = sel.timeParams(params)
	params["from"], params["to"] = ps[0].Start, ps[n-1].End
	parts := map[string]string{"where": where, "rates": queries["rates"], "converted": queries["converted"],
		"bucket": bucketExpr("o.closed_at", ps, params)}
	q := render("trend", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: trend: %w", err)
	}
	defer rows.Close()
	out := make([]Point, n)
	for i, per := range ps {
		out[i] = Point{Period: per.String(), Start: crm.NewDate(per.Start), End: crm.NewDate(per.End.AddDate(0, 0, -1))}
	}
	for rows.Next() {
		var b int
		var pt Point
		if err := rows.Scan(&b, &pt.WonCount, scanMoney(&pt.WonAmount), &pt.LostCount, &pt.Unconverted); err != nil {
			return nil, fmt.Errorf("kpi: trend: %w", err)
		}
		o := &out[b]
		o.WonCount, o.WonAmount, o.LostCount, o.Unconverted = pt.WonCount, pt.WonAmount.Round(2), pt.LostCount, pt.Unconverted
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi: trend: %w", err)
	}
	for i := range out {
		out[i].WinRate = ratio(out[i].WonCount, out[i].WonCount+out[i].LostCount)
	}
	return out, nil
}

// PipelineBar is the open pipeline of one stage or one close period.
type PipelineBar struct {
	Label       string          `json:"label"`           // stage name, or period
	Start       *crm.Date       `json:"start,omitempty"` // close periods: first day
	End         *crm.Date       `json:"end,omitempty"`   // close periods: last day
	Probability *float64        `json:"probability,omitempty"`
	Count       int64           `json:"count"`
	Amount      decimal.Decimal `json:"amount"`
	Weighted    decimal.Decimal `json:"weighted"`
	Unconverted int64           `json:"unconverted_amounts"`
}

// PipelineByStage returns the open deals expected to close in the filter's
// period (every open deal for all time) per open stage, in stage order.
func PipelineByStage(ctx context.Context, s *store.Store, p crm.Principal, f Filter) ([]PipelineBar, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	return sel.pipelineByStage(ctx, s)
}

func (sel *selection) pipelineByStage(ctx context.Context, s *store.Store) ([]PipelineBar, error) {
	stages, err := s.Stages(ctx)
	if err != nil {
		return nil, err
	}
	where, params, _ := sel.where(entOpp)
	parts := map[string]string{"where": where, "rates": queries["rates"], "converted": queries["converted"],
		"open_in_period": sel.openInPeriod()}
	q := render("pipeline-by-stage", parts, sel.timeParams(params))
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: pipeline by stage: %w", err)
	}
	defer rows.Close()
	got := map[string]PipelineBar{}
	for rows.Next() {
		var b PipelineBar
		if err := rows.Scan(&b.Label, &b.Count, scanMoney(&b.Amount), scanMoney(&b.Weighted), &b.Unconverted); err != nil {
			return nil, fmt.Errorf("kpi: pipeline by stage: %w", err)
		}
		b.Amount, b.Weighted = b.Amount.Round(2), b.Weighted.Round(2)
		got[b.Label] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi: pipeline by stage: %w", err)
	}
	slices.SortStableFunc(stages, func(a, b crm.Stage) int { return int(a.Position - b.Position) })
	var out []PipelineBar
	for _, st := range stages {
		b, ok := got[st.Name]
		if st.Kind != crm.StageOpen && !ok {
			continue
		}
		b.Label = st.Name
		b.Probability = ptr(st.Probability)
		out = append(out, b)
		delete(got, st.Name)
	}
	rest := make([]string, 0, len(got))
	for name := range got {
		rest = append(rest, name)
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, got[name])
	}
	return out, nil
}

// PipelineByClosePeriod returns the open deals by expected close: "no date",
// "overdue" (before the current period), the n periods of grain g from the
// current one (the filter's period does not narrow it), then "later".
func PipelineByClosePeriod(ctx context.Context, s *store.Store, p crm.Principal, f Filter, g crm.Grain, n int) ([]PipelineBar, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	return sel.pipelineByClose(ctx, s, g, n)
}

func (sel *selection) pipelineByClose(ctx context.Context, s *store.Store, g crm.Grain, n int) ([]PipelineBar, error) {
	if g < crm.GrainMonth || g > crm.GrainYear || n < 1 || n > 240 {
		return nil, crm.Invalid("pipeline", "periods", "want a grain (month, quarter, year) and 1 to 240 periods")
	}
	ps := make([]crm.Period, n)
	ps[0] = sel.cal.PeriodOf(sel.today, g)
	for i := 1; i < n; i++ {
		ps[i] = sel.cal.Next(ps[i-1])
	}
	where, params, _ := sel.where(entOpp)
	params = sel.timeParams(params)
	// Buckets: -2 no date, -1 overdue, 0..n-1 the periods, n later.
	bounds := append(ps, sel.cal.Next(ps[n-1]))
	var b strings.Builder
	params["b_0"] = ps[0].Start
	b.WriteString("CASE WHEN o.expected_close IS NULL THEN -2 WHEN o.expected_close < CAST(:b_0 AS DATE) THEN -1")
	for i := 1; i < len(bounds); i++ {
		name := "b_" + strconv.Itoa(i)
		params[name] = bounds[i].Start
		fmt.Fprintf(&b, " WHEN o.expected_close < CAST(:%s AS DATE) THEN %d", name, i-1)
	}
	fmt.Fprintf(&b, " ELSE %d END", n)
	parts := map[string]string{"where": where, "rates": queries["rates"], "converted": queries["converted"], "bucket": b.String()}
	q := render("pipeline-by-close", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: pipeline by close period: %w", err)
	}
	defer rows.Close()
	out := make([]PipelineBar, n+3)
	out[0].Label, out[1].Label, out[n+2].Label = "no date", "overdue", "later"
	for i, per := range ps {
		start, end := crm.NewDate(per.Start), crm.NewDate(per.End.AddDate(0, 0, -1))
		out[i+2] = PipelineBar{Label: per.String(), Start: &start, End: &end}
	}
	for rows.Next() {
		var bucket int
		var bar PipelineBar
		if err := rows.Scan(&bucket, &bar.Count, scanMoney(&bar.Amount), scanMoney(&bar.Weighted), &bar.Unconverted); err != nil {
			return nil, fmt.Errorf("kpi: pipeline by close period: %w", err)
		}
		o := &out[bucket+2]
		o.Count, o.Amount, o.Weighted, o.Unconverted = bar.Count, bar.Amount.Round(2), bar.Weighted.Round(2), bar.Unconverted
	}
	return out, rows.Err()
}

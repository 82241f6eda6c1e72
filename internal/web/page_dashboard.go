package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/shopspring/decimal"
)

// tile is one KPI on the dashboard, with its change where there is one.
type tile struct {
	Label, Value, Note string
	Change             *float64
}

func (srv *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := srv.dashboardData(r)
	if errors.Is(err, crm.ErrInvalid) {
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	}
	if err != nil {
		srv.log.Error("dashboard", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	choices, err := srv.filterChoices(r)
	if err != nil {
		srv.log.Error("dashboard", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ov := d.Overview
	charts, err := srv.cachedCharts(r, d)
	if err != nil {
		srv.log.Error("dashboard charts", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"D": d, "F": d.Filter, "K": ov.KPIs, "Tiles": kpiTiles(ov.KPIs), "Charts": charts, "Choices": choices,
		"Query": filterQuery(d.Filter, "", ""),
	})
}

func (srv *Server) handlePerformers(w http.ResponseWriter, r *http.Request) {
	d, err := srv.performersData(r)
	if errors.Is(err, crm.ErrInvalid) {
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	}
	if err != nil {
		srv.log.Error("performers", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	choices, err := srv.filterChoices(r)
	if err != nil {
		srv.log.Error("performers", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "performers", map[string]any{"D": d, "F": d.Filter, "Choices": choices, "Query": filterQuery(d.Filter, "", "")})
}

// cachedCharts renders the overview's charts once per cached dashboard.
func (srv *Server) cachedCharts(r *http.Request, d dashboardData) ([]chart, error) {
	version := srv.store.Version()
	key := fmt.Sprintf("charts|%d|%s|%+v", authOf(r).user.ID, authOf(r).user.Role, d.Filter)
	if v, ok := srv.cache.get(key, version); ok {
		return v.([]chart), nil
	}
	charts, err := overviewCharts(d.Overview)
	if err == nil {
		srv.cache.put(key, version, charts)
	}
	return charts, err
}

func kpiTiles(k metrics.KPIs) []tile {
	cur := k.Currency
	t := []tile{
		{Label: "Won", Value: formatMoney(k.WonAmount, cur), Note: fmt.Sprintf("%d deals won, %d lost", k.WonCount, k.LostCount)},
		{Label: "Win rate", Value: pctString(k.WinRate), Note: "won ÷ (won + lost)"},
		{Label: "Average deal size", Value: moneyPtr(k.AverageDealSize, cur)},
		{Label: "Sales cycle", Value: daysString(k.AverageSalesCycleDays), Note: "median " + daysString(k.MedianSalesCycleDays)},
		{Label: "Quota attainment", Value: pctString(k.QuotaAttainment), Note: "quota " + moneyPtr(k.Quota, cur)},
		{Label: "Reps at quota", Value: pctString(k.QuotaAttainmentRate), Note: fmt.Sprintf("%d of %d quota-carrying reps", k.RepsAtQuota, k.QuotaCarryingReps)},
		{Label: "Open pipeline", Value: formatMoney(k.OpenPipeline, cur), Note: "weighted " + formatMoney(k.WeightedPipeline, cur)},
		{Label: "Pipeline coverage", Value: ratioString(k.PipelineCoverage), Note: "open pipeline ÷ quota remaining"},
		{Label: "Pipeline velocity", Value: moneyPtr(k.PipelineVelocity, cur), Note: "per day"},
		{Label: "Cohort close rate", Value: pctString(k.CohortCloseRate), Note: fmt.Sprintf("of %d deals created", k.CohortCount)},
	}
	if g := k.SalesGrowth; g != nil {
		t[0].Change = g.VsPreviousPeriod
		t[0].Note += "; vs " + g.SamePeriodLastYear + ": " + pctString(g.VsSamePeriodLastYear)
	}
	if lr := k.LeadResponse; lr != nil {
		t = append(t, tile{Label: "Lead response", Value: minutesString(lr.MedianMinutes), Note: "within 5 min: " + pctString(lr.Within5Minutes) + ", 1 h: " + pctString(lr.Within1Hour)})
	}
	if ts := k.TimeSpentSelling; ts != nil {
		t = append(t, tile{Label: "Time spent selling", Value: pctString(ts.Share), Note: "of logged time"})
	}
	t = append(t, tile{Label: "Meetings per seller", Value: ratioPlain(k.MeetingsPerSeller)},
		tile{Label: "Acquisition cost", Value: moneyPtr(k.CustomerAcquisitionCost, cur), Note: "per new customer"})
	if fa := k.ForecastAccuracy; fa != nil {
		t = append(t, tile{Label: "Forecast accuracy", Value: fmt.Sprintf("%+.1f%%", fa.ErrorPct),
			Note: fmt.Sprintf("history-weighted forecast of %s (%s) vs %s won", formatMoney(decimal.NewFromFloat(fa.Forecast), cur), fa.SnapshotDay, formatMoney(decimal.NewFromFloat(fa.Actual), cur))})
	}
	return t
}

func overviewCharts(ov metrics.Overview) ([]chart, error) {
	var out []chart
	var labels []string
	var won []float64
	for _, p := range ov.Trend {
		labels = append(labels, p.Period)
		won = append(won, p.WonAmount.InexactFloat64())
	}
	c, err := lineChart("Bookings by month", labels, []series{{Name: "Won", Values: won}})
	if err != nil {
		return nil, err
	}
	out = append(out, c)
	for _, pc := range []struct {
		title string
		bars  []metrics.PipelineBar
	}{{"Open pipeline by stage", ov.PipelineByStage}, {"Open pipeline by expected close", ov.PipelineByClosePeriod}} {
		labels, amount, weighted := []string{}, []float64{}, []float64{}
		for _, b := range pc.bars {
			labels = append(labels, b.Label)
			amount = append(amount, b.Amount.InexactFloat64())
			weighted = append(weighted, b.Weighted.InexactFloat64())
		}
		c, err := barChart(pc.title, labels, []series{{Name: "Amount", Values: amount}, {Name: "Weighted", Values: weighted}})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	var stages []string
	var reached []float64
	for _, st := range ov.Funnel {
		stages = append(stages, st.Stage)
		reached = append(reached, float64(st.Reached))
	}
	c, err = funnelChart("Funnel: deals reaching each stage", stages, reached)
	if err != nil {
		return nil, err
	}
	out = append(out, c)
	buckets := []string{"< 50%", "50–75%", "75–100%", "100–125%", "≥ 125%"}
	counts := make([]float64, len(buckets))
	for _, a := range ov.Attainment {
		switch {
		case a.Attainment < 0.5:
			counts[0]++
		case a.Attainment < 0.75:
			counts[1]++
		case a.Attainment < 1:
			counts[2]++
		case a.Attainment < 1.25:
			counts[3]++
		default:
			counts[4]++
		}
	}
	if len(ov.Attainment) == 0 {
		buckets = nil
	}
	c, err = barChart("Quota attainment: reps per band", buckets, []series{{Name: "Reps", Values: counts}})
	if err != nil {
		return nil, err
	}
	return append(out, c), nil
}

func pctString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func ratioString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *v)
}

func ratioPlain(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *v)
}

func daysString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f days", *v)
}

func minutesString(v *float64) string {
	if v == nil {
		return "–"
	}
	if *v >= 120 {
		return fmt.Sprintf("%.1f h", *v/60)
	}
	return fmt.Sprintf("%.0f min", *v)
}

func moneyPtr(d *decimal.Decimal, cur string) string {
	if d == nil {
		return "–"
	}
	return formatMoney(*d, cur)
}

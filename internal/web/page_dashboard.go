package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/shopspring/decimal"
)

// tile is one KPI on a page, with its change where there is one.
type tile struct {
	Label, Value, Note string
	Change             *float64
	ChangeLabel        string // what the change compares with, e.g. "vs FY2026-Q3"
	// Neutral: the change compares a period still running with a whole
	// one, so it is shown without the good/bad colour.
	Neutral bool
}

func (srv *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := srv.dashboardData(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	choices, err := srv.filterChoices(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	role := authOf(r).user.Role
	k := d.Overview.KPIs
	tiles := kpiTiles(k, time.Now())
	var ts tables
	ts.add(tilesTable("summary", "KPIs", tiles), tableOpts{})
	charts := addCharts(r, &ts, overviewCharts(d.Overview, k.Currency, time.Now()))
	if len(d.ByTeam) > 0 {
		ts.add(slicesTable("by-team", "By team", "Team", d.ByTeam, k.Currency, func(s metrics.Slice) string { return string(filterQuery(d.Filter, "team_id", s.Key)) }), tableOpts{HideZeros: true})
	}
	if len(d.ByRep) > 0 && seesIndividuals(role) {
		ts.add(slicesTable("by-rep", "By rep", "Rep", d.ByRep, k.Currency, func(s metrics.Slice) string { return string(filterQuery(d.Filter, "rep_id", s.Key)) }), tableOpts{HideZeros: true, DefaultSort: "-won"})
	}
	if srv.serveExport(w, r, "dashboard", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"D": d, "F": d.Filter, "K": k, "Tiles": tiles, "Charts": charts, "Choices": choices, "T": ts.views(r), "Scope": scopeLabel(role),
		"Query": filterQuery(d.Filter, "", ""),
	})
}

func (srv *Server) handlePerformers(w http.ResponseWriter, r *http.Request) {
	d, err := srv.performersData(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	choices, err := srv.filterChoices(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	cur, err := srv.corporateCurrency(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	ts.add(performersTable("top", "Top quartile", d.Top, cur), tableOpts{})
	ts.add(performersTable("bottom", "Bottom quartile", d.Bottom, cur), tableOpts{})
	if srv.serveExport(w, r, "performers", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "performers", map[string]any{"D": d, "F": d.Filter, "Choices": choices, "T": ts.views(r), "Query": filterQuery(d.Filter, "", "")})
}

func (srv *Server) corporateCurrency(r *http.Request) (string, error) {
	st, err := srv.store.Settings(r.Context())
	return st.CorporateCurrency, err
}

func performersTable(id, title string, ps []metrics.Performer, cur string) export.Table {
	t := export.Table{ID: id, Title: title, Columns: []export.Column{
		{Key: "rep", Label: "Rep"}, {Key: "attainment", Label: "Attainment", Kind: export.Percent},
		{Key: "won", Label: "Won", Kind: export.Money, Currency: cur}, {Key: "win_rate", Label: "Win rate", Kind: export.Percent},
		{Key: "avg_deal", Label: "Avg deal", Kind: export.Money, Currency: cur}, {Key: "cycle", Label: "Cycle", Kind: export.Number},
		{Key: "selling", Label: "Selling time", Kind: export.Percent}, {Key: "meetings", Label: "Meetings / week", Kind: export.Number},
		{Key: "response", Label: "Lead response", Kind: export.Number},
	}}
	for _, p := range ps {
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(p.Name), pctCell(p.Attainment), moneyCell(p.WonAmount, cur), pctCell(p.WinRate),
			moneyPtrCell(p.AvgDealSize, cur), daysCell(p.AvgCycleDays), pctCell(p.SellingShare), ratioCell(p.MeetingsPerWeek), minutesCell(p.MedianResponseMinutes)})
	}
	return t
}

// slicesTable is the KPIs of each team or rep, linking to the drill-down.
func slicesTable(id, title, label string, sl []metrics.Slice, cur string, link func(metrics.Slice) string) export.Table {
	t := export.Table{ID: id, Title: title, Columns: []export.Column{
		{Key: "name", Label: label}, {Key: "won", Label: "Won", Kind: export.Money, Currency: cur},
		{Key: "win_rate", Label: "Win rate", Kind: export.Percent}, {Key: "avg_deal", Label: "Avg deal", Kind: export.Money, Currency: cur},
		{Key: "cycle", Label: "Cycle (days)", Kind: export.Number}, {Key: "attainment", Label: "Attainment", Kind: export.Percent},
		{Key: "open", Label: "Open pipeline closing in period", Kind: export.Money, Currency: cur},
	}}
	for _, s := range sl {
		name := export.TextCell(s.Label)
		name.Link = link(s)
		k := s.KPIs
		t.Rows = append(t.Rows, []export.Cell{name, moneyCell(k.WonAmount, cur), pctCell(k.WinRate), moneyPtrCell(k.AverageDealSize, cur),
			daysCell(k.AverageSalesCycleDays), pctCell(k.QuotaAttainment), moneyCell(k.OpenPipeline, cur)})
	}
	return t
}

// tilesTable is a page's tiles as a table, so the report exports whole.
func tilesTable(id, title string, tiles []tile) export.Table {
	t := export.Table{ID: id, Title: title, Columns: []export.Column{{Key: "figure", Label: "Figure"}, {Key: "value", Label: "Value"}, {Key: "note", Label: "Note"}}}
	for _, tl := range tiles {
		note := tl.Note
		if tl.Change != nil {
			note = pctString(tl.Change) + " " + tl.ChangeLabel + "; " + note
		}
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(tl.Label), export.TextCell(tl.Value), export.TextCell(note)})
	}
	return t
}

// periodLabel names the period of the KPIs for labels: "FY2026-Q4", or "all time".
func periodLabel(k metrics.KPIs) string {
	if k.Period == "" || k.Period == "all" {
		return "all time"
	}
	return k.Period
}

// running reports whether the KPIs' period is still under way at now.
func running(k metrics.KPIs, now time.Time) bool {
	return k.PeriodStart != nil && k.PeriodEnd != nil && !now.Before(k.PeriodStart.Time) && !now.After(k.PeriodEnd.Time.AddDate(0, 0, 1))
}

func kpiTiles(k metrics.KPIs, now time.Time) []tile {
	cur, per := k.Currency, periodLabel(k)
	closing := "Open pipeline closing in " + per
	if per == "all time" {
		closing = "All open pipeline"
	}
	won := tile{Label: "Won in " + per, Value: formatMoney(k.WonAmount, cur), Note: fmt.Sprintf("%d won, %d lost", k.WonCount, k.LostCount)}
	if running(k, now) {
		won.Label += " to date"
	}
	t := []tile{
		won,
		{Label: "Win rate", Value: pctString(k.WinRate), Note: "won ÷ (won + lost), closed in " + per},
		{Label: "Average deal size", Value: moneyPtr(k.AverageDealSize, cur), Note: "won amount ÷ won deals"},
		{Label: "Sales cycle", Value: daysString(k.AverageSalesCycleDays), Note: "median " + daysString(k.MedianSalesCycleDays) + ", won deals"},
		{Label: "Quota attainment", Value: pctString(k.QuotaAttainment), Note: "of quota " + moneyPtr(k.Quota, cur)},
		{Label: "Reps at quota", Value: pctString(k.QuotaAttainmentRate), Note: fmt.Sprintf("%d of %d quota-carrying reps", k.RepsAtQuota, k.QuotaCarryingReps)},
		{Label: closing, Value: formatMoney(k.OpenPipeline, cur), Note: fmt.Sprintf("%d open deals; weighted %s", k.OpenCount, formatMoney(k.WeightedPipeline, cur))},
		{Label: "Pipeline coverage", Value: ratioString(k.PipelineCoverage), Note: "open pipeline closing in " + per + " ÷ quota remaining"},
		{Label: "Pipeline velocity", Value: moneyPtr(k.PipelineVelocity, cur), Note: "per day"},
		{Label: "Cohort close rate", Value: pctString(k.CohortCloseRate), Note: fmt.Sprintf("of %d deals created in %s", k.CohortCount, per)},
	}
	if g := k.SalesGrowth; g != nil {
		t[0].Change, t[0].ChangeLabel = g.VsPreviousPeriod, "vs "+g.PreviousPeriod
		if running(k, now) {
			// A period still running against a whole one: shown, not judged.
			t[0].Neutral, t[0].ChangeLabel = true, "vs all of "+g.PreviousPeriod+" (this period is not over)"
		}
		t[0].Note += "; vs " + g.SamePeriodLastYear + ": " + pctString(g.VsSamePeriodLastYear)
	}
	if lr := k.LeadResponse; lr != nil {
		t = append(t, tile{Label: "Lead response", Value: minutesString(lr.MedianMinutes), Note: "median; within 5 min: " + pctString(lr.Within5Minutes) + ", 1 h: " + pctString(lr.Within1Hour)})
	}
	if ts := k.TimeSpentSelling; ts != nil {
		t = append(t, tile{Label: "Time spent selling", Value: pctString(ts.Share), Note: "of logged time"})
	}
	t = append(t, tile{Label: "Meetings per seller", Value: ratioPlain(k.MeetingsPerSeller), Note: "prospect meetings in " + per},
		tile{Label: "Acquisition cost", Value: moneyPtr(k.CustomerAcquisitionCost, cur), Note: "sales and marketing cost per new customer"})
	if fa := k.ForecastAccuracy; fa != nil {
		t = append(t, tile{Label: "Forecast accuracy", Value: fmt.Sprintf("%+.1f%%", fa.ErrorPct),
			Note: fmt.Sprintf("history-weighted forecast of %s (%s) vs %s won", formatMoney(decimal.NewFromFloat(fa.Forecast), cur), fa.SnapshotDay, formatMoney(decimal.NewFromFloat(fa.Actual), cur))})
	}
	return t
}

// overviewCharts are the dashboard's charts, each with its table twin.
func overviewCharts(ov metrics.Overview, cur string, now time.Time) []chart {
	today := crm.NewDate(now)
	money := func(label string) export.Column {
		return export.Column{Key: "amount", Label: label, Kind: export.Money, Currency: cur}
	}

	bookings := chart{ID: "bookings", Title: "Bookings by month", Kind: "bar", Unit: cur, Money: true, Partial: -1,
		Table: export.Table{Columns: []export.Column{{Key: "month", Label: "Month"}, money("Won"), {Key: "won_count", Label: "Deals won", Kind: export.Count}}}}
	won := chartSeries{Name: "Won"}
	for i, p := range ov.Trend {
		bookings.Categories = append(bookings.Categories, p.Period)
		won.Values = append(won.Values, ptr(p.WonAmount.InexactFloat64()))
		label := p.Period
		if !today.Time.Before(p.Start.Time) && !today.Time.After(p.End.Time) {
			bookings.Partial, label = i, p.Period+" (to date)"
		}
		bookings.Table.Rows = append(bookings.Table.Rows, []export.Cell{export.TextCell(label), moneyCell(p.WonAmount, cur), export.CountCell(p.WonCount)})
	}
	bookings.Series = []chartSeries{won}
	out := []chart{bookings}

	for _, pc := range []struct {
		id, title, dim string
		bars           []metrics.PipelineBar
	}{{"pipeline-by-stage", "Open pipeline by stage", "Stage", ov.PipelineByStage}, {"pipeline-by-close", "Open pipeline by expected close", "Expected close", ov.PipelineByClosePeriod}} {
		c := chart{ID: pc.id, Title: pc.title, Kind: "bar", Unit: cur, Money: true, Partial: -1,
			Table: export.Table{Columns: []export.Column{{Key: "label", Label: pc.dim}, {Key: "deals", Label: "Open deals", Kind: export.Count}, money("Amount"), {Key: "weighted", Label: "Weighted", Kind: export.Money, Currency: cur}}}}
		amount, weighted := chartSeries{Name: "Amount"}, chartSeries{Name: "Weighted"}
		for _, b := range pc.bars {
			c.Categories = append(c.Categories, b.Label)
			amount.Values = append(amount.Values, ptr(b.Amount.InexactFloat64()))
			weighted.Values = append(weighted.Values, ptr(b.Weighted.InexactFloat64()))
			label := b.Label
			if b.Start != nil && b.End != nil && !today.Time.Before(b.Start.Time) && !today.Time.After(b.End.Time) {
				label += " (current)"
			}
			c.Table.Rows = append(c.Table.Rows, []export.Cell{export.TextCell(label), export.CountCell(b.Count), moneyCell(b.Amount, cur), moneyCell(b.Weighted, cur)})
		}
		c.Series = []chartSeries{amount, weighted}
		out = append(out, c)
	}

	funnel := chart{ID: "funnel", Title: "Funnel: deals reaching each stage", Kind: "hbar", Unit: "deals", Partial: -1,
		Table: export.Table{Columns: []export.Column{{Key: "stage", Label: "Stage"}, {Key: "reached", Label: "Reached", Kind: export.Count},
			{Key: "advanced", Label: "Went on", Kind: export.Count}, {Key: "conversion", Label: "Conversion to next", Kind: export.Percent},
			{Key: "lost", Label: "Lost here", Kind: export.Count}, {Key: "days", Label: "Avg days in stage", Kind: export.Number}}}}
	reached := chartSeries{Name: "Reached"}
	for _, st := range ov.Funnel {
		funnel.Categories = append(funnel.Categories, st.Stage)
		reached.Values = append(reached.Values, ptr(float64(st.Reached)))
		// The bar's label is the table's own figure, formatted the same way.
		label := export.CountCell(st.Reached).Display
		if st.ConversionToNext != nil {
			label += " · " + pctString(st.ConversionToNext) + " went on"
		}
		reached.Labels = append(reached.Labels, label)
		funnel.Table.Rows = append(funnel.Table.Rows, []export.Cell{export.TextCell(st.Stage), export.CountCell(st.Reached), export.CountCell(st.Advanced),
			pctCell(st.ConversionToNext), export.CountCell(st.LostHere), daysCell(st.AvgDaysInStage)})
	}
	funnel.Series = []chartSeries{reached}
	out = append(out, funnel)

	bands := []string{"under 50%", "50–75%", "75–100%", "100–125%", "125% or more"}
	counts := make([]float64, len(bands))
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
	att := chart{ID: "attainment", Title: "Quota attainment: reps per band", Kind: "bar", Unit: "reps", Partial: -1,
		Table: export.Table{Columns: []export.Column{{Key: "band", Label: "Attainment"}, {Key: "reps", Label: "Reps", Kind: export.Count}}}}
	if len(ov.Attainment) > 0 {
		att.Categories = bands
		att.Series = []chartSeries{{Name: "Reps", Values: values(counts)}}
		for i, b := range bands {
			att.Table.Rows = append(att.Table.Rows, []export.Cell{export.TextCell(b), export.CountCell(int64(counts[i]))})
		}
	}
	return append(out, att)
}

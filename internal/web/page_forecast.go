package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

func methodName(m string) string {
	if n, ok := forecast.MethodLabels[m]; ok {
		return n
	}
	return m
}

// callForm is the submit form with what was typed and what was wrong.
type callForm struct {
	Period, Commit, BestCase, Pipeline, Reason string
	Errors                                     fieldErrors
	Message                                    string
}

func (srv *Server) handleForecast(w http.ResponseWriter, r *http.Request) {
	srv.renderForecast(w, r, http.StatusOK, nil)
}

// verdict answers "will we hit the number?" in one sentence.
func verdict(rep *forecast.Report, cur string) string {
	t, rec := rep.Target, rep.Recommended
	switch {
	case rep.Actual != nil && t.Quota != nil:
		return fmt.Sprintf("%s ended: %s won against a quota of %s (%s).", rep.Period, money(*rep.Actual, cur), money(*t.Quota, cur), pctString(t.ActualAttainment))
	case rep.Actual != nil:
		return fmt.Sprintf("%s ended: %s won; nobody in this selection carried a quota for it.", rep.Period, money(*rep.Actual, cur))
	case t.Quota == nil:
		return "Nobody in this selection carries a quota for " + rep.Period + ", so there is no number to hit."
	case t.Gap != nil && *t.Gap <= 0:
		return fmt.Sprintf("The quota of %s is already beaten: %s won to date.", money(*t.Quota, cur), money(t.Won, cur))
	case rec == nil && rep.TrackRecordPending:
		return fmt.Sprintf("%s of the quota of %s is still to win; the recommended forecast is being worked out from the methods' track record: reload in a minute.", money(*t.Gap, cur), money(*t.Quota, cur))
	case rec == nil:
		return fmt.Sprintf("%s of the quota of %s is still to win; there is too little history to recommend a forecast (see the methods below).", money(*t.Gap, cur), money(*t.Quota, cur))
	}
	short := *t.Quota - rec.Forecast
	if short <= 0 {
		return fmt.Sprintf("Likely yes: the recommended forecast (%s, %s) is %s of the quota of %s.", rec.Label, money(rec.Forecast, cur), pctString(rec.VsQuota), money(*t.Quota, cur))
	}
	return fmt.Sprintf("Not on the current course: the recommended forecast (%s, %s) is %s of the quota of %s, %s short.", rec.Label, money(rec.Forecast, cur), pctString(rec.VsQuota), money(*t.Quota, cur), money(short, cur))
}

// renderForecast shows /forecast; form is the rejected call to show again.
func (srv *Server) renderForecast(w http.ResponseWriter, r *http.Request, status int, form *callForm) {
	fq, err := forecastQuery(r)
	var rep *forecast.Report
	var fb *forecastBook
	if err == nil {
		rep, fb, err = srv.forecastReport(r, fq)
	}
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	choices, err := srv.filterChoices(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	cur := rep.Currency
	role := authOf(r).user.Role
	t := rep.Target
	var ts tables
	charts := addCharts(r, &ts, forecastCharts(fb.book, rep, cur))

	wonLabel := "Won in " + rep.Period + " to date"
	if rep.Actual != nil {
		// A closed period is shown as forecast on its As-of day, beside what happened.
		wonLabel = "Won by " + rep.AsOf.String() + ", the forecast's day"
	}
	tiles := []tile{
		{Label: "Quota", Value: moneyOpt(t.Quota, cur), Note: fmt.Sprintf("of the %d quota-carrying people in the selection", t.QuotaCarriers)},
		{Label: wonLabel, Value: money(rep.Won, cur), Note: "as of " + rep.AsOf.String() + "; " + pctString(t.Attainment) + " of quota (quota carriers' deals)"},
		{Label: "Gap to quota", Value: moneyOpt(t.Gap, cur), Note: "quota − what quota carriers won"},
	}
	if rep.Actual != nil {
		tiles = append([]tile{{Label: "Won in " + rep.Period + " (actual)", Value: money(*rep.Actual, cur), Note: "the period has ended; " + pctString(t.ActualAttainment) + " of quota"}}, tiles...)
	}
	if rec := rep.Recommended; rec != nil {
		tiles = append(tiles, tile{Label: "Recommended forecast", Value: money(rec.Forecast, cur), Note: fmt.Sprintf("%s of quota. %s", pctString(rec.VsQuota), rec.Why)})
	}
	if cr := rep.CallRollup; cr != nil {
		tiles = append(tiles,
			tile{Label: "Commit (reps' calls)", Value: money(cr.Commit, cur), Note: fmt.Sprintf("%s of quota, from %d reps' latest calls", pctString(cr.CommitVsQuota), cr.Reps)},
			tile{Label: "Best case (reps' calls)", Value: money(cr.BestCase, cur), Note: pctString(cr.BestCaseVsQuota) + " of quota"})
	}
	tiles = append(tiles, tile{Label: "Open pipeline closing in " + rep.Period, Value: money(t.OpenPipeline, cur),
		Note: fmt.Sprintf("coverage %s of the gap; %s open in all, overdue deals included", ratioString(t.Coverage), money(rep.OpenAmount, cur))})
	for _, td := range rep.ToDate {
		what := "the previous period"
		if td.Compare == "same_period_last_year" {
			what = "the same period last year"
		}
		tiles = append(tiles, tile{Label: "Won by the same day of " + td.Period, Value: money(td.Won, cur),
			Note: fmt.Sprintf("%s, by %s (%s in the whole period); this period: %s", what, td.AsOf, money(td.Total, cur), changeText(td.Change))})
	}
	if l := rep.Leads; l != nil {
		tiles = append(tiles, tile{Label: "Leads expected", Value: fmt.Sprintf("%.0f", l.Leads.Forecast),
			Note: fmt.Sprintf("80%% interval %.0f – %.0f · %s", *l.Leads.Lo80, *l.Leads.Hi80, l.Leads.Note)})
	}
	ts.add(tilesTable("summary", "Forecast", tiles), tableOpts{})
	ts.add(methodsTable(rep, cur), tableOpts{})
	if len(rep.Groups) > 0 {
		ts.add(groupsTable(rep, fq.By, cur), tableOpts{HideZeros: true, DefaultSort: "-open"})
	}
	if role != crm.RoleViewer {
		ts.add(callsTable(rep, cur), tableOpts{})
	}
	if srv.serveExport(w, r, "forecast", ts) {
		return
	}
	if form == nil {
		form = &callForm{Period: rep.Period}
	}
	money := func(name, label, value string) formField {
		return formField{Name: name, Label: label + " (" + cur + ")", Value: value, Error: form.Errors[name], InputMode: "decimal", Required: true}
	}
	fields := []formField{
		{Name: "period", Label: "Period", Value: form.Period, Error: form.Errors["period"], Required: true},
		money("commit", "Commit", form.Commit), money("best_case", "Best case", form.BestCase), money("pipeline", "Pipeline", form.Pipeline),
		{Name: "reason", Label: "Reason", Value: form.Reason, Error: form.Errors["reason"], TextArea: true},
	}
	srv.render(w, r, status, "forecast", map[string]any{
		"R": rep, "Q": fq, "Tiles": tiles, "Verdict": verdict(rep, cur), "T": ts.views(r), "Calls": len(rep.Calls),
		"ShowCalls": role != crm.RoleViewer, "CanSubmit": role == crm.RoleRep || role == crm.RoleManager, "Form": form, "Fields": fields, "Charts": charts,
		"Years": choices.Years, "Teams": choices.Teams, "Model": fb.model, "Scope": scopeLabel(role),
		"JSON": template.URL("/api/forecast?" + forecastValues(fq).Encode()), "Export": template.URL("?" + withExportAll(forecastValues(fq))),
	})
}

func withExportAll(v url.Values) string {
	v.Set("export", "all")
	v.Set("format", "xlsx")
	return v.Encode()
}

// methodsTable is every method's forecast with its track record.
func methodsTable(rep *forecast.Report, cur string) export.Table {
	t := export.Table{ID: "methods", Title: "Methods", Columns: []export.Column{{Key: "method", Label: "Method"},
		{Key: "forecast", Label: "Forecast", Kind: export.Money, Currency: cur}, {Key: "vs_quota", Label: "Of quota", Kind: export.Percent},
		{Key: "lo80", Label: "80% low", Kind: export.Money, Currency: cur}, {Key: "hi80", Label: "80% high", Kind: export.Money, Currency: cur},
		{Key: "mape", Label: "Past error (MAPE)", Kind: export.Number}, {Key: "how", Label: "How"}}}
	if rep.Actual != nil {
		t.Columns = append(t.Columns[:6:6], export.Column{Key: "error", Label: "Error vs actual", Kind: export.Number}, t.Columns[6])
	}
	track := map[string]forecast.BacktestSummary{}
	if rep.TrackRecord != nil {
		for _, s := range rep.TrackRecord.Summary {
			if s.Team == "" {
				track[s.Method] = s
			}
		}
	}
	for _, e := range rep.Estimates {
		var vsQuota *float64
		if rep.Target.Quota != nil && *rep.Target.Quota > 0 {
			v := e.Forecast / *rep.Target.Quota
			vsQuota = &v
		}
		name := export.TextCell(e.Label)
		if rep.Recommended != nil && rep.Recommended.Method == e.Method {
			name = export.TextCell(e.Label + " (recommended)")
			name.Tone = "good"
		}
		mape := export.NumberCell(nil, "")
		if s, ok := track[e.Method]; ok && s.MAPE != nil {
			mape = export.NumberCell(s.MAPE, fmt.Sprintf("%.1f%% over %d", *s.MAPE, s.Periods))
		}
		how := e.Note
		f := e.Forecast
		row := []export.Cell{name, floatMoneyCell(&f, cur), pctCell(vsQuota), floatMoneyCell(e.Lo80, cur), floatMoneyCell(e.Hi80, cur), mape}
		if rep.Actual != nil {
			errPct := forecast.PercentError(*rep.Actual, e.Forecast)
			row = append(row, export.NumberCell(errPct, signedPct(errPct)))
		}
		t.Rows = append(t.Rows, append(row, export.TextCell(how)))
	}
	return t
}

// groupsTable is the forecast of each team or rep.
func groupsTable(rep *forecast.Report, by, cur string) export.Table {
	label := "Rep"
	if by == "team" {
		label = "Team"
	}
	t := export.Table{ID: "groups", Title: "By " + strings.ToLower(label), Columns: []export.Column{{Key: "name", Label: label},
		{Key: "won", Label: "Won to date", Kind: export.Money, Currency: cur}, {Key: "open", Label: "Open pipeline closing in " + rep.Period, Kind: export.Money, Currency: cur},
		{Key: "stage", Label: "Stage-weighted", Kind: export.Money, Currency: cur}, {Key: "history", Label: "History-weighted", Kind: export.Money, Currency: cur},
		{Key: "winprob", Label: "Win probability", Kind: export.Money, Currency: cur}}}
	for _, g := range rep.Groups {
		name := g.Name
		if name == "" {
			name = "(no team)"
		}
		cell := export.TextCell(name)
		if by == "team" && g.ID != 0 {
			cell.Link = fmt.Sprintf("/forecast?period=%s&team_id=%d", rep.Period, g.ID)
		}
		est := func(m string) export.Cell {
			if e, ok := g.Estimate(m); ok {
				return floatMoneyCell(&e.Forecast, cur)
			}
			return floatMoneyCell(nil, cur)
		}
		won, open := g.Won, g.OpenInPeriod
		t.Rows = append(t.Rows, []export.Cell{cell, floatMoneyCell(&won, cur), floatMoneyCell(&open, cur),
			est(forecast.MethodStage), est(forecast.MethodHistory), est(forecast.MethodWinProb)})
	}
	return t
}

// callsTable is the latest call of each person in the selection, with
// their team so that two people of one name are told apart.
func callsTable(rep *forecast.Report, cur string) export.Table {
	t := export.Table{ID: "calls", Title: "Calls", Columns: []export.Column{{Key: "who", Label: "Who"}, {Key: "role", Label: "Role"}, {Key: "team", Label: "Team"},
		{Key: "commit", Label: "Commit", Kind: export.Money, Currency: cur}, {Key: "best_case", Label: "Best case", Kind: export.Money, Currency: cur},
		{Key: "pipeline", Label: "Pipeline", Kind: export.Money, Currency: cur}, {Key: "rollup", Label: "Reports' commits", Kind: export.Money, Currency: cur},
		{Key: "reason", Label: "Reason"}, {Key: "version", Label: "Version"}}}
	for _, l := range rep.Calls {
		who := export.TextCell(l.Name)
		if l.Latest.RollupCommit != nil && !l.Latest.RollupCommit.Equal(l.Latest.Commit) {
			who = export.TextCell(l.Name + " (override)")
			who.Tone = "warn"
		}
		t.Rows = append(t.Rows, []export.Cell{who, export.TextCell(string(l.Role)), export.TextCell(l.Team),
			moneyCell(l.Latest.Commit, cur), moneyCell(l.Latest.BestCase, cur), moneyCell(l.Latest.Pipeline, cur), floatMoneyCell(l.Rollup, cur),
			export.TextCell(l.Latest.Reason), export.TextCell(fmt.Sprintf("%d of %d", l.Latest.Version, l.Versions))})
	}
	return t
}

func forecastValues(fq forecast.Query) url.Values {
	v := url.Values{}
	if fq.Period != "" {
		v.Set("period", fq.Period)
	}
	if fq.TeamID != 0 {
		v.Set("team_id", strconv.FormatInt(fq.TeamID, 10))
	}
	if fq.By != "" {
		v.Set("by", fq.By)
	}
	return v
}

// forecastCharts compares the methods (with the actual once known) and
// shows the bookings of the periods before.
func forecastCharts(b *forecast.Book, rep *forecast.Report, cur string) []chart {
	methods := chart{ID: "by-method", Title: "Forecast of " + rep.Period + " by method", Kind: "bar", Unit: cur, Money: true, Partial: -1,
		Table: export.Table{Columns: []export.Column{{Key: "method", Label: "Method"}, {Key: "forecast", Label: "Forecast", Kind: export.Money, Currency: cur}}}}
	fc, actual := chartSeries{Name: "Forecast"}, chartSeries{Name: "Actual"}
	for _, e := range rep.Estimates {
		methods.Categories = append(methods.Categories, e.Label)
		fc.Values = append(fc.Values, ptr(e.Forecast))
		f := e.Forecast
		methods.Table.Rows = append(methods.Table.Rows, []export.Cell{export.TextCell(e.Label), floatMoneyCell(&f, cur)})
		if rep.Actual != nil {
			actual.Values = append(actual.Values, rep.Actual)
		}
	}
	methods.Series = []chartSeries{fc}
	if q := rep.Target.Quota; q != nil {
		methods.Line, methods.LineLabel = q, "Quota "+money(*q, cur)
	}
	if rep.Actual != nil {
		methods.Series = append(methods.Series, actual)
	}
	out := []chart{methods}
	per, err := b.Calendar.ParsePeriod(rep.Period)
	if err != nil {
		return out
	}
	before := per.Start
	if !per.End.After(b.Today) {
		before = per.End
	}
	pers, vals := b.Bookings(per.Grain, before, nil)
	if len(pers) > 8 {
		pers, vals = pers[len(pers)-8:], vals[len(vals)-8:]
	}
	trend := chart{ID: "past-bookings", Title: "Bookings of past periods", Kind: "bar", Unit: cur, Money: true, Partial: -1,
		Table: export.Table{Columns: []export.Column{{Key: "period", Label: "Period"}, {Key: "won", Label: "Won", Kind: export.Money, Currency: cur}}}}
	won := chartSeries{Name: "Won"}
	for i, p := range pers {
		trend.Categories = append(trend.Categories, p.String())
		won.Values = append(won.Values, ptr(vals[i]))
		trend.Table.Rows = append(trend.Table.Rows, []export.Cell{export.TextCell(p.String()), moneyCell(decimal.NewFromFloat(vals[i]), cur)})
	}
	trend.Series = []chartSeries{won}
	return append(out, trend)
}

// handleSubmitForecastPage is POST /forecast: the caller's call from the form.
func (srv *Server) handleSubmitForecastPage(w http.ResponseWriter, r *http.Request) {
	form := &callForm{Period: r.PostFormValue("period"), Commit: strings.TrimSpace(r.PostFormValue("commit")),
		BestCase: strings.TrimSpace(r.PostFormValue("best_case")), Pipeline: strings.TrimSpace(r.PostFormValue("pipeline")),
		Reason: r.PostFormValue("reason"), Errors: fieldErrors{}}
	in := callInput{Period: form.Period, Reason: form.Reason}
	probs := crm.NewProblems("forecast submission")
	for _, f := range []struct {
		name, raw string
		into      *decimal.Decimal
	}{{"commit", form.Commit, &in.Commit}, {"best_case", form.BestCase, &in.BestCase}, {"pipeline", form.Pipeline, &in.Pipeline}} {
		v, err := decimal.NewFromString(strings.ReplaceAll(f.raw, ",", ""))
		if err != nil {
			probs.Add(f.name, "%q is not an amount", f.raw)
		}
		*f.into = v
	}
	err := probs.Err()
	if err == nil {
		_, err = srv.submitCall(r, in)
	}
	if err == nil {
		q := r.URL.Query()
		q.Set("period", form.Period)
		http.Redirect(w, r, "/forecast?"+q.Encode(), http.StatusSeeOther)
		return
	}
	var ve *crm.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			if form.Errors[f.Field] != "" {
				form.Errors[f.Field] += "; "
			}
			form.Errors[f.Field] += f.Reason
		}
		form.Message = "The call was not saved: fix the fields marked below."
		srv.renderForecast(w, r, http.StatusBadRequest, form)
	default:
		srv.pageError(w, r, err)
	}
}

func (srv *Server) handleForecastAccuracy(w http.ResponseWriter, r *http.Request) {
	period, err := srv.forecastPeriod(r)
	var bt forecast.Backtest
	if err == nil {
		bt, err = srv.forecastBacktest(r, forecast.BacktestOptions{Grain: crm.GrainQuarter, Periods: 4, WinProb: true})
	}
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	snaps, err := srv.store.ForecastSnapshots(r.Context(), authOf(r).principal(), period)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	cur, err := srv.corporateCurrency(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	mcol := func(key, label string) export.Column {
		return export.Column{Key: key, Label: label, Kind: export.Money, Currency: cur}
	}
	snapT := export.Table{ID: "snapshots", Title: "Snapshot history", Columns: []export.Column{{Key: "day", Label: "Day"}, {Key: "method", Label: "Method"},
		mcol("forecast", "Forecast"), mcol("lo80", "80% low"), mcol("hi80", "80% high"), mcol("won", "Won to date"), mcol("open", "Open pipeline"),
		{Key: "open_count", Label: "Open deals", Kind: export.Count}}}
	for _, sn := range snaps {
		f, won, open := sn.Forecast, sn.WonAmount, sn.OpenAmount
		snapT.Rows = append(snapT.Rows, []export.Cell{export.TextCell(sn.TakenOn.String()), export.TextCell(methodName(sn.Method)), floatMoneyCell(&f, cur),
			floatMoneyCell(sn.Lo80, cur), floatMoneyCell(sn.Hi80, cur), floatMoneyCell(&won, cur), floatMoneyCell(&open, cur), export.CountCell(int64(sn.OpenCount))})
	}
	sumT := export.Table{ID: "backtest-summary", Title: "Backtest by method", Columns: []export.Column{{Key: "team", Label: "Team"}, {Key: "method", Label: "Method"},
		{Key: "periods", Label: "Periods", Kind: export.Count}, {Key: "mape", Label: "MAPE (%)", Kind: export.Number}, {Key: "bias", Label: "Bias (%)", Kind: export.Number}}}
	for _, sm := range bt.Summary {
		team := sm.Team
		if team == "" {
			team = "All you see"
		}
		mape := "–"
		if sm.MAPE != nil {
			mape = fmt.Sprintf("%.1f%%", *sm.MAPE)
		}
		sumT.Rows = append(sumT.Rows, []export.Cell{export.TextCell(team), export.TextCell(methodName(sm.Method)), export.CountCell(int64(sm.Periods)),
			export.NumberCell(sm.MAPE, mape), export.NumberCell(sm.Bias, signedPct(sm.Bias))})
	}
	pointT := export.Table{ID: "backtest-points", Title: "Backtest by period", Columns: []export.Column{{Key: "method", Label: "Method"}, {Key: "period", Label: "Period"},
		{Key: "as_of", Label: "As of"}, mcol("forecast", "Forecast"), mcol("actual", "Actual"), {Key: "error", Label: "Error (%)", Kind: export.Number}}}
	for _, pt := range bt.Points {
		f, a := pt.Forecast, pt.Actual
		pointT.Rows = append(pointT.Rows, []export.Cell{export.TextCell(methodName(pt.Method)), export.TextCell(pt.Period), export.TextCell(pt.AsOf.String()),
			floatMoneyCell(&f, cur), floatMoneyCell(&a, cur), export.NumberCell(pt.ErrorPct, signedPct(pt.ErrorPct))})
	}
	var ts tables
	ts.add(snapT, tableOpts{PageSize: 50})
	ts.add(sumT, tableOpts{})
	ts.add(pointT, tableOpts{PageSize: 50})
	if srv.serveExport(w, r, "forecast-accuracy", ts) {
		return
	}
	years, err := srv.periodYears(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	srv.render(w, r, http.StatusOK, "forecast_accuracy", map[string]any{
		"Period": period, "Years": years, "T": ts.views(r), "Snapshots": len(snaps), "Backtest": len(bt.Summary) > 0, "Grain": bt.Grain, "Currency": cur,
	})
}

func (srv *Server) handleForecastDealsPage(w http.ResponseWriter, r *http.Request) {
	d, err := srv.forecastDeals(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	// The deals' and owners' names are read from the store: once per data
	// version, not at every view.
	ts, err := cached(srv, r, "deals-page|"+r.URL.Query().Get("limit"), func(context.Context) (tables, error) { return srv.dealTables(r, d) })
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	if srv.serveExport(w, r, "forecast-deals", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "forecast_deals", map[string]any{"Model": d.Model, "T": ts.views(r), "Deals": len(d.Deals)})
}

// dealTables are the scored deals in people's words, and the model's
// inputs for each behind "how this is computed".
func (srv *Server) dealTables(r *http.Request, d forecastDeals) (tables, error) {
	ctx, p := r.Context(), authOf(r).principal()
	cur, err := srv.corporateCurrency(r)
	if err != nil {
		return nil, err
	}
	users, err := srv.store.Users.List(ctx, p, store.ListQuery{Limit: store.MaxPageSize})
	if err != nil {
		return nil, err
	}
	owner := map[int64]string{}
	for _, u := range users.Items {
		owner[u.ID] = u.Name
	}
	deals := export.Table{ID: "deals", Title: "Open deals", Columns: []export.Column{{Key: "deal", Label: "Deal"}, {Key: "owner", Label: "Owner"},
		{Key: "stage", Label: "Stage"}, {Key: "amount", Label: "Amount", Kind: export.Money, Currency: cur}, {Key: "expected", Label: "Expected close"},
		{Key: "win_prob", Label: "Win probability", Kind: export.Percent}, {Key: "stage_prob", Label: "Stage probability", Kind: export.Percent},
		{Key: "why", Label: "Why"}}}
	factors := export.Table{ID: "factors", Title: "Model factors", Columns: []export.Column{{Key: "deal", Label: "Deal"}, {Key: "feature", Label: "Feature"},
		{Key: "value", Label: "Value used"}, {Key: "contribution", Label: "Contribution (log-odds)", Kind: export.Number}, {Key: "capped", Label: "Outside training range"}}}
	for _, sc := range d.Deals {
		name := fmt.Sprintf("deal %d", sc.DealID)
		if o, err := srv.store.Opportunities.Get(ctx, p, sc.DealID); err == nil {
			name = o.Name
		}
		var why []string
		for _, f := range sc.Factors {
			why = append(why, f.Description)
			c := f.Contribution
			capped := ""
			if f.Capped {
				capped = "yes"
			}
			factors.Rows = append(factors.Rows, []export.Cell{export.TextCell(name), export.TextCell(f.Name), export.TextCell(f.Value),
				export.NumberCell(&c, fmt.Sprintf("%+.2f", c)), export.TextCell(capped)})
		}
		amount, wp, sp := sc.Amount, sc.Probability, sc.StageProb
		deals.Rows = append(deals.Rows, []export.Cell{export.TextCell(name), export.TextCell(owner[sc.OwnerID]), export.TextCell(sc.Stage),
			floatMoneyCell(&amount, cur), export.TextCell(sc.Expected), pctCell(&wp), pctCell(&sp), export.TextCell(strings.Join(why, "; "))})
	}
	var ts tables
	ts.add(deals, tableOpts{})
	ts.add(factors, tableOpts{PageSize: 50})
	return ts, nil
}

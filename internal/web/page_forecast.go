package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/shopspring/decimal"
)

// methodNames are the methods as the pages name them.
var methodNames = map[string]string{
	forecast.MethodStage:   "Stage-weighted",
	forecast.MethodHistory: "History-weighted",
	forecast.MethodWinProb: "Win probability",
	forecast.MethodSeries:  "Time series",
	forecast.MethodCommit:  "Reps' commit",
}

func methodName(m string) string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return m
}

func money(v float64) string { return formatMoney(decimal.NewFromFloat(v).Round(0), "") }

func moneyOpt(v *float64) string {
	if v == nil {
		return "–"
	}
	return money(*v)
}

func signedPct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", *v)
}

// estimateRow is one method's forecast as the page shows it.
type estimateRow struct {
	Method, Name, Forecast, Interval, Error, Note string
}

func estimateRows(pf forecast.PeriodForecast) []estimateRow {
	var out []estimateRow
	for _, e := range pf.Estimates {
		row := estimateRow{Method: e.Method, Name: methodName(e.Method), Forecast: money(e.Forecast), Interval: "–", Error: "–", Note: e.Note}
		if e.Lo80 != nil && e.Hi80 != nil {
			row.Interval = money(*e.Lo80) + " – " + money(*e.Hi80)
		}
		if pf.Actual != nil {
			row.Error = signedPct(forecast.PercentError(*pf.Actual, e.Forecast))
		}
		out = append(out, row)
	}
	return out
}

// groupRow is one team's or rep's forecast.
type groupRow struct {
	Name, Won, Open, Stage, History, WinProb string
	ID                                       int64
}

// callRow is one user's latest call.
type callRow struct {
	Name, Role, Commit, BestCase, Pipeline, Rollup, Reason string
	Version, Versions                                      int64
	Override                                               bool
}

// callForm is the submit form with what was typed and what was wrong.
type callForm struct {
	Period, Commit, BestCase, Pipeline, Reason string
	Errors                                     map[string]string
	Message                                    string
}

func (srv *Server) handleForecast(w http.ResponseWriter, r *http.Request) {
	srv.renderForecast(w, r, http.StatusOK, nil)
}

// renderForecast shows /forecast; form is the rejected call to show again.
func (srv *Server) renderForecast(w http.ResponseWriter, r *http.Request, status int, form *callForm) {
	fq, err := forecastQuery(r)
	var rep *forecast.Report
	var fb *forecastBook
	if err == nil {
		rep, fb, err = srv.forecastReport(r, fq)
	}
	if errors.Is(err, crm.ErrInvalid) {
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	}
	if err != nil {
		srv.log.Error("forecast", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	choices, periods, err := srv.periodChoices(r)
	if err != nil {
		srv.log.Error("forecast", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	charts, err := cached(srv, r, fmt.Sprintf("charts|%+v", fq), func() ([]chart, error) { return forecastCharts(fb.book, rep) })
	if err != nil {
		srv.log.Error("forecast charts", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	role := authOf(r).user.Role
	tiles := []tile{
		{Label: "Won to date", Value: money(rep.Won), Note: "as of " + rep.AsOf.String()},
		{Label: "Open pipeline", Value: money(rep.OpenAmount), Note: fmt.Sprintf("%d open deals", rep.OpenCount)},
	}
	if rep.Actual != nil {
		tiles = append(tiles, tile{Label: "Actual", Value: money(*rep.Actual), Note: "the period has ended"})
	}
	for _, e := range estimateRows(rep.PeriodForecast) {
		note := "80% interval " + e.Interval
		if rep.Actual != nil {
			note += " · error " + e.Error
		}
		tiles = append(tiles, tile{Label: e.Name, Value: e.Forecast, Note: note})
	}
	if l := rep.Leads; l != nil {
		tiles = append(tiles, tile{Label: "Leads expected", Value: fmt.Sprintf("%.0f", l.Leads.Forecast),
			Note: fmt.Sprintf("80%% interval %.0f – %.0f · %s", *l.Leads.Lo80, *l.Leads.Hi80, l.Leads.Note)})
	}
	var groups []groupRow
	for _, g := range rep.Groups {
		st, _ := g.Estimate(forecast.MethodStage)
		hi, _ := g.Estimate(forecast.MethodHistory)
		row := groupRow{ID: g.ID, Name: g.Name, Won: money(g.Won), Open: money(g.OpenAmount), Stage: money(st.Forecast), History: money(hi.Forecast), WinProb: "–"}
		if wp, ok := g.Estimate(forecast.MethodWinProb); ok {
			row.WinProb = money(wp.Forecast)
		}
		if row.Name == "" {
			row.Name = "(none)"
		}
		groups = append(groups, row)
	}
	var calls []callRow
	for _, l := range rep.Calls {
		c := callRow{Name: l.Name, Role: string(l.Role), Commit: money(l.Latest.Commit.InexactFloat64()), BestCase: money(l.Latest.BestCase.InexactFloat64()),
			Pipeline: money(l.Latest.Pipeline.InexactFloat64()), Rollup: moneyOpt(l.Rollup), Reason: l.Latest.Reason,
			Version: l.Latest.Version, Versions: l.Versions}
		c.Override = l.Latest.RollupCommit != nil && !l.Latest.RollupCommit.Equal(l.Latest.Commit)
		calls = append(calls, c)
	}
	canSubmit := role == crm.RoleRep || role == crm.RoleManager
	if form == nil {
		form = &callForm{Period: rep.Period}
	}
	srv.render(w, r, status, "forecast", map[string]any{
		"R": rep, "Q": fq, "Tiles": tiles, "Estimates": estimateRows(rep.PeriodForecast), "Groups": groups, "Calls": calls,
		"ShowCalls": role != crm.RoleViewer, "CanSubmit": canSubmit, "Form": form, "Charts": charts,
		"Periods": periods, "Teams": choices.Teams, "Model": fb.model, "JSON": template.URL("/api/forecast?" + forecastValues(fq).Encode()),
	})
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
func forecastCharts(b *forecast.Book, rep *forecast.Report) ([]chart, error) {
	var labels []string
	var fc, actual []float64
	for _, e := range rep.Estimates {
		labels = append(labels, methodName(e.Method))
		fc = append(fc, e.Forecast)
		if rep.Actual != nil {
			actual = append(actual, *rep.Actual)
		}
	}
	ss := []series{{Name: "Forecast", Values: fc}}
	if rep.Actual != nil {
		ss = append(ss, series{Name: "Actual", Values: actual})
	}
	methods, err := barChart("Forecast of "+rep.Period+" by method", labels, ss)
	if err != nil {
		return nil, err
	}
	out := []chart{methods}
	per, err := b.Calendar.ParsePeriod(rep.Period)
	if err != nil {
		return out, nil
	}
	before := per.Start
	if !per.End.After(b.Today) {
		before = per.End
	}
	pers, vals := b.Bookings(per.Grain, before, nil)
	if len(pers) > 8 {
		pers, vals = pers[len(pers)-8:], vals[len(vals)-8:]
	}
	var names []string
	for _, p := range pers {
		names = append(names, p.String())
	}
	trend, err := lineChart("Bookings of past periods", names, []series{{Name: "Won", Values: vals}})
	if err != nil {
		return nil, err
	}
	return append(out, trend), nil
}

// handleSubmitForecastPage is POST /forecast: the caller's call from the form.
func (srv *Server) handleSubmitForecastPage(w http.ResponseWriter, r *http.Request) {
	form := &callForm{Period: r.PostFormValue("period"), Commit: strings.TrimSpace(r.PostFormValue("commit")),
		BestCase: strings.TrimSpace(r.PostFormValue("best_case")), Pipeline: strings.TrimSpace(r.PostFormValue("pipeline")),
		Reason: r.PostFormValue("reason"), Errors: map[string]string{}}
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
	case errors.Is(err, crm.ErrForbidden):
		srv.render(w, r, http.StatusForbidden, "error", map[string]any{"Message": "Your role does not submit forecast calls."})
	default:
		srv.log.Error("submit forecast", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// snapshotRow is one row of the snapshot history.
type snapshotRow struct {
	Day, Method, Forecast, Interval, Won, Open string
}

// backtestRow is one method's accuracy, or one period of it.
type backtestRow struct {
	Team, Method, Period, AsOf, Forecast, Actual, Error, MAPE, Bias string
	Periods                                                         int
}

func (srv *Server) handleForecastAccuracy(w http.ResponseWriter, r *http.Request) {
	period, err := srv.forecastPeriod(r)
	var bt forecast.Backtest
	if err == nil {
		bt, err = srv.forecastBacktest(r, forecast.BacktestOptions{Grain: crm.GrainQuarter, Periods: 4, WinProb: true})
	}
	if errors.Is(err, crm.ErrInvalid) {
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	}
	if err != nil {
		srv.log.Error("forecast accuracy", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	snaps, err := srv.store.ForecastSnapshots(r.Context(), authOf(r).principal(), period)
	if err != nil {
		srv.log.Error("forecast accuracy", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var snapRows []snapshotRow
	for _, s := range snaps {
		row := snapshotRow{Day: s.TakenOn.String(), Method: methodName(s.Method), Forecast: money(s.Forecast), Interval: "–",
			Won: money(s.WonAmount), Open: fmt.Sprintf("%s (%d deals)", money(s.OpenAmount), s.OpenCount)}
		if s.Lo80 != nil && s.Hi80 != nil {
			row.Interval = money(*s.Lo80) + " – " + money(*s.Hi80)
		}
		snapRows = append(snapRows, row)
	}
	var summary, points []backtestRow
	for _, s := range bt.Summary {
		mape := "–"
		if s.MAPE != nil {
			mape = fmt.Sprintf("%.1f%%", *s.MAPE)
		}
		summary = append(summary, backtestRow{Team: s.Team, Method: methodName(s.Method), Periods: s.Periods, MAPE: mape, Bias: signedPct(s.Bias)})
	}
	for _, p := range bt.Points {
		points = append(points, backtestRow{Team: p.Team, Method: methodName(p.Method), Period: p.Period, AsOf: p.AsOf.String(),
			Forecast: money(p.Forecast), Actual: money(p.Actual), Error: signedPct(p.ErrorPct)})
	}
	_, periods, err := srv.periodChoices(r)
	if err != nil {
		srv.log.Error("forecast accuracy", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "forecast_accuracy", map[string]any{
		"Period": period, "Periods": periods, "Snapshots": snapRows, "Summary": summary, "Points": points, "Grain": bt.Grain,
	})
}

// dealRow is one open deal's score.
type dealRow struct {
	ID, OwnerID                                             int64
	Stage, Amount, Expected, WinProb, StageProb, Difference string
	Factors                                                 []string
}

func factorText(f forecastFactor) string {
	name := f.Name
	if !strings.Contains(name, " = ") {
		name += " = " + f.Value
	}
	return fmt.Sprintf("%s (%+.2f)", name, f.Contribution)
}

// forecastFactor is the part of winprob.Factor the page shows.
type forecastFactor struct {
	Name, Value  string
	Contribution float64
}

func (srv *Server) handleForecastDealsPage(w http.ResponseWriter, r *http.Request) {
	d, err := srv.forecastDeals(r)
	switch {
	case errors.Is(err, crm.ErrForbidden):
		srv.render(w, r, http.StatusForbidden, "error", map[string]any{"Message": "Viewers see aggregate forecasts only, not deals."})
		return
	case errors.Is(err, crm.ErrInvalid):
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	case err != nil:
		srv.log.Error("forecast deals", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var rows []dealRow
	for _, s := range d.Deals {
		row := dealRow{ID: s.DealID, OwnerID: s.OwnerID, Stage: s.Stage, Amount: money(s.Amount), Expected: s.Expected,
			WinProb: fmt.Sprintf("%.0f%%", s.Probability*100), StageProb: fmt.Sprintf("%.0f%%", s.StageProb*100),
			Difference: fmt.Sprintf("%+.0f pts", (s.Probability-s.StageProb)*100)}
		for _, f := range s.Factors {
			row.Factors = append(row.Factors, factorText(forecastFactor{Name: f.Name, Value: f.Value, Contribution: f.Contribution}))
		}
		rows = append(rows, row)
	}
	srv.render(w, r, http.StatusOK, "forecast_deals", map[string]any{"Model": d.Model, "Deals": rows})
}

// periodChoices are the fiscal periods of the dashboard's filter, without
// "all time": a forecast is always of one period.
func (srv *Server) periodChoices(r *http.Request) (filterChoices, []string, error) {
	choices, err := srv.filterChoices(r)
	if err != nil {
		return choices, nil, err
	}
	var periods []string
	for _, p := range choices.Periods {
		if p != "all" {
			periods = append(periods, p)
		}
	}
	return choices, periods, nil
}

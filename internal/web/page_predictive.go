package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/leads"
)

// The predictive model page (/leads/predictive): the latest run's AUC with
// and without the excluded fields, its Brier score and reliability, the
// candidates, the leads by chance to convert (those the user may see), and
// for ops the form that trains again with another exclude list.

// predictiveForm is the retrain form with what was typed and what was wrong.
type predictiveForm struct {
	Exclude string
	Errors  fieldErrors
	Message string
}

func (srv *Server) handlePredictivePage(w http.ResponseWriter, r *http.Request) {
	srv.renderPredictive(w, r, http.StatusOK, nil)
}

func (srv *Server) renderPredictive(w http.ResponseWriter, r *http.Request, status int, form *predictiveForm) {
	p := authOf(r).principal()
	run, err := leads.LatestPredictive(r.Context(), srv.store, p)
	if err != nil && !errors.Is(err, crm.ErrNotFound) {
		srv.pageError(w, r, err)
		return
	}
	if form == nil {
		form = &predictiveForm{}
		if run != nil {
			form.Exclude = strings.Join(run.Options.Exclude, ", ")
		}
	}
	field := formField{Name: "exclude", Label: "Fields to leave out (comma-separated; a trailing * matches a prefix, e.g. custom.asymmetrique_*)",
		Value: form.Exclude, Error: form.Errors["exclude"], TextArea: true}
	data := map[string]any{"Run": run, "Form": form, "Field": field, "MayTrain": p.Role.SeesAll(), "MinPerOutcome": 200}
	if run == nil {
		srv.render(w, r, status, "predictive", data)
		return
	}
	list, err := leads.Predictions(r.Context(), srv.store, p, leads.PredictionQuery{Limit: leadsListCap})
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	ts.add(predictionsTable(list), tableOpts{PageSize: 50})
	ts.add(candidatesTable(run), tableOpts{})
	ts.add(featuresTable(run), tableOpts{PageSize: 50})
	charts := addCharts(r, &ts, []chart{reliabilityChart(run.Model)})
	if srv.serveExport(w, r, "predictive-model", ts) {
		return
	}
	data["Tiles"], data["Charts"], data["T"] = predictiveTiles(run), charts, ts.views(r)
	data["Shown"], data["Capped"] = len(list), len(list) == leadsListCap
	data["Trained"] = r.URL.Query().Get("trained") == strconv.FormatInt(run.ID, 10)
	data["Patterns"] = strings.Join(run.Options.Exclude, ",") != strings.Join(run.Excluded, ",") // a pattern matched more than its name
	srv.render(w, r, status, "predictive", data)
}

func aucText(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func modelName(f leads.PredictiveFit) string {
	switch f.Chosen {
	case "gbt":
		return fmt.Sprintf("gradient-boosted trees (%d)", f.Trees)
	case "blend":
		return fmt.Sprintf("blend, %.0f%% on %d trees", 100*f.BlendWeight, f.Trees)
	}
	return "logistic regression"
}

func predictiveTiles(run *leads.PredictiveRun) []tile {
	h := run.Model.Holdout
	held := fmt.Sprintf("on %s held-out leads", export.CountCell(int64(h.Rows)).Display)
	without := tile{Label: "AUC without the excluded fields", Value: aucText(run.AUC),
		Note: held + " · " + modelName(run.Model) + " · scores the leads"}
	if len(run.Excluded) == 0 {
		without.Note = "nothing is excluded: the same model as with every field"
	}
	brier := tile{Label: "Brier score", Value: "–", Note: "mean squared error of the probability, 0 is perfect"}
	if h.Brier != nil {
		brier.Value = strconv.FormatFloat(*h.Brier, 'f', 3, 64)
		if h.BaseRate != nil {
			b := *h.BaseRate
			brier.Note += fmt.Sprintf("; always saying %.0f%% scores %.3f", 100*b, b*(1-b))
		}
	}
	return []tile{
		{Label: "AUC with every field", Value: aucText(run.AUCAllFields),
			Note: held + " · " + modelName(run.AllFields) + " (0.5 is chance, 1 perfect)"},
		without,
		brier,
		{Label: "Leads trained on", Value: export.CountCell(int64(run.TrainedOn)).Display,
			Note: fmt.Sprintf("%s converted · %s disqualified, as of %s UTC", export.CountCell(int64(run.Converted)).Display,
				export.CountCell(int64(run.Disqualified)).Display, run.TrainedAt.Format("2006-01-02 15:04"))},
	}
}

func binName(b leads.ReliabilityRow) string {
	return fmt.Sprintf("%.0f–%.0f%%", 100*b.Lo, 100*b.Hi)
}

// reliabilityChart draws, per bin of predicted probability on the holdout,
// the mean prediction next to the share that converted: a calibrated model
// has the two lines on top of each other.
func reliabilityChart(f leads.PredictiveFit) chart {
	c := chart{ID: "reliability", Title: "Predicted and observed conversion on the held-out leads", Kind: "line", Unit: "%", Partial: -1,
		Note: "Leads set aside from training, grouped by their predicted chance to convert: the mean prediction of each group against the share that converted."}
	pred, obs := chartSeries{Name: "Predicted (mean)"}, chartSeries{Name: "Converted"}
	t := export.Table{Columns: []export.Column{{Key: "predicted", Label: "Predicted"}, {Key: "leads", Label: "Leads", Kind: export.Count},
		{Key: "mean_predicted", Label: "Mean predicted", Kind: export.Percent}, {Key: "converted", Label: "Converted", Kind: export.Percent}}}
	pct := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		return ptr(100 * *v)
	}
	for _, b := range f.Holdout.Reliability {
		c.Categories = append(c.Categories, binName(b))
		pred.Values = append(pred.Values, pct(b.MeanPredicted))
		obs.Values = append(obs.Values, pct(b.ObservedRate))
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(binName(b)), export.CountCell(int64(b.Count)), pctCell(b.MeanPredicted), pctCell(b.ObservedRate)})
	}
	c.Series, c.Table = []chartSeries{pred, obs}, t
	return c
}

func candidatesTable(run *leads.PredictiveRun) export.Table {
	t := export.Table{ID: "candidates", Title: "Candidate models on the held-out leads", Columns: []export.Column{
		{Key: "fields", Label: "Fields"}, {Key: "model", Label: "Model"}, {Key: "auc", Label: "AUC", Kind: export.Number},
		{Key: "brier", Label: "Brier", Kind: export.Number}, {Key: "log_loss", Label: "Log-loss", Kind: export.Number}, {Key: "chosen", Label: "Chosen"}}}
	num := func(v *float64) export.Cell {
		if v == nil {
			return export.Cell{Display: "–"}
		}
		return export.NumberCell(v, strconv.FormatFloat(*v, 'f', 4, 64))
	}
	add := func(label string, f leads.PredictiveFit) {
		for i, c := range f.Candidates {
			chosen := export.TextCell("")
			if i == 0 {
				chosen = export.TextCell("chosen")
				chosen.Tone = "good"
			}
			t.Rows = append(t.Rows, []export.Cell{export.TextCell(label), export.TextCell(c.Model), num(c.AUC), num(c.Brier), num(c.LogLoss), chosen})
		}
	}
	if len(run.Excluded) > 0 {
		add("without the excluded", run.Model)
		add("every field", run.AllFields)
	} else {
		add("every field", run.Model)
	}
	return t
}

func featuresTable(run *leads.PredictiveRun) export.Table {
	t := export.Table{ID: "features", Title: "Fields of the model in use", Columns: []export.Column{
		{Key: "field", Label: "Field"}, {Key: "use", Label: "Used as"}, {Key: "missing", Label: "Missing", Kind: export.Count},
		{Key: "levels", Label: "Distinct values", Kind: export.Count}}}
	for _, c := range run.Model.Columns {
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(c.Name), export.TextCell(string(c.Kind)), export.CountCell(int64(c.Missing)), export.CountCell(int64(c.Levels))})
	}
	for _, d := range run.Model.Dropped {
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(d.Name), export.TextCell("not used: " + d.Reason), {Display: ""}, {Display: ""}})
	}
	for _, name := range run.Excluded {
		c := export.TextCell("excluded")
		c.Tone = "warn"
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(name), c, {Display: ""}, {Display: ""}})
	}
	return t
}

func predictionsTable(list []leads.LeadPrediction) export.Table {
	t := export.Table{ID: "predictions", Title: "Leads by chance to convert", Columns: []export.Column{
		{Key: "lead", Label: "Lead"}, {Key: "company", Label: "Company"}, {Key: "status", Label: "Status"},
		{Key: "chance", Label: "Chance to convert", Kind: export.Percent}, {Key: "top_factor", Label: "Largest factor"}}}
	for _, lp := range list {
		name := export.TextCell(lp.Name)
		if lp.Name == "" {
			name = export.TextCell(fmt.Sprintf("Lead %d", lp.LeadID))
		}
		name.Link = fmt.Sprintf("/leads/%d", lp.LeadID)
		top := ""
		if len(lp.Factors) > 0 {
			top = factorLabel(lp.Factors[0].Name, lp.Factors[0].Value) + " (" + signed(lp.Factors[0].Contribution) + ")"
		}
		prob := lp.Probability
		t.Rows = append(t.Rows, []export.Cell{name, export.TextCell(lp.Company), export.TextCell(lp.Status), pctCell(&prob), export.TextCell(top)})
	}
	return t
}

// factorLabel is a factor as read: "custom.tags = Will revert",
// "events.email_opened = 3", "annual_revenue = 653,100,000".
func factorLabel(name, value string) string {
	if strings.Contains(name, " = ") {
		return name
	}
	if x, err := strconv.ParseFloat(value, 64); err == nil && x == math.Trunc(x) && math.Abs(x) < 1e15 {
		value = export.CountCell(int64(x)).Display
	} else if err == nil {
		value = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return name + " = " + value
}

// signed is a contribution in log-odds with its sign: "+1.37", "-0.47".
func signed(x float64) string {
	switch s := strconv.FormatFloat(x, 'f', 2, 64); {
	case s == "-0.00", s == "0.00":
		return "0.00"
	case strings.HasPrefix(s, "-"):
		return s
	default:
		return "+" + s
	}
}

// leadPrediction is the lead page's "Chance to convert": its tile, with
// the factors table added to ts; no tile when the latest run did not score
// the lead (or no model was trained).
func (srv *Server) leadPrediction(r *http.Request, id int64, ts *tables) ([]tile, error) {
	lp, err := leads.PredictionFor(r.Context(), srv.store, authOf(r).principal(), id)
	if errors.Is(err, crm.ErrNotFound) {
		return []tile{}, nil
	}
	if err != nil {
		return nil, err
	}
	note := "by the predictive model trained " + lp.TrainedAt.Format("2006-01-02")
	if lp.Decided {
		note += "; the lead is " + lp.Status + " and was trained on, so this is not a forecast"
	}
	t := export.Table{ID: "prediction-factors", Title: "Why this chance", Columns: []export.Column{
		{Key: "factor", Label: "Factor"}, {Key: "contribution", Label: "Log-odds", Kind: export.Number}}}
	for _, f := range lp.Factors {
		c := f.Contribution
		cell := export.NumberCell(&c, signed(c))
		if c < 0 {
			cell.Tone = "bad"
		} else {
			cell.Tone = "good"
		}
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(factorLabel(f.Name, f.Value)), cell})
	}
	ts.add(t, tableOpts{})
	return []tile{{Label: "Chance to convert", Value: pctString(&lp.Probability), Note: note}}, nil
}

// handleTrainPredictivePage is POST /leads/predictive: ops trains again
// with the exclude list of the form.
func (srv *Server) handleTrainPredictivePage(w http.ResponseWriter, r *http.Request) {
	form := &predictiveForm{Exclude: r.PostFormValue("exclude"), Errors: fieldErrors{}}
	opts := leads.PredictiveOptions{}
	for _, v := range strings.FieldsFunc(form.Exclude, func(c rune) bool { return c == ',' || c == '\n' || c == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			opts.Exclude = append(opts.Exclude, v)
		}
	}
	run, err := leads.TrainPredictive(r.Context(), srv.store, authOf(r).principal(), opts, time.Now().UTC())
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/leads/predictive?trained=%d", run.ID), http.StatusSeeOther)
		return
	}
	var ve *crm.ValidationError
	var few *leads.TooFewLeadsError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			if f.Field != "exclude" { // no field of the form: said at the top
				form.Message += f.Reason + ". "
				continue
			}
			if form.Errors[f.Field] != "" {
				form.Errors[f.Field] += "; "
			}
			form.Errors[f.Field] += f.Reason
		}
		form.Message = "The model was not trained: the probabilities are as they were. " + form.Message
		if form.Errors["exclude"] != "" {
			form.Message += "Fix the field marked below."
		}
	case errors.As(err, &few):
		form.Message = "The model was not trained: " + few.Error() + "."
	default:
		srv.pageError(w, r, err)
		return
	}
	srv.renderPredictive(w, r, http.StatusBadRequest, form)
}

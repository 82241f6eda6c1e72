package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/leads"
)

// leadsListCap bounds the leads one page loads to sort, search and page
// through; the grade and MQL filters narrow past it, the API pages past it.
const leadsListCap = 10_000

func pointsCell(x float64) export.Cell {
	return export.NumberCell(&x, leads.FormatPoints(x))
}

func timeCell(t *time.Time) export.Cell {
	if t == nil {
		return export.Cell{Display: "–"}
	}
	return export.TextCell(t.Format("2006-01-02"))
}

func (srv *Server) handleLeadsPage(w http.ResponseWriter, r *http.Request) {
	// ?deleted=ID: the lead page's delete came back here; say so.
	var deleted int64
	if v := r.URL.Query(); v.Has("deleted") {
		deleted, _ = strconv.ParseInt(v.Get("deleted"), 10, 64)
		v.Del("deleted")
		r.URL.RawQuery = v.Encode()
	}
	q, err := scoreQuery(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	p := authOf(r).principal()
	active, err := srv.activeModels(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	if len(active) == 0 {
		srv.render(w, r, http.StatusOK, "leads", map[string]any{"NoModel": true, "Deleted": deleted})
		return
	}
	segments, err := leads.SegmentNames(r.Context(), srv.store)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	q.Limit = leadsListCap
	list, v, err := leads.Scores(r.Context(), srv.store, p, q)
	if err == nil && q.Model == "" {
		q.Model = v.Name
	}
	var rep *leads.ModelReport
	if err == nil {
		rep, err = leads.Report(r.Context(), srv.store, p, v.ID, "")
	}
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	t := export.Table{ID: "leads", Title: "Leads by score", Columns: []export.Column{
		{Key: "lead", Label: "Lead"}, {Key: "company", Label: "Company"}, {Key: "source", Label: "Source"},
		{Key: "country", Label: "Country"}, {Key: "status", Label: "Status"},
		{Key: "score", Label: "Score", Kind: export.Number}, {Key: "grade", Label: "Grade"}, {Key: "mql", Label: "MQL"},
		{Key: "fit", Label: "Fit", Kind: export.Number}, {Key: "engagement", Label: "Engagement", Kind: export.Number},
		{Key: "last_engaged", Label: "Last engaged"}}}
	for _, l := range list {
		name := export.TextCell(l.Name)
		if l.Name == "" {
			name = export.TextCell(fmt.Sprintf("Lead %d", l.LeadID))
		}
		name.Link = fmt.Sprintf("/leads/%d", l.LeadID)
		mql := export.TextCell("")
		if l.MQL {
			mql = export.TextCell("MQL")
			mql.Tone = "good"
		}
		t.Rows = append(t.Rows, []export.Cell{name, export.TextCell(l.Company), export.TextCell(l.Source), export.TextCell(l.Country),
			export.TextCell(l.Status), pointsCell(l.Score), export.TextCell(l.Grade), mql, pointsCell(l.Fit), pointsCell(l.Engagement), timeCell(l.LastEngaged)})
	}
	var ts tables
	ts.add(t, tableOpts{PageSize: 50})
	ts.add(gradeTable(rep), tableOpts{})
	charts := addCharts(r, &ts, []chart{gradeChart(rep)})
	if srv.serveExport(w, r, "leads", ts) {
		return
	}
	mqlShare := ratio(rep.MQLs, rep.Leads)
	tiles := []tile{
		{Label: "Leads scored", Value: export.CountCell(rep.Leads).Display, Note: "by " + v.Name + " version " + strconv.FormatInt(v.Version, 10)},
		{Label: "Marketing-qualified", Value: export.CountCell(rep.MQLs).Display, Note: pctString(mqlShare) + " of scored leads, score ≥ " + leads.FormatPoints(v.Model().Doc.MQL)},
		aucTile(rep),
	}
	srv.render(w, r, http.StatusOK, "leads", map[string]any{"Deleted": deleted, "T": ts.views(r), "Charts": charts, "Tiles": tiles, "Q": q, "Models": active,
		"Version": v, "Segments": segments, "Shown": len(list), "Capped": len(list) == leadsListCap, "Report": rep, "Grades": v.Model().Doc.Grades})
}

func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	x := float64(a) / float64(b)
	return &x
}

func aucTile(rep *leads.ModelReport) tile {
	t := tile{Label: "Does the score sort leads?", Value: "–", Note: rep.AUCNote}
	if rep.AUC != nil {
		t.Value = strconv.FormatFloat(*rep.AUC, 'f', 3, 64)
		t.Note = "AUC " + rep.AUCNote + " (0.5 is chance, 1 perfect)"
	}
	return t
}

func gradeTable(rep *leads.ModelReport) export.Table {
	t := export.Table{ID: "grades", Title: "How each grade turned out", Columns: []export.Column{
		{Key: "grade", Label: "Grade"}, {Key: "leads", Label: "Leads", Kind: export.Count},
		{Key: "avg_score", Label: "Average score", Kind: export.Number}, {Key: "converted", Label: "Converted", Kind: export.Count},
		{Key: "disqualified", Label: "Disqualified", Kind: export.Count}, {Key: "open", Label: "Still open", Kind: export.Count},
		{Key: "conversion", Label: "Conversion", Kind: export.Percent}}}
	for _, g := range rep.Grades {
		name := g.Grade
		if name == "" {
			name = "(none)"
		}
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(name), export.CountCell(g.Leads), pointsCell(g.AvgScore),
			export.CountCell(g.Converted), export.CountCell(g.Disqualified), export.CountCell(g.Open), pctCell(g.Conversion)})
	}
	return t
}

func gradeChart(rep *leads.ModelReport) chart {
	c := chart{ID: "by-grade", Title: "Leads by grade", Kind: "hbar", Unit: "leads", Partial: -1,
		Note: "Each bar: the grade's leads · their conversion, converted ÷ (converted + disqualified)."}
	leadsS := chartSeries{Name: "Leads"}
	for _, g := range rep.Grades {
		c.Categories = append(c.Categories, g.Grade)
		leadsS.Values = append(leadsS.Values, ptr(float64(g.Leads)))
		leadsS.Labels = append(leadsS.Labels, export.CountCell(g.Leads).Display+" · "+pctString(g.Conversion))
	}
	c.Series = []chartSeries{leadsS}
	c.Table = gradeTable(rep)
	return c
}

// activeModels lists the active model versions the user may read.
func (srv *Server) activeModels(r *http.Request) ([]*leads.Version, error) {
	vs, err := leads.Versions(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		return nil, err
	}
	var out []*leads.Version
	for _, v := range vs {
		if v.Active {
			out = append(out, v)
		}
	}
	return out, nil
}

// leadField is one row of the lead's facts.
type leadField struct{ Label, Value string }

func (srv *Server) handleLeadPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	p := authOf(r).principal()
	l, err := srv.store.Leads.Get(r.Context(), p, id)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	ex, err := leads.Explain(r.Context(), srv.store, p, id, 0)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	events, err := srv.store.LeadEvents(r.Context(), p, id)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	var charts []chart
	var tiles []tile
	now := time.Now().UTC()
	for _, e := range ex {
		note := "fit " + leads.FormatPoints(e.Fit) + " · engagement " + leads.FormatPoints(e.Engagement)
		if e.MQL {
			note += " · marketing-qualified"
		}
		tiles = append(tiles, tile{Label: e.Model + " score", Value: leads.FormatPoints(e.Score) + " · " + e.Grade, Note: note})
		hist, err := leads.History(r.Context(), srv.store, p, id, e.Model, now, 30)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		c := chart{ID: "history-" + e.Model, Title: e.Model + ": score over time", Kind: "line", Unit: "points", Partial: -1}
		s := chartSeries{Name: "Score"}
		ht := export.Table{Columns: []export.Column{{Key: "day", Label: "Day"}, {Key: "score", Label: "Score", Kind: export.Number}}}
		for _, h := range hist {
			day := h.Day.Format("2006-01-02")
			c.Categories = append(c.Categories, day)
			s.Values = append(s.Values, ptr(h.Score))
			ht.Rows = append(ht.Rows, []export.Cell{export.TextCell(day), pointsCell(h.Score)})
		}
		c.Series, c.Table = []chartSeries{s}, ht
		charts = append(charts, c)
		log := export.Table{ID: "why-" + e.Model, Title: e.Model + ": why this score", Columns: []export.Column{
			{Key: "at", Label: "When"}, {Key: "points", Label: "Points", Kind: export.Number}, {Key: "raw_points", Label: "Before decay", Kind: export.Number},
			{Key: "part", Label: "Part"}, {Key: "rule", Label: "Rule"}, {Key: "cause", Label: "Because"}}}
		for _, line := range e.Lines {
			pts := pointsCell(line.Points)
			if line.Points < 0 {
				pts.Tone = "bad"
			}
			log.Rows = append(log.Rows, []export.Cell{export.TextCell(line.At.Format("2006-01-02 15:04")), pts, pointsCell(line.RawPoints),
				export.TextCell(line.Part), export.TextCell(line.Rule), export.TextCell(line.Cause)})
		}
		total := e.Score
		log.Rows = append(log.Rows, []export.Cell{export.TextCell("Total"), export.NumberCell(&total, leads.FormatPoints(total)), {Display: ""},
			export.TextCell(""), export.TextCell(""), export.TextCell("the score is the sum of the lines above")})
		ts.add(log, tableOpts{PageSize: 100})
	}
	evt := export.Table{ID: "events", Title: "Engagement", Columns: []export.Column{{Key: "at", Label: "When"}, {Key: "kind", Label: "Event"}, {Key: "detail", Label: "Detail"}}}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		evt.Rows = append(evt.Rows, []export.Cell{export.TextCell(e.OccurredAt.Format("2006-01-02 15:04")), export.TextCell(e.Kind), export.TextCell(e.Detail)})
	}
	ts.add(evt, tableOpts{PageSize: 25})
	// The automations that touched the lead (page_automation.go).
	runs, err := automation.Runs(r.Context(), srv.store, authOf(r).principal(), automation.RunQuery{Entity: "lead", RecordID: id})
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	ts.add(runTable("automations", "Automations", runs), tableOpts{PageSize: 25})
	// Predictive scoring (page_predictive.go): the chance to convert, when the latest run scored the lead.
	prediction, err := srv.leadPrediction(r, id, &ts)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	views := addCharts(r, &ts, charts)
	if srv.serveExport(w, r, fmt.Sprintf("lead-%d", id), ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "lead", map[string]any{"L": l, "Name": leadName(l), "Facts": leadFacts(l), "Tiles": tiles,
		"Charts": views, "T": ts.views(r), "Scores": ex, "Prediction": prediction, "MayDelete": p.Role != crm.RoleViewer})
}

// handleDeleteLeadPage is POST /leads/{id}/delete, from the lead page's
// form: the box saying yes must be ticked.
func (srv *Server) handleDeleteLeadPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		srv.pageError(w, r, invalidParam("confirm", "tick the box saying yes, delete this lead"))
		return
	}
	if err := srv.store.Leads.Delete(r.Context(), authOf(r).principal(), id); err != nil {
		srv.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/leads?deleted=%d", id), http.StatusSeeOther)
}

func leadName(l *crm.Lead) string {
	if n := strings.TrimSpace(l.FirstName + " " + l.LastName); n != "" {
		return n
	}
	return fmt.Sprintf("Lead %d", l.ID)
}

func leadFacts(l *crm.Lead) []leadField {
	var out []leadField
	add := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			out = append(out, leadField{label, v})
		}
	}
	add("Company", l.Company)
	add("Title", l.Title)
	add("Email", l.Email)
	add("Industry", l.Industry)
	if l.Employees != nil {
		add("Employees", export.CountCell(*l.Employees).Display)
	}
	if l.AnnualRevenue != nil {
		add("Annual revenue", formatMoney(*l.AnnualRevenue, ""))
	}
	add("Country", l.Country)
	add("State", l.State)
	add("City", l.City)
	add("Source", l.Source)
	add("Channel", l.Channel)
	add("Status", string(l.Status))
	add("Created", l.CreatedAt.Format("2006-01-02 15:04"))
	for _, k := range sortedKeys(l.CustomFields) {
		add(k, l.CustomFields[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// modelForm is a definition editor (scoring model, segment, rule set)
// with what was typed and what was wrong.
type modelForm struct {
	Source   string
	Problems []definition.Problem
	Message  string
}

// refused fills the form from the error of saving its definition and
// reports whether it was a refusal to show in the editor: problems by
// line, or fields the organisation does not know (a user, a team).
func (f *modelForm) refused(err error, message string) bool {
	var de *definition.Error
	var ve *crm.ValidationError
	switch {
	case errors.As(err, &de):
		f.Problems = de.Problems
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			f.Problems = append(f.Problems, definition.Problem{Field: fe.Field, Reason: fe.Reason})
		}
	default:
		return false
	}
	f.Message = message
	return true
}

func (srv *Server) handleModelsPage(w http.ResponseWriter, r *http.Request) {
	srv.renderModels(w, r, http.StatusOK, nil)
}

func (srv *Server) renderModels(w http.ResponseWriter, r *http.Request, status int, form *modelForm) {
	p := authOf(r).principal()
	vs, err := leads.Versions(r.Context(), srv.store, p)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	all := export.Table{ID: "versions", Title: "Applied versions", Columns: []export.Column{
		{Key: "model", Label: "Model"}, {Key: "version", Label: "Version", Kind: export.Count}, {Key: "active", Label: "Active"},
		{Key: "leads", Label: "Leads scored", Kind: export.Count}, {Key: "applied", Label: "Applied"}, {Key: "file", Label: "File"}}}
	type activeModel struct {
		V      *leads.Version
		Report *leads.ModelReport
		Grades string
	}
	var active []activeModel
	var ts tables
	var charts []chart
	for _, v := range vs {
		act := export.TextCell("")
		if v.Active {
			act = export.TextCell("active")
			act.Tone = "good"
		}
		all.Rows = append(all.Rows, []export.Cell{export.TextCell(v.Name), export.CountCell(v.Version), act, export.CountCell(v.Leads),
			export.TextCell(v.AppliedAt.Format("2006-01-02 15:04")), export.TextCell(v.File)})
		if !v.Active {
			continue
		}
		rep, err := leads.Report(r.Context(), srv.store, p, v.ID, "")
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		gt := gradeTable(rep)
		gt.ID = "grades-" + v.Name
		ts.add(gt, tableOpts{})
		c := gradeChart(rep)
		c.ID, c.Title = "by-grade-"+v.Name, v.Name+": leads by grade"
		charts = append(charts, c)
		active = append(active, activeModel{V: v, Report: rep})
	}
	ts.add(all, tableOpts{PageSize: 50})
	views := addCharts(r, &ts, charts)
	if srv.serveExport(w, r, "scoring-models", ts) {
		return
	}
	if form == nil {
		form = &modelForm{}
		var best *leads.Version // the general model: the one scoring the most leads
		for _, a := range active {
			if best == nil || a.V.Leads > best.Leads {
				best = a.V
			}
		}
		if best != nil {
			form.Source = best.Source
		}
	}
	srv.render(w, r, status, "scoring_models", map[string]any{"Active": active, "T": ts.views(r), "Charts": views,
		"Form": form, "MayApply": p.Role.SeesAll()})
}

func (srv *Server) handleApplyModelPage(w http.ResponseWriter, r *http.Request) {
	form := &modelForm{Source: r.PostFormValue("source")}
	v, err := leads.Apply(r.Context(), srv.store, authOf(r).principal(), "editor.yaml", []byte(form.Source), time.Now().UTC())
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/leads/models?applied=%d", v.ID), http.StatusSeeOther)
		return
	}
	if form.refused(err, "The model was not applied: the scores are as they were. Fix these lines:") {
		srv.renderModels(w, r, http.StatusBadRequest, form)
		return
	}
	srv.pageError(w, r, err)
}

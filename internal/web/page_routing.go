package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/routing"
)

// fairnessDays is the period the SLA board looks back over.
const fairnessDays = 30

func (srv *Server) handleRoutingPage(w http.ResponseWriter, r *http.Request) {
	srv.renderRouting(w, r, http.StatusOK, nil)
}

func (srv *Server) renderRouting(w http.ResponseWriter, r *http.Request, status int, form *modelForm) {
	p := authOf(r).principal()
	now := time.Now().UTC()
	active, err := routing.Active(r.Context(), srv.store)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	log, err := routing.Log(r.Context(), srv.store, p, 500)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	lt := export.Table{ID: "assignments", Title: "Assignments", Columns: []export.Column{
		{Key: "at", Label: "When"}, {Key: "lead", Label: "Lead"}, {Key: "owner", Label: "Assigned to"},
		{Key: "rule", Label: "Rule"}, {Key: "pool", Label: "Pool"}, {Key: "reason", Label: "Why"}, {Key: "passed_over", Label: "Passed over"}}}
	for _, e := range log {
		lead := export.TextCell(e.Lead)
		if e.Lead == "" {
			lead = export.TextCell(fmt.Sprintf("Lead %d", e.LeadID))
		}
		lead.Link = fmt.Sprintf("/leads/%d", e.LeadID)
		owner := export.TextCell(e.Decision.Owner)
		if e.Decision.Queue {
			owner.Tone = "warn"
		}
		lt.Rows = append(lt.Rows, []export.Cell{export.TextCell(e.AssignedAt.Format("2006-01-02 15:04")), lead, owner,
			export.TextCell(e.Decision.Rule), export.TextCell(e.Decision.Pool), export.TextCell(e.Decision.Reason), export.TextCell(passedOver(e.Decision))})
	}
	breaches, err := routing.Breaches(r.Context(), srv.store, p, 200)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	bt := export.Table{ID: "breaches", Title: "SLA breaches", Columns: []export.Column{
		{Key: "breached", Label: "Found"}, {Key: "lead", Label: "Lead"}, {Key: "owner", Label: "Owner"},
		{Key: "due", Label: "Due"}, {Key: "rule", Label: "Rule"}, {Key: "alert", Label: "Told"}}}
	for _, b := range breaches {
		lead := export.TextCell(b.Lead)
		if b.Lead == "" {
			lead = export.TextCell(fmt.Sprintf("Lead %d", b.LeadID))
		}
		lead.Link = fmt.Sprintf("/leads/%d", b.LeadID)
		bt.Rows = append(bt.Rows, []export.Cell{export.TextCell(b.BreachedAt.Format("2006-01-02 15:04")), lead, export.TextCell(b.Owner),
			export.TextCell(b.DueAt.Format("2006-01-02 15:04")), export.TextCell(b.Rule), export.TextCell(b.Alert)})
	}
	board, teams, err := routing.SLABoard(r.Context(), srv.store, p, now.AddDate(0, 0, -fairnessDays), now)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	sb := slaTable("sla", "Response against the SLA", "Rep", board)
	tb := slaTable("sla-teams", "Response against the SLA by team", "", teams)
	var ts tables
	ts.add(lt, tableOpts{PageSize: 50})
	ts.add(bt, tableOpts{PageSize: 25})
	ts.add(sb, tableOpts{PageSize: 50})
	ts.add(tb, tableOpts{PageSize: 50})
	mayEdit := p.Role.SeesAll()
	from, to, err := routing.AuditPeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), now)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	if mayEdit && active != nil {
		fair, err := routing.Fairness(r.Context(), srv.store, p, from, to)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		ft := export.Table{ID: "fairness", Title: "Fairness audit", Columns: []export.Column{
			{Key: "pool", Label: "Pool"}, {Key: "rep", Label: "Rep"}, {Key: "leads", Label: "Leads", Kind: export.Count},
			{Key: "share", Label: "Share", Kind: export.Percent}, {Key: "expected", Label: "By weight", Kind: export.Percent},
			{Key: "drift", Label: "Drift"}, {Key: "skipped", Label: "Passed over"}}}
		for _, f := range fair {
			share, exp := f.Share, f.Expected
			drift := export.TextCell("")
			if f.Drift {
				drift = export.TextCell("drift")
				drift.Tone = "bad"
			}
			ft.Rows = append(ft.Rows, []export.Cell{export.TextCell(f.Pool), export.TextCell(f.Rep), export.CountCell(int64(f.Leads)),
				pctCell(&share), pctCell(&exp), drift, export.TextCell(f.SkipReasons())})
		}
		ts.add(ft, tableOpts{PageSize: 50, HideZeros: true})
		pools, err := routing.Pools(r.Context(), srv.store, p, now)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		pt := export.Table{ID: "pools", Title: "Pools now", Columns: []export.Column{
			{Key: "pool", Label: "Pool"}, {Key: "method", Label: "Method"}, {Key: "rep", Label: "Rep"}, {Key: "team", Label: "Team"},
			{Key: "weight", Label: "Weight", Kind: export.Number}, {Key: "open", Label: "Open leads", Kind: export.Count},
			{Key: "today", Label: "Given today", Kind: export.Count}, {Key: "now", Label: "Now"}}}
		for _, pl := range pools {
			method := strings.ReplaceAll(pl.Method, "_", " ")
			for _, m := range pl.Members {
				state := export.TextCell("available")
				if m.Email == pl.Next {
					state = export.TextCell("available, next in turn")
				}
				if m.Skipped != "" {
					state = export.TextCell(m.Skipped)
					state.Tone = "warn"
				}
				weight := m.Weight
				pt.Rows = append(pt.Rows, []export.Cell{export.TextCell(pl.Name), export.TextCell(method), export.TextCell(m.Email), export.TextCell(m.Team),
					export.NumberCell(&weight, strconv.FormatFloat(weight, 'f', -1, 64)), export.CountCell(int64(m.Open)), export.CountCell(int64(m.Today)), state})
			}
		}
		ts.add(pt, tableOpts{PageSize: 50})
	}
	if srv.serveExport(w, r, "routing", ts) {
		return
	}
	if form == nil {
		form = &modelForm{}
		if active != nil {
			form.Source = active.Source
		}
	}
	srv.render(w, r, status, "routing", map[string]any{"Active": active, "T": ts.views(r), "Form": form,
		"MayEdit": mayEdit, "Days": fairnessDays, "From": from.Format(time.DateOnly), "To": to.Add(-time.Nanosecond).Format(time.DateOnly)})
}

// passedOver summarises the reps a decision passed over, by reason.
func passedOver(d routing.Decision) string {
	var order []string
	n := map[string]int{}
	for _, c := range d.Considered {
		if c.Skipped == "" {
			continue
		}
		reason, _, _ := strings.Cut(c.Skipped, " (")
		if n[reason] == 0 {
			order = append(order, reason)
		}
		n[reason]++
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%s ×%d", r, n[r])
	}
	return strings.Join(parts, "; ")
}

func (srv *Server) handleApplyRulesetPage(w http.ResponseWriter, r *http.Request) {
	form := &modelForm{Source: r.PostFormValue("source")}
	_, err := routing.Apply(r.Context(), srv.store, authOf(r).principal(), "editor.yaml", []byte(form.Source), time.Now().UTC())
	if err == nil {
		http.Redirect(w, r, "/leads/routing", http.StatusSeeOther)
		return
	}
	if form.refused(err, "The rule set was not applied: routing goes on with the active one. Fix these:") {
		srv.renderRouting(w, r, http.StatusBadRequest, form)
		return
	}
	srv.pageError(w, r, err)
}

// slaTable is the SLA board as a table: a row per rep (repLabel), or per
// team when repLabel is empty.
func slaTable(id, title, repLabel string, rows []routing.SLARow) export.Table {
	var cols []export.Column
	if repLabel != "" {
		cols = append(cols, export.Column{Key: "owner", Label: repLabel})
	}
	cols = append(cols, export.Column{Key: "team", Label: "Team"}, export.Column{Key: "leads", Label: "Leads due", Kind: export.Count},
		export.Column{Key: "within", Label: "Within SLA", Kind: export.Count}, export.Column{Key: "share", Label: "Share within", Kind: export.Percent},
		export.Column{Key: "breaches", Label: "Breaches", Kind: export.Count}, export.Column{Key: "median", Label: "Median response (min)", Kind: export.Number})
	t := export.Table{ID: id, Title: title, Columns: cols}
	for _, b := range rows {
		share := float64(b.WithinSLA) / float64(b.Leads)
		cell := pctCell(&share)
		if share < 0.8 {
			cell.Tone = "warn"
		}
		var row []export.Cell
		if repLabel != "" {
			row = append(row, export.TextCell(b.Owner))
		}
		row = append(row, export.TextCell(b.Team), export.CountCell(int64(b.Leads)), export.CountCell(int64(b.WithinSLA)), cell,
			export.CountCell(int64(b.Breaches)), minutesCell(b.MedianMinutes))
		t.Rows = append(t.Rows, row)
	}
	return t
}

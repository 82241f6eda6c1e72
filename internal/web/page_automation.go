package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
)

// The automation pages: the workflows and the run log (/automation), one
// workflow with its versions, switch, dry run and runs
// (/automation/workflows/{name}), the editor (/automation/edit) and one
// run's steps (/automation/runs/{id}). Reps see the runs on their own
// records; ops, admins and managers (for their teams) define workflows.

// mayDefineWorkflows: who sees the workflows and the editor.
func mayDefineWorkflows(r crm.Role) bool { return r.SeesAll() || r == crm.RoleManager }

func (srv *Server) handleAutomationPage(w http.ResponseWriter, r *http.Request) {
	q, err := runQuery(r.URL.Query(), true)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	if q.Limit == 0 {
		q.Limit = 1000
	}
	p := authOf(r).principal()
	var ts tables
	var count int
	if mayDefineWorkflows(p.Role) {
		vs, err := automation.List(r.Context(), srv.store, p)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		ts.add(workflowTable(vs), tableOpts{PageSize: 50})
		count = len(vs)
	}
	runs, err := automation.Runs(r.Context(), srv.store, p, q)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	ts.add(runTable("runs", "Runs", runs), tableOpts{PageSize: 50})
	if srv.serveExport(w, r, "automation", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "automation", map[string]any{"T": ts.views(r), "Q": q, "States": automation.States,
		"MayDefine": mayDefineWorkflows(p.Role), "Workflows": count, "Runs": len(runs), "Capped": len(runs) == q.Limit})
}

func workflowTable(vs []*automation.Version) export.Table {
	t := export.Table{ID: "workflows", Title: "Workflows", Columns: []export.Column{
		{Key: "name", Label: "Workflow"}, {Key: "trigger", Label: "Trigger"}, {Key: "entity", Label: "Records"},
		{Key: "enabled", Label: "Switch"}, {Key: "version", Label: "Version", Kind: export.Count},
		{Key: "applied", Label: "Applied (UTC)"}, {Key: "description", Label: "What it does"}}}
	for _, v := range vs {
		name := export.TextCell(v.Name)
		name.Link = "/automation/workflows/" + v.Name
		on := export.TextCell("on")
		on.Tone = "good"
		if !v.Enabled {
			on = export.TextCell("off")
			on.Tone = "warn"
		}
		t.Rows = append(t.Rows, []export.Cell{name, export.TextCell(v.Trigger), export.TextCell(v.Entity), on,
			export.CountCell(v.Version), stampCell(v.AppliedAt), export.TextCell(v.Workflow().Doc.Description)})
	}
	return t
}

func runTable(id, title string, runs []automation.Run) export.Table {
	t := export.Table{ID: id, Title: title, Columns: []export.Column{
		{Key: "id", Label: "Run", Kind: export.Count}, {Key: "started", Label: "Started (UTC)"}, {Key: "workflow", Label: "Workflow"},
		{Key: "record", Label: "Record"}, {Key: "depth", Label: "Depth", Kind: export.Count},
		{Key: "state", Label: "State"}, {Key: "error", Label: "Error"}}}
	for _, r := range runs {
		idc := idCell(r.ID)
		idc.Link = "/automation/runs/" + strconv.FormatInt(r.ID, 10)
		rec := export.TextCell(fmt.Sprintf("%s %d", r.Entity, r.RecordID))
		rec.Link = automation.RecordLink(r.Entity, r.RecordID)
		t.Rows = append(t.Rows, []export.Cell{idc, stampCell(r.StartedAt), export.TextCell(r.Workflow), rec,
			export.CountCell(int64(r.Depth)), runStateCell(r.State), export.TextCell(r.Error)})
	}
	return t
}

func runStateCell(state string) export.Cell {
	c := export.TextCell(state)
	switch state {
	case "done":
		c.Tone = "good"
	case "failed":
		c.Tone = "bad"
	case "skipped", "waiting":
		c.Tone = "warn"
	}
	return c
}

func stepTable(id, title string, steps []automation.Step) export.Table {
	t := export.Table{ID: id, Title: title, Columns: []export.Column{
		{Key: "seq", Label: "#", Kind: export.Count}, {Key: "at", Label: "When (UTC)"}, {Key: "step", Label: "Step"},
		{Key: "kind", Label: "Kind"}, {Key: "attempt", Label: "Attempt", Kind: export.Count}, {Key: "outcome", Label: "Outcome"},
		{Key: "detail", Label: "What it saw or did"}, {Key: "error", Label: "Error"}, {Key: "ms", Label: "Took (ms)", Kind: export.Number}}}
	for i, st := range steps {
		ms := st.DurationMS
		out := export.TextCell(st.Outcome)
		switch st.Outcome {
		case "done", "delivered", "resumed", "then":
			out.Tone = "good"
		case "failed":
			out.Tone = "bad"
		case "retry", "timed_out", "waiting", "queued":
			out.Tone = "warn"
		}
		t.Rows = append(t.Rows, []export.Cell{export.CountCell(int64(i + 1)), stampCell(st.At), export.TextCell(st.Step), export.TextCell(st.Kind),
			export.CountCell(int64(st.Attempt)), out, export.TextCell(st.Detail), export.TextCell(st.Error),
			export.NumberCell(&ms, strconv.FormatFloat(ms, 'f', 1, 64))})
	}
	return t
}

func (srv *Server) handleRunPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	run, err := automation.RunByID(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	ts.add(stepTable("steps", "Steps", run.Steps), tableOpts{PageSize: 100})
	if srv.serveExport(w, r, fmt.Sprintf("run-%d", id), ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "automation_run", map[string]any{"T": ts.views(r), "Run": run,
		"Record": automation.RecordLink(run.Entity, run.RecordID)})
}

// workflowView is what the workflow page shows besides its tables.
type workflowView struct {
	Version *automation.Version
	DryRun  *automation.DryRun
	Record  string // the dry run's record id as typed
	Problem string // why the dry run could not run
}

func (srv *Server) handleWorkflowPage(w http.ResponseWriter, r *http.Request) {
	srv.renderWorkflow(w, r, http.StatusOK, &workflowView{})
}

func (srv *Server) renderWorkflow(w http.ResponseWriter, r *http.Request, status int, view *workflowView) {
	p := authOf(r).principal()
	if !mayDefineWorkflows(p.Role) {
		srv.pageError(w, r, crm.ErrForbidden)
		return
	}
	name := r.PathValue("name")
	vs, err := automation.Versions(r.Context(), srv.store, p, name)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	view.Version = vs[0]
	runs, err := automation.Runs(r.Context(), srv.store, p, automation.RunQuery{Workflow: name, Limit: 1000})
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	vt := export.Table{ID: "versions", Title: "Versions", Columns: []export.Column{
		{Key: "version", Label: "Version", Kind: export.Count}, {Key: "applied", Label: "Applied (UTC)"}, {Key: "file", Label: "File"}}}
	for _, v := range vs {
		vt.Rows = append(vt.Rows, []export.Cell{export.CountCell(v.Version), stampCell(v.AppliedAt), export.TextCell(v.File)})
	}
	ts.add(vt, tableOpts{PageSize: 20})
	ts.add(runTable("runs", "Runs", runs), tableOpts{PageSize: 50})
	if view.DryRun != nil {
		ts.add(stepTable("dryrun", "Dry run", view.DryRun.Steps), tableOpts{PageSize: 100})
	}
	if srv.serveExport(w, r, "workflow-"+name, ts) {
		return
	}
	srv.render(w, r, status, "automation_workflow", map[string]any{"T": ts.views(r), "W": view})
}

// handleWorkflowPageAction switches the workflow or dry-runs it.
func (srv *Server) handleWorkflowPageAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p := authOf(r).principal()
	switch r.PostFormValue("action") {
	case "enable", "disable":
		if _, err := automation.SetEnabled(r.Context(), srv.store, p, name, r.PostFormValue("action") == "enable"); err != nil {
			srv.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, "/automation/workflows/"+name, http.StatusSeeOther)
	case "test":
		view := &workflowView{Record: strings.TrimSpace(r.PostFormValue("record_id"))}
		id, err := strconv.ParseInt(view.Record, 10, 64)
		if err != nil || id <= 0 {
			view.Problem = fmt.Sprintf("%q is not a record id", view.Record)
			srv.renderWorkflow(w, r, http.StatusBadRequest, view)
			return
		}
		v, err := automation.Get(r.Context(), srv.store, p, name)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		dr, err := automation.Test(r.Context(), srv.store, p, v.Workflow(), id, time.Now().UTC())
		if errors.Is(err, crm.ErrNotFound) {
			view.Problem = fmt.Sprintf("no %s %d that you can see", v.Entity, id)
			srv.renderWorkflow(w, r, http.StatusBadRequest, view)
			return
		}
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		view.DryRun = dr
		srv.renderWorkflow(w, r, http.StatusOK, view)
	default:
		srv.pageError(w, r, crm.Invalid("form", "action", "must be enable, disable or test"))
	}
}

func (srv *Server) handleWorkflowEditor(w http.ResponseWriter, r *http.Request) {
	form := &modelForm{Source: newWorkflowSource}
	if name := r.URL.Query().Get("name"); name != "" {
		v, err := automation.Get(r.Context(), srv.store, authOf(r).principal(), name)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		form.Source = v.Source
	}
	srv.renderEditor(w, r, http.StatusOK, form)
}

func (srv *Server) renderEditor(w http.ResponseWriter, r *http.Request, status int, form *modelForm) {
	if !mayDefineWorkflows(authOf(r).principal().Role) {
		srv.pageError(w, r, crm.ErrForbidden)
		return
	}
	srv.render(w, r, status, "automation_edit", map[string]any{"Form": form})
}

func (srv *Server) handleWorkflowEditorSave(w http.ResponseWriter, r *http.Request) {
	form := &modelForm{Source: r.PostFormValue("source")}
	v, err := automation.Apply(r.Context(), srv.store, authOf(r).principal(), "editor.yaml", []byte(form.Source), srv.cfg.Channels, time.Now().UTC())
	if err == nil {
		http.Redirect(w, r, "/automation/workflows/"+v.Name, http.StatusSeeOther)
		return
	}
	if form.refused(err, "The workflow was not applied. Fix these:") {
		srv.renderEditor(w, r, http.StatusBadRequest, form)
		return
	}
	srv.pageError(w, r, err)
}

// newWorkflowSource starts the editor with a workflow that shows the parts.
const newWorkflowSource = `# docs/automation.md lists every trigger, step and field.
name: my-workflow
description: What it does, in one line.
trigger: {type: stage_changed, to: [Negotiation]}
when: opportunity.amount >= 50000
reentry: once
steps:
  - create_task: {subject: "Prepare the negotiation of {opportunity.name}", due_in: 2d}
`

package web

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
)

// Automation over JSON:
//   GET  /api/automation/workflows               the latest version of every workflow the caller may see
//   POST /api/automation/workflows               apply one: the YAML as the body, or {"file": ..., "source": ...}
//   GET  /api/automation/workflows/{name}        its latest version with the source, and every version
//   POST /api/automation/workflows/{name}/enable | /disable
//   POST /api/automation/workflows/{name}/test   dry run on {"record_id": N}: what each step would do
//   POST /api/automation/test                    dry run of an unapplied document: {"source": ..., "record_id": N}
//   POST /api/automation/workflows/{name}/run    start it by hand on {"record_ids": [...]}
//   GET  /api/automation/runs                    the run log (workflow, entity, record_id, state, limit)
//   GET  /api/automation/runs/{id}               one run with its steps
//   POST /api/automation/hooks/{name}            a webhook trigger: {"record_id": N}, signed like
//                                                Quarterdeck's own webhooks (docs/automation.md)

func (srv *Server) automationRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/automation/workflows", srv.requireAPI(srv.handleWorkflowsAPI))
	m.HandleFunc("POST /api/automation/workflows", srv.requireAPI(srv.handleApplyWorkflowAPI))
	m.HandleFunc("GET /api/automation/workflows/{name}", srv.requireAPI(srv.handleWorkflowAPI))
	m.HandleFunc("POST /api/automation/workflows/{name}/enable", srv.requireAPI(srv.handleSwitchWorkflowAPI(true)))
	m.HandleFunc("POST /api/automation/workflows/{name}/disable", srv.requireAPI(srv.handleSwitchWorkflowAPI(false)))
	m.HandleFunc("POST /api/automation/workflows/{name}/test", srv.requireAPI(srv.handleTestWorkflowAPI))
	m.HandleFunc("POST /api/automation/test", srv.requireAPI(srv.handleTestWorkflowAPI))
	m.HandleFunc("POST /api/automation/workflows/{name}/run", srv.requireAPI(srv.handleRunWorkflowAPI))
	m.HandleFunc("GET /api/automation/runs", srv.requireAPI(srv.handleRunsAPI))
	m.HandleFunc("GET /api/automation/runs/{id}", srv.requireAPI(srv.handleRunAPI))
	// Authenticated by its signature, not by a session or token.
	m.HandleFunc("POST /api/automation/hooks/{name}", srv.handleHookAPI)

	m.HandleFunc("GET /automation", srv.requirePage(srv.handleAutomationPage))
	m.HandleFunc("GET /automation/edit", srv.requirePage(srv.handleWorkflowEditor))
	m.HandleFunc("POST /automation/edit", srv.requirePage(srv.handleWorkflowEditorSave))
	m.HandleFunc("GET /automation/workflows/{name}", srv.requirePage(srv.handleWorkflowPage))
	m.HandleFunc("POST /automation/workflows/{name}", srv.requirePage(srv.handleWorkflowPageAction))
	m.HandleFunc("GET /automation/runs/{id}", srv.requirePage(srv.handleRunPage))
}

func (srv *Server) handleWorkflowsAPI(w http.ResponseWriter, r *http.Request) {
	vs, err := automation.List(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	for _, v := range vs {
		v.Source = ""
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNilSlice(vs)})
}

func (srv *Server) handleApplyWorkflowAPI(w http.ResponseWriter, r *http.Request) {
	file, src, err := definitionBody(w, r, "api.yaml")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	v, err := automation.Apply(r.Context(), srv.store, authOf(r).principal(), file, src, srv.cfg.Channels, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (srv *Server) handleWorkflowAPI(w http.ResponseWriter, r *http.Request) {
	vs, err := automation.Versions(r.Context(), srv.store, authOf(r).principal(), r.PathValue("name"))
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workflow": vs[0], "versions": vs})
}

func (srv *Server) handleSwitchWorkflowAPI(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := automation.SetEnabled(r.Context(), srv.store, authOf(r).principal(), r.PathValue("name"), on)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		v.Source = ""
		writeJSON(w, http.StatusOK, v)
	}
}

// handleTestWorkflowAPI dry-runs a named workflow, or the document in the
// body when the route names none.
func (srv *Server) handleTestWorkflowAPI(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var in struct {
		RecordID int64  `json:"record_id"`
		Source   string `json:"source"`
	}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	p := authOf(r).principal()
	wf, err := srv.workflowToTest(r, p, r.PathValue("name"), in.Source)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if in.RecordID <= 0 {
		srv.writeError(w, r, crm.Invalid("dry run", "record_id", "give the id of the record to try it on"))
		return
	}
	dr, err := automation.Test(r.Context(), srv.store, p, wf, in.RecordID, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dr)
}

// workflowToTest is the applied workflow of that name, or the source
// compiled (a source comes only without a name).
func (srv *Server) workflowToTest(r *http.Request, p crm.Principal, name, source string) (*automation.Workflow, error) {
	if name == "" {
		if source == "" {
			return nil, crm.Invalid("dry run", "source", "give the workflow document to try")
		}
		if !p.Role.SeesAll() && p.Role != crm.RoleManager {
			return nil, crm.ErrForbidden
		}
		return automation.Parse("editor.yaml", []byte(source), srv.cfg.Channels)
	}
	if source != "" {
		return nil, crm.Invalid("dry run", "source", "a named workflow is tried as applied: leave out source")
	}
	v, err := automation.Get(r.Context(), srv.store, p, name)
	if err != nil {
		return nil, err
	}
	return v.Workflow(), nil
}

func (srv *Server) handleRunWorkflowAPI(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var in struct {
		RecordIDs []int64 `json:"record_ids"`
	}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	if len(in.RecordIDs) == 0 || len(in.RecordIDs) > 1000 {
		srv.writeError(w, r, crm.Invalid("run", "record_ids", "give from 1 to 1000 record ids"))
		return
	}
	runs, err := automation.RunManually(r.Context(), srv.store, authOf(r).principal(), r.PathValue("name"), in.RecordIDs, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"runs": nonNilSlice(runs)})
}

// runQuery reads the run log's filters; the page also takes its tables'
// parameters.
func runQuery(v url.Values, page bool) (automation.RunQuery, error) {
	var q automation.RunQuery
	probs := crm.NewProblems("query")
	for _, k := range slices.Sorted(maps.Keys(v)) {
		switch {
		case k == "workflow", k == "entity", k == "record_id", k == "state", k == "limit":
			probs.Require(len(v[k]) == 1, k, "give it once")
		case page && tableParam(k):
		default:
			probs.Add(k, "unknown parameter (known: workflow, entity, record_id, state, limit)")
		}
	}
	q.Workflow, q.Entity, q.State = v.Get("workflow"), v.Get("entity"), v.Get("state")
	if s := v.Get("record_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		probs.Require(err == nil && id > 0, "record_id", fmt.Sprintf("%q is not a record id", s))
		q.RecordID = id
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		probs.Require(err == nil && n >= 1 && n <= 1000, "limit", "must be a whole number from 1 to 1000")
		q.Limit = n
	}
	return q, probs.Err()
}

func (srv *Server) handleRunsAPI(w http.ResponseWriter, r *http.Request) {
	q, err := runQuery(r.URL.Query(), false)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	runs, err := automation.Runs(r.Context(), srv.store, authOf(r).principal(), q)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": runs})
}

func (srv *Server) handleRunAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	run, err := automation.RunByID(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// handleHookAPI is a webhook trigger. The request is authenticated by its
// HMAC signature with the workflow's secret (notify.Verify: the same scheme
// Quarterdeck signs its own webhooks with, timestamped against replays);
// every refusal answers the same 401, so names cannot be probed.
func (srv *Server) handleHookAPI(w http.ResponseWriter, r *http.Request) {
	refuse := func() {
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "the request is not signed with this workflow's secret"})
	}
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	name := r.PathValue("name")
	env, err := automation.HookSecretEnv(r.Context(), srv.store, name)
	if errors.Is(err, crm.ErrNotFound) {
		refuse()
		return
	}
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	secret := ""
	if srv.cfg.Getenv != nil {
		secret = srv.cfg.Getenv(env)
	}
	if secret == "" || notify.Verify(secret, r.Header, body, time.Now(), 0) != nil {
		srv.log.Warn("refused a webhook trigger", "workflow", name, "secret_set", secret != "")
		refuse()
		return
	}
	var in struct {
		RecordID int64 `json:"record_id"`
	}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	if in.RecordID <= 0 {
		srv.writeError(w, r, crm.Invalid("webhook", "record_id", "name the record the workflow runs on"))
		return
	}
	run, err := automation.RunHook(r.Context(), srv.store, name, in.RecordID, r.Header.Get(notify.DeliveryHeader), time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"run": run})
}

// nonNilSlice keeps an empty list "[]" in JSON.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
)

// Lead scoring over JSON:
//   GET  /api/leads/scores               leads by score (model, grade, mql, status, limit)
//   GET  /api/leads/{id}/score           the lead's scores with their why-log (version=ID for an old one)
//   GET  /api/leads/{id}/score/history   the score as of each day (model, points)
//   GET  /api/scoring/models             every applied version
//   GET  /api/scoring/models/{id}        one version with its YAML
//   GET  /api/scoring/models/{id}/report conversion by grade and the score's AUC
//   POST /api/scoring/models             apply a model: the YAML as the body, or {"file": ..., "source": ...}
//   POST /api/scoring/rescore            score every lead again as of now
// and the ICP segments (api_segments.go).

func (srv *Server) leadRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/leads/scores", srv.requireAPI(srv.handleLeadScoresAPI))
	m.HandleFunc("GET /api/leads/{id}/score", srv.requireAPI(srv.handleLeadScoreAPI))
	m.HandleFunc("GET /api/leads/{id}/score/history", srv.requireAPI(srv.handleLeadHistoryAPI))
	m.HandleFunc("GET /api/scoring/models", srv.requireAPI(srv.handleScoringModelsAPI))
	m.HandleFunc("GET /api/scoring/models/{id}", srv.requireAPI(srv.handleScoringModelAPI))
	m.HandleFunc("GET /api/scoring/models/{id}/report", srv.requireAPI(srv.handleScoringReportAPI))
	m.HandleFunc("POST /api/scoring/models", srv.requireAPI(srv.handleApplyModelAPI))
	m.HandleFunc("POST /api/scoring/rescore", srv.requireAPI(srv.handleRescoreAPI))
	m.HandleFunc("GET /leads", srv.requirePage(srv.handleLeadsPage))
	m.HandleFunc("GET /leads/{id}", srv.requirePage(srv.handleLeadPage))
	m.HandleFunc("POST /leads/{id}/delete", srv.requirePage(srv.handleDeleteLeadPage))
	m.HandleFunc("GET /leads/models", srv.requirePage(srv.handleModelsPage))
	m.HandleFunc("POST /leads/models", srv.requirePage(srv.handleApplyModelPage))
	srv.segmentRoutes()
	srv.predictiveRoutes()
}

// rescoreLead scores a lead again after it or one of its events was
// written. The write itself has committed: a scoring failure is logged,
// not turned into a failed request, and the next rescore repairs it.
func (srv *Server) rescoreLead(r *http.Request, id int64) {
	if err := leads.RescoreLead(r.Context(), srv.store, id, time.Now().UTC()); err != nil {
		srv.log.Error("rescore lead", "lead", id, "err", err, "request_id", requestID(r))
	}
}

// rescoreAfterEvent is rescoreLead for a new event: the lead's segments stay.
func (srv *Server) rescoreAfterEvent(r *http.Request, id int64) {
	if err := leads.RescoreAfterEvent(r.Context(), srv.store, id, time.Now().UTC()); err != nil {
		srv.log.Error("rescore lead", "lead", id, "err", err, "request_id", requestID(r))
	}
}

// scoreQuery reads the list filters; an unknown parameter is refused.
func scoreQuery(r *http.Request) (leads.ScoreQuery, error) {
	var q leads.ScoreQuery
	v := r.URL.Query()
	q.Fields = map[string]string{}
	for k := range v {
		switch {
		case k == "model", k == "grade", k == "mql", k == "limit", k == "version", k == "segment", tableParam(k):
		case slices.Contains(leads.FilterFields, k):
			q.Fields[k] = v.Get(k)
		default:
			return q, crm.Invalid("query", k, "unknown parameter (known: model, version, grade, mql, segment, limit, "+strings.Join(leads.FilterFields, ", ")+")")
		}
	}
	q.Model, q.Grade, q.Segment = v.Get("model"), v.Get("grade"), v.Get("segment")
	if s := v.Get("mql"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, crm.Invalid("query", "mql", "must be true or false")
		}
		q.MQL = b
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100000 {
			return q, crm.Invalid("query", "limit", "must be a whole number from 0 (all) to 100000")
		}
		q.Limit = n
	}
	if s := v.Get("version"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return q, crm.Invalid("query", "version", "must be a model version id")
		}
		q.ModelID = id
	}
	return q, nil
}

func (srv *Server) handleLeadScoresAPI(w http.ResponseWriter, r *http.Request) {
	q, err := scoreQuery(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	list, v, err := leads.Scores(r.Context(), srv.store, authOf(r).principal(), q)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	v.Source = ""
	writeJSON(w, http.StatusOK, map[string]any{"model": v, "items": list})
}

func (srv *Server) handleLeadScoreAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var version int64
	if s := r.URL.Query().Get("version"); s != "" {
		if version, err = strconv.ParseInt(s, 10, 64); err != nil || version <= 0 {
			srv.writeError(w, r, crm.Invalid("query", "version", "must be a model version id"))
			return
		}
	}
	ex, err := leads.Explain(r.Context(), srv.store, authOf(r).principal(), id, version)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lead_id": id, "scores": ex})
}

func (srv *Server) handleLeadHistoryAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	points := 30
	if s := r.URL.Query().Get("points"); s != "" {
		if points, err = strconv.Atoi(s); err != nil || points < 2 || points > 400 {
			srv.writeError(w, r, crm.Invalid("query", "points", "must be a whole number from 2 to 400"))
			return
		}
	}
	h, err := leads.History(r.Context(), srv.store, authOf(r).principal(), id, r.URL.Query().Get("model"), time.Now().UTC(), points)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lead_id": id, "items": h})
}

func (srv *Server) handleScoringModelsAPI(w http.ResponseWriter, r *http.Request) {
	vs, err := leads.Versions(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	for _, v := range vs {
		v.Source = ""
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
}

func (srv *Server) handleScoringModelAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	v, err := leads.VersionByID(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v, "model": v.Model().Doc})
}

func (srv *Server) handleScoringReportAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	rep, err := leads.Report(r.Context(), srv.store, authOf(r).principal(), id, "")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	rep.Version.Source = ""
	writeJSON(w, http.StatusOK, rep)
}

// handleApplyModelAPI takes the YAML itself (any text content type) or a
// JSON object {"file": "inbound.yaml", "source": "name: ..."}.
func (srv *Server) handleApplyModelAPI(w http.ResponseWriter, r *http.Request) {
	file, source, err := definitionBody(w, r, "api.yaml")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	v, err := leads.Apply(r.Context(), srv.store, authOf(r).principal(), file, source, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (srv *Server) handleRescoreAPI(w http.ResponseWriter, r *http.Request) {
	n, err := leads.RescoreAll(r.Context(), srv.store, authOf(r).principal(), time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"leads": n})
}

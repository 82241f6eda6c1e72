package web

import (
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"
)

// Lead routing over JSON:
//   GET  /api/routing/rulesets        every applied rule set version
//   POST /api/routing/rulesets        apply one: the YAML as the body, or {"file": ..., "source": ...}
//   POST /api/leads                   creates a lead; one without an owner is routed at once
//   POST /api/leads/{id}/route        route a lead again (ops, admin)
//   GET  /api/leads/{id}/assignments  the lead's assignment log with reasons
//   GET|PUT /api/users/{id}/availability  a user's time zone and out-of-office periods
//   GET  /api/routing/pools           the active rule set's pools, their members and who could take a lead now
//   GET  /api/routing/fairness        the fairness audit, from=YYYY-MM-DD (default 30 days ago) to=YYYY-MM-DD (default today, included)

func (srv *Server) routingRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/routing/rulesets", srv.requireAPI(srv.handleRulesetsAPI))
	m.HandleFunc("POST /api/routing/rulesets", srv.requireAPI(srv.handleApplyRulesetAPI))
	m.HandleFunc("POST /api/leads/{id}/route", srv.requireAPI(srv.handleRouteLeadAPI))
	m.HandleFunc("GET /api/leads/{id}/assignments", srv.requireAPI(srv.handleAssignmentsAPI))
	m.HandleFunc("GET /api/users/{id}/availability", srv.requireAPI(srv.handleAvailabilityAPI))
	m.HandleFunc("PUT /api/users/{id}/availability", srv.requireAPI(srv.handlePutAvailabilityAPI))
	m.HandleFunc("GET /api/routing/pools", srv.requireAPI(srv.handlePoolsAPI))
	m.HandleFunc("GET /api/routing/fairness", srv.requireAPI(srv.handleFairnessAPI))
	m.HandleFunc("GET /leads/routing", srv.requirePage(srv.handleRoutingPage))
	m.HandleFunc("POST /leads/routing", srv.requirePage(srv.handleApplyRulesetPage))
}

func (srv *Server) handleRulesetsAPI(w http.ResponseWriter, r *http.Request) {
	vs, err := routing.Versions(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
}

func (srv *Server) handleApplyRulesetAPI(w http.ResponseWriter, r *http.Request) {
	file, src, err := definitionBody(w, r, "api.yaml")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	v, err := routing.Apply(r.Context(), srv.store, authOf(r).principal(), file, src, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (srv *Server) handleRouteLeadAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	p := authOf(r).principal()
	if !p.Role.SeesAll() {
		srv.writeError(w, r, crm.ErrForbidden)
		return
	}
	a, err := routing.Assign(r.Context(), srv.store, p, id, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (srv *Server) handleAssignmentsAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	log, err := routing.Assignments(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": log})
}

// routedLead is a created lead with where routing sent it.
type routedLead struct {
	*crm.Lead
	Routing *routing.Decision `json:"routing,omitempty"`
}

// handleCreateLead creates a lead and, when it has no owner and a rule set
// is applied, routes it in the same call and the same transaction (see
// internal/intake): the answer carries the owner and the reason, and comes
// once the lead is durable.
func (srv *Server) handleCreateLead(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	l := new(crm.Lead)
	if err := decodeInto(body, l); err != nil {
		srv.writeError(w, r, err)
		return
	}
	res, err := srv.intake.Create(r.Context(), authOf(r).principal(), l)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, routedLead{Lead: res.Lead, Routing: res.Routing})
}

func (srv *Server) handleAvailabilityAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	a, err := routing.GetAvailability(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// handlePutAvailabilityAPI replaces the time zone and away periods:
// {"time_zone": "Europe/Berlin", "away": [{"from": ..., "to": ..., "note": ...}]}.
func (srv *Server) handlePutAvailabilityAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var a routing.Availability
	if err := decodeBody(w, r, &a); err != nil {
		srv.writeError(w, r, err)
		return
	}
	a.UserID = id
	if err := routing.SetAvailability(r.Context(), srv.store, authOf(r).principal(), a, time.Now().UTC()); err != nil {
		srv.writeError(w, r, err)
		return
	}
	srv.handleAvailabilityAPI(w, r)
}

func (srv *Server) handlePoolsAPI(w http.ResponseWriter, r *http.Request) {
	pools, err := routing.Pools(r.Context(), srv.store, authOf(r).principal(), time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": pools})
}

func (srv *Server) handleFairnessAPI(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		if k != "from" && k != "to" {
			srv.writeError(w, r, crm.Invalid("query", k, "unknown parameter (known: from, to)"))
			return
		}
	}
	from, to, err := routing.AuditPeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	rows, err := routing.Fairness(r.Context(), srv.store, authOf(r).principal(), from, to)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "items": rows})
}

package web

import (
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/leads"
)

// Predictive scoring over JSON:
//   POST /api/leads/predictive          train on the decided leads: {"exclude": ["custom.tags", "custom.asymmetrique_*"], "factors": 5}
//   GET  /api/leads/predictive          the latest run's report
//   GET  /api/leads/{id}/prediction     the lead's probability to convert and its top factors
// and the page GET/POST /leads/predictive (page_predictive.go).

func (srv *Server) predictiveRoutes() {
	m := srv.mux
	m.HandleFunc("POST /api/leads/predictive", srv.requireAPI(srv.handleTrainPredictiveAPI))
	m.HandleFunc("GET /api/leads/predictive", srv.requireAPI(srv.handlePredictiveAPI))
	m.HandleFunc("GET /api/leads/{id}/prediction", srv.requireAPI(srv.handleLeadPredictionAPI))
	m.HandleFunc("GET /leads/predictive", srv.requirePage(srv.handlePredictivePage))
	m.HandleFunc("POST /leads/predictive", srv.requirePage(srv.handleTrainPredictivePage))
}

func (srv *Server) handleTrainPredictiveAPI(w http.ResponseWriter, r *http.Request) {
	p := authOf(r).principal()
	var in leads.PredictiveOptions
	// An empty body trains with every field.
	if body, err := readBody(w, r); err != nil {
		srv.writeError(w, r, err)
		return
	} else if len(body) > 0 {
		if err := decodeInto(body, &in); err != nil {
			srv.writeError(w, r, err)
			return
		}
	}
	run, err := leads.TrainPredictive(r.Context(), srv.store, p, in, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

func (srv *Server) handlePredictiveAPI(w http.ResponseWriter, r *http.Request) {
	run, err := leads.LatestPredictive(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (srv *Server) handleLeadPredictionAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	lp, err := leads.PredictionFor(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, lp)
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/quality"
)

// qualityReport reads ?stale_days= and runs the data-quality checks as the user sees them.
func (srv *Server) qualityReport(r *http.Request) (quality.Report, error) {
	opt := quality.Options{Now: time.Now().UTC()}
	for k := range r.URL.Query() {
		if k != "stale_days" {
			return quality.Report{}, crm.Invalid("query", k, "unknown parameter (known: stale_days)")
		}
	}
	if v := r.URL.Query().Get("stale_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return quality.Report{}, crm.Invalid("query", "stale_days", "must be a whole number of days, at least 1")
		}
		opt.StaleDays = n
	}
	return quality.Run(r.Context(), srv.store, authOf(r).principal(), opt)
}

func (srv *Server) handleQualityAPI(w http.ResponseWriter, r *http.Request) {
	rep, err := srv.qualityReport(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (srv *Server) handleQuality(w http.ResponseWriter, r *http.Request) {
	rep, err := srv.qualityReport(r)
	if errors.Is(err, crm.ErrInvalid) {
		srv.render(w, r, http.StatusBadRequest, "error", map[string]any{"Message": err.Error()})
		return
	}
	if err != nil {
		srv.log.Error("quality", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "quality", map[string]any{"R": rep, "Errors": rep.Totals[quality.SeverityError],
		"Warnings": rep.Totals[quality.SeverityWarning], "Infos": rep.Totals[quality.SeverityInfo]})
}

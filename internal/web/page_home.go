package web

import (
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// homeData is what the home page shows, and what GET /api/home returns.
type homeData struct {
	Period      string                  `json:"period"`
	PeriodStart string                  `json:"period_start"`
	PeriodEnd   string                  `json:"period_end"` // exclusive
	Scope       string                  `json:"scope"`
	Summary     []store.PipelineSummary `json:"summary"`
	Recent      []crm.Opportunity       `json:"recent"`
}

func (srv *Server) homeData(r *http.Request) (homeData, error) {
	ctx := r.Context()
	a := authOf(r)
	p := a.principal()
	cal, err := srv.store.Calendar(ctx)
	if err != nil {
		return homeData{}, err
	}
	per := cal.PeriodOf(time.Now(), crm.GrainQuarter)
	d := homeData{Period: per.String(), PeriodStart: per.Start.Format(crm.DateLayout), PeriodEnd: per.End.Format(crm.DateLayout),
		Scope: scopeLabel(a.user.Role), Recent: []crm.Opportunity{}}
	if d.Summary, err = srv.store.Summary(ctx, p, per.Start, per.End); err != nil {
		return homeData{}, err
	}
	if a.user.Role != crm.RoleViewer {
		page, err := srv.store.Opportunities.List(ctx, p, store.ListQuery{Limit: 10, Newest: true})
		if err != nil {
			return homeData{}, err
		}
		d.Recent = page.Items
	}
	return d, nil
}

func scopeLabel(r crm.Role) string {
	switch r {
	case crm.RoleRep:
		return "Your own deals"
	case crm.RoleManager:
		return "Your team's deals"
	case crm.RoleViewer:
		return "Whole organisation, aggregates only"
	}
	return "Whole organisation"
}

func (srv *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	d, err := srv.homeData(r)
	if err != nil {
		srv.log.Error("home", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "home", homeView(d, authOf(r).user.Role, ""))
}

// homeView is the home template's data; the page shows the period's last day, not the exclusive end.
func homeView(d homeData, role crm.Role, newToken string) map[string]any {
	last := d.PeriodEnd
	if end, err := time.Parse(crm.DateLayout, d.PeriodEnd); err == nil {
		last = end.AddDate(0, 0, -1).Format(crm.DateLayout)
	}
	return map[string]any{
		"Period": d.Period, "PeriodStart": d.PeriodStart, "PeriodLast": last, "Scope": d.Scope,
		"Summary": d.Summary, "Recent": d.Recent, "CanSeeRecords": role != crm.RoleViewer, "NewToken": newToken,
	}
}

func (srv *Server) handleHomeAPI(w http.ResponseWriter, r *http.Request) {
	d, err := srv.homeData(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handleTokenPage creates an API token from the home page and shows it once.
func (srv *Server) handleTokenPage(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	tok, err := srv.store.NewAPIToken(r.Context(), a.principal(), a.user.ID)
	if err != nil {
		srv.log.Error("new token", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d, err := srv.homeData(r)
	if err != nil {
		srv.log.Error("home", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	srv.render(w, r, http.StatusOK, "home", homeView(d, a.user.Role, tok))
}

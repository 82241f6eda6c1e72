package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The dashboard pages and their JSON twins share one reading of the URL:
// ?period=FY2025-Q3&team_id=&rep_id=&region=&product=&segment=&industry=&source=&type=
// so any view can be shared as a link.

var filterParams = []string{"period", "rep_id", "team_id", "region", "product", "segment", "industry", "source", "type"}

// metricsFilter reads the filter from the query; unknown parameters are refused.
// Without a period the current fiscal quarter is shown.
func (srv *Server) metricsFilter(r *http.Request, extra ...string) (metrics.Filter, error) {
	q := r.URL.Query()
	probs := crm.NewProblems("filter")
	for k := range q {
		if !slices.Contains(filterParams, k) && !slices.Contains(extra, k) {
			probs.Add(k, "unknown parameter (known: period, rep_id, team_id, region, product, segment, industry, source, type)")
		}
	}
	f := metrics.Filter{Period: q.Get("period"), Region: q.Get("region"), Product: q.Get("product"), Segment: q.Get("segment"),
		Industry: q.Get("industry"), Source: q.Get("source"), Type: q.Get("type")}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"rep_id", &f.RepID}, {"team_id", &f.TeamID}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				probs.Add(p.name, "%q is not a record id", v)
			}
			*p.dst = n
		}
	}
	cal, err := srv.store.Calendar(r.Context())
	if err != nil {
		return f, err
	}
	switch f.Period {
	case "":
		f.Period = cal.PeriodOf(time.Now(), crm.GrainQuarter).String()
	case "all":
		f.Period = ""
	default:
		per, err := cal.ParsePeriod(f.Period)
		if err != nil {
			probs.Add("period", "%q is not a fiscal period like FY2025, FY2025-Q3 or FY2025-M07", f.Period)
		} else {
			f.Period = per.String()
		}
	}
	return f, probs.Err()
}

// filterQuery writes f back as a query string, with one parameter changed.
func filterQuery(f metrics.Filter, key, value string) template.URL {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	period := f.Period
	if period == "" {
		period = "all"
	}
	set("period", period)
	if f.RepID != 0 {
		v.Set("rep_id", strconv.FormatInt(f.RepID, 10))
	}
	if f.TeamID != 0 {
		v.Set("team_id", strconv.FormatInt(f.TeamID, 10))
	}
	set("region", f.Region)
	set("product", f.Product)
	set("segment", f.Segment)
	set("industry", f.Industry)
	set("source", f.Source)
	set("type", f.Type)
	if value == "" {
		v.Del(key)
	} else {
		v.Set(key, value)
	}
	return template.URL("?" + v.Encode())
}

// dashboardData is the overview with its drill-downs: the page and GET /api/dashboard.
type dashboardData struct {
	Filter   metrics.Filter   `json:"filter"`
	Overview metrics.Overview `json:"overview"`
	ByTeam   []metrics.Slice  `json:"by_team"`
	ByRep    []metrics.Slice  `json:"by_rep"`
}

func (srv *Server) dashboardData(r *http.Request) (dashboardData, error) {
	f, err := srv.metricsFilter(r)
	if err != nil {
		return dashboardData{}, err
	}
	p := authOf(r).principal()
	version := srv.store.Version()
	key := fmt.Sprintf("dashboard|%d|%s|%+v", p.UserID, p.Role, f)
	if v, ok := srv.cache.get(key, version); ok {
		return v.(dashboardData), nil
	}
	d := dashboardData{Filter: f}
	if d.Overview, err = metrics.ComputeOverview(r.Context(), srv.store, p, f, metrics.OverviewOptions{}); err != nil {
		return d, err
	}
	if d.ByTeam, err = metrics.ComputeBy(r.Context(), srv.store, p, f, "team"); err != nil {
		return d, err
	}
	if d.ByRep, err = metrics.ComputeBy(r.Context(), srv.store, p, f, "rep"); err != nil {
		return d, err
	}
	srv.cache.put(key, version, d)
	return d, nil
}

func (srv *Server) handleDashboardAPI(w http.ResponseWriter, r *http.Request) {
	d, err := srv.dashboardData(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handleKPIAPI is GET /api/kpi?period=...&by=team: the KPIs, or their slices.
func (srv *Server) handleKPIAPI(w http.ResponseWriter, r *http.Request) {
	f, err := srv.metricsFilter(r, "by")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	p := authOf(r).principal()
	if by := r.URL.Query().Get("by"); by != "" {
		if !slices.Contains(metrics.Dimensions, by) {
			srv.writeError(w, r, crm.Invalid("filter", "by", fmt.Sprintf("%q is not one of rep, team, region, product, segment, industry, source, type", by)))
			return
		}
		sl, err := metrics.ComputeBy(r.Context(), srv.store, p, f, by)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"by": by, "items": sl})
		return
	}
	k, err := metrics.Compute(r.Context(), srv.store, p, f)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

// performersData is the top-vs-bottom comparison: the page and GET /api/performers.
type performersData struct {
	Filter metrics.Filter      `json:"filter"`
	Top    []metrics.Performer `json:"top"`
	Bottom []metrics.Performer `json:"bottom"`
}

func (srv *Server) performersData(r *http.Request) (performersData, error) {
	f, err := srv.metricsFilter(r)
	if err != nil {
		return performersData{}, err
	}
	d := performersData{Filter: f}
	d.Top, d.Bottom, err = metrics.Performers(r.Context(), srv.store, authOf(r).principal(), f)
	return d, err
}

func (srv *Server) handlePerformersAPI(w http.ResponseWriter, r *http.Request) {
	d, err := srv.performersData(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// filterChoices are the options of the filter form.
type filterChoices struct {
	Periods []string
	Teams   []crm.Team
	Types   []string
}

func (srv *Server) filterChoices(r *http.Request) (filterChoices, error) {
	cal, err := srv.store.Calendar(r.Context())
	if err != nil {
		return filterChoices{}, err
	}
	var c filterChoices
	q := cal.PeriodOf(time.Now(), crm.GrainQuarter)
	for range 8 {
		c.Periods = append(c.Periods, q.String())
		q = cal.Prev(q)
	}
	y := cal.PeriodOf(time.Now(), crm.GrainYear)
	for range 3 {
		c.Periods = append(c.Periods, y.String())
		y = cal.Prev(y)
	}
	c.Periods = append(c.Periods, "all")
	if authOf(r).user.Role != crm.RoleViewer {
		page, err := srv.store.Teams.List(r.Context(), authOf(r).principal(), store.ListQuery{Limit: store.MaxPageSize})
		if err != nil {
			return filterChoices{}, err
		}
		c.Teams = page.Items
	}
	c.Types = []string{string(crm.DealNew), string(crm.DealExpansion), string(crm.DealRenewal)}
	return c, nil
}

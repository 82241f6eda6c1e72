package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
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
		if !slices.Contains(filterParams, k) && !slices.Contains(extra, k) && !tableParam(k) {
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
	return cached(srv, r, fmt.Sprintf("dashboard|%+v", f), func(ctx context.Context) (dashboardData, error) {
		// One pass for the overview and both drill-downs (by rep only for a
		// role that may see one person's figures, as seesIndividuals).
		db, err := metrics.ComputeDashboard(ctx, srv.store, authOf(r).principal(), f, metrics.OverviewOptions{})
		if err != nil {
			return dashboardData{Filter: f}, err
		}
		return dashboardData{Filter: f, Overview: db.Overview, ByTeam: db.ByTeam, ByRep: db.ByRep}, nil
	})
}

func (srv *Server) handleDashboardAPI(w http.ResponseWriter, r *http.Request) {
	srv.writeCachedJSON(w, r, "dashboard-json|"+r.URL.RawQuery, func(context.Context) (any, error) { return srv.dashboardData(r) })
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
		srv.writeCachedJSON(w, r, fmt.Sprintf("kpi-by|%s|%+v", by, f), func(ctx context.Context) (any, error) {
			sl, err := metrics.ComputeBy(ctx, srv.store, p, f, by)
			return map[string]any{"by": by, "items": sl}, err
		})
		return
	}
	srv.writeCachedJSON(w, r, fmt.Sprintf("kpi|%+v", f), func(ctx context.Context) (any, error) {
		return metrics.Compute(ctx, srv.store, p, f)
	})
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

// filterChoices are the options of the filter form: only what the user may
// see, and periods that reach back to the organisation's first deal.
type filterChoices struct {
	Years []periodYear
	Teams []crm.Team
	Types []string
}

// periodYear is a fiscal year and its quarters, newest first.
type periodYear struct {
	Year     string
	Quarters []string
}

func (srv *Server) filterChoices(r *http.Request) (filterChoices, error) {
	var c filterChoices
	var err error
	if c.Years, err = srv.periodYears(r); err != nil {
		return c, err
	}
	if c.Teams, err = srv.store.VisibleTeams(r.Context(), authOf(r).principal()); err != nil {
		return c, err
	}
	c.Types = []string{string(crm.DealNew), string(crm.DealExpansion), string(crm.DealRenewal)}
	return c, nil
}

// maxPickerYears bounds the period picker: the newest years with deals.
const maxPickerYears = 8

// periodYears are the next and the current fiscal year (open deals are
// expected then), then the years in which deals were created or closed,
// newest first (at most maxPickerYears of them), each with its quarters.
// They are read once per data version.
func (srv *Server) periodYears(r *http.Request) ([]periodYear, error) {
	version := srv.store.Version()
	if v, ok := srv.cache.get("period-years", version); ok {
		return v.([]periodYear), nil
	}
	cal, err := srv.store.Calendar(r.Context())
	if err != nil {
		return nil, err
	}
	months, err := srv.store.DealMonths(r.Context())
	if err != nil {
		return nil, err
	}
	year := func(y crm.Period) periodYear {
		py := periodYear{Year: y.String()}
		for q := cal.PeriodOf(y.End.AddDate(0, 0, -1), crm.GrainQuarter); !q.Start.Before(y.Start); q = cal.Prev(q) {
			py.Quarters = append(py.Quarters, q.String())
		}
		return py
	}
	current := cal.PeriodOf(time.Now(), crm.GrainYear)
	out := []periodYear{year(cal.Next(current)), year(current)}
	seen := map[string]bool{out[0].Year: true, out[1].Year: true}
	for i := len(months) - 1; i >= 0 && len(out) < maxPickerYears+2; i-- {
		if y := cal.PeriodOf(months[i], crm.GrainYear); !seen[y.String()] && y.Start.Before(current.Start) {
			seen[y.String()] = true
			out = append(out, year(y))
		}
	}
	srv.cache.put("period-years", version, out)
	return out, nil
}

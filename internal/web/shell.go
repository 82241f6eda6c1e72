package web

import (
	"net/http"
	"net/url"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// The app shell: every page sits in one layout with grouped navigation (only
// what the user's role may use), breadcrumbs, and the period and team the user
// chose, carried from page to page. A module adds its pages here.

// navItem is one page in the navigation.
type navItem struct {
	Path, Label string
	allowed     func(crm.Role) bool
	carries     []string // the filter parameters the page reads, kept from page to page
}

// navSection is a group of pages, e.g. "Forecast".
type navSection struct {
	Label string
	Items []navItem
}

func anyRole(crm.Role) bool { return true }

// seesIndividuals: every role but the viewer, who sees aggregates only.
func seesIndividuals(r crm.Role) bool { return r != crm.RoleViewer }

func opsOnly(r crm.Role) bool { return r.SeesAll() }

var navigation = []navSection{
	{"Overview", []navItem{
		{"/", "Home", anyRole, periodTeam},
		{"/dashboard", "Dashboard", anyRole, periodTeam},
		{"/performers", "Performers", seesIndividuals, periodTeam},
	}},
	{"Forecast", []navItem{
		{"/forecast", "Forecast call", anyRole, periodTeam},
		{"/forecast/accuracy", "Accuracy", anyRole, []string{"period"}},
		{"/forecast/deals", "Deals", seesIndividuals, nil},
	}},
	{"Leads", []navItem{
		{"/leads", "Leads", seesIndividuals, nil},
		{"/leads/models", "Scoring models", seesIndividuals, nil},
		{"/leads/segments", "Segments", seesIndividuals, nil},
		{"/leads/routing", "Routing", seesIndividuals, nil},
		{"/leads/predictive", "Predictive model", seesIndividuals, nil},
	}},
	{"Automation", []navItem{
		{"/automation", "Workflows and runs", seesIndividuals, nil},
	}},
	{"Data", []navItem{
		{"/quality", "Data quality", anyRole, nil},
		{"/audit", "Audit log", opsOnly, nil},
		{"/notifications", "Notification log", opsOnly, nil},
	}},
}

// navLink is a navigation entry as the layout draws it.
type navLink struct {
	Label, URL string
	Current    bool
}

type navGroup struct {
	Label string
	Links []navLink
}

// crumb is one step of the breadcrumbs; the last has no URL.
type crumb struct{ Label, URL string }

var periodTeam = []string{"period", "team_id"}

// shell works out the navigation and breadcrumbs of a request's page.
func shell(r *http.Request, role crm.Role) (groups []navGroup, crumbs []crumb) {
	carry := func(keys []string) string {
		keep := url.Values{}
		for _, k := range keys {
			if v := r.URL.Query().Get(k); v != "" {
				keep.Set(k, v)
			}
		}
		if len(keep) == 0 {
			return ""
		}
		return "?" + keep.Encode()
	}
	for _, sec := range navigation {
		g := navGroup{Label: sec.Label}
		for _, it := range sec.Items {
			if !it.allowed(role) {
				continue
			}
			cur := r.URL.Path == it.Path
			g.Links = append(g.Links, navLink{Label: it.Label, URL: it.Path + carry(it.carries), Current: cur})
			if cur && it.Path != "/" {
				crumbs = []crumb{{Label: "Home", URL: "/" + carry(periodTeam)}, {Label: sec.Label}, {Label: it.Label}}
			}
		}
		if len(g.Links) > 0 {
			groups = append(groups, g)
		}
	}
	return groups, crumbs
}

// mayUse reports whether the role may open the page at path, by the
// navigation's rules; a page the navigation does not list is for every role.
func mayUse(role crm.Role, path string) bool {
	for _, sec := range navigation {
		for _, it := range sec.Items {
			if it.Path == path {
				return it.allowed(role)
			}
		}
	}
	return true
}

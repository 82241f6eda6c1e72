package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
)

// TestBrowserDashboard logs in to a demo organisation as a first-line
// manager, opens the dashboard, changes a filter, sees the charts and drills
// down to a rep, without a browser console error.
func TestBrowserDashboard(t *testing.T) {
	bctx, problems := newBrowser(t)
	ds, _ := loginToDemo(t, bctx, func(l demo.Login) bool { return l.Role == crm.RoleManager && strings.Contains(l.Sees, "team ") })
	ds.follow(`nav a[href="/dashboard"]`, "/dashboard", `.tiles`)
	if h := ds.text(`h1`); !strings.Contains(h, "Sales dashboard") {
		t.Fatalf("dashboard heading %q", h)
	}
	// Change the period filter to the last fiscal year and apply it.
	years, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('select[name=period] option')].map(o => o.value).filter(v => /^FY\d{4}$/.test(v))`))
	if err != nil || len(years) < 2 {
		t.Fatalf("period options %v %v", years, err)
	}
	ds.step(chromedp.SetValue(`select[name=period]`, years[1]),
		chromedp.Click(`.filters button`))
	waitTrue(t, bctx, `location.search.includes("period=`+years[1]+`") && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(`.chart-canvas[data-drawn=true] canvas`))
	if h := ds.text(`h1`); !strings.Contains(h, years[1]) {
		t.Errorf("after choosing %s the heading is %q", years[1], h)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "period="+years[1]) {
		t.Errorf("the filter is not in the URL: %s", loc)
	}
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[int](drawnCharts))
	if err != nil || drawn < 4 {
		t.Errorf("%d charts drawn (%v), want at least 4", drawn, err)
	}
	won := ds.text(`.tiles .tile:first-child .big`)
	if won == "" || won == "–" {
		t.Errorf("won tile is %q", won)
	}
	screenshot(t, bctx, "dashboard-manager")
	// Drill down to the first rep of the team.
	rep := ds.text(`#by-rep tbody tr:first-child a`)
	ds.step(chromedp.Click(`#by-rep tbody tr:first-child a`))
	waitTrue(t, bctx, `location.search.includes("rep_id=") && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(`.tiles`))
	if l := ds.text(`.lede`); !strings.Contains(l, "One rep") {
		t.Errorf("drill-down to %s shows %q", rep, l)
	}
	loc, _ = chromedp.Run(bctx, chromedp.Location())
	if !strings.Contains(loc, "rep_id=") || !strings.Contains(loc, "period="+years[1]) {
		t.Errorf("drill-down lost the filters: %s", loc)
	}
	ds.follow(`nav a[href^="/performers"]`, "/performers", `#top`)
	screenshot(t, bctx, "performers-manager")
	ds.follow(`nav a[href^="/quality"]`, "/quality", `#findings`)
	if rows := ds.text(`#findings tbody`); !strings.Contains(rows, "Duplicate accounts") {
		t.Errorf("quality page shows %q", rows)
	}
	screenshot(t, bctx, "quality-manager")
	if len(*problems) > 0 {
		t.Errorf("browser reported problems: %v", *problems)
	}
}

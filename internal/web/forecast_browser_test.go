package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
)

// TestBrowserForecast logs in to a demo organisation as a rep, opens the
// forecast, sees the methods and the charts, submits a call through the form
// (first a wrong one) and finds it in the calls table, without a browser
// console error.
func TestBrowserForecast(t *testing.T) {
	bctx, problems := newBrowser(t)
	ds, rep := loginToDemo(t, bctx, func(l demo.Login) bool { return l.Role == crm.RoleRep })
	ds.follow(`nav a[href="/forecast"]`, "/forecast", `#methods`)
	if h := ds.text(`h1`); !strings.Contains(h, "Forecast") {
		t.Fatalf("forecast heading %q", h)
	}
	if m := ds.text(`#methods tbody`); !strings.Contains(m, "Stage-weighted") || !strings.Contains(m, "History-weighted") {
		t.Errorf("methods table shows %q", m)
	}
	// The demo's deals carry a signal: the page gives no "no signal" warning.
	if warned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!!document.querySelector('#no-signal')`)); err != nil || warned {
		t.Errorf("the demo's forecast warns of no signal (%v)", err)
	}
	waitTrue(t, bctx, `document.querySelectorAll('.chart-canvas[data-drawn=true] canvas').length > 0`)
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[int](drawnCharts))
	if err != nil || drawn < 1 {
		t.Errorf("%d charts drawn (%v), want at least 1", drawn, err)
	}
	screenshot(t, bctx, "forecast-rep")
	// A commit above the best case is refused with the field marked.
	ds.step(chromedp.SendKeys(`input[name=commit]`, "90000"),
		chromedp.SendKeys(`input[name=best_case]`, "50000"),
		chromedp.SendKeys(`input[name=pipeline]`, "120000"),
		chromedp.Click(`form.call button[type=submit]`),
		chromedp.WaitVisible(`.field-error[data-field=best_case]`))
	ds.step(chromedp.SetValue(`input[name=commit]`, "45000"),
		chromedp.SetValue(`textarea[name=reason]`, "two renewals slip to next quarter"),
		chromedp.Click(`form.call button[type=submit]`),
		chromedp.WaitVisible(`#calls`))
	calls := ds.text(`#calls tbody`)
	if !strings.Contains(calls, rep.Name) || !strings.Contains(calls, "45,000") || !strings.Contains(calls, "two renewals slip") || !strings.Contains(calls, "1 of 1") {
		t.Errorf("calls table shows %q", calls)
	}
	screenshot(t, bctx, "forecast-rep-call")
	ds.follow(`a[href="/forecast/deals"]`, "/forecast/deals", `a[href="/api/forecast/model"]`)
	if h := ds.text(`h1`); !strings.Contains(h, "win probability") {
		t.Errorf("deals heading %q", h)
	}
	screenshot(t, bctx, "forecast-deals-rep")
	ds.goTo("/forecast/accuracy", `h1`)
	screenshot(t, bctx, "forecast-accuracy-rep")
	if len(*problems) > 0 {
		t.Errorf("browser reported problems: %v", *problems)
	}
}

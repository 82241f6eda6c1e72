package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// TestBrowserForecast logs in to a demo organisation as a rep, opens the
// forecast, sees the methods and the charts, submits a call through the form
// (first a wrong one) and finds it in the calls table, without a browser
// console error.
func TestBrowserForecast(t *testing.T) {
	bctx, problems := newBrowser(t)
	s := storetest.OpenDuckDB(t)
	sum, err := demo.Generate(context.Background(), s, demo.Config{Seed: 7, Opportunities: 3000, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var rep demo.Login
	for _, l := range sum.Logins {
		if l.Role == crm.RoleRep {
			rep = l
		}
	}
	if rep.Email == "" {
		t.Fatalf("no rep among the demo logins %+v", sum.Logins)
	}
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	step := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	step(chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, rep.Email),
		chromedp.SendKeys(`input[name=password]`, rep.Password),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`h1`),
		chromedp.Click(`nav a[href="/forecast"]`),
		chromedp.WaitVisible(`#methods`))
	if h := text(`h1`); !strings.Contains(h, "Forecast") {
		t.Fatalf("forecast heading %q", h)
	}
	if m := text(`#methods tbody`); !strings.Contains(m, "Stage-weighted") || !strings.Contains(m, "History-weighted") {
		t.Errorf("methods table shows %q", m)
	}
	imgs, err := chromedp.Run(bctx, chromedp.Evaluate[int](`[...document.querySelectorAll('figure.chart img')].filter(i => i.complete && i.naturalWidth > 0).length`))
	if err != nil || imgs < 1 {
		t.Errorf("%d charts rendered (%v), want at least 1", imgs, err)
	}
	screenshot(t, bctx, "forecast-rep")
	// A commit above the best case is refused with the field marked.
	step(chromedp.SendKeys(`input[name=commit]`, "90000"),
		chromedp.SendKeys(`input[name=best_case]`, "50000"),
		chromedp.SendKeys(`input[name=pipeline]`, "120000"),
		chromedp.Click(`form.call button[type=submit]`),
		chromedp.WaitVisible(`.field-error[data-field=best_case]`))
	step(chromedp.SetValue(`input[name=commit]`, "45000"),
		chromedp.SetValue(`textarea[name=reason]`, "two renewals slip to next quarter"),
		chromedp.Click(`form.call button[type=submit]`),
		chromedp.WaitVisible(`#calls`))
	calls := text(`#calls tbody`)
	if !strings.Contains(calls, rep.Name) || !strings.Contains(calls, "45,000") || !strings.Contains(calls, "two renewals slip") || !strings.Contains(calls, "1 of 1") {
		t.Errorf("calls table shows %q", calls)
	}
	screenshot(t, bctx, "forecast-rep-call")
	step(chromedp.Click(`a[href="/forecast/deals"]`), chromedp.WaitVisible(`a[href="/api/forecast/model"]`))
	if h := text(`h1`); !strings.Contains(h, "win probability") {
		t.Errorf("deals heading %q", h)
	}
	screenshot(t, bctx, "forecast-deals-rep")
	step(chromedp.Navigate(ts.URL+"/forecast/accuracy"), chromedp.WaitVisible(`h1`))
	screenshot(t, bctx, "forecast-accuracy-rep")
	if len(*problems) > 0 {
		t.Errorf("browser reported problems: %v", *problems)
	}
}

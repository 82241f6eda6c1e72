package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
)

// TestBrowserLeads walks marketing ops through lead scoring on the demo:
// the leads list with its grade chart, a lead's why-log and score history,
// a model refused with its line named, a model change applied as version 2,
// and the segments page, without a browser console error.
func TestBrowserLeads(t *testing.T) {
	bctx, problems := newBrowser(t)
	ds, _ := loginToDemo(t, bctx, func(l demo.Login) bool { return l.Role == crm.RoleOps })
	ds.follow(`nav a[href="/leads"]`, "/leads", `#leads`)
	if h := ds.text(`h1`); !strings.Contains(h, "Leads by score") {
		t.Fatalf("leads heading %q", h)
	}
	waitTrue(t, bctx, `document.querySelectorAll('.chart-canvas[data-drawn=true] canvas').length > 0`)
	screenshot(t, bctx, "leads-ops")
	first := ds.text(`#leads tbody tr:first-child td:first-child`)
	ds.step(chromedp.Click(`#leads tbody tr:first-child td:first-child a`))
	waitTrue(t, bctx, `location.pathname.startsWith("/leads/") && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(`#why-inbound`))
	if h := ds.text(`h1`); !strings.Contains(h, strings.TrimSpace(first)) {
		t.Errorf("lead page heading %q, want the lead %q", h, first)
	}
	if why := ds.text(`#why-inbound`); !strings.Contains(why, "fit") || !strings.Contains(why, "the score is the sum") {
		t.Errorf("why-log shows %q", why)
	}
	waitTrue(t, bctx, `document.querySelectorAll('.chart-canvas[data-drawn=true] canvas').length > 0`)
	screenshot(t, bctx, "lead-ops")

	// Delete the lead: the box must be ticked first (the browser holds the
	// form back), then the list says it went, and its page is gone.
	leadPath, err := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	ds.step(chromedp.Click(`#delete-lead button[type=submit]`))
	if held, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`location.pathname === `+strconv.Quote(leadPath)+` && !document.querySelector('#delete-lead input[name=confirm]').validity.valid`)); err != nil || !held {
		t.Fatalf("the unticked delete was not held back (%v)", err)
	}
	ds.step(chromedp.Click(`#delete-lead input[name=confirm]`), chromedp.Click(`#delete-lead button[type=submit]`))
	waitTrue(t, bctx, `location.pathname === "/leads" && location.search.includes("deleted=") && document.readyState === "complete"`)
	id := strings.TrimPrefix(leadPath, "/leads/")
	if note := ds.text(`#deleted`); !strings.Contains(note, "Lead "+id+" was deleted") {
		t.Errorf("after the delete the list says %q", note)
	}
	ds.goTo(leadPath, `h1`)
	if h := ds.text(`h1`); h != "Not found" {
		t.Errorf("the deleted lead's page shows %q, want Not found", h)
	}

	ds.goTo("/leads/models", `#editor`)
	src, err := chromedp.Run(bctx, chromedp.Value(`textarea[name=source]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "name: inbound") {
		t.Fatalf("editor holds %q, want the inbound model", src[:min(80, len(src))])
	}
	ds.step(chromedp.SetValue(`textarea[name=source]`, strings.Replace(src, "points: 15", "points: lots", 1)),
		chromedp.Click(`#editor button[type=submit]`), chromedp.WaitVisible(`#model-errors`))
	if errs := ds.text(`ul.problems`); !strings.Contains(errs, "fit[0].points") || !strings.Contains(errs, `want a number, got "lots"`) {
		t.Errorf("problems shown: %q", errs)
	}
	ds.step(chromedp.SetValue(`textarea[name=source]`, strings.Replace(src, "points: 15", "points: 25", 1)),
		chromedp.Click(`#editor button[type=submit]`))
	waitTrue(t, bctx, `location.search.includes("applied=") && document.readyState === "complete" && !!document.querySelector('#model-inbound h2')`)
	if h := ds.text(`#model-inbound h2`); !strings.Contains(h, "version 2") {
		t.Errorf("after applying: %q, want version 2", h)
	}
	screenshot(t, bctx, "scoring-models-ops")

	ds.goTo("/leads/segments", `#segments`)
	if segs := ds.text(`#segments tbody`); !strings.Contains(segs, "ICP mid-market tech") {
		t.Errorf("segments table shows %q", segs)
	}
	screenshot(t, bctx, "segments-ops")
	if len(*problems) > 0 {
		t.Errorf("browser reported problems: %v", *problems)
	}
}

package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
)

// TestBrowserAutomation walks sales ops through automation on the demo:
// the workflows and the run log, a workflow's page and a dry run on one of
// its records, a run's steps, and the editor refusing a typo by line and
// field before applying a fixed version. (What each role may see is
// TestAutomationAPI's.)
func TestBrowserAutomation(t *testing.T) {
	bctx, problems := newBrowser(t)
	ds, _ := loginToDemo(t, bctx, func(l demo.Login) bool { return l.Role == crm.RoleOps })
	ds.follow(`nav a[href="/automation"]`, "/automation", `#workflows`)
	if wfs := ds.text(`#workflows tbody`); !strings.Contains(wfs, "stale-deal") || !strings.Contains(wfs, "deal-won-handoff") {
		t.Fatalf("workflows table: %q", wfs)
	}
	if runs := ds.text(`#runs tbody`); !strings.Contains(runs, "stale-deal") || !strings.Contains(runs, "done") {
		t.Fatalf("run log: %q", runs)
	}
	screenshot(t, bctx, "automation-ops")

	ds.follow(`#workflows a[href="/automation/workflows/deal-won-handoff"]`, "/automation/workflows/deal-won-handoff", `#dry-run`)
	record := strings.Fields(ds.text(`#runs tbody tr:first-child td:nth-child(4)`))
	if len(record) != 2 {
		t.Fatalf("the workflow's first run is on %q", record)
	}
	ds.step(chromedp.SetValue(`#dry-run input[name=record_id]`, record[1]), chromedp.Click(`#dry-run button[value=test]`))
	waitTrue(t, bctx, `document.readyState === "complete" && !!document.querySelector('#dry-run-result')`)
	if dr := ds.text(`#dryrun tbody`); !strings.Contains(dr, "would_create") || !strings.Contains(dr, "Hand-off to customer success") {
		t.Errorf("dry run: %q", dr)
	}
	screenshot(t, bctx, "automation-workflow")

	ds.step(chromedp.Click(`#runs tbody tr:first-child td:first-child a`))
	waitTrue(t, bctx, `location.pathname.startsWith("/automation/runs/") && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(`#steps`))
	if steps := ds.text(`#steps tbody`); !strings.Contains(steps, "create_task") || !strings.Contains(steps, "done") {
		t.Errorf("run steps: %q", steps)
	}
	screenshot(t, bctx, "automation-run")

	ds.goTo("/automation/edit?name=stale-deal", `textarea[name=source]`)
	src, err := chromedp.Run(bctx, chromedp.Value(`textarea[name=source]`))
	if err != nil || !strings.Contains(src, "deal_stale") {
		t.Fatalf("editor holds %q (%v)", src, err)
	}
	ds.step(chromedp.SetValue(`textarea[name=source]`, strings.Replace(src, "{opportunity.name}", "{opportunity.nmae}", 1)),
		chromedp.Click(`#editor button[type=submit]`), chromedp.WaitVisible(`#workflow-errors`))
	if errs := ds.text(`ul.problems`); !strings.Contains(errs, "steps[0].create_task.subject") || !strings.Contains(errs, "{opportunity.nmae} is not a field") {
		t.Errorf("problems shown: %q", errs)
	}
	ds.step(chromedp.SetValue(`textarea[name=source]`, strings.Replace(src, "days: 21", "days: 28", 1)), chromedp.Click(`#editor button[type=submit]`))
	waitTrue(t, bctx, `location.pathname === "/automation/workflows/stale-deal" && document.readyState === "complete"`)
	if lede := ds.text(`p.lede`); !strings.Contains(lede, "version 2") {
		t.Errorf("after applying: %q, want version 2", lede)
	}

	// The morning's deleted deal: the run saw the deal as it was deleted.
	ds.goTo("/automation/workflows/deal-deleted", `#runs`)
	ds.step(chromedp.Click(`#runs tbody tr:first-child td:first-child a`))
	waitTrue(t, bctx, `location.pathname.startsWith("/automation/runs/") && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(`#steps`))
	if steps := ds.text(`#steps tbody`); !strings.Contains(steps, "Deleted deal: ") || !strings.Contains(steps, "Prospecting") || !strings.Contains(steps, "done") {
		t.Errorf("the deleted deal's run steps: %q", steps)
	}
	if len(*problems) > 0 {
		t.Errorf("browser console: %v", *problems)
	}
}

package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
)

// tileValues reads the page's tiles as label → value.
func (ds *demoSession) tileValues() map[string]string {
	ds.t.Helper()
	v, err := chromedp.Run(ds.ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('.tile')].map(t => [t.querySelector('h2').textContent.trim().toLowerCase(), t.querySelector('.big').textContent.trim()]))`))
	if err != nil {
		ds.t.Fatal(err)
	}
	return v
}

// bareAmounts lists the figures of the page that look like money without a
// currency: tile values and cells of money columns.
const bareAmounts = `(() => {
  const bad = [];
  const bare = s => /^-?[0-9]{1,3}(,[0-9]{3})+$/.test(s) || /^-?[0-9]{4,}$/.test(s);
  document.querySelectorAll('.tile .big').forEach(b => { if (bare(b.textContent.trim())) bad.push('tile ' + b.textContent.trim()); });
  document.querySelectorAll('table.grid').forEach(t => {
    const heads = [...t.querySelectorAll('thead th')].map(h => h.textContent);
    t.querySelectorAll('tbody tr').forEach(r => [...r.children].forEach((c, i) => {
      const h = heads[i] || '';
      const s = c.textContent.trim();
      if (bare(s) && !/\((USD|EUR|GBP)\)/.test(h) && !/deals|reps|records|count|reached|went on|lost here|version|won$|open deals/i.test(h)) bad.push(t.id + ': ' + h + ' = ' + s);
    }));
  });
  return bad;
})()`

// exportMismatches fetches every table's CSV export from the page and
// compares its data rows with the count the table says it shows.
const exportMismatches = `(async () => {
  const out = [];
  for (const block of document.querySelectorAll('.table-block')) {
    const link = block.querySelector('a.export-csv');
    const count = block.querySelector('.table-count').textContent;
    const m = count.match(/of ([0-9,]+)/);
    const want = m ? Number(m[1].replace(/,/g, '')) : 0;
    const resp = await fetch(link.href);
    const text = await resp.text();
    const lines = text.split('\n').filter(l => l.length > 0).length - 1;
    if (resp.status !== 200 || lines !== want) out.push(block.id + ': page ' + want + ', csv ' + lines + ' (' + resp.status + ')');
  }
  return out;
})()`

// TestBrowserOneFigureEverywhere opens Home and the Dashboard for the same
// period as a manager and a rep: figures with the same label are equal,
// every amount names its currency, and every table's export holds the rows
// the table shows.
func TestBrowserOneFigureEverywhere(t *testing.T) {
	for _, who := range []struct {
		name string
		pick func(demo.Login) bool
	}{
		{"manager", func(l demo.Login) bool { return l.Role == crm.RoleManager && strings.Contains(l.Sees, "team ") }},
		{"rep", func(l demo.Login) bool { return l.Role == crm.RoleRep }},
		{"viewer", func(l demo.Login) bool { return l.Role == crm.RoleViewer }},
	} {
		t.Run(who.name, func(t *testing.T) {
			bctx, problems := newBrowser(t)
			ds, _ := loginToDemo(t, bctx, who.pick)
			ds.goTo("/", `.tiles`)
			home := ds.tileValues()
			screenshot(t, bctx, "home-"+who.name)
			ds.follow(`nav a[href^="/dashboard"]`, "/dashboard", `.tiles`)
			dash := ds.tileValues()
			ds.follow(`nav a[href^="/forecast"]`, "/forecast", `#verdict`)
			fc := ds.tileValues()
			shared := func(a, b map[string]string, an, bn string) int {
				n := 0
				for label, v := range a {
					if w, ok := b[label]; ok {
						n++
						if w != v {
							t.Errorf("%q is %s on %s and %s on %s", label, v, an, w, bn)
						}
					}
				}
				return n
			}
			if n := shared(home, dash, "Home", "the Dashboard"); n < 3 {
				t.Errorf("only %d tiles shared between Home %v and Dashboard %v", n, home, dash)
			}
			if n := shared(dash, fc, "the Dashboard", "the Forecast"); n < 2 {
				t.Errorf("only %d tiles shared between Dashboard %v and Forecast %v", n, dash, fc)
			}
			ds.goTo("/dashboard?team_id=999999", `#request-id`)
			if h := ds.text(`h1`); h != "Not found" {
				t.Errorf("a team out of scope shows %q", h)
			}
			for _, page := range []string{"/", "/dashboard", "/performers", "/forecast", "/forecast/accuracy", "/forecast/deals", "/quality"} {
				ds.goTo(page, `main h1`)
				bad, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](bareAmounts))
				if err != nil || len(bad) > 0 {
					t.Errorf("%s: amounts without a currency %v %v", page, bad, err)
				}
				mism, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](exportMismatches, chromedp.EvalAwaitPromise))
				if err != nil || len(mism) > 0 {
					t.Errorf("%s: exports differ from the tables: %v %v", page, mism, err)
				}
			}
			if len(*problems) > 0 {
				t.Errorf("browser reported problems: %s", fmt.Sprint(*problems))
			}
		})
	}
}

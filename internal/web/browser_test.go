package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// newBrowser starts headless Chromium (QUARTERDECK_TEST_CHROMIUM, or
// /usr/bin/chromium). CI must have it; elsewhere the test is skipped.
func newBrowser(t *testing.T) (context.Context, *[]string) {
	t.Helper()
	path := os.Getenv("QUARTERDECK_TEST_CHROMIUM")
	if path == "" {
		if _, err := os.Stat("/usr/bin/chromium"); err == nil {
			path = "/usr/bin/chromium"
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must provide Chromium (QUARTERDECK_TEST_CHROMIUM)")
		}
		t.Skip("no Chromium: set QUARTERDECK_TEST_CHROMIUM")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	var mu sync.Mutex
	problems := &[]string{}
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			*problems = append(*problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				*problems = append(*problems, fmt.Sprintf("console error: %v", e.Args))
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, problems
}

func TestBrowserLoginAndHome(t *testing.T) {
	bctx, problems := newBrowser(t)
	s := storetest.OpenDuckDB(t)
	o := storetest.NewOrg(t, s)
	storetest.Must(t, s.SetPassword(context.Background(), crm.System, o.MgrA.ID, testPassword))
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
	step(chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, o.MgrA.Email),
		chromedp.SendKeys(`input[name=password]`, "not the password"),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`.error`))
	errText := text(`.error`)
	step(chromedp.SetValue(`input[name=email]`, o.MgrA.Email),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`table.grid`))
	heading, table := text(`h1`), text(`table.grid`)
	screenshot(t, bctx, "home-manager")
	step(chromedp.Click(`a[href="/account"]`), chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "browser test"),
		chromedp.Click(`input[name=action][value=create] ~ button`), chromedp.WaitVisible(`#new-token`))
	token := text(`#new-token`)
	tokens := text(`table.grid`)
	screenshot(t, bctx, "account")
	if !strings.Contains(errText, "Wrong email or password") {
		t.Errorf("failed login shows %q", errText)
	}
	if !strings.Contains(heading, o.MgrA.Name) {
		t.Errorf("home heading %q", heading)
	}
	// Manager A sees both team A deals and not team B's.
	if !strings.Contains(table, o.OppA1.Name) || !strings.Contains(table, o.OppA2.Name) || strings.Contains(table, o.OppB.Name) {
		t.Errorf("manager's table shows:\n%s", table)
	}
	if u, err := s.UserByToken(context.Background(), strings.TrimSpace(token)); err != nil || u.ID != o.MgrA.ID {
		t.Errorf("token made in the browser does not authenticate manager A: %v", err)
	}
	if !strings.Contains(tokens, "browser test") || !strings.Contains(tokens, "active") {
		t.Errorf("the tokens table shows:\n%s", tokens)
	}
	if len(*problems) > 0 {
		t.Errorf("browser reported problems: %v", *problems)
	}
}

// screenshot saves a PNG of the page when QUARTERDECK_SCREENSHOTS names a
// folder, so a person can look at what the tests saw.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("QUARTERDECK_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// drawnCharts counts the charts ECharts drew on a canvas of real size.
const drawnCharts = `[...document.querySelectorAll('.chart-canvas[data-drawn=true] canvas')].filter(c => c.width > 100 && c.height > 100).length`

// waitTrue polls a JavaScript condition until it holds: after a click that
// navigates, the old page still answers selectors until the new one loads.
func waitTrue(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s (last error %v)", js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoSession is a browser logged in to a demo organisation served over
// real HTTP, with helpers that fail the test on error.
type demoSession struct {
	t   *testing.T
	ctx context.Context
	url string
}

// loginToDemo generates a 3,000-deal demo organisation (scored, routed and
// with its workflows' morning), serves it, and logs
// in as the first demo login that pick accepts.
func loginToDemo(t *testing.T, bctx context.Context, pick func(demo.Login) bool) (*demoSession, demo.Login) {
	t.Helper()
	s := storetest.OpenDuckDB(t)
	sum, err := demo.Generate(context.Background(), s, demo.Config{Seed: 7, Opportunities: 3000, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.ApplyScoring(context.Background(), s, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if err := demo.ApplyRouting(context.Background(), s, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.ApplyAutomation(context.Background(), s, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	var who demo.Login
	for _, l := range sum.Logins {
		if who.Email == "" && pick(l) {
			who = l
		}
	}
	if who.Email == "" {
		t.Fatalf("no suitable login among the demo logins %+v", sum.Logins)
	}
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	ds := &demoSession{t: t, ctx: bctx, url: ts.URL}
	ds.step(chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, who.Email),
		chromedp.SendKeys(`input[name=password]`, who.Password))
	// Submitted by script, not by a click: a click can land before the
	// page has settled and do nothing.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('form').requestSubmit(), true`)); err != nil {
		t.Fatal(err)
	}
	waitTrue(t, bctx, `location.pathname === "/" && document.readyState === "complete" && !!document.querySelector('nav.side')`)
	return ds, who
}

// goTo opens path once the current page has finished loading: navigating
// while a navigation started by a click is still loading can leave the
// browser waiting for a load event that never comes.
//
// The page is opened by script and awaited by its path and readyState, not
// by chromedp.Navigate: that waits for a load event of its own, which under
// load in CI sometimes never arrived (a 150 s hang).
func (ds *demoSession) goTo(path, ready string) {
	ds.t.Helper()
	waitTrue(ds.t, ds.ctx, `document.readyState === "complete"`)
	// The old document is marked, so a page at the same path is not taken
	// for the new one.
	if _, err := chromedp.Run(ds.ctx, chromedp.Evaluate[bool](`window.qdLeaving = true, location.assign(`+strconv.Quote(ds.url+path)+`), true`)); err != nil {
		ds.t.Fatal(err)
	}
	waitTrue(ds.t, ds.ctx, `!window.qdLeaving && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(ready))
}

// follow clicks a link and waits until the page at path has loaded: a
// selector the page before also has (the tiles) would match too early.
func (ds *demoSession) follow(link, path, ready string) {
	ds.t.Helper()
	ds.step(chromedp.Click(link))
	waitTrue(ds.t, ds.ctx, `location.pathname === "`+path+`" && document.readyState === "complete"`)
	ds.step(chromedp.WaitVisible(ready))
}

func (ds *demoSession) text(sel string) string {
	ds.t.Helper()
	v, err := chromedp.Run(ds.ctx, chromedp.Text(sel))
	if err != nil {
		ds.t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

func (ds *demoSession) step(steps ...chromedp.Action[chromedp.Void]) {
	ds.t.Helper()
	if err := chromedp.Do(ds.ctx, steps...); err != nil {
		ds.t.Fatal(err)
	}
}

// Command screenshots logs in to a running Quarterdeck as each given user and
// saves full-page PNGs of the main pages at desktop and phone widths, so a
// person can look at what each role sees:
//
//	go run ./scripts/screenshots -base http://127.0.0.1:8080 -out /tmp/shots \
//	    -login ops=carolyn.warren@harborlight.example:PASSWORD -pages /,/dashboard
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

type login struct{ name, email, password string }

type logins []login

func (l *logins) String() string { return fmt.Sprint(*l) }
func (l *logins) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	email, pw, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return fmt.Errorf("want NAME=EMAIL:PASSWORD, got %q", v)
	}
	*l = append(*l, login{name, email, pw})
	return nil
}

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "server URL")
	out := flag.String("out", "screenshots", "output folder")
	pages := flag.String("pages", "/,/dashboard,/forecast,/performers,/forecast/accuracy,/forecast/deals,/quality", "comma-separated paths")
	widths := flag.String("widths", "1440,390", "comma-separated viewport widths")
	chromium := flag.String("chromium", "/usr/bin/chromium", "browser binary")
	var users logins
	flag.Var(&users, "login", "NAME=EMAIL:PASSWORD (repeatable)")
	flag.Parse()
	if len(users) == 0 {
		log.Fatal("give at least one -login")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, u := range users {
		if err := shoot(*chromium, *base, *out, u, strings.Split(*pages, ","), strings.Split(*widths, ",")); err != nil {
			log.Fatalf("%s: %v", u.name, err)
		}
	}
}

func shoot(chromium, base, out string, u login, pages, widths []string) error {
	dir, err := os.MkdirTemp("", "qd-shots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(dir))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelT()
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(`input[name=email]`, u.email),
		chromedp.SendKeys(`input[name=password]`, u.password),
	)
	if err == nil {
		// Submitted by script: a click can land before the page settles.
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('form').requestSubmit(), true`))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.WaitVisible(`nav.side`))
	}
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	for _, w := range widths {
		var width int64
		fmt.Sscan(w, &width)
		for _, p := range pages {
			err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+p), chromedp.WaitReady("body"),
				chromedp.Sleep(400*time.Millisecond))
			if err != nil {
				return fmt.Errorf("%s at %d: %w", p, width, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return fmt.Errorf("%s at %d: %w", p, width, err)
			}
			name := strings.Trim(strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(p), "_")
			if name == "" {
				name = "home"
			}
			file := filepath.Join(out, fmt.Sprintf("%s-%s-%d.png", u.name, name, width))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

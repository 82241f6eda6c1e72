package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// TestTwoServersOnOnePostgreSQL (issue 18): two app servers over one
// throwaway PostgreSQL, as behind a load balancer, work as one: a login on
// one is a session on the other; a write on one shows at once in the other's
// cached dashboard; failed logins on one lock the account on the other; a
// piece of scheduled work runs once however many servers start it.
func TestTwoServersOnOnePostgreSQL(t *testing.T) {
	if os.Getenv("QUARTERDECK_TEST_POSTGRES") == "" {
		t.Skip("QUARTERDECK_TEST_POSTGRES not set")
	}
	dsn := storetest.DSNFor(t, "postgres")
	var urls []string
	var stores []*store.Store
	for range 2 {
		s, err := store.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		urls, stores = append(urls, ts.URL), append(stores, s)
	}
	a := stores[0]
	o := storetest.NewOrg(t, a)
	const pw = "a long passphrase here"
	storetest.Must(t, a.SetPassword(t.Context(), crm.System, o.MgrA.ID, pw))

	// Log in on A, use the session on B.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(urls[0]+"/login", url.Values{"email": {o.MgrA.Email}, "password": {pw}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login on A: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	ua, _ := url.Parse(urls[0])
	ub, _ := url.Parse(urls[1])
	jar.SetCookies(ub, jar.Cookies(ua)) // the load balancer sends the same cookie to either
	get := func(base, path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s%s: %d %s", base, path, resp.StatusCode, body)
		}
		return string(body)
	}
	if me := get(urls[1], "/api/me"); !strings.Contains(me, o.MgrA.Email) {
		t.Errorf("the session from A on B: %s", me)
	}

	// B caches its dashboard; a deal won through A shows on B at once.
	wonOnB := func() string {
		body := get(urls[1], "/api/dashboard?period=all")
		i := strings.Index(body, `"won_count":`)
		return body[i : i+len(`"won_count":`)+2]
	}
	before := wonOnB()
	if again := wonOnB(); again != before {
		t.Fatalf("B's dashboard changed by itself: %s then %s", before, again)
	}
	_, err = a.Opportunities.Update(t.Context(), crm.System, o.OppA1.ID, func(v *crm.Opportunity) error { v.Stage = "Closed Won"; return nil })
	storetest.Must(t, err)
	deadline := time.Now().Add(3 * time.Second)
	for wonOnB() == before {
		if time.Now().After(deadline) {
			t.Fatalf("B's dashboard still says %s three seconds after a deal was won on A", before)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Failed logins on A lock the account on B.
	for range 6 {
		resp, err := http.PostForm(urls[0]+"/login", url.Values{"email": {o.MgrA.Email}, "password": {"wrong password"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err = http.PostForm(urls[1]+"/login", url.Values{"email": {o.MgrA.Email}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password on B after six failures on A: %d, want 429", resp.StatusCode)
	}

	// Scheduled work: both servers start it at once, it runs once.
	var runs atomic.Int32
	start := make(chan struct{})
	done := make(chan bool, 2)
	for _, s := range stores {
		go func() {
			<-start
			ran, err := s.Exclusive(t.Context(), "daily work", func(ctx context.Context) error {
				runs.Add(1)
				time.Sleep(300 * time.Millisecond)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			done <- ran
		}()
	}
	close(start)
	ranA, ranB := <-done, <-done
	if runs.Load() != 1 || ranA == ranB {
		t.Errorf("the daily work ran %d times (%v, %v), want once", runs.Load(), ranA, ranB)
	}

}

package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

const testPassword = "correct horse battery"

// browserless is a cookie-keeping client that does not follow redirects.
func browserless(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestLoginSessionAndCSRF(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		storetest.Must(t, s.SetPassword(ctx, crm.System, o.RepA1.ID, testPassword))
		srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		defer ts.Close()
		c := browserless(t)

		resp, err := c.Get(ts.URL + "/")
		if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("anonymous home: %v %v", resp.Status, err)
		}
		resp, _ = c.PostForm(ts.URL+"/login", url.Values{"email": {o.RepA1.Email}, "password": {"wrong password!"}})
		if body := read(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong email or password") {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
		resp, _ = c.PostForm(ts.URL+"/login", url.Values{"email": {"REP.A1@example.com"}, "password": {testPassword}})
		read(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "qd_session" {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
			t.Fatalf("session cookie %+v (want HttpOnly, SameSite=Lax, not Secure on loopback HTTP)", cookie)
		}
		resp, _ = c.Get(ts.URL + "/")
		home := read(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(home, o.RepA1.Name) || !strings.Contains(home, o.OppA1.Name) {
			t.Fatalf("home page (%d) misses the rep or their deal", resp.StatusCode)
		}
		if strings.Contains(home, o.OppB.Name) || strings.Contains(home, o.OppA2.Name) {
			t.Errorf("rep's home page shows other reps' deals")
		}
		m := csrfField.FindStringSubmatch(home)
		if m == nil {
			t.Fatal("no CSRF token in the page's forms")
		}
		token := m[1]

		// The session cookie alone does not authorise state changes through the API.
		req, _ := http.NewRequest("PATCH", ts.URL+"/api/opportunities/"+itoa(o.OppA1.ID), strings.NewReader(`{"amount":"1"}`))
		resp, _ = c.Do(req)
		if read(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Errorf("API write with cookie and no CSRF header: %d", resp.StatusCode)
		}
		req, _ = http.NewRequest("PATCH", ts.URL+"/api/opportunities/"+itoa(o.OppA1.ID), strings.NewReader(`{"amount":"1"}`))
		req.Header.Set("X-CSRF-Token", token)
		resp, _ = c.Do(req)
		if read(t, resp); resp.StatusCode != http.StatusOK {
			t.Errorf("API write with cookie and CSRF header: %d", resp.StatusCode)
		}
		// A cross-site form post is refused before it reaches the handler.
		req, _ = http.NewRequest("POST", ts.URL+"/account", strings.NewReader("action=create&name=x&expires_days=1&csrf_token="+token))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, _ = c.Do(req)
		if read(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site post: %d", resp.StatusCode)
		}
		// A form without the token is refused; with it, logout works.
		resp, _ = c.PostForm(ts.URL+"/logout", url.Values{})
		if read(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout without CSRF token: %d", resp.StatusCode)
		}
		resp, _ = c.PostForm(ts.URL+"/logout", url.Values{"csrf_token": {token}})
		if read(t, resp); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("logout: %d", resp.StatusCode)
		}
		// The old cookie no longer works even if replayed.
		req, _ = http.NewRequest("GET", ts.URL+"/api/me", nil)
		req.AddCookie(cookie)
		resp, _ = http.DefaultClient.Do(req)
		if read(t, resp); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("replayed cookie after logout: %d", resp.StatusCode)
		}
		// A disabled user's token stops working at once.
		tok, err := s.NewAPIToken(ctx, crm.System, o.RepB.ID)
		storetest.Must(t, err)
		_, err = s.Users.Update(ctx, crm.System, o.RepB.ID, func(u *crm.User) error { u.Active = false; return nil })
		storetest.Must(t, err)
		req, _ = http.NewRequest("GET", ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, _ = http.DefaultClient.Do(req)
		if read(t, resp); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("disabled user's token: %d", resp.StatusCode)
		}
	})
}

func TestSecureCookieSetting(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	o := storetest.NewOrg(t, s)
	storetest.Must(t, s.SetPassword(context.Background(), crm.System, o.Admin.ID, testPassword))
	for _, c := range []struct {
		setting string
		secure  bool
	}{{"always", true}, {"never", false}, {"auto", false}} {
		srv, err := web.NewServer(web.Config{SecureCookies: c.setting}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		resp, err := browserless(t).PostForm(ts.URL+"/login", url.Values{"email": {o.Admin.Email}, "password": {testPassword}})
		if err != nil {
			t.Fatal(err)
		}
		read(t, resp)
		ts.Close()
		if ck := resp.Cookies(); len(ck) != 1 || ck[0].Secure != c.secure {
			t.Errorf("secure-cookies=%s: cookies %v, want Secure=%v", c.setting, ck, c.secure)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

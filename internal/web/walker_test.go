package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// hostileValues are what a hostile user puts in paths, parameters and fields.
var hostileValues = []string{"", "abc", "-1", "999999", "99999999999999999999", "1e400", "\xff\xfe", "a\x00b",
	"2025-02-30", "FY9999-Q9", "' OR 1=1 --", strings.Repeat("x", 5000)}

// hostileParams are the query parameters any page or API reads (record list
// filters included); numberParams are those read as numbers or ids, probed
// one at a time (one refused parameter would hide the others).
var (
	hostileParams = []string{"period", "by", "rep_id", "team_id", "region", "segment", "industry", "source", "type",
		"product", "limit", "after", "newest", "from", "to", "as_of", "entity", "entity_id", "action", "record_id", "version",
		"model", "grain", "points", "format", "export", "exclude", "stale_days", "trained", "owner_id", "stage", "status",
		"created_at_from", "created_at_to", "name", "email", "method", "horizon", "workflow", "run"}
	numberParams = []string{"rep_id", "team_id", "limit", "after", "entity_id", "record_id", "version", "points",
		"stale_days", "owner_id", "horizon", "run"}
)

// TestHostileRequestsNeverAnswer500 walks every route the server has, as
// several roles, with hostile path values, query parameters and bodies: a
// user can get 4xx for anything, never a 500 (issue 18, finding 4).
func TestHostileRequestsNeverAnswer500(t *testing.T) {
	if testing.Short() {
		t.Skip("walks every route")
	}
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv, err := web.NewServer(web.Config{}, s, log)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		type caller struct {
			name          string
			token, cookie string
		}
		var callers []caller
		for _, u := range []crm.User{o.Admin, o.MgrA, o.RepA1, o.Viewer} {
			tok, err := s.NewAPIToken(context.Background(), crm.System, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := s.NewSession(context.Background(), u.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			callers = append(callers, caller{u.Email, tok, sess.Token})
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var requests, failures int
		statuses := map[int]int{}
		send := func(c caller, method, target, body string) {
			t.Helper()
			requests++
			req, err := http.NewRequest(method, ts.URL+target, strings.NewReader(body))
			if err != nil {
				return // not a request a client can send
			}
			if strings.HasPrefix(target, "/api/") {
				req.Header.Set("Authorization", "Bearer "+c.token)
				req.Header.Set("Content-Type", "application/json")
			} else {
				req.AddCookie(&http.Cookie{Name: "qd_session", Value: c.cookie})
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, target, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode]++
			if resp.StatusCode >= 500 {
				failures++
				if failures <= 40 {
					t.Errorf("%s %s %.80q as %s: %d %.120q", method, target, body, c.name, resp.StatusCode, b)
				}
			}
		}
		ids := map[string]string{"id": fmt.Sprint(o.OppA1.ID)}
		for _, pattern := range srv.Routes() {
			method, path, ok := strings.Cut(pattern, " ")
			if !ok || strings.HasSuffix(path, "/") || path == "/healthz" || strings.HasSuffix(path, "/sessions/end") {
				continue // catch-alls, the static files, and logging the walker's own sessions out
			}
			path = strings.TrimSuffix(path, "{$}")
			fill := func(v string) string {
				out := path
				for strings.Contains(out, "{") {
					i, j := strings.Index(out, "{"), strings.Index(out, "}")
					name := strings.TrimSuffix(out[i+1:j], "...")
					val := v
					if val == "" {
						val = ids[name]
						if val == "" {
							val = "1"
						}
					}
					out = out[:i] + url.PathEscape(val) + out[j+1:]
				}
				return out
			}
			for _, c := range callers {
				for _, v := range hostileValues {
					if strings.Contains(path, "{") {
						send(c, method, fill(v), "")
					}
					if method == "GET" {
						q := url.Values{}
						for _, name := range hostileParams {
							q.Set(name, v)
						}
						send(c, method, fill("")+"?"+q.Encode(), "")
					} else {
						body, _ := jsonOrForm(path, v)
						send(c, method, fill(""), body)
					}
				}
				if method == "GET" && c.name != o.Viewer.Email {
					for _, name := range numberParams {
						for _, v := range []string{"99999999999999999999", "999999", "-5"} {
							send(c, method, fill("")+"?"+url.Values{name: {v}}.Encode(), "")
						}
					}
				}
			}
		}
		t.Logf("%d requests, %d answered 5xx; by status %v", requests, failures, statuses)
		// The walk reaches the handlers: most requests are answered, not
		// turned away at the door.
		if statuses[200] < requests/10 || statuses[401]+statuses[303] > requests/10 {
			t.Errorf("the walk did not reach the handlers: %v", statuses)
		}
	})
}

// jsonOrForm is a hostile body for path: JSON for the API, a form for pages.
func jsonOrForm(path, v string) (string, bool) {
	if strings.HasPrefix(path, "/api/") {
		q := fmt.Sprintf("%q", v)
		return `{"id":` + q + `,"name":` + q + `,"amount":` + q + `,"owner_id":` + q + `,"period":` + q + `,"commit":` + q + `}`, true
	}
	f := url.Values{}
	for _, name := range []string{"csrf_token", "name", "period", "commit", "best_case", "pipeline", "reason", "user_id", "email", "password"} {
		f.Set(name, v)
	}
	return f.Encode(), false
}

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// notificationRow is a row of the notifications table, found by its id link.
var notificationRow = regexp.MustCompile(`<a href="/notifications\?[^"]*job=(\d+)[^"]*#attempts-block">`)

// getJSON opens an API path with who's session, as the page's JSON links do.
func (e *pageEnv) getJSON(who, path string) (int, map[string]any) {
	e.t.Helper()
	status, _, body := e.get(who, path)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %.300s", who, path, status, body)
	}
	return status, out
}

// Sales ops reads the notification log: two routing alerts delivered to a
// real receiver (one after a retry) and a hot-lead alert not sent yet,
// filtered by event and state, with one notification's attempts; a rep is
// refused the page and the API, and a parameter the page does not know is
// named in a 400.
func TestNotificationsPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newPageEnv(t, s)
		ops := crm.User{Email: "ops@example.com", Name: "Olive Ops", Role: crm.RoleOps, Active: true}
		storetest.Must(t, s.Users.Create(ctx, crm.System, &ops))
		sess, err := s.NewSession(ctx, ops.ID, time.Hour)
		storetest.Must(t, err)
		e.cookies["ops"] = sess.Token

		rules := strings.Replace(testRules, "{name: everyone, pool: east-a}", "{name: everyone, pool: east-a, alert: sales}", 1)
		if _, err := routing.Apply(ctx, s, storetest.As(e.org.Admin), "r.yaml", []byte(rules), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		var leads []int64
		for i := range 2 {
			l := crm.Lead{LastName: fmt.Sprintf("Alerted %d", i), Status: crm.LeadNew, CreatedAt: time.Now().UTC()}
			storetest.Must(t, s.Leads.Create(ctx, crm.System, &l))
			if _, err := routing.Assign(ctx, s, crm.System, l.ID, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			leads = append(leads, l.ID)
		}
		var mu sync.Mutex
		answered := 0
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			defer mu.Unlock()
			if answered++; answered == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(recv.Close)
		quiet := slog.New(slog.DiscardHandler)
		w := jobs.NewWorker(s, jobs.Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Log: quiet})
		if err := notify.Register(w, s, []notify.Channel{{Name: "sales", Type: notify.Webhook, URL: recv.URL, Secret: "s3cret"}}, notify.Options{Log: quiet}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if _, err := w.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := jobs.Counts(ctx, s); n[jobs.Done] == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the routing alerts were not delivered")
			}
		}
		hot, _, err := notify.Send(ctx, s, notify.Message{Channel: "ops-mail", Event: "lead.hot", DedupeKey: "lead:1:grade:A",
			Title: "Hot lead: Alerted 0", Text: "Grade A", Link: fmt.Sprintf("/leads/%d", leads[0])})
		storetest.Must(t, err)

		// The routing alert that was retried.
		status, out := e.getJSON("ops", "/api/notifications?event=lead.routed&state=done")
		items, _ := out["items"].([]any)
		if status != 200 || len(items) != 2 {
			t.Fatalf("the delivered routing alerts: %d %v", status, out)
		}
		var retried int64
		for _, it := range items {
			if n := it.(map[string]any); n["attempts"] == 2.0 && n["last_outcome"] == "delivered" && n["last_status_code"] == 200.0 {
				retried = int64(n["job_id"].(float64))
			}
		}
		if retried == 0 {
			t.Fatalf("no routing alert was delivered on its second attempt: %v", items)
		}

		pages := []struct {
			name, path string
			rows       int
			has, not   []string
		}{
			{"everything", "/notifications", 3,
				[]string{`id="notifications"`, "New lead for", "Hot lead: Alerted 0", fmt.Sprintf(`href="/leads/%d"`, leads[1]), "lead.routed", "ops-mail",
					`href="/notifications" aria-current="page"`}, nil},
			{"an event", "/notifications?event=lead.hot", 1, []string{"Hot lead: Alerted 0"}, []string{"New lead for"}},
			{"delivered", "/notifications?state=done", 2, []string{"New lead for", "delivered"}, []string{"Hot lead"}},
			{"still queued", "/notifications?state=queued", 1, []string{"Hot lead: Alerted 0", `href="?export=all&amp;format=xlsx&amp;state=queued"`,
				`href="/api/notifications?state=queued"`}, []string{"New lead for"}},
			{"the filter form's empty fields", "/notifications?channel=sales&event=&state=", 2, []string{"New lead for"}, []string{"Hot lead"}},
			{"no such channel", "/notifications?channel=nowhere", 0, []string{"No data for this filter."}, nil},
			{"one notification's attempts", fmt.Sprintf("/notifications?job=%d", retried), 3,
				[]string{`id="attempts"`, fmt.Sprintf("Attempts of notification %d", retried), ">503<", ">200<", ">retry<", ">delivered<", "503 Service Unavailable"}, nil},
		}
		for _, c := range pages {
			t.Run(c.name, func(t *testing.T) {
				status, _, body := e.get("ops", c.path)
				if status != 200 {
					t.Fatalf("%s: %d\n%.600s", c.path, status, body)
				}
				if rows := len(notificationRow.FindAll(body, -1)); rows != c.rows {
					t.Errorf("%s: %d notifications, want %d", c.path, rows, c.rows)
				}
				for _, h := range c.has {
					if !strings.Contains(string(body), h) {
						t.Errorf("%s: the page lacks %q", c.path, h)
					}
				}
				for _, h := range c.not {
					if strings.Contains(string(body), h) {
						t.Errorf("%s: the page shows %q", c.path, h)
					}
				}
			})
		}

		status, ctype, csv := e.get("ops", "/notifications?state=queued&export=notifications&format=csv")
		if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); status != 200 || !strings.HasPrefix(ctype, "text/csv") ||
			len(lines) != 2 || !strings.HasPrefix(lines[0], "ID,Queued (UTC),Channel,Event") || !strings.HasPrefix(lines[1], fmt.Sprint(hot, ",")) {
			t.Errorf("the CSV of the queued notifications: %d %s\n%s", status, ctype, csv)
		}
		status, out = e.getJSON("ops", fmt.Sprintf("/api/notifications/%d/attempts", retried))
		if attempts, _ := out["items"].([]any); status != 200 || len(attempts) != 2 || attempts[0].(map[string]any)["outcome"] != "retry" ||
			attempts[0].(map[string]any)["status_code"] != 503.0 || attempts[1].(map[string]any)["outcome"] != "delivered" {
			t.Errorf("the retried alert's attempts: %d %v", status, out)
		}
		status, out = e.getJSON("admin", "/api/notifications?state=queued&limit=10")
		if queued, _ := out["items"].([]any); status != 200 || len(queued) != 1 || queued[0].(map[string]any)["job_id"] != float64(hot) ||
			queued[0].(map[string]any)["attempts"] != 0.0 || queued[0].(map[string]any)["next_run_at"] == nil {
			t.Errorf("the queued notification over the API: %d %v", status, out)
		}

		refusals := []struct {
			name, who, path string
			status          int
			names           string // in the answer
		}{
			{"a rep's page", "repA1", "/notifications", 403, "Not for your role"},
			{"a rep's API", "repA1", "/api/notifications", 403, "forbidden"},
			{"a rep's attempts", "repA1", fmt.Sprintf("/api/notifications/%d/attempts", retried), 403, "forbidden"},
			{"a manager's page", "mgrA", "/notifications", 403, "Not for your role"},
			{"an unknown page parameter", "ops", "/notifications?colour=red", 400, "colour"},
			{"an unknown API parameter", "ops", "/api/notifications?state=done&colour=red", 400, "colour"},
			{"an unknown state", "ops", "/api/notifications?state=pending", 400, "state"},
			{"an unknown state on the page", "ops", "/notifications?state=pending", 400, "state"},
			{"a limit out of range", "ops", "/api/notifications?limit=1001", 400, "limit"},
			{"a job that is not an id", "ops", "/notifications?job=abc", 400, "job"},
			{"a parameter of the attempts", "ops", fmt.Sprintf("/api/notifications/%d/attempts?limit=5", retried), 400, "limit"},
			{"no such notification", "ops", "/api/notifications/999999/attempts", 404, "not found"},
			{"no such notification's page", "ops", "/notifications?job=999999", 404, "Not found"},
		}
		for _, c := range refusals {
			t.Run(c.name, func(t *testing.T) {
				status, _, body := e.get(c.who, c.path)
				if status != c.status || !strings.Contains(string(body), c.names) {
					t.Errorf("%s %s: %d, want %d naming %q\n%.400s", c.who, c.path, status, c.status, c.names, body)
				}
			})
		}
		// Only ops and admins see the page in the navigation.
		for who, want := range map[string]bool{"ops": true, "admin": true, "repA1": false, "mgrA": false, "viewer": false} {
			if _, _, body := e.get(who, "/"); strings.Contains(string(body), `href="/notifications"`) != want {
				t.Errorf("%s: the navigation links the notification log: %v, want %v", who, !want, want)
			}
		}
	})
}

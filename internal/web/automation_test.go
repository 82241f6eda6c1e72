package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

const taskOnNewDeal = `name: task-on-new-deal
trigger: {type: created, entity: opportunity}
steps:
  - create_task: {subject: "Qualify {opportunity.name}"}
`

// drainAutomation dispatches the change feed and runs the queued steps.
func drainAutomation(t *testing.T, s *store.Store) {
	t.Helper()
	w := jobs.NewWorker(s, jobs.Options{Log: slog.New(slog.DiscardHandler)})
	automation.Register(w, s, nil, automation.Options{Log: slog.New(slog.DiscardHandler)})
	for range 20 {
		n, err := automation.Dispatch(context.Background(), s, time.Now())
		storetest.Must(t, err)
		ran, err := w.RunDue(context.Background())
		storetest.Must(t, err)
		if n == 0 && ran == 0 {
			return
		}
	}
}

// The workflow API by role: ops applies and lists, a bad document is a 400
// naming the line and field, a rep may neither apply nor list, a manager
// only for their own team; a dry run sees only what the caller sees; a deal
// a rep creates through the API runs the workflow once, and the run log
// shows it to that rep and not to another.
func TestAutomationAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		for _, c := range []struct {
			who, method, path, body string
			status                  int
			check                   string // in the answer
		}{
			{"admin", "POST", "/api/automation/workflows", src(taskOnNewDeal), 201, `"version":1`},
			{"admin", "POST", "/api/automation/workflows", src("name: x\ntrigger: {type: created, entity: opportunity}\nsteps:\n  - create_task: {subject: \"{opportunity.nam}\"}\n"), 400, "api.yaml:4"},
			{"repA1", "POST", "/api/automation/workflows", src(taskOnNewDeal), 403, ""},
			{"mgrA", "POST", "/api/automation/workflows", src("name: b-only\nteam: East B\ntrigger: {type: created, entity: lead}\nsteps: [{stop: true}]\n"), 400, "team"},
			{"mgrA", "POST", "/api/automation/workflows", src("name: a-only\nteam: East A\ntrigger: {type: created, entity: lead}\nsteps: [{stop: true}]\n"), 201, `"name":"a-only"`},
			{"mgrB", "GET", "/api/automation/workflows/a-only", "", 404, ""},
			{"admin", "GET", "/api/automation/workflows", "", 200, "task-on-new-deal"},
			{"repA1", "GET", "/api/automation/workflows", "", 403, ""},
			{"viewer", "GET", "/api/automation/runs", "", 403, ""},
			{"admin", "GET", "/api/automation/runs?state=bogus", "", 400, "state"},
			{"admin", "GET", "/api/automation/runs?colour=red", "", 400, "colour"},
			{"admin", "POST", "/api/automation/workflows/task-on-new-deal/test", fmt.Sprintf(`{"record_id": %d}`, e.org.OppA1.ID), 200, "would_create"},
			{"repB", "POST", "/api/automation/workflows/task-on-new-deal/test", fmt.Sprintf(`{"record_id": %d}`, e.org.OppA1.ID), 403, ""},
			{"mgrB", "POST", "/api/automation/workflows/task-on-new-deal/test", fmt.Sprintf(`{"record_id": %d}`, e.org.OppA1.ID), 404, ""},
			{"admin", "POST", "/api/automation/test", fmt.Sprintf(`{"record_id": %d, "source": %q}`, e.org.OppB.ID, taskOnNewDeal), 200, "Qualify Deal for rep.b"},
			{"admin", "POST", "/api/automation/workflows/task-on-new-deal/disable", "", 200, `"enabled":false`},
			{"admin", "POST", "/api/automation/workflows/task-on-new-deal/enable", "", 200, `"enabled":true`},
		} {
			status, body := e.do(c.who, c.method, c.path, c.body)
			raw := fmt.Sprint(body)
			if b, ok := body["_raw"]; ok {
				raw = fmt.Sprint(b)
			}
			if status != c.status || !strings.Contains(compact(body), c.check) {
				t.Errorf("%s %s %s: %d %s, want %d with %q", c.who, c.method, c.path, status, raw, c.status, c.check)
			}
		}
		status, deal := e.do("repA1", "POST", "/api/opportunities", fmt.Sprintf(`{"name": "API deal", "account_id": %d, "owner_id": %d, "amount": "5000", "currency": "USD", "stage": "Prospecting", "type": "new"}`, e.org.Account.ID, e.org.RepA1.ID))
		if status != 201 {
			t.Fatalf("create a deal: %d %v", status, deal)
		}
		drainAutomation(t, s)
		drainAutomation(t, s)
		_, mine := e.do("repA1", "GET", "/api/automation/runs", "")
		_, theirs := e.do("repB", "GET", "/api/automation/runs", "")
		if len(itemIDs(mine)) != 1 || len(itemIDs(theirs)) != 0 {
			t.Fatalf("runs: the owner sees %v, another rep %v", mine, theirs)
		}
		status, run := e.do("repA1", "GET", "/api/automation/runs/"+strconv.FormatInt(itemIDs(mine)[0], 10), "")
		if status != 200 || !strings.Contains(compact(run), "Qualify API deal") {
			t.Errorf("the run: %d %v", status, run)
		}
		if status, _ := e.do("repB", "GET", "/api/automation/runs/"+strconv.FormatInt(itemIDs(mine)[0], 10), ""); status != 404 {
			t.Errorf("another rep read the run: %d", status)
		}
	})
}

// compact is an answer as one line of JSON, for "contains" checks.
func compact(body map[string]any) string {
	if raw, ok := body["_raw"]; ok {
		return fmt.Sprint(raw)
	}
	return jsonText(body)
}

// src is a definition as the JSON body the API takes.
func src(yaml string) string { return jsonText(map[string]string{"source": yaml}) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A webhook trigger runs only for requests signed with its secret, once per
// delivery id, and answers a wrong name like a wrong signature.
func TestWebhookTrigger(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		const secret = "hook-secret-for-tests"
		srv, err := web.NewServer(web.Config{Getenv: func(k string) string { return map[string]string{"HOOK_SECRET": secret}[k] }}, s, slog.New(slog.DiscardHandler))
		storetest.Must(t, err)
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		_, err = automation.Apply(ctx, s, storetest.As(o.Admin), "h.yaml", []byte(`name: from-billing
trigger: {type: webhook, entity: opportunity, secret_env: HOOK_SECRET}
steps:
  - update: {field: source, value: billing}
`), nil, time.Now())
		storetest.Must(t, err)
		post := func(name, key, delivery string) (int, string) {
			body := fmt.Sprintf(`{"record_id": %d}`, o.OppA1.ID)
			req, _ := http.NewRequest("POST", ts.URL+"/api/automation/hooks/"+name, strings.NewReader(body))
			stamp := strconv.FormatInt(time.Now().Unix(), 10)
			req.Header.Set(notify.TimestampHeader, stamp)
			req.Header.Set(notify.SignatureHeader, notify.Sign(key, stamp, []byte(body)))
			req.Header.Set(notify.DeliveryHeader, delivery)
			resp, err := http.DefaultClient.Do(req)
			storetest.Must(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, c := range []struct {
			name, key, delivery string
			status              int
		}{
			{"from-billing", "wrong", "d1", 401},
			{"no-such-hook", secret, "d1", 401},
			{"from-billing", secret, "d1", 202},
			{"from-billing", secret, "d1", 202}, // resent: no second run
		} {
			if status, body := post(c.name, c.key, c.delivery); status != c.status {
				t.Errorf("%s signed with %q: %d %s, want %d", c.name, c.key, status, body, c.status)
			}
		}
		drainAutomation(t, s)
		runs, err := automation.Runs(ctx, s, crm.System, automation.RunQuery{Workflow: "from-billing"})
		storetest.Must(t, err)
		deal, _ := s.Opportunities.Get(ctx, crm.System, o.OppA1.ID)
		if len(runs) != 1 || runs[0].State != "done" || deal.Source != "billing" {
			t.Errorf("runs %+v, deal source %q", runs, deal.Source)
		}
	})
}

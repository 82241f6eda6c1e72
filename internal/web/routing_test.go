package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const testRules = `name: inbound
queue_owner: admin@example.com
pools:
  - {name: east-a, method: round_robin, members: [{team: East A}]}
rules:
  - {name: everyone, pool: east-a}
`

// A new user's path: ops applies a rule set, posts unowned leads and sees
// each routed in the same call with its reason, alternating over the team;
// a rep reads the log of their own lead only and may not re-route.
func TestRoutingAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		body := fmt.Sprintf(`{"file": "inbound.yaml", "source": %q}`, testRules)
		if code, out := e.do("repA1", "POST", "/api/routing/rulesets", body); code != http.StatusForbidden {
			t.Errorf("a rep applying rules: %d %v", code, out)
		}
		bad := fmt.Sprintf(`{"file": "bad.yaml", "source": %q}`, strings.Replace(testRules, "round_robin", "lottery", 1))
		if code, out := e.do("admin", "POST", "/api/routing/rulesets", bad); code != 400 || !strings.Contains(fmt.Sprint(out), "bad.yaml:4") {
			t.Errorf("a bad rule set: %d %v", code, out)
		}
		if code, out := e.do("admin", "POST", "/api/routing/rulesets", body); code != http.StatusCreated {
			t.Fatalf("apply: %d %v", code, out)
		}
		owners := map[float64]int{}
		var firstLead float64
		for i := range 4 {
			code, out := e.do("admin", "POST", "/api/leads", fmt.Sprintf(`{"last_name": "Lead %d", "company": "Co %d", "status": "new", "created_at": "2026-03-01T10:00:00Z"}`, i, i))
			if code != http.StatusCreated {
				t.Fatalf("create lead: %d %v", code, out)
			}
			routed, _ := out["routing"].(map[string]any)
			if routed == nil || !strings.Contains(routed["reason"].(string), "round robin") || out["owner_id"] == nil {
				t.Fatalf("the lead was not routed in the same call: %v", out)
			}
			owners[out["owner_id"].(float64)]++
			if i == 0 {
				firstLead = out["id"].(float64)
			}
		}
		if owners[float64(e.org.RepA1.ID)] != 2 || owners[float64(e.org.RepA2.ID)] != 2 {
			t.Errorf("4 leads over East A: %v, want 2 each", owners)
		}
		who := map[int64]string{e.org.RepA1.ID: "repA1", e.org.RepA2.ID: "repA2"}
		var owner int64
		code, out := e.do("admin", "GET", fmt.Sprintf("/api/leads/%.0f/assignments", firstLead), "")
		if items, _ := out["items"].([]any); code != 200 || len(items) != 1 {
			t.Fatalf("assignments: %d %v", code, out)
		} else {
			owner = int64(items[0].(map[string]any)["owner_id"].(float64))
		}
		if code, _ := e.do(who[owner], "GET", fmt.Sprintf("/api/leads/%.0f/assignments", firstLead), ""); code != 200 {
			t.Errorf("the owner reading their lead's log: %d", code)
		}
		if code, _ := e.do("repB", "GET", fmt.Sprintf("/api/leads/%.0f/assignments", firstLead), ""); code != http.StatusNotFound {
			t.Errorf("another rep reading the log: %d, want 404", code)
		}
		if code, _ := e.do(who[owner], "POST", fmt.Sprintf("/api/leads/%.0f/route", firstLead), ""); code != http.StatusForbidden {
			t.Errorf("a rep re-routing: %d, want 403", code)
		}
		code, out = e.do("admin", "POST", fmt.Sprintf("/api/leads/%.0f/route", firstLead), "")
		if code != 200 || out["previous_owner_id"].(float64) != float64(owner) {
			t.Errorf("re-route: %d %v", code, out)
		}
		code, out = e.do("admin", "GET", "/api/routing/pools", "")
		if items, _ := out["items"].([]any); code != 200 || len(items) != 1 || len(items[0].(map[string]any)["members"].([]any)) != 2 {
			t.Errorf("pools: %d %v", code, out)
		}
		code, out = e.do("admin", "GET", "/api/routing/fairness?from=2000-01-01", "")
		leads := 0.0
		for _, it := range out["items"].([]any) {
			leads += it.(map[string]any)["leads"].(float64)
		}
		if code != 200 || leads != 5 {
			t.Errorf("fairness since 2000: %d, %v leads (want the 4 routed and the 1 re-routed)", code, leads)
		}
		_, out = e.do("admin", "GET", "/api/routing/fairness?from=2000-01-01&to=2000-01-31", "")
		for _, it := range out["items"].([]any) {
			if n := it.(map[string]any)["leads"].(float64); n != 0 {
				t.Errorf("January 2000 counts %v leads", n)
			}
		}
		for path, want := range map[string]int{
			"/api/routing/fairness?from=yesterday":                400,
			"/api/routing/fairness?to=2000-01-01&from=2000-02-01": 400,
			"/api/routing/fairness?days=7":                        400,
		} {
			if code, out := e.do("admin", "GET", path, ""); code != want {
				t.Errorf("%s: %d %v, want %d", path, code, out, want)
			}
		}
		for _, path := range []string{"/api/routing/pools", "/api/routing/fairness"} {
			if code, _ := e.do("mgrA", "GET", path, ""); code != http.StatusForbidden {
				t.Errorf("a manager reading %s: %d, want 403", path, code)
			}
		}
	})
}

// The routing page: ops sees the rule set, the fairness audit and the
// editor; a rep sees only their own leads' assignments; the viewer none.
func TestRoutingPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		ctx := context.Background()
		if _, err := routing.Apply(ctx, s, storetest.As(e.org.Admin), "r.yaml", []byte(testRules), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			l := crm.Lead{LastName: fmt.Sprintf("Routed %d", i), Status: crm.LeadNew, CreatedAt: time.Now().UTC()}
			storetest.Must(t, s.Leads.Create(ctx, crm.System, &l))
			if _, err := routing.Assign(ctx, s, crm.System, l.ID, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			who  string
			code int
			has  []string
			not  []string
		}{
			{"admin", 200, []string{"Rule set inbound version 1", "By team", "Pools now", "next in turn", "Fairness audit", "Response against the SLA", "SLA breaches", "Routed 0", "Routed 1", "Apply rule set"}, nil},
			{"repA1", 200, []string{"Routed 0"}, []string{"Routed 1", "Fairness audit", "Pools now", "Apply rule set"}},
			{"viewer", 403, nil, nil},
		} {
			code, _, body := e.get(c.who, "/leads/routing")
			if code != c.code {
				t.Errorf("%s: %d, want %d", c.who, code, c.code)
				continue
			}
			for _, h := range c.has {
				if !strings.Contains(string(body), h) {
					t.Errorf("%s: the page lacks %q", c.who, h)
				}
			}
			for _, h := range c.not {
				if strings.Contains(string(body), h) {
					t.Errorf("%s: the page shows %q", c.who, h)
				}
			}
		}
	})
}

func TestAvailabilityAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		path := fmt.Sprintf("/api/users/%d/availability", e.org.RepA1.ID)
		body := `{"time_zone": "America/New_York", "away": [{"from": "2026-12-20T00:00:00Z", "to": "2027-01-04T00:00:00Z", "note": "holiday"}]}`
		if code, out := e.do("repB", "PUT", path, body); code != http.StatusForbidden {
			t.Errorf("another rep: %d %v", code, out)
		}
		if code, out := e.do("repA1", "PUT", path, `{"time_zone": "Nowhere/Land"}`); code != 400 || !strings.Contains(fmt.Sprint(out), "time_zone") {
			t.Errorf("a bad time zone: %d %v", code, out)
		}
		if code, out := e.do("repA1", "PUT", path, `{"time_zone": 5}`); code != 400 {
			t.Errorf("a wrong type: %d %v", code, out)
		}
		code, out := e.do("repA1", "PUT", path, body)
		if away, _ := out["away"].([]any); code != 200 || out["time_zone"] != "America/New_York" || len(away) != 1 {
			t.Fatalf("set: %d %v", code, out)
		}
		if code, out := e.do("mgrA", "GET", path, ""); code != 200 || out["time_zone"] != "America/New_York" {
			t.Errorf("the manager reads it: %d %v", code, out)
		}
	})
}

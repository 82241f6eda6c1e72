package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
	"github.com/shopspring/decimal"
)

// env is a real server over a real database with the test organisation and
// an API token per user.
type env struct {
	t      *testing.T
	store  *store.Store
	org    *storetest.Org
	url    string
	tokens map[string]string // role name in scenarios → token
}

func newEnv(t *testing.T, s *store.Store) *env {
	t.Helper()
	o := storetest.NewOrg(t, s)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := web.NewServer(web.Config{}, s, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e := &env{t: t, store: s, org: o, url: ts.URL, tokens: map[string]string{}}
	for name, u := range map[string]crm.User{"admin": o.Admin, "viewer": o.Viewer, "vp": o.VP, "mgrA": o.MgrA, "mgrB": o.MgrB,
		"repA1": o.RepA1, "repA2": o.RepA2, "repB": o.RepB} {
		tok, err := s.NewAPIToken(context.Background(), crm.System, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = tok
	}
	return e
}

// do sends a request as who ("" = anonymous) and decodes a JSON answer.
func (e *env) do(who, method, path string, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, out
}

// wantError checks that the answer's error says text.
func wantError(text string) func(t *testing.T, b map[string]any) {
	return func(t *testing.T, b map[string]any) {
		if msg, _ := b["error"].(string); !strings.Contains(msg, text) {
			t.Errorf("error %q, want it to say %q", msg, text)
		}
	}
}

// errorFields lists the field names of a 400 answer.
func errorFields(body map[string]any) []string {
	var out []string
	fs, _ := body["fields"].([]any)
	for _, f := range fs {
		out = append(out, f.(map[string]any)["field"].(string))
	}
	slices.Sort(out)
	return out
}

func itemIDs(body map[string]any) []int64 {
	var out []int64
	items, _ := body["items"].([]any)
	for _, it := range items {
		out = append(out, int64(it.(map[string]any)["id"].(float64)))
	}
	return out
}

// ownerOf reads a deal's owner straight from the database.
func (e *env) ownerOf(opportunityID int64) int64 {
	var owner int64
	e.store.DB().QueryRow(`SELECT owner_id FROM opportunities WHERE id = $1`, opportunityID).Scan(&owner)
	return owner
}

// dbState is what must not change when a request is refused.
func (e *env) dbState() string {
	var opps, audit, users int
	db := e.store.DB()
	db.QueryRow(`SELECT COUNT(*) FROM opportunities`).Scan(&opps)
	db.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&audit)
	db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users)
	var sum string
	db.QueryRow(`SELECT CAST(SUM(amount) AS VARCHAR) FROM opportunities`).Scan(&sum)
	return fmt.Sprintf("opps=%d audit=%d users=%d sum=%s", opps, audit, users, sum)
}

func TestAPIScenarios(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		oppA1, oppA2, oppB := fmt.Sprint(o.OppA1.ID), fmt.Sprint(o.OppA2.ID), fmt.Sprint(o.OppB.ID)
		validOpp := func(owner crm.User, extra string) string {
			return fmt.Sprintf(`{"name":"New deal","account_id":%d,"owner_id":%d,"amount":"5000.50","currency":"USD","stage":"Prospecting","expected_close":"2025-06-30"%s}`,
				o.Account.ID, owner.ID, extra)
		}
		cases := []struct {
			name, who, method, path, body string
			status                        int
			check                         func(t *testing.T, body map[string]any)
			unchanged                     bool // the database must be exactly as before
		}{
			{name: "health needs no login", method: "GET", path: "/healthz", status: 200},
			{name: "anonymous is refused", method: "GET", path: "/api/opportunities", status: 401},
			{name: "a bad token is refused", who: "nobody", method: "GET", path: "/api/opportunities", status: 401},
			{name: "rep reads own deal", who: "repA1", method: "GET", path: "/api/opportunities/" + oppA1, status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["amount"] != "100" || b["stage"] != "Prospecting" {
						t.Errorf("got %v", b)
					}
				}},
			{name: "rep cannot read another rep's deal", who: "repA1", method: "GET", path: "/api/opportunities/" + oppB, status: 404},
			{name: "rep cannot read a teammate's deal", who: "repA1", method: "GET", path: "/api/opportunities/" + oppA2, status: 404},
			{name: "rep cannot update another rep's deal", who: "repA1", method: "PATCH", path: "/api/opportunities/" + oppB, body: `{"amount":"1"}`, status: 404, unchanged: true},
			{name: "rep cannot read another rep's history", who: "repA1", method: "GET", path: "/api/opportunities/" + oppB + "/history", status: 404},
			{name: "rep cannot add items to another rep's deal", who: "repA1", method: "POST", path: "/api/opportunities/" + oppB + "/line-items", body: `{"product_id":1,"quantity":"1"}`, status: 404, unchanged: true},
			{name: "rep lists only own deals", who: "repA1", method: "GET", path: "/api/opportunities", status: 200,
				check: wantIDs(o.OppA1.ID)},
			{name: "rep cannot infer by filtering on another owner", who: "repA1", method: "GET", path: "/api/opportunities?owner_id=" + fmt.Sprint(o.RepB.ID), status: 200,
				check: wantIDs()},
			{name: "manager A sees exactly team A", who: "mgrA", method: "GET", path: "/api/opportunities", status: 200,
				check: wantIDs(o.OppA1.ID, o.OppA2.ID)},
			{name: "manager B sees exactly team B", who: "mgrB", method: "GET", path: "/api/opportunities", status: 200,
				check: wantIDs(o.OppB.ID)},
			{name: "manager B cannot read team A", who: "mgrB", method: "GET", path: "/api/opportunities/" + oppA1, status: 404},
			{name: "VP sees the teams below", who: "vp", method: "GET", path: "/api/opportunities", status: 200,
				check: wantIDs(o.OppA1.ID, o.OppA2.ID, o.OppB.ID)},
			{name: "viewer reads no records", who: "viewer", method: "GET", path: "/api/opportunities", status: 403},
			{name: "viewer reads aggregates", who: "viewer", method: "GET", path: "/api/home", status: 200,
				check: func(t *testing.T, b map[string]any) {
					all := b["all_time"].(map[string]any)
					if all["open_count"].(float64) != 3 || !decimal.RequireFromString(all["open_pipeline"].(string)).Equal(decimal.NewFromInt(600)) {
						t.Errorf("viewer's all open pipeline %v %v", all["open_count"], all["open_pipeline"])
					}
					if recent := b["recent"].([]any); len(recent) != 0 {
						t.Errorf("viewer sees deals %v", recent)
					}
				}},
			{name: "malformed JSON", who: "repA1", method: "POST", path: "/api/opportunities", body: `{"name": "x",`, status: 400,
				check: wantFields("body"), unchanged: true},
			{name: "not an object", who: "repA1", method: "POST", path: "/api/opportunities", body: `[1,2]`, status: 400, check: wantFields("body"), unchanged: true},
			{name: "unknown fields are named", who: "repA1", method: "POST", path: "/api/opportunities", body: validOpp(o.RepA1, `,"colour":"red","size":3`), status: 400,
				check: wantFields("colour", "size"), unchanged: true},
			{name: "wrong types are named", who: "repA1", method: "POST", path: "/api/opportunities",
				body:   fmt.Sprintf(`{"name":7,"account_id":"abc","owner_id":%d,"amount":true,"currency":"USD","stage":"Prospecting","expected_close":"30/06/2025"}`, o.RepA1.ID),
				status: 400, check: wantFields("account_id", "amount", "expected_close", "name"), unchanged: true},
			{name: "missing required fields", who: "repA1", method: "POST", path: "/api/opportunities", body: `{}`, status: 400,
				check: wantFields("account_id", "currency", "name", "owner_id", "stage"), unchanged: true},
			{name: "unknown account, stage and currency", who: "repA1", method: "POST", path: "/api/opportunities",
				body:   fmt.Sprintf(`{"name":"x","account_id":999999,"owner_id":%d,"amount":"1","currency":"XYZ","stage":"Maybe"}`, o.RepA1.ID),
				status: 400, check: wantFields("account_id", "currency", "stage"), unchanged: true},
			{name: "invalid currency code", who: "repA1", method: "POST", path: "/api/opportunities", body: validOpp(o.RepA1, `,"currency":"dollars"`), status: 400,
				check: wantFields("currency"), unchanged: true},
			{name: "rep cannot create a deal for another rep", who: "repA1", method: "POST", path: "/api/opportunities", body: validOpp(o.RepB, ""), status: 400,
				check: wantFields("owner_id"), unchanged: true},
			{name: "oversized body", who: "repA1", method: "POST", path: "/api/opportunities", body: `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, status: 413, unchanged: true},
			{name: "bad id in the path", who: "repA1", method: "GET", path: "/api/opportunities/abc", status: 400},
			{name: "unknown filter", who: "repA1", method: "GET", path: "/api/opportunities?colour=red", status: 400, check: wantFields("colour")},
			{name: "bad limit", who: "repA1", method: "GET", path: "/api/opportunities?limit=0", status: 400, check: wantFields("limit")},
			{name: "unknown endpoint", who: "repA1", method: "GET", path: "/api/nothing", status: 404},
			{name: "rep creates own deal", who: "repA1", method: "POST", path: "/api/opportunities", body: validOpp(o.RepA1, ""), status: 201,
				check: func(t *testing.T, b map[string]any) {
					if b["amount"] != "5000.5" || b["is_closed"] != false || b["forecast_category"] != "pipeline" || b["id"].(float64) == 0 {
						t.Errorf("created %v", b)
					}
				}},
			{name: "rep moves own deal to won", who: "repA1", method: "PATCH", path: "/api/opportunities/" + oppA1, body: `{"stage":"Closed Won","amount":"150"}`, status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["is_won"] != true || b["closed_at"] == nil || b["amount"] != "150" || b["name"] != o.OppA1.Name {
						t.Errorf("updated %v", b)
					}
				}},
			{name: "the change is in the history", who: "repA1", method: "GET", path: "/api/opportunities/" + oppA1 + "/history", status: 200,
				check: func(t *testing.T, b map[string]any) {
					items := b["items"].([]any)
					if len(items) != 2 || items[1].(map[string]any)["stage"] != "Closed Won" {
						t.Errorf("history %v", items)
					}
				}},
			{name: "rep cannot change the id", who: "repA1", method: "PATCH", path: "/api/opportunities/" + oppA1, body: `{"id": 5}`, status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["id"].(float64) != float64(o.OppA1.ID) {
						t.Errorf("id changed: %v", b["id"])
					}
				}},
			{name: "rep cannot create users", who: "repA1", method: "POST", path: "/api/users", body: `{"email":"x@example.com","name":"X","role":"rep"}`, status: 403, unchanged: true},
			{name: "manager cannot change settings", who: "mgrA", method: "PUT", path: "/api/settings", body: `{"fiscal_year_start_month":2}`, status: 403, unchanged: true},
			{name: "admin creates a user with a password", who: "admin", method: "POST", path: "/api/users",
				body: fmt.Sprintf(`{"email":"new.rep@example.com","name":"New Rep","role":"rep","team_id":%d,"password":"correct horse battery"}`, o.TeamA.ID), status: 201},
			{name: "a bad user is refused whole", who: "admin", method: "POST", path: "/api/users", body: `{"email":"not-an-email","name":"","role":"boss","password":"short"}`,
				status: 400, check: wantFields("email", "name", "password", "role"), unchanged: true},
			{name: "a bad user's fields are all named", who: "admin", method: "POST", path: "/api/users", body: `{"email":"not-an-email","name":"","role":"boss"}`,
				status: 400, check: wantFields("email", "name", "role"), unchanged: true},
			{name: "ops sees the audit trail of money changes", who: "admin", method: "GET", path: "/api/audit?entity=opportunity&entity_id=" + oppA1, status: 200,
				check: func(t *testing.T, b map[string]any) {
					items := b["items"].([]any)
					if len(items) < 2 {
						t.Fatalf("audit %v", items)
					}
					// before and after are JSON objects, not JSON in strings.
					if after, ok := items[len(items)-2].(map[string]any)["after"].(map[string]any); !ok || after["amount"] != "150" {
						t.Errorf("audit %v", items)
					}
				}},
			{name: "reps cannot read the audit trail", who: "repA1", method: "GET", path: "/api/audit", status: 403},
			{name: "rep runs the data-quality checks on own records", who: "repA1", method: "GET", path: "/api/quality", status: 200,
				check: func(t *testing.T, b map[string]any) {
					for _, f := range b["findings"].([]any) {
						for _, ex := range f.(map[string]any)["examples"].([]any) {
							if id := int64(ex.(map[string]any)["id"].(float64)); ex.(map[string]any)["entity"] == "opportunity" && e.ownerOf(id) != o.RepA1.ID {
								t.Errorf("rep's quality report shows deal %d", id)
							}
						}
					}
				}},
			{name: "viewer gets quality counts without examples", who: "viewer", method: "GET", path: "/api/quality", status: 200,
				check: func(t *testing.T, b map[string]any) {
					fs := b["findings"].([]any)
					if len(fs) == 0 {
						t.Fatal("no findings")
					}
					for _, f := range fs {
						if ex := f.(map[string]any)["examples"].([]any); len(ex) != 0 {
							t.Errorf("viewer sees examples %v", ex)
						}
					}
				}},
			{name: "bad quality parameter", who: "admin", method: "GET", path: "/api/quality?stale_days=-3", status: 400, check: wantFields("stale_days")},
			{name: "dashboard API with a bad period", who: "mgrA", method: "GET", path: "/api/dashboard?period=2025Q1", status: 400, check: wantFields("period")},
			{name: "rep's KPIs cover own deals only", who: "repA1", method: "GET", path: "/api/kpi?period=all", status: 200,
				check: func(t *testing.T, b map[string]any) {
					var own float64
					e.store.DB().QueryRow(`SELECT COUNT(*) FROM opportunities WHERE owner_id = $1`, o.RepA1.ID).Scan(&own)
					if got := b["open_count"].(float64) + b["won_count"].(float64) + b["lost_count"].(float64); got != own {
						t.Errorf("rep KPIs count %v deals; the rep owns %v", got, own)
					}
				}},
			{name: "rep sees own quota only", who: "repA1", method: "GET", path: "/api/quotas", status: 200, check: wantIDs()},
			{name: "rep cannot delete another rep's deal", who: "repA1", method: "DELETE", path: "/api/opportunities/" + oppB, status: 404, unchanged: true},
			{name: "viewer cannot delete", who: "viewer", method: "DELETE", path: "/api/opportunities/" + oppB, status: 403, unchanged: true,
				check: wantError("a viewer may not delete opportunities")},
			{name: "rep cannot delete their won deal", who: "repA1", method: "DELETE", path: "/api/opportunities/" + oppA1, status: 403, unchanged: true,
				check: wantError("only ops may delete a closed deal")},
			{name: "rep cannot delete the shared account", who: "repA1", method: "DELETE", path: fmt.Sprintf("/api/accounts/%d", o.Account.ID), status: 403, unchanged: true,
				check: wantError("only ops may delete an account")},
			{name: "an account with deals is kept, saying why", who: "admin", method: "DELETE", path: fmt.Sprintf("/api/accounts/%d", o.Account.ID), status: 409, unchanged: true,
				check: wantError("opportunities (opportunities.account_id) still point at it; delete them or point them elsewhere first")},
			{name: "users are disabled, not deleted", who: "admin", method: "DELETE", path: fmt.Sprintf("/api/users/%d", o.RepB.ID), status: 403, unchanged: true,
				check: wantError("disable the user instead")},
			{name: "manager deletes a team member's open deal", who: "mgrA", method: "DELETE", path: "/api/opportunities/" + oppA2, status: 204,
				check: func(t *testing.T, _ map[string]any) {
					if status, _ := e.do("admin", "GET", "/api/opportunities/"+oppA2, ""); status != 404 {
						t.Errorf("after the delete: %d, want 404", status)
					}
				}},
			{name: "ops sees the delete in the audit trail", who: "admin", method: "GET", path: "/api/audit?entity=opportunity&entity_id=" + oppA2, status: 200,
				check: func(t *testing.T, b map[string]any) {
					last := b["items"].([]any)[0].(map[string]any)
					if last["action"] != "delete" || last["actor_id"].(float64) != float64(o.MgrA.ID) || last["before"].(map[string]any)["amount"] != "200" {
						t.Errorf("latest audit entry %v", last)
					}
				}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.dbState()
				status, body := e.do(c.who, c.method, c.path, c.body)
				if status != c.status {
					t.Fatalf("%s %s as %q: status %d, want %d; body %v", c.method, c.path, c.who, status, c.status, body)
				}
				if c.status >= 400 && c.path != "/healthz" && body["error"] == nil {
					t.Errorf("error answer without an error message: %v", body)
				}
				if c.check != nil {
					c.check(t, body)
				}
				if c.unchanged {
					if after := e.dbState(); after != before {
						t.Errorf("refused request changed the database: %s → %s", before, after)
					}
				}
			})
		}
	})
}

// TestNoExistenceLeak: asking for someone else's record and for a record that
// does not exist give the same answer.
func TestNoExistenceLeak(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		s1, b1 := e.do("repA1", "GET", fmt.Sprintf("/api/opportunities/%d", e.org.OppB.ID), "")
		s2, b2 := e.do("repA1", "GET", "/api/opportunities/987654321", "")
		if s1 != 404 || s2 != 404 || fmt.Sprint(b1) != fmt.Sprint(b2) {
			t.Errorf("hidden: %d %v; missing: %d %v", s1, b1, s2, b2)
		}
	})
}

func wantIDs(ids ...int64) func(t *testing.T, b map[string]any) {
	return func(t *testing.T, b map[string]any) {
		t.Helper()
		got := itemIDs(b)
		if !slices.Equal(got, ids) {
			t.Errorf("ids %v, want %v", got, ids)
		}
	}
}

func wantFields(fields ...string) func(t *testing.T, b map[string]any) {
	return func(t *testing.T, b map[string]any) {
		t.Helper()
		got := errorFields(b)
		slices.Sort(fields)
		if !slices.Equal(got, fields) {
			t.Errorf("error fields %v, want %v (%v)", got, fields, b["error"])
		}
	}
}

// TestDashboardCacheSeesWrites: the cached dashboard is recomputed after a write.
func TestDashboardCacheSeesWrites(t *testing.T) {
	e := newEnv(t, storetest.OpenDuckDB(t))
	wonCount := func() float64 {
		status, b := e.do("admin", "GET", "/api/dashboard?period=all", "")
		if status != 200 {
			t.Fatalf("dashboard: %d %v", status, b)
		}
		return b["overview"].(map[string]any)["kpis"].(map[string]any)["won_count"].(float64)
	}
	before := wonCount()
	if again := wonCount(); again != before {
		t.Fatalf("two reads differ: %v then %v", before, again)
	}
	if status, b := e.do("admin", "PATCH", fmt.Sprintf("/api/opportunities/%d", e.org.OppB.ID), `{"stage":"Closed Won"}`); status != 200 {
		t.Fatalf("close the deal: %d %v", status, b)
	}
	if after := wonCount(); after != before+1 {
		t.Errorf("won count %v after winning a deal, want %v", after, before+1)
	}
}

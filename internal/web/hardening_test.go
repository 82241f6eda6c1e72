package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// TestHugeAmountsCannotBreakKPIs (issue 18, finding 1): deals at the largest
// accepted amount, in the corporate currency and converted at the largest
// accepted rate, leave every aggregate answering for everyone above them.
func TestHugeAmountsCannotBreakKPIs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		for _, c := range []struct{ path, body string }{
			{"/api/currencies/EUR", `{"name":"Euro"}`},
			{"/api/exchange-rates", `{"currency":"EUR","valid_from":"2020-01-01","rate":"1000000"}`},
		} {
			method := "POST"
			if strings.HasPrefix(c.path, "/api/currencies/") {
				method = "PUT"
			}
			if status, b := e.do("admin", method, c.path, c.body); status != 200 {
				t.Fatalf("%s: %d %v", c.path, status, b)
			}
		}
		for _, d := range []struct{ amount, currency, stage string }{
			{"100000000000", "USD", "Closed Won"},
			{"999999999999999.99", "USD", "Prospecting"},
			{"999999999999999.99", "EUR", "Closed Won"},
			{"999999999999999.99", "EUR", "Prospecting"},
		} {
			status, b := e.do("repA1", "POST", "/api/opportunities", fmt.Sprintf(
				`{"name":"Huge","account_id":%d,"owner_id":%d,"amount":%q,"currency":%q,"stage":%q,"expected_close":"2025-03-31"}`,
				o.Account.ID, o.RepA1.ID, d.amount, d.currency, d.stage))
			if status != 201 {
				t.Fatalf("amount %s %s: %d %v", d.amount, d.currency, status, b)
			}
		}
		for _, who := range []string{"admin", "viewer", "vp", "mgrA", "repA1"} {
			for _, path := range []string{"/api/kpi?period=all", "/api/kpi?period=all&by=rep", "/api/kpi?period=all&by=team",
				"/api/dashboard?period=all", "/api/home", "/api/forecast", "/api/quality"} {
				if who == "viewer" && strings.Contains(path, "by=rep") {
					continue // viewers see no one's own numbers
				}
				if status, b := e.do(who, "GET", path, ""); status != 200 {
					t.Errorf("%s %s: %d %v", who, path, status, b)
				}
			}
		}
		if status, b := e.do("mgrA", "GET", "/api/performers?period=all", ""); status != 200 {
			t.Errorf("performers: %d %v", status, b)
		}
		status, b := e.do("admin", "GET", "/api/kpi?period=all", "")
		if status != 200 || b["won_amount"] != "1000000000099999990000" {
			t.Errorf("won amount %v (%d), want 100000000000 + 999999999999999.99 × 1000000", b["won_amount"], status)
		}
	})
}

// TestOutOfRangeNumbersAreRefused (issue 18, findings 1, 4 and 8): every
// amount, quantity and rate outside its range, and text no field may hold,
// gets a 400 naming the field, and nothing is stored.
func TestOutOfRangeNumbersAreRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		opp := func(amount string) string {
			return fmt.Sprintf(`{"name":"x","account_id":%d,"owner_id":%d,"amount":%s,"currency":"USD","stage":"Prospecting"}`,
				o.Account.ID, o.RepA1.ID, amount)
		}
		status, b := e.do("admin", "POST", "/api/products", `{"name":"Widget","list_price":"10","currency":"USD"}`)
		if status != 201 {
			t.Fatalf("product: %d %v", status, b)
		}
		product := int64(b["id"].(float64))
		cases := []struct {
			name, who, method, path, body, field string
		}{
			{"amount 1e400", "repA1", "POST", "/api/opportunities", opp(`1e400`), "amount"},
			{"amount of 20 nines", "repA1", "POST", "/api/opportunities", opp(`99999999999999999999`), "amount"},
			{"amount 1e16", "repA1", "POST", "/api/opportunities", opp(`"1e16"`), "amount"},
			{"amount 1e308", "repA1", "POST", "/api/opportunities", opp(`1e308`), "amount"},
			{"amount just above the largest", "repA1", "POST", "/api/opportunities", opp(`"1000000000000000"`), "amount"},
			{"negative amount", "repA1", "POST", "/api/opportunities", opp(`"-1"`), "amount"},
			{"amount of the wrong type", "repA1", "POST", "/api/opportunities", opp(`true`), "amount"},
			{"update to a huge amount", "repA1", "PATCH", fmt.Sprintf("/api/opportunities/%d", o.OppA1.ID), `{"amount":1e20}`, "amount"},
			{"quantity 1e15", "repA1", "POST", fmt.Sprintf("/api/opportunities/%d/line-items", o.OppA1.ID),
				fmt.Sprintf(`{"product_id":%d,"quantity":"1e15"}`, product), "quantity"},
			{"total above the largest amount", "repA1", "POST", fmt.Sprintf("/api/opportunities/%d/line-items", o.OppA1.ID),
				fmt.Sprintf(`{"product_id":%d,"quantity":"1000000000","unit_price":"999999999999"}`, product), "total_price"},
			{"exchange rate 1e20", "admin", "POST", "/api/exchange-rates", `{"currency":"USD","valid_from":"2024-01-01","rate":1e20}`, "rate"},
			{"exchange rate too small to store", "admin", "POST", "/api/exchange-rates", `{"currency":"USD","valid_from":"2024-01-01","rate":"0.000000001"}`, "rate"},
			{"list price 1e16", "admin", "POST", "/api/products", `{"name":"Big","list_price":"1e16","currency":"USD"}`, "list_price"},
			{"annual revenue 1e30", "repA1", "POST", "/api/accounts", `{"name":"Big Co","annual_revenue":"1e30"}`, "annual_revenue"},
			{"lead revenue 1e30", "repA1", "POST", "/api/leads", fmt.Sprintf(`{"last_name":"Big","annual_revenue":"1e30","owner_id":%d}`, o.RepA1.ID), "annual_revenue"},
			{"quota 1e17", "admin", "POST", "/api/quotas", fmt.Sprintf(`{"user_id":%d,"period":"FY2025-Q1","amount":"1e17","currency":"USD"}`, o.RepA1.ID), "amount"},
			{"cost 1e17", "admin", "POST", "/api/costs", `{"period":"FY2025-Q1","category":"sales","amount":"1e17","currency":"USD"}`, "amount"},
			{"forecast call 1e17", "repA1", "POST", "/api/forecast/submissions", `{"period":"FY2025-Q1","commit":"1e17","best_case":"1e17","pipeline":"1e17"}`, "commit"},
			{"a NUL byte in a name (finding 8)", "repA1", "POST", "/api/accounts", `{"name":"a\u0000b"}`, "name"},
			{"a NUL byte in an update", "repA1", "PATCH", fmt.Sprintf("/api/opportunities/%d", o.OppA1.ID), `{"loss_reason":"x\u0000"}`, "loss_reason"},
			{"a subject of 1,001 characters", "repA1", "POST", "/api/activities",
				fmt.Sprintf(`{"kind":"call","owner_id":%d,"occurred_at":"2025-01-02T10:00:00Z","subject":"%s"}`, o.RepA1.ID, strings.Repeat("é", 1001)), "subject"},
			{"a year and a day on the phone", "repA1", "POST", "/api/activities",
				fmt.Sprintf(`{"kind":"call","owner_id":%d,"occurred_at":"2025-01-02T10:00:00Z","duration_minutes":600000}`, o.RepA1.ID), "duration_minutes"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.dbState()
				status, b := e.do(c.who, c.method, c.path, c.body)
				if status != 400 || !slices.Contains(errorFields(b), c.field) {
					t.Fatalf("%s %s: %d %v, want 400 naming %s", c.method, c.path, status, b, c.field)
				}
				if msg := fmt.Sprint(b["error"]); strings.Contains(msg, "decimal") && !strings.Contains(msg, "a decimal number") {
					t.Errorf("the message shows a library's wording: %s", msg)
				}
				if after := e.dbState(); after != before {
					t.Errorf("refused request changed the database: %s → %s", before, after)
				}
			})
		}
	})
}

// TestLeadConversionStaysInScope (issue 18, finding 2): a lead converted to
// someone else's deal (an SDR's lead, an account executive's deal) counts as
// converted for its owner, but whether that deal was demoed or won is told
// only to those who may see the deal.
func TestLeadConversionStaysInScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		ctx := t.Context()
		if _, err := s.Opportunities.Update(ctx, crm.System, o.OppB.ID, func(v *crm.Opportunity) error {
			v.Stage = "Closed Won"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		demo := crm.Activity{Kind: crm.ActivityDemo, OwnerID: o.RepB.ID, OpportunityID: &o.OppB.ID,
			AccountID: &o.Account.ID, OccurredAt: time.Now().UTC().Add(-time.Hour)}
		storetest.Must(t, s.Activities.Create(ctx, crm.System, &demo))
		conversion := func(who string) map[string]any {
			t.Helper()
			status, b := e.do(who, "GET", "/api/kpi?period=all", "")
			if status != 200 {
				t.Fatalf("%s: %d %v", who, status, b)
			}
			return b["lead_conversion"].(map[string]any)
		}
		before := conversion("repA1")
		now := time.Now().UTC().Add(-2 * time.Hour)
		lead := crm.Lead{LastName: "Probe", Company: "Acme", OwnerID: &o.RepA1.ID, Status: crm.LeadConverted,
			CreatedAt: now, ConvertedAt: &now, ConvertedOpportunityID: &o.OppB.ID}
		storetest.Must(t, s.Leads.Create(ctx, crm.System, &lead))

		after := conversion("repA1")
		if after["opportunities"] != before["opportunities"].(float64)+1 {
			t.Errorf("the rep's converted leads: %v, want %v + 1", after["opportunities"], before["opportunities"])
		}
		if after["won"] != before["won"] || after["demos"] != before["demos"] || after["sales"] != before["sales"] {
			t.Errorf("the rep learns about another rep's deal: before %v, after %v", before, after)
		}
		vp := conversion("vp") // sees both reps: the whole story
		if vp["won"] != 1.0 || vp["demos"] != 1.0 || vp["sales"] != 1.0 {
			t.Errorf("the VP's conversion: %v, want 1 won, 1 demo, 1 sale", vp)
		}
	})
}

// TestReferencesStayInScope (issue 18, finding 3 and 9): a record may only
// link to leads and deals its writer may see; an id out of scope answers
// exactly as one that does not exist; a link set by someone who could make it
// survives the owner's later edits; a viewer owns nothing.
func TestReferencesStayInScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		ctx := t.Context()
		leadB := crm.Lead{LastName: "B's lead", OwnerID: &o.RepB.ID, CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.Leads.Create(ctx, crm.System, &leadB))
		activity := func(owner crm.User, link string) string {
			return fmt.Sprintf(`{"kind":"call","owner_id":%d,"occurred_at":"2025-01-02T10:00:00Z"%s}`, owner.ID, link)
		}
		const missing = 987654321
		probes := []struct {
			name, path, field string
			body              func(id int64) string
			hidden            int64
		}{
			{"activity on another rep's deal", "/api/activities", "opportunity_id",
				func(id int64) string { return activity(o.RepA1, fmt.Sprintf(`,"opportunity_id":%d`, id)) }, o.OppB.ID},
			{"activity on a teammate's deal", "/api/activities", "opportunity_id",
				func(id int64) string { return activity(o.RepA1, fmt.Sprintf(`,"opportunity_id":%d`, id)) }, o.OppA2.ID},
			{"activity on another rep's lead", "/api/activities", "lead_id",
				func(id int64) string { return activity(o.RepA1, fmt.Sprintf(`,"lead_id":%d`, id)) }, leadB.ID},
			{"lead converted to another rep's deal", "/api/leads", "converted_opportunity_id",
				func(id int64) string {
					return fmt.Sprintf(`{"last_name":"Probe","owner_id":%d,"status":"converted","converted_opportunity_id":%d}`, o.RepA1.ID, id)
				}, o.OppB.ID},
		}
		for _, c := range probes {
			t.Run(c.name, func(t *testing.T) {
				before := e.dbState()
				s1, b1 := e.do("repA1", "POST", c.path, c.body(c.hidden))
				s2, b2 := e.do("repA1", "POST", c.path, c.body(missing))
				if s1 != 400 || !slices.Equal(errorFields(b1), []string{c.field}) {
					t.Fatalf("out of scope: %d %v, want 400 on %s", s1, b1, c.field)
				}
				m1 := strings.ReplaceAll(fmt.Sprint(b1), fmt.Sprint(c.hidden), "ID")
				m2 := strings.ReplaceAll(fmt.Sprint(b2), fmt.Sprint(missing), "ID")
				if s1 != s2 || m1 != m2 {
					t.Errorf("out of scope and missing differ:\n%d %s\n%d %s", s1, m1, s2, m2)
				}
				if after := e.dbState(); after != before {
					t.Errorf("refused request changed the database: %s → %s", before, after)
				}
			})
		}
		t.Run("links inside the scope are kept", func(t *testing.T) {
			if status, b := e.do("repA1", "POST", "/api/activities", activity(o.RepA1, fmt.Sprintf(`,"opportunity_id":%d`, o.OppA1.ID))); status != 201 {
				t.Errorf("rep on own deal: %d %v", status, b)
			}
			if status, b := e.do("mgrA", "POST", "/api/activities", activity(o.MgrA, fmt.Sprintf(`,"opportunity_id":%d`, o.OppA2.ID))); status != 201 {
				t.Errorf("manager on the team's deal: %d %v", status, b)
			}
		})
		t.Run("a link made by ops survives the owner's edit", func(t *testing.T) {
			act := crm.Activity{Kind: crm.ActivityCall, OwnerID: o.RepA1.ID, OpportunityID: &o.OppB.ID, OccurredAt: time.Now().UTC()}
			storetest.Must(t, s.Activities.Create(ctx, crm.System, &act))
			status, b := e.do("repA1", "PATCH", fmt.Sprintf("/api/activities/%d", act.ID), `{"duration_minutes":15}`)
			if status != 200 || b["opportunity_id"] != float64(o.OppB.ID) {
				t.Errorf("edit: %d %v", status, b)
			}
			if status, b := e.do("repA1", "PATCH", fmt.Sprintf("/api/activities/%d", act.ID), fmt.Sprintf(`{"lead_id":%d}`, leadB.ID)); status != 400 {
				t.Errorf("a new link out of scope on the same activity: %d %v", status, b)
			}
		})
		t.Run("a viewer cannot own a deal", func(t *testing.T) {
			body := fmt.Sprintf(`{"name":"x","account_id":%d,"owner_id":%d,"amount":"1","currency":"USD","stage":"Prospecting"}`, o.Account.ID, o.Viewer.ID)
			if status, b := e.do("admin", "POST", "/api/opportunities", body); status != 400 || !slices.Equal(errorFields(b), []string{"owner_id"}) {
				t.Errorf("deal owned by a viewer: %d %v", status, b)
			}
		})
	})
}

// TestPagesRefuseOutOfScopeFilters (issue 18, finding 4): a page filtered on
// a rep or team the reader may not see, or that does not exist, is a 4xx.
func TestPagesRefuseOutOfScopeFilters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		o := e.org
		for _, c := range []struct {
			who, path string
			status    int
		}{
			{"mgrA", fmt.Sprintf("/dashboard?rep_id=%d", o.RepB.ID), 404},
			{"mgrA", "/dashboard?rep_id=999999", 404},
			{"mgrA", "/dashboard?rep_id=", 200},
			{"repA1", fmt.Sprintf("/dashboard?team_id=%d", o.TeamB.ID), 404},
			{"admin", "/performers?team_id=999999", 404},
			{"mgrA", fmt.Sprintf("/performers?team_id=%d", o.TeamB.ID), 404},
			{"admin", "/dashboard?segment=%FF", 400},
		} {
			if status, _, body := e.get(c.who, c.path); status != c.status {
				t.Errorf("%s %s: %d, want %d: %.300s", c.who, c.path, status, c.status, body)
			}
		}
	})
}

// TestBadTextInParametersIsRefused (issue 18, finding 4): invalid UTF-8 or a
// NUL byte in any parameter is a 400 naming it, on every endpoint.
func TestBadTextInParametersIsRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		for _, path := range []string{"/api/opportunities?stage=%FF", "/api/leads?source=%FF", "/api/accounts?name=a%00b",
			"/api/kpi?segment=%FF", "/api/dashboard?industry=%C3%28", "/api/quality?stage=%FF", "/api/forecast?period=%FF",
			"/api/performers?region=%FF", "/api/activities?kind=%FF", "/api/contacts?email=%FF", "/api/audit?entity=%FF"} {
			status, b := e.do("admin", "GET", path, "")
			if status != 400 || len(errorFields(b)) != 1 {
				t.Errorf("%s: %d %v, want 400 naming the parameter", path, status, b)
			}
		}
	})
}

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.b.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestAccessLogSaysWho (issue 18, finding 7): every authenticated request
// line names the user and role; refusals in lists and KPIs are logged with
// who asked.
func TestAccessLogSaysWho(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	o := storetest.NewOrg(t, s)
	var logs lockedBuffer
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	tok, err := s.NewAPIToken(t.Context(), crm.System, o.RepA1.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/opportunities", "/api/kpi?period=all", fmt.Sprintf("/api/kpi?rep_id=%d", o.RepB.ID),
		fmt.Sprintf("/api/opportunities/%d", o.OppB.ID), "/api/audit"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var requests, refusals int
	for _, l := range logs.lines() {
		switch l["msg"] {
		case "request":
			requests++
			if l["user"] != float64(o.RepA1.ID) || l["role"] != "rep" {
				t.Errorf("request line without the user: %v", l)
			}
		case "refused":
			refusals++
			if l["user"] != float64(o.RepA1.ID) || l["role"] != "rep" || l["reason"] == "" {
				t.Errorf("refusal without who or why: %v", l)
			}
		}
	}
	// refused: another rep's KPIs, another rep's deal, the audit trail
	if requests != 5 || refusals != 3 {
		t.Errorf("%d request lines and %d refusals, want 5 and 3:\n%v", requests, refusals, logs.lines())
	}
}

// TestLoginIsThrottled (finding 5): after the free failures the login page
// answers 429 with Retry-After, even to the right password, and every
// failed login is logged.
func TestLoginIsThrottled(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	o := storetest.NewOrg(t, s)
	storetest.Must(t, s.SetPassword(t.Context(), crm.System, o.RepA1.ID, "a long passphrase here"))
	var logs lockedBuffer
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := browserless(t)
	login := func(pw string) *http.Response {
		t.Helper()
		resp, err := client.PostForm(ts.URL+"/login", url.Values{"email": {o.RepA1.Email}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 6 {
		if resp := login("wrong password"); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := login("a long passphrase here")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password while locked: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	failed := 0
	for _, l := range logs.lines() {
		if l["msg"] == "failed login" && l["email"] == o.RepA1.Email && l["remote"] == "127.0.0.1" {
			failed++
		}
	}
	if failed != 7 {
		t.Errorf("%d failed logins logged, want 7", failed)
	}
}

// TestTokensThroughTheAPI (finding 6): tokens are created with a name and an
// expiry, listed with their last use, revoked; a rep manages only their own;
// disabling a user through the API revokes theirs for good.
func TestTokensThroughTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		status, b := e.do("repA1", "POST", "/api/me/tokens", `{"name":"ci","expires_days":7}`)
		if status != 201 || b["name"] != "ci" || b["expires_at"] == nil || !strings.HasPrefix(fmt.Sprint(b["token"]), "qd_") {
			t.Fatalf("create: %d %v", status, b)
		}
		e.tokens["ci"] = b["token"].(string)
		id := b["id"].(string)
		if status, _ := e.do("ci", "GET", "/api/me", ""); status != 200 {
			t.Fatalf("the new token: %d", status)
		}
		status, b = e.do("repA1", "GET", "/api/me/tokens", "")
		if status != 200 || len(b["items"].([]any)) != 2 {
			t.Fatalf("list: %d %v", status, b)
		}
		for _, c := range []struct {
			who, method, path, body string
			status                  int
		}{
			{"repA1", "POST", "/api/me/tokens", `{"name":"","expires_days":400}`, 400},
			{"repA1", "POST", "/api/me/tokens", `{"name":"x","expires_days":-1}`, 400},
			{"repB", "GET", fmt.Sprintf("/api/users/%d/tokens", o.RepA1.ID), "", 403},
			{"repB", "DELETE", fmt.Sprintf("/api/users/%d/tokens/%s", o.RepA1.ID, id), "", 403},
			{"repA1", "DELETE", "/api/me/tokens/nothex", "", 404},
			{"admin", "GET", fmt.Sprintf("/api/users/%d/tokens", o.RepA1.ID), "", 200},
			{"repA1", "DELETE", "/api/me/tokens/" + id, "", 204},
			{"ci", "GET", "/api/me", "", 401},
			{"repA1", "DELETE", "/api/me/tokens/" + id, "", 404}, // revoked already
			{"admin", "PATCH", fmt.Sprintf("/api/users/%d", o.RepA1.ID), `{"active":false}`, 200},
			{"admin", "PATCH", fmt.Sprintf("/api/users/%d", o.RepA1.ID), `{"active":true}`, 200},
			{"repA1", "GET", "/api/me", "", 401}, // the old token stays revoked
		} {
			if status, b := e.do(c.who, c.method, c.path, c.body); status != c.status {
				t.Errorf("%s %s %s: %d %v, want %d", c.who, c.method, c.path, status, b, c.status)
			}
		}
	})
}

// TestLeadEventsAreAudited (finding 9): a lead's event, which moves its
// score, is in the audit trail with who added it, like a line item.
func TestLeadEventsAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		lead := crm.Lead{LastName: "Audited", OwnerID: &e.org.RepA1.ID, CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.Leads.Create(t.Context(), crm.System, &lead))
		status, b := e.do("repA1", "POST", fmt.Sprintf("/api/leads/%d/events", lead.ID), `{"kind":"web_visit","occurred_at":"2025-01-02T10:00:00Z","detail":"/pricing"}`)
		if status != 201 {
			t.Fatalf("add event: %d %v", status, b)
		}
		status, b = e.do("admin", "GET", "/api/audit?entity=lead_event", "")
		items, _ := b["items"].([]any)
		if status != 200 || len(items) != 1 {
			t.Fatalf("audit: %d %v", status, b)
		}
		if it := items[0].(map[string]any); it["actor_id"] != float64(e.org.RepA1.ID) || it["action"] != "create" {
			t.Errorf("audit entry %v", it)
		}
	})
}

// TestAPIReadsJSONWhateverTheContentType: curl -d labels a JSON body as a
// form; the API still reads it as JSON (the bad-text check reads only pages'
// forms).
func TestAPIReadsJSONWhateverTheContentType(t *testing.T) {
	e := newEnv(t, storetest.OpenDuckDB(t))
	req, _ := http.NewRequest("POST", e.url+"/api/accounts", strings.NewReader(fmt.Sprintf(`{"name":"Form-labelled Ltd","owner_id":%d}`, e.org.RepA1.ID)))
	req.Header.Set("Authorization", "Bearer "+e.tokens["repA1"])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("JSON sent as a form: %d %s, want 201", resp.StatusCode, body)
	}
}

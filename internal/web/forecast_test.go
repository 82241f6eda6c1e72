package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// currentQuarter is the fiscal quarter of today, as the forecast defaults to.
func currentQuarter(t *testing.T, s *store.Store) string {
	t.Helper()
	cal, err := s.Calendar(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cal.PeriodOf(time.Now(), crm.GrainQuarter).String()
}

// submissionUsers lists the user ids of GET /api/forecast/submissions as who.
func (e *env) submissionUsers(who, period string) []int64 {
	e.t.Helper()
	status, b := e.do(who, "GET", "/api/forecast/submissions?period="+period, "")
	if status != 200 {
		e.t.Fatalf("submissions as %s: %d %v", who, status, b)
	}
	var out []int64
	for _, it := range b["items"].([]any) {
		out = append(out, int64(it.(map[string]any)["user_id"].(float64)))
	}
	return out
}

func TestForecastAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		o := e.org
		q := currentQuarter(t, s)
		// A deal per rep expected to close in this quarter.
		cal, err := s.Calendar(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		closeDay := crm.NewDate(cal.PeriodOf(time.Now(), crm.GrainQuarter).End.AddDate(0, 0, -1))
		for _, d := range []struct {
			owner crm.User
			amt   string
		}{{o.RepA1, "1000"}, {o.RepA2, "2000"}, {o.RepB, "4000"}} {
			opp := o.NewOpp(d.owner, d.amt)
			opp.ExpectedClose = &closeDay
			storetest.Must(t, s.Opportunities.Create(context.Background(), crm.System, opp))
			// Backdated, so that the deal has a history before today.
			created := time.Now().UTC().AddDate(0, 0, -10).Truncate(time.Second)
			_, err := s.DB().Exec(`UPDATE opportunities SET created_at = $1 WHERE id = $2`, created, opp.ID)
			storetest.Must(t, err)
			_, err = s.DB().Exec(`UPDATE opportunity_history SET changed_at = $1 WHERE opportunity_id = $2`, created, opp.ID)
			storetest.Must(t, err)
		}
		call := func(period string, commit, best, pipeline any, reason string) string {
			return fmt.Sprintf(`{"period":%q,"commit":%v,"best_case":%v,"pipeline":%v,"reason":%q}`, period, commit, best, pipeline, reason)
		}
		countSubs := func() int {
			var n int
			s.DB().QueryRow(`SELECT COUNT(*) FROM forecast_submissions`).Scan(&n)
			return n
		}
		cases := []struct {
			name, who, method, path, body string
			status                        int
			check                         func(t *testing.T, body map[string]any)
			noneStored                    bool // no submission may be stored
		}{
			{name: "anonymous is refused", method: "GET", path: "/api/forecast", status: 401},
			{name: "rep reads the forecast", who: "repA1", method: "GET", path: "/api/forecast", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["period"] != q || len(b["estimates"].([]any)) == 0 {
						t.Errorf("forecast %v", b)
					}
					// In the period: the new deal; in all, also the org's overdue deal of 100.
					if b["open_amount_in_period"].(float64) != 1000 || b["open_amount"].(float64) != 1100 {
						t.Errorf("rep A1's open pipeline is %v in the period, %v in all; want 1000 and 1100 (own deals only)", b["open_amount_in_period"], b["open_amount"])
					}
				}},
			{name: "manager reads the team's forecast", who: "mgrA", method: "GET", path: "/api/forecast?by=rep", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["open_amount_in_period"].(float64) != 3000 {
						t.Errorf("manager A's open pipeline is %v, want 3000 (team A)", b["open_amount_in_period"])
					}
					var names []string
					for _, g := range b["groups"].([]any) {
						names = append(names, g.(map[string]any)["name"].(string))
					}
					if slices.Contains(names, o.RepB.Name) || !slices.Contains(names, o.RepA1.Name) {
						t.Errorf("manager A's groups %v", names)
					}
				}},
			{name: "viewer reads aggregates", who: "viewer", method: "GET", path: "/api/forecast", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["open_amount_in_period"].(float64) != 7000 || len(b["calls"].([]any)) != 0 {
						t.Errorf("viewer forecast %v", b)
					}
				}},
			{name: "bad period", who: "repA1", method: "GET", path: "/api/forecast?period=2026Q1", status: 400, check: wantFields("period")},
			{name: "bad by", who: "repA1", method: "GET", path: "/api/forecast?by=region", status: 400, check: wantFields("by")},
			{name: "bad team id", who: "mgrA", method: "GET", path: "/api/forecast?team_id=abc", status: 400, check: wantFields("team_id")},
			{name: "unknown team", who: "mgrA", method: "GET", path: "/api/forecast?team_id=987654", status: 404},
			{name: "a team outside the manager's scope", who: "mgrA", method: "GET", path: "/api/forecast?team_id=" + itoa(e.org.TeamB.ID), status: 404},
			{name: "unknown parameter", who: "mgrA", method: "GET", path: "/api/forecast?colour=red", status: 400, check: wantFields("colour")},
			{name: "viewer gets no deal list", who: "viewer", method: "GET", path: "/api/forecast/deals", status: 403},
			{name: "rep gets a deal list", who: "repA1", method: "GET", path: "/api/forecast/deals?limit=5", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["model"] == nil || b["deals"] == nil {
						t.Errorf("deals answer %v", b)
					}
				}},
			{name: "bad deal limit", who: "repA1", method: "GET", path: "/api/forecast/deals?limit=0", status: 400, check: wantFields("limit")},
			{name: "model", who: "mgrA", method: "GET", path: "/api/forecast/model", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["note"] == "" || b["note"] == nil {
						t.Errorf("model %v", b)
					}
				}},
			{name: "backtest", who: "mgrA", method: "GET", path: "/api/forecast/backtest?grain=quarter&periods=2&by_team=1", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["grain"] != "quarter" {
						t.Errorf("backtest %v", b)
					}
				}},
			{name: "bad backtest", who: "mgrA", method: "GET", path: "/api/forecast/backtest?grain=week&periods=x", status: 400, check: wantFields("grain", "periods")},
			{name: "backtest as of a day", who: "mgrA", method: "GET", path: "/api/forecast/backtest?grain=month&periods=2&win_probability=0&as_of=2025-03-15", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if b["as_of"] != "2025-03-15" {
						t.Errorf("backtest as of %v, want 2025-03-15", b["as_of"])
					}
				}},
			{name: "bad backtest day", who: "mgrA", method: "GET", path: "/api/forecast/backtest?as_of=" + time.Now().AddDate(0, 0, 2).Format(time.DateOnly), status: 400, check: wantFields("as_of")},
			{name: "snapshots", who: "repA1", method: "GET", path: "/api/forecast/snapshots?period=" + q, status: 200},
			{name: "bad snapshot period", who: "repA1", method: "GET", path: "/api/forecast/snapshots?period=Q5", status: 400, check: wantFields("period")},
			{name: "viewer cannot submit", who: "viewer", method: "POST", path: "/api/forecast/submissions", body: call(q, 1, 2, 3, ""), status: 403, noneStored: true},
			{name: "negative commit", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: call(q, -5, 10, 20, ""), status: 400,
				check: wantFields("commit"), noneStored: true},
			{name: "commit above best case", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: call(q, 50, 10, 20, ""), status: 400,
				check: wantFields("best_case"), noneStored: true},
			{name: "bad period in a call", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: call("FY2026-Q9", 1, 2, 3, ""), status: 400,
				check: wantFields("period"), noneStored: true},
			{name: "unknown field in a call", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: `{"period":"` + q + `","commit":1,"user_id":5}`, status: 400,
				check: wantFields("user_id"), noneStored: true},
			{name: "admin submits no call", who: "admin", method: "POST", path: "/api/forecast/submissions", body: call(q, 1, 2, 3, ""), status: 400,
				check: wantFields("user_id"), noneStored: true},
			{name: "nothing was stored", who: "admin", method: "GET", path: "/api/forecast/submissions?period=" + q, status: 200,
				check: func(t *testing.T, b map[string]any) {
					if n := len(b["items"].([]any)); n != 0 {
						t.Errorf("%d submissions after refused calls", n)
					}
				}},
			{name: "rep A1 calls", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: call(q, `"100"`, 150, 200, ""), status: 201,
				check: func(t *testing.T, b map[string]any) {
					if b["user_id"].(float64) != float64(o.RepA1.ID) || b["version"].(float64) != 1 || b["commit"] != "100" || b["rollup_commit"] != nil {
						t.Errorf("stored %v", b)
					}
				}},
			{name: "rep A1 calls again", who: "repA1", method: "POST", path: "/api/forecast/submissions", body: call(q, 120, 150, 200, ""), status: 201,
				check: func(t *testing.T, b map[string]any) {
					if b["version"].(float64) != 2 {
						t.Errorf("stored %v", b)
					}
				}},
			{name: "rep A2 calls", who: "repA2", method: "POST", path: "/api/forecast/submissions", body: call(q, 80, 90, 100, ""), status: 201},
			{name: "rep B calls", who: "repB", method: "POST", path: "/api/forecast/submissions", body: call(q, 10, 20, 30, ""), status: 201},
			{name: "manager override needs a reason", who: "mgrA", method: "POST", path: "/api/forecast/submissions", body: call(q, 250, 300, 400, ""), status: 400,
				check: wantFields("reason")},
			{name: "manager override with a reason", who: "mgrA", method: "POST", path: "/api/forecast/submissions", body: call(q, 250, 300, 400, "A2's renewal slips"), status: 201,
				check: func(t *testing.T, b map[string]any) {
					if b["rollup_commit"] != "200" || b["reason"] != "A2's renewal slips" {
						t.Errorf("manager's call %v, want the roll-up 200 (120 + 80) stored", b)
					}
				}},
			{name: "manager reads the team's calls", who: "mgrA", method: "GET", path: "/api/forecast", status: 200,
				check: func(t *testing.T, b map[string]any) {
					lines := map[string]map[string]any{}
					for _, c := range b["calls"].([]any) {
						l := c.(map[string]any)
						lines[l["name"].(string)] = l
					}
					if len(lines) != 3 || lines[o.RepB.Name] != nil {
						t.Fatalf("manager A's calls %v", lines)
					}
					if l := lines[o.RepA1.Name]; l["team"] != o.TeamA.Name {
						t.Errorf("rep A1's line names team %v, want %s", l["team"], o.TeamA.Name)
					}
					if l := lines[o.RepA1.Name]; l["versions"].(float64) != 2 || l["latest"].(map[string]any)["commit"] != "120" {
						t.Errorf("rep A1's line %v", l)
					}
					if l := lines[o.MgrA.Name]; l["rollup_commit"].(float64) != 200 {
						t.Errorf("manager's line %v", l)
					}
					est := map[string]float64{}
					for _, x := range b["estimates"].([]any) {
						est[x.(map[string]any)["method"].(string)] = x.(map[string]any)["forecast"].(float64)
					}
					if est[forecast.MethodCommit] != 200 {
						t.Errorf("reps' commit estimate %v, want 200", est)
					}
				}},
			{name: "viewer sees no calls", who: "viewer", method: "GET", path: "/api/forecast", status: 200,
				check: func(t *testing.T, b map[string]any) {
					if len(b["calls"].([]any)) != 0 {
						t.Errorf("viewer sees calls %v", b["calls"])
					}
				}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := countSubs()
				status, body := e.do(c.who, c.method, c.path, c.body)
				if status != c.status {
					t.Fatalf("%s %s as %q: status %d, want %d; body %v", c.method, c.path, c.who, status, c.status, body)
				}
				if c.status >= 400 && body["error"] == nil {
					t.Errorf("error answer without an error message: %v", body)
				}
				if c.check != nil {
					c.check(t, body)
				}
				if c.noneStored && countSubs() != before {
					t.Errorf("a refused call was stored")
				}
			})
		}
		// Who sees which calls (every version).
		a1, a2, b, mA := o.RepA1.ID, o.RepA2.ID, o.RepB.ID, o.MgrA.ID
		for _, c := range []struct {
			who  string
			want []int64
		}{{"repA1", []int64{a1, a1}}, {"repB", []int64{b}}, {"mgrA", []int64{a1, a1, a2, mA}}, {"viewer", nil}} {
			got := e.submissionUsers(c.who, q)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s sees the calls of users %v, want %v", c.who, got, want)
			}
		}
	})
}

// TestForecastDealsRoles: over a demo organisation large enough to train the
// win-probability model, each seller's deal list holds only the deals they
// may see.
func TestForecastDealsRoles(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx := context.Background()
	_, err := demo.Generate(ctx, s, demo.Config{Seed: 11, Opportunities: 4000, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := web.NewServer(web.Config{}, s, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e := &env{t: t, store: s, url: ts.URL, tokens: map[string]string{}}
	visible := func(p crm.Principal) map[int64]bool {
		cond, err := s.OwnerCondition(ctx, p, "owner_id")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.DB().QueryContext(ctx, `SELECT id FROM opportunities WHERE `+cond)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]bool{}
		for rows.Next() {
			var id int64
			storetest.Must(t, rows.Scan(&id))
			out[id] = true
		}
		return out
	}
	// Two reps with the most open deals, two first-line managers, the viewer.
	pick := func(query string) []crm.User {
		rows, err := s.DB().QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			storetest.Must(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		rows.Close()
		var out []crm.User
		for _, id := range ids {
			u, err := s.Users.Get(ctx, crm.System, id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, *u)
		}
		return out
	}
	users := pick(`SELECT o.owner_id FROM opportunities o JOIN users u ON u.id = o.owner_id
		WHERE u.role = 'rep' AND u.active AND NOT o.is_closed GROUP BY o.owner_id ORDER BY COUNT(*) DESC, o.owner_id LIMIT 2`)
	users = append(users, pick(`SELECT t.manager_id FROM teams t WHERE t.manager_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM teams c WHERE c.parent_id = t.id) ORDER BY t.id LIMIT 2`)...)
	users = append(users, pick(`SELECT id FROM users WHERE role = 'viewer' ORDER BY id LIMIT 1`)...)
	lists := map[int64][]int64{}
	var reps []int64
	for _, u := range users {
		tok, err := s.NewAPIToken(ctx, crm.System, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.Email] = tok
		status, b := e.do(u.Email, "GET", "/api/forecast/deals?limit=10000", "")
		if u.Role == crm.RoleViewer {
			if status != 403 {
				t.Errorf("viewer's deal list: %d", status)
			}
			continue
		}
		if status != 200 {
			t.Fatalf("%s's deal list: %d %v", u.Email, status, b)
		}
		sees := visible(crm.Principal{UserID: u.ID, Role: u.Role})
		deals := b["deals"].([]any)
		t.Logf("%s (%s, sees %d deals): %d open deals scored; %v", u.Email, u.Role, len(sees), len(deals), b["model"].(map[string]any)["note"])
		if len(deals) == 0 {
			t.Errorf("%s: no deal scored", u.Email)
		}
		for _, d := range deals {
			dm := d.(map[string]any)
			id := int64(dm["opportunity_id"].(float64))
			if !sees[id] {
				t.Errorf("%s (%s) is shown deal %d of owner %d", u.Email, u.Role, id, e.ownerOf(id))
			}
			if u.Role == crm.RoleRep && int64(dm["owner_id"].(float64)) != u.ID {
				t.Errorf("rep %s is shown deal %d owned by %v", u.Email, id, dm["owner_id"])
			}
			if fs, _ := dm["factors"].([]any); len(fs) == 0 || len(fs) > 3 {
				t.Errorf("deal %d has factors %v", id, fs)
			}
			lists[u.ID] = append(lists[u.ID], id)
		}
		if u.Role == crm.RoleRep {
			reps = append(reps, u.ID)
		}
	}
	if len(reps) != 2 || len(users) != 5 {
		t.Fatalf("checked reps %v of users %d", reps, len(users))
	}
	for _, id := range lists[reps[0]] {
		if slices.Contains(lists[reps[1]], id) {
			t.Errorf("deal %d is in both reps' lists", id)
		}
	}
	// The model page and the backtest answer for the organisation's model.
	if status, b := e.do(users[0].Email, "GET", "/api/forecast/model", ""); status != 200 || b["model"] == nil || len(b["holdout"].([]any)) < 2 {
		t.Errorf("model as a rep: %d %v", status, b)
	}
	if status, b := e.do(users[2].Email, "GET", "/api/forecast/backtest?periods=2", ""); status != 200 || len(b["summary"].([]any)) == 0 {
		t.Errorf("backtest as a manager: %d %v", status, b)
	}
}

// TestForecastPages renders the forecast pages for each role over a session
// and submits a call through the form (without a browser).
func TestForecastPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		for _, u := range []crm.User{o.RepA1, o.MgrA, o.Viewer} {
			storetest.Must(t, s.SetPassword(ctx, crm.System, u.ID, testPassword))
		}
		srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		defer ts.Close()
		q := currentQuarter(t, s)
		login := func(u crm.User) *http.Client {
			c := browserless(t)
			resp, err := c.PostForm(ts.URL+"/login", url.Values{"email": {u.Email}, "password": {testPassword}})
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login %s: %v %v", u.Email, resp, err)
			}
			read(t, resp)
			return c
		}
		get := func(c *http.Client, path string, status int) string {
			t.Helper()
			resp, err := c.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body := read(t, resp)
			if resp.StatusCode != status {
				t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, status, body)
			}
			return body
		}
		rep, mgr, viewer := login(o.RepA1), login(o.MgrA), login(o.Viewer)

		page := get(rep, "/forecast", 200)
		for _, want := range []string{`id="methods"`, "Stage-weighted", `id="by-method-chart"`, `name="commit"`, `href="/forecast"`} {
			if !strings.Contains(page, want) {
				t.Errorf("rep's forecast page lacks %q", want)
			}
		}
		get(rep, "/forecast/deals", 200)
		get(rep, "/forecast/accuracy?period="+q, 200)
		get(rep, "/forecast?period=nonsense", 400)
		get(mgr, "/forecast?by=rep", 200)
		get(mgr, "/forecast?by=team&team_id="+fmt.Sprint(o.TeamA.ID), 200)
		vpage := get(viewer, "/forecast", 200)
		if strings.Contains(vpage, `name="commit"`) || strings.Contains(vpage, `id="calls"`) || strings.Contains(vpage, "/forecast/deals") {
			t.Errorf("viewer's forecast page offers calls or deals")
		}
		get(viewer, "/forecast/deals", 403)

		token := csrfField.FindStringSubmatch(page)[1]
		post := func(c *http.Client, v url.Values, status int) string {
			t.Helper()
			resp, err := c.PostForm(ts.URL+"/forecast", v)
			if err != nil {
				t.Fatal(err)
			}
			body := read(t, resp)
			if resp.StatusCode != status {
				t.Fatalf("POST /forecast %v: %d, want %d\n%s", v, resp.StatusCode, status, body)
			}
			return body
		}
		form := func(commit, best, pipeline string) url.Values {
			return url.Values{"csrf_token": {token}, "period": {q}, "commit": {commit}, "best_case": {best}, "pipeline": {pipeline}, "reason": {""}}
		}
		noToken := form("1", "2", "3")
		noToken.Del("csrf_token")
		post(rep, noToken, 403)
		bad := post(rep, form("1", "abc", "3"), 400)
		for _, want := range []string{`data-field="best_case"`, `value="abc"`} {
			if !strings.Contains(bad, want) {
				t.Errorf("rejected form lacks %q", want)
			}
		}
		if b := post(rep, form("-1", "5", "3"), 400); !strings.Contains(b, `data-field="commit"`) || !strings.Contains(b, `data-field="pipeline"`) {
			t.Errorf("negative commit and pipeline below best case: not both marked")
		}
		if n := len(csrfField.FindAllString(bad, -1)); n < 2 {
			t.Errorf("rejected form page has %d CSRF fields", n)
		}
		var n int
		s.DB().QueryRow(`SELECT COUNT(*) FROM forecast_submissions`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d submissions stored by rejected forms", n)
		}
		resp, err := rep.PostForm(ts.URL+"/forecast", form("1,500", "2000", "3000"))
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %v %v", resp.Status, err)
		}
		read(t, resp)
		after := get(rep, resp.Header.Get("Location"), 200)
		if !strings.Contains(after, `id="calls"`) || !strings.Contains(after, "1,500") {
			t.Errorf("the call is not in the calls table")
		}
		// The manager's override without a reason is refused on the form too.
		mtoken := csrfField.FindStringSubmatch(get(mgr, "/forecast", 200))[1]
		v := form("9999", "10000", "20000")
		v.Set("csrf_token", mtoken)
		if body := post(mgr, v, 400); !strings.Contains(body, `data-field="reason"`) {
			t.Errorf("manager's override without a reason: no reason error")
		}
		v.Set("reason", "big deal in legal")
		resp, err = mgr.PostForm(ts.URL+"/forecast", v)
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("manager's override: %v %v", resp.Status, err)
		}
		read(t, resp)
		if mp := get(mgr, "/forecast", 200); !strings.Contains(mp, "(override)") || !strings.Contains(mp, "big deal in legal") {
			t.Errorf("manager's page lacks the override")
		}
	})
}

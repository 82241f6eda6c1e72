package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// addDecidedLeads gives repA1 and repB 260 leads each: 440 decided (more
// Software leads convert), 80 still new. outcome_note is written when a
// lead is decided, so it gives the outcome away, as a post-contact field
// does. It returns one open lead of each rep.
func addDecidedLeads(t *testing.T, s *store.Store, org *storetest.Org) (a1, b int64) {
	t.Helper()
	const n = 520
	ctx := context.Background()
	storetest.Must(t, s.WithBulk(ctx, func(bk *store.Bulk) error {
		first, err := bk.AllocIDs(ctx, n)
		if err != nil {
			return err
		}
		created := time.Now().UTC().AddDate(0, -2, 0)
		rows := func(yield func([]any, error) bool) {
			for i := range n {
				owner := org.RepA1.ID
				if i%2 == 1 {
					owner = org.RepB.ID
				}
				industry := []string{"Software", "Retail", "Health", "Finance"}[i%4]
				status, note := "disqualified", `{"outcome_note":"not a fit"}`
				if i%4 == 0 && i%3 != 0 || i%5 == 0 || i%7 == 0 || i%9 == 0 {
					status, note = "converted", `{"outcome_note":"signed"}`
				}
				if i >= n-80 {
					status, note = "new", "{}"
					if a1 == 0 && owner == org.RepA1.ID {
						a1 = first + int64(i)
					}
					if b == 0 && owner == org.RepB.ID {
						b = first + int64(i)
					}
				}
				if !yield([]any{first + int64(i), "Lead", fmt.Sprint(i), industry, status, owner, created, note}, nil) {
					return
				}
			}
		}
		_, err = bk.Load(ctx, "leads", []string{"id", "first_name", "last_name", "industry", "status", "owner_id", "created_at", "custom_fields"}, rows)
		return err
	}))
	return a1, b
}

// post sends a form as who, without following a redirect.
func (e *pageEnv) post(who, path string, form url.Values) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "qd_session", Value: e.cookies[who]})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// The predictive API: ops trains (too few leads is a 400 naming the counts,
// an unknown field a 400 naming it), a rep may not train and reads only
// their own leads' probabilities, the viewer none.
func TestPredictiveAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		if code, out := e.do("admin", "POST", "/api/leads/predictive", ""); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "0 converted and 0 disqualified") {
			t.Errorf("training on no leads: %d %v, want 400 naming the counts", code, out)
		}
		if code, out := e.do("admin", "GET", "/api/leads/predictive", ""); code != 404 {
			t.Errorf("the report before any training: %d %v, want 404", code, out)
		}
		a1, b := addDecidedLeads(t, s, e.org)
		if code, out := e.do("admin", "POST", "/api/leads/predictive", `{"exclude": ["custom.outcome"]}`); code != 400 || !strings.Contains(fmt.Sprint(out), "custom.outcome") {
			t.Errorf("an unknown field: %d %v, want 400 naming it", code, out)
		}
		if code, out := e.do("admin", "POST", "/api/leads/predictive", `{"exclude": "custom.outcome_note"}`); code != 400 || !strings.Contains(fmt.Sprint(out), "exclude") {
			t.Errorf("exclude as a string: %d %v, want 400 naming the field", code, out)
		}
		for _, who := range []string{"repA1", "mgrA", "viewer"} {
			if code, out := e.do(who, "POST", "/api/leads/predictive", `{}`); code != 403 {
				t.Errorf("%s training: %d %v, want 403", who, code, out)
			}
		}
		code, out := e.do("admin", "POST", "/api/leads/predictive", `{"exclude": ["custom.outcome_*"]}`)
		if code != 201 {
			t.Fatalf("train: %d %v", code, out)
		}
		if out["auc_all_fields"].(float64) < 0.99 || out["auc"].(float64) >= out["auc_all_fields"].(float64) ||
			fmt.Sprint(out["excluded"]) != "[custom.outcome_note]" || out["scored"].(float64) != 520 || out["open"].(float64) != 80 {
			t.Errorf("the run: auc %v, with every field %v, excluded %v, scored %v, open %v", out["auc"], out["auc_all_fields"], out["excluded"], out["scored"], out["open"])
		}
		if code, out := e.do("repA1", "GET", "/api/leads/predictive", ""); code != 200 || out["id"] == nil {
			t.Errorf("repA1 reading the report: %d %v", code, out)
		}
		if code, _ := e.do("viewer", "GET", "/api/leads/predictive", ""); code != 403 {
			t.Errorf("viewer reading the report: %d, want 403", code)
		}
		code, out = e.do("repA1", "GET", fmt.Sprintf("/api/leads/%d/prediction", a1), "")
		if code != 200 {
			t.Fatalf("repA1's own lead: %d %v", code, out)
		}
		if p, _ := out["probability"].(float64); p <= 0 || p >= 1 || out["decided"] != false || len(out["factors"].([]any)) == 0 {
			t.Errorf("repA1's own lead's prediction: %v", out)
		}
		for _, f := range out["factors"].([]any) {
			if f.(map[string]any)["feature"] == "custom.outcome_note" {
				t.Errorf("explained by the excluded field: %v", f)
			}
		}
		for _, c := range []struct {
			who  string
			lead int64
			code int
		}{{"repA1", b, 404}, {"repB", b, 200}, {"mgrA", a1, 200}, {"mgrA", b, 404}, {"viewer", a1, 403}, {"admin", 999999, 404}} {
			if code, out := e.do(c.who, "GET", fmt.Sprintf("/api/leads/%d/prediction", c.lead), ""); code != c.code {
				t.Errorf("%s reading lead %d's prediction: %d %v, want %d", c.who, c.lead, code, out, c.code)
			}
		}
	})
}

// The page: for ops the tiles, the reliability chart, the exclusions and
// the retrain form (refused input shown in place); a rep sees the page
// without the form and only their own leads; the lead page shows the chance
// to convert.
func TestPredictivePage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		code, _, body := e.get("admin", "/leads/predictive")
		if code != 200 || !strings.Contains(string(body), `id="no-run"`) || !strings.Contains(string(body), `name="exclude"`) {
			t.Fatalf("the page before any training: %d\n%.400s", code, body)
		}
		a1, _ := addDecidedLeads(t, s, e.org)
		token := csrfField.FindStringSubmatch(string(body))[1]
		code, _, page := e.post("admin", "/leads/predictive", url.Values{"csrf_token": {token}, "exclude": {"custom.nope"}})
		if code != 400 || !strings.Contains(page, `data-field="exclude"`) || !strings.Contains(page, "custom.nope") || !strings.Contains(page, `id="train-errors"`) {
			t.Errorf("an unknown field on the form: %d, want 400 with the error next to the field", code)
		}
		if code, _, _ := e.post("repA1", "/leads/predictive", url.Values{"csrf_token": {token}, "exclude": {""}}); code != 403 {
			t.Errorf("a rep posting the form: %d, want 403", code)
		}
		code, loc, _ := e.post("admin", "/leads/predictive", url.Values{"csrf_token": {token}, "exclude": {"custom.outcome_note"}})
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/leads/predictive?trained=") {
			t.Fatalf("training from the form: %d %q", code, loc)
		}
		for _, c := range []struct {
			who, path   string
			code        int
			has, hasNot []string
		}{
			{"admin", loc, 200, []string{`id="trained"`, "AUC with every field", "AUC without the excluded fields", "Brier score", "Leads trained on",
				`id="reliability-chart"`, `id="candidates"`, `class="excluded">custom.outcome_note`, `name="exclude"`, `>custom.outcome_note</textarea>`}, nil},
			{"repA1", "/leads/predictive", 200, []string{"AUC with every field", `id="predictions"`}, []string{`name="exclude"`}},
			// Every row of the table, every page: the rep's holds only their own leads.
			{"admin", "/leads/predictive?export=predictions&format=csv", 200, []string{"Lead,Company,Status,Chance to convert", "Lead 440,", "Lead 441,"}, nil},
			{"repA1", "/leads/predictive?export=predictions&format=csv", 200, []string{"Lead 440,"}, []string{"Lead 441,"}},
			{"viewer", "/leads/predictive", 403, nil, nil},
			{"repA1", fmt.Sprintf("/leads/%d", a1), 200, []string{`id="prediction"`, "Chance to convert", `id="prediction-factors"`}, []string{"custom.outcome_note ="}},
			{"viewer", "/", 200, nil, []string{`href="/leads/predictive"`}},
			{"repA1", "/", 200, []string{`href="/leads/predictive"`}, nil},
		} {
			code, _, body := e.get(c.who, c.path)
			if code != c.code {
				t.Errorf("%s %s: %d, want %d", c.who, c.path, code, c.code)
				continue
			}
			for _, h := range c.has {
				if !strings.Contains(string(body), h) {
					t.Errorf("%s %s lacks %q", c.who, c.path, h)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(string(body), h) {
					t.Errorf("%s %s has %q", c.who, c.path, h)
				}
			}
		}
	})
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const testModel = `name: inbound
fit:
  - name: Software
    field: industry
    equals: Software
    points: 10
engagement:
  - event: email_click
    points: 5
grades:
  - {grade: A, min: 15}
  - {grade: B, min: 0}
mql: 15
`

// addLeads gives repA1 and repB a lead each.
func addLeads(t *testing.T, s *store.Store, o *storetest.Org) (a1, b crm.Lead) {
	for _, x := range []struct {
		l     *crm.Lead
		owner crm.User
	}{{&a1, o.RepA1}, {&b, o.RepB}} {
		*x.l = crm.Lead{FirstName: "Lead", LastName: x.owner.Email, Company: "Acme", Industry: "Software", Status: crm.LeadNew,
			OwnerID: &x.owner.ID, CreatedAt: time.Now().UTC().Add(-48 * time.Hour)}
		storetest.Must(t, s.Leads.Create(context.Background(), crm.System, x.l))
	}
	return a1, b
}

// The scoring API: ops applies a model, a new event rescores its lead at
// once, reps see only their own leads' scores, and a bad model is a 400
// naming line and field that changes nothing.
func TestLeadScoringAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		a1, b := addLeads(t, s, e.org)
		body := fmt.Sprintf(`{"file": "inbound.yaml", "source": %q}`, testModel)
		if code, out := e.do("repA1", "POST", "/api/scoring/models", body); code != http.StatusForbidden {
			t.Errorf("a rep applying a model: %d %v", code, out)
		}
		code, out := e.do("admin", "POST", "/api/scoring/models", body)
		if code != http.StatusCreated || out["version"].(float64) != 1 || out["leads"].(float64) != 2 {
			t.Fatalf("apply: %d %v", code, out)
		}
		score := func(who string, lead int64) (int, float64) {
			code, out := e.do(who, "GET", fmt.Sprintf("/api/leads/%d/score", lead), "")
			if code != http.StatusOK {
				return code, 0
			}
			scores := out["scores"].([]any)
			return code, scores[0].(map[string]any)["score"].(float64)
		}
		if code, sc := score("repA1", a1.ID); code != 200 || sc != 10 {
			t.Errorf("repA1's own lead: %d score %v, want 10", code, sc)
		}
		if code, _ := score("repA1", b.ID); code != http.StatusNotFound {
			t.Errorf("repA1 reading repB's lead score: %d, want 404", code)
		}
		if code, _ := e.do("repA1", "GET", fmt.Sprintf("/api/leads/%d/score/history", b.ID), ""); code != http.StatusNotFound {
			t.Errorf("repA1 reading repB's score history: %d, want 404", code)
		}
		code, out = e.do("repA1", "POST", fmt.Sprintf("/api/leads/%d/events", a1.ID), fmt.Sprintf(`{"kind": "email_click", "occurred_at": %q}`, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)))
		if code != http.StatusCreated {
			t.Fatalf("add event: %d %v", code, out)
		}
		if _, sc := score("repA1", a1.ID); sc != 15 {
			t.Errorf("after a click the score is %v, want 15 at once", sc)
		}
		code, out = e.do("repA1", "GET", "/api/leads/scores", "")
		if items := out["items"].([]any); code != 200 || len(items) != 1 || items[0].(map[string]any)["grade"] != "A" {
			t.Errorf("repA1's list: %d %v", code, out)
		}
		if code, _ := e.do("viewer", "GET", "/api/leads/scores", ""); code != http.StatusForbidden {
			t.Errorf("viewer listing lead scores: %d", code)
		}
		if code, out := e.do("admin", "GET", "/api/leads/scores?colour=red", ""); code != 400 || !strings.Contains(fmt.Sprint(out), "colour") {
			t.Errorf("unknown filter: %d %v", code, out)
		}
		if code, out := e.do("admin", "GET", "/api/leads/scores?limit=-1", ""); code != 400 {
			t.Errorf("bad limit: %d %v", code, out)
		}
		bad := fmt.Sprintf(`{"file": "bad.yaml", "source": %q}`, strings.Replace(testModel, "points: 10", "points: ten", 1))
		code, out = e.do("admin", "POST", "/api/scoring/models", bad)
		if code != 400 || !strings.Contains(fmt.Sprint(out), "bad.yaml:6") || !strings.Contains(fmt.Sprint(out), "fit[0].points") {
			t.Errorf("bad model: %d %v, want 400 naming bad.yaml:6 and fit[0].points", code, out)
		}
		code, out = e.do("admin", "GET", "/api/scoring/models", "")
		if items := out["items"].([]any); code != 200 || len(items) != 1 {
			t.Errorf("versions after a refused model: %d %v", code, out)
		}

		seg := fmt.Sprintf(`{"source": %q}`, "name: Software\nmatch:\n  - field: industry\n    equals: Software\n")
		if code, out := e.do("repA1", "POST", "/api/leads/segments", seg); code != http.StatusForbidden {
			t.Errorf("a rep saving a segment: %d %v", code, out)
		}
		if code, out := e.do("admin", "POST", "/api/leads/segments", seg); code != http.StatusCreated {
			t.Fatalf("save segment: %d %v", code, out)
		}
		code, out = e.do("repA1", "GET", "/api/leads/segments", "")
		items := out["items"].([]any)
		if code != 200 || len(items) != 1 || items[0].(map[string]any)["leads"].(float64) != 1 {
			t.Errorf("repA1's segments: %d %v, want one segment with their 1 lead", code, out)
		}
		code, out = e.do("admin", "GET", "/api/leads/scores?segment=Software", "")
		if items := out["items"].([]any); code != 200 || len(items) != 2 {
			t.Errorf("leads of the segment: %d %v", code, out)
		}
		badSeg := fmt.Sprintf(`{"file": "seg.yaml", "source": %q}`, "name: X\nmatch:\n  - field: industri\n    equals: A\n")
		if code, out := e.do("admin", "POST", "/api/leads/segments", badSeg); code != 400 || !strings.Contains(fmt.Sprint(out), "seg.yaml:3") {
			t.Errorf("bad segment: %d %v", code, out)
		}
		// A manual segment: a rep lists their own lead, not another's.
		list := fmt.Sprintf(`{"source": %q}`, "name: Follow up\nmanual: true\n")
		if code, out := e.do("admin", "POST", "/api/leads/segments", list); code != http.StatusCreated {
			t.Fatalf("save manual segment: %d %v", code, out)
		}
		members := "/api/leads/segments/Follow%20up/members"
		if code, out := e.do("repA1", "POST", members, fmt.Sprintf(`{"add": [%d, %d]}`, a1.ID, b.ID)); code != http.StatusNotFound {
			t.Errorf("repA1 adding repB's lead: %d %v, want 404", code, out)
		}
		if code, out := e.do("repA1", "POST", members, fmt.Sprintf(`{"add": [%d]}`, a1.ID)); code != 200 || out["moved"].(float64) != 1 {
			t.Errorf("repA1 adding their lead: %d %v", code, out)
		}
		if code, out := e.do("admin", "POST", "/api/leads/segments/Software/members", fmt.Sprintf(`{"add": [%d]}`, b.ID)); code != 400 || !strings.Contains(fmt.Sprint(out), "manual: true") {
			t.Errorf("adding to a rule segment: %d %v", code, out)
		}
		if code, out := e.do("admin", "POST", members, `{"add": ["x"]}`); code != 400 {
			t.Errorf("a lead id that is not a number: %d %v", code, out)
		}
		code, out = e.do("admin", "GET", "/api/leads/scores?segment=Follow%20up", "")
		if items := out["items"].([]any); code != 200 || len(items) != 1 {
			t.Errorf("leads of the manual segment: %d %v, want just a1 (repB's was refused with the lot)", code, out)
		}
	})
}

// The pages: the leads list, a lead with its why-log, the model page with
// its editor for ops only; a rep cannot open another rep's lead.
func TestLeadPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		code, _, body := e.get("admin", "/leads")
		if code != 200 || !strings.Contains(string(body), `id="no-model"`) {
			t.Errorf("leads before any model: %d", code)
		}
		a1, b := addLeads(t, s, e.org)
		ev := crm.LeadEvent{LeadID: a1.ID, Kind: "email_click", Detail: "Newsletter", OccurredAt: time.Now().UTC().Add(-time.Hour)}
		storetest.Must(t, s.AddLeadEvent(context.Background(), crm.System, &ev))
		if _, err := leads.Apply(context.Background(), s, storetest.As(e.org.Admin), "inbound.yaml", []byte(testModel), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who, path string
			code      int
			has       []string
		}{
			{"admin", "/leads", 200, []string{"Leads by score", "/leads/" + fmt.Sprint(a1.ID), "/leads/" + fmt.Sprint(b.ID), "Marketing-qualified"}},
			{"repA1", "/leads", 200, []string{"/leads/" + fmt.Sprint(a1.ID)}},
			{"repA1", fmt.Sprintf("/leads/%d", a1.ID), 200, []string{"inbound: why 15 points", "email_click (Newsletter)", "industry = Software", "the score is the sum"}},
			{"repA1", fmt.Sprintf("/leads/%d", b.ID), 404, nil},
			{"viewer", "/leads", 403, nil},
			{"admin", "/leads/models", 200, []string{"inbound · version 1", `name="source"`, "Apply and rescore"}},
			{"repA1", "/leads/models", 200, []string{"inbound · version 1"}},
			{"admin", "/leads?grade=A&export=leads&format=csv", 200, []string{"Lead,Company,Source", "Lead rep.a1@example.com"}},
			{"admin", "/leads/segments", 200, []string{`id="no-segments"`, "Save segment"}},
			{"repA1", "/leads/segments", 200, []string{`id="no-segments"`}},
			{"viewer", "/leads/segments", 403, nil},
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
		}
		if _, _, body := e.get("repA1", "/leads"); strings.Contains(string(body), fmt.Sprintf("/leads/%d\"", b.ID)) {
			t.Error("repA1's list links repB's lead")
		}
		if _, _, body := e.get("repA1", "/leads/models"); strings.Contains(string(body), "Apply and rescore") {
			t.Error("a rep is offered the model editor")
		}
	})
}

package routing

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/rules"
)

// A Tuesday, 10:00 UTC.
var now = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

func org(n int) *Org {
	o := &Org{Reps: map[int64]*Rep{}, Teams: map[string][]int64{}}
	mgr := int64(100)
	o.Reps[mgr] = &Rep{ID: mgr, Email: "mgr@x.example", Active: true}
	for i := 1; i <= n; i++ {
		id := int64(i)
		o.Reps[id] = &Rep{ID: id, Email: fmt.Sprintf("rep%d@x.example", i), Active: true, Team: "Inbound", ManagerID: &mgr}
		o.Teams["Inbound"] = append(o.Teams["Inbound"], id)
	}
	o.Reps[99] = &Rep{ID: 99, Email: "queue@x.example", Active: true}
	return o
}

func set(t *testing.T, doc string) *Set {
	t.Helper()
	s, err := Parse("r.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const head = "name: test\nqueue_owner: queue@x.example\n"

func route(t *testing.T, s *Set, o *Org, st State, lead rules.Record, at time.Time) Decision {
	t.Helper()
	if lead == nil {
		lead = rules.Record{}
	}
	d, err := s.Route(lead, "", "", o, st, at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func counts(t *testing.T, s *Set, o *Org, st State, leads int) map[string]int {
	got := map[string]int{}
	for range leads {
		got[route(t, s, o, st, nil, now).Owner]++
	}
	return got
}

// Round robin is exact: 10 leads over 5 reps give 2 each; the turn order
// lives in the state, so a new engine continuing from it (a restart)
// carries on where it stopped.
func TestRoundRobinExactAndRestart(t *testing.T) {
	s := set(t, head+"pools:\n  - {name: p, method: round_robin, members: [{team: Inbound}]}\nrules:\n  - {name: all, pool: p}\n")
	o, st := org(5), State{}
	got := counts(t, s, o, st, 10)
	for i := 1; i <= 5; i++ {
		if got[fmt.Sprintf("rep%d@x.example", i)] != 2 {
			t.Fatalf("10 leads over 5 reps: %v", got)
		}
	}
	// Three more, then "restart": a fresh rule set and org from the same state.
	counts(t, s, o, st, 3)
	s2, o2 := set(t, head+"pools:\n  - {name: p, method: round_robin, members: [{team: Inbound}]}\nrules:\n  - {name: all, pool: p}\n"), org(5)
	if d := route(t, s2, o2, st, nil, now); d.Owner != "rep4@x.example" {
		t.Errorf("after a restart the next lead went to %s, want rep4", d.Owner)
	}
}

func TestWeightedExactShares(t *testing.T) {
	s := set(t, head+`pools:
  - name: p
    method: weighted
    members: [{email: rep1@x.example, weight: 200}, {email: rep2@x.example, weight: 100}, {email: rep3@x.example, weight: 100}]
rules:
  - {name: all, pool: p}
`)
	got := counts(t, s, org(3), State{}, 60)
	if got["rep1@x.example"] != 30 || got["rep2@x.example"] != 15 || got["rep3@x.example"] != 15 {
		t.Errorf("weights 200/100/100 over 60 leads: %v, want 30/15/15", got)
	}
}

func TestLeastLoaded(t *testing.T) {
	s := set(t, head+"pools:\n  - {name: p, method: least_loaded, members: [{team: Inbound}]}\nrules:\n  - {name: all, pool: p}\n")
	o := org(3)
	o.Loads = map[int64]*Load{1: {Open: 5}, 2: {Open: 1}, 3: {Open: 3}}
	st := State{}
	var order []string
	for range 4 {
		order = append(order, strings.TrimSuffix(route(t, s, o, st, nil, now).Owner, "@x.example"))
	}
	// rep2 has 1 → 2, ties with... 2,2 then rep3 (3) vs rep2 (3): rotation decides.
	if order[0] != "rep2" || order[1] != "rep2" || o.Loads[2].Open+o.Loads[3].Open != 1+3+4 {
		t.Errorf("least loaded order %v, loads %+v %+v", order, *o.Loads[2], *o.Loads[3])
	}
}

func TestOwnerPool(t *testing.T) {
	s := set(t, head+"pools:\n  - {name: vip, method: owner, owner: rep2@x.example}\nrules:\n  - {name: all, pool: vip}\n")
	if d := route(t, s, org(3), State{}, nil, now); d.Owner != "rep2@x.example" || d.Method != Owner {
		t.Errorf("owner pool: %+v", d)
	}
}

// Each reason a rep is passed over, and the queue owner when nobody is left.
func TestSkipReasons(t *testing.T) {
	doc := head + `pools:
  - name: p
    members: [{team: Inbound}]
    caps: {per_hour: 1, per_day: 2, per_week: 3, open_leads: 4}
    working_hours: {from: "09:00", to: "17:00"}
rules:
  - {name: all, pool: p}
`
	s := set(t, doc)
	o := org(5)
	o.Reps[1].Active = false
	o.Reps[2].Away = []Period{{now.Add(-time.Hour), now.Add(48 * time.Hour)}}
	ny, _ := time.LoadLocation("America/New_York")
	o.Reps[3].TimeZone = ny // 05:00 there
	o.Loads = map[int64]*Load{4: {Open: 4}, 5: {Assigned: []time.Time{now}}}
	d := route(t, s, o, State{}, nil, now)
	want := map[string]string{"rep1": "inactive", "rep2": "out of office", "rep3": "outside working hours", "rep4": "cap of 4 open leads", "rep5": "cap of 1 leads this hour"}
	for _, c := range d.Considered {
		w := want[strings.TrimSuffix(c.Email, "@x.example")]
		if w == "" || !strings.Contains(c.Skipped, w) {
			t.Errorf("%s skipped %q, want %q", c.Email, c.Skipped, w)
		}
	}
	if !d.Queue || d.Owner != "queue@x.example" || !strings.Contains(d.Reason, "nobody in pool p") {
		t.Errorf("nobody available: %+v", d)
	}
}

// Caps reset on their boundaries: an hour's cap at the next hour, a day's
// at midnight in the rep's zone, a week's on Monday.
func TestCapResets(t *testing.T) {
	for _, c := range []struct {
		caps            string
		assigned, check time.Time
		skipped         bool
	}{
		{"per_hour: 1", now.Add(5 * time.Minute), now.Add(59 * time.Minute), true},
		{"per_hour: 1", now.Add(5 * time.Minute), now.Add(time.Hour), false},
		{"per_day: 1", now.Add(-9 * time.Hour), now, true},
		{"per_day: 1", now.Add(-11 * time.Hour), now, false},  // yesterday 23:00
		{"per_week: 1", now.Add(-30 * time.Hour), now, true},  // Monday 04:00
		{"per_week: 1", now.Add(-35 * time.Hour), now, false}, // Sunday 23:00
	} {
		s := set(t, head+"pools:\n  - {name: p, members: [{email: rep1@x.example}], caps: {"+c.caps+"}}\nrules:\n  - {name: all, pool: p}\n")
		o := org(1)
		o.Loads = map[int64]*Load{1: {Assigned: []time.Time{c.assigned}}}
		d := route(t, s, o, State{}, nil, c.check)
		if d.Queue != c.skipped {
			t.Errorf("%s, assigned %v, at %v: queued %v (%s), want %v", c.caps, c.assigned, c.check, d.Queue, d.Reason, c.skipped)
		}
	}
}

func TestRulesOverflowAndAccounts(t *testing.T) {
	s := set(t, head+`pools:
  - {name: enterprise, members: [{email: rep1@x.example}], overflow: inbound}
  - {name: inbound, members: [{email: rep2@x.example}, {email: rep3@x.example}], overflow: manager}
rules:
  - name: Big
    match: [{field: employees, between: [2000, 1000000]}]
    pool: enterprise
  - name: Grade A
    match: [{when: 'grade == "A"'}]
    pool: inbound
  - {name: Default, pool: inbound}
`)
	o := org(3)
	o.Accounts = []Account{{ID: 7, Name: "Acme Corp", Domain: "acme.example", OwnerID: ptr(3), Fields: map[string]any{"industry": "Retail"}}}
	st := State{}
	if d := route(t, s, o, st, rules.Record{"employees": 5000.0}, now); d.Rule != "Big" || d.Owner != "rep1@x.example" {
		t.Errorf("big lead: %+v", d)
	}
	o.Reps[1].Active = false
	if d := route(t, s, o, st, rules.Record{"employees": 5000.0}, now); d.Pool != "inbound" || d.Owner != "rep2@x.example" {
		t.Errorf("big lead with its pool empty overflows to inbound: %+v", d)
	}
	o.Reps[2].Active, o.Reps[3].Active = false, false
	if d := route(t, s, o, st, rules.Record{"grade": "A"}, now); d.Owner != "mgr@x.example" || d.Rule != "Grade A" {
		t.Errorf("nobody in inbound: to the manager: %+v", d)
	}
	o.Reps[3].Active = true
	d, err := s.Route(rules.Record{}, "jane@ACME.example", "", o, st, now)
	if err != nil || d.Owner != "rep3@x.example" || d.AccountID == nil || *d.AccountID != 7 {
		t.Errorf("lead of acme.example: %+v (%v), want the account owner", d, err)
	}
	d, _ = s.Route(rules.Record{}, "jane@gmail.com", " acme  corp ", o, st, now)
	if d.AccountID == nil || d.Owner != "rep3@x.example" {
		t.Errorf("free mail, company named like the account: %+v", d)
	}
	d, _ = s.Route(rules.Record{}, "jane@gmail.com", "", o, st, now)
	if d.AccountID != nil {
		t.Errorf("a free-mail domain matched an account: %+v", d)
	}
}

func TestQueueOwnerMustExist(t *testing.T) {
	s := set(t, "name: t\nqueue_owner: nobody@x.example\npools:\n  - {name: p, members: [{email: rep1@x.example}]}\nrules:\n  - {name: all, pool: p}\n")
	o := org(1)
	o.Reps[1].Active = false
	if _, err := s.Route(rules.Record{}, "", "", o, State{}, now); err == nil {
		t.Error("a lead nobody can take was not reported")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"name: t\npools: []\nrules: []\n", "r.yaml:1: queue_owner:"},
		{head + "pools:\n  - {name: p, method: lottery, members: [{team: A}]}\nrules:\n  - {pool: p}\n", `r.yaml:4: pools[0].method: "lottery" is not a method`},
		{head + "pools:\n  - {name: p, members: [{email: a@x, weight: 5}]}\nrules:\n  - {pool: p}\n", "pools[0].members[0].weight: weights apply to weighted pools only"},
		{head + "pools:\n  - {name: p, members: [{team: A}], overflow: q}\nrules:\n  - {pool: p}\n", `pools[0].overflow: "q" is not another pool`},
		{head + "pools:\n  - {name: p, members: [{team: A}]}\nrules:\n  - {pool: nope}\n", `r.yaml:6: rules[0].pool: "nope" is not a pool`},
		{head + "pools:\n  - {name: p, members: [{team: A}]}\nrules:\n  - {pool: p}\n  - {pool: p, match: [{field: grade, equals: A}]}\n", "the last rule must have no tests"},
		{head + "pools:\n  - {name: p, members: [{team: A}]}\nrules:\n  - {pool: p, match: [{field: grde, equals: A}]}\n  - {pool: p}\n", `rules[0].match[0].field: unknown field "grde"`},
		{head + "pools:\n  - {name: p, members: [{team: A}], working_hours: {from: '18:00', to: '09:00'}}\nrules:\n  - {pool: p}\n", "working_hours.to"},
	} {
		_, err := Parse("r.yaml", []byte(c.doc))
		if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n%v\nwant %q", c.doc, err, c.want)
		}
	}
}

func ptr(v int64) *int64 { return &v }

func FuzzParse(f *testing.F) {
	f.Add([]byte(head + "pools:\n  - {name: p, method: weighted, members: [{team: Inbound, weight: 200}], caps: {per_day: 3}, working_hours: {from: '09:00', to: '17:00'}}\nrules:\n  - {name: a, match: [{when: 'score > 50'}], pool: p}\n  - {pool: p}\n"))
	f.Add([]byte(head + "pools:\n  - {name: p, method: owner, owner: a@x}\nrules:\n  - {pool: p}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, crm.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		// A valid set routes any lead without panicking: to someone, or an error.
		s.Route(rules.Record{}, "a@b.example", "B", org(2), State{}, now)
	})
}

func TestShippedRuleSetParses(t *testing.T) {
	data, err := os.ReadFile("../../examples/routing/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("demo.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.rules) != 4 || s.rules[1].alert != "sales-alerts" {
		t.Errorf("the demo rule set: %d rules, alert %q", len(s.rules), s.rules[1].alert)
	}
}

// An SLA counted in working hours stops the clock outside the pool's hours
// and on days off, in the owner's time zone.
func TestSLAInWorkingHours(t *testing.T) {
	s := set(t, head+`pools:
  - {name: p, method: round_robin, members: [{team: Inbound}], working_hours: {from: "00:00", to: "23:59", days: [mon, tue, wed, thu, fri, sat, sun]}}
  - name: office
    method: round_robin
    members: [{team: Inbound}]
    working_hours: {from: "09:00", to: "17:00"}
rules:
  - {name: counted, match: [{field: source, equals: web}], pool: office, sla: {within: 1h, escalate_after: 3h, working_hours: true}}
  - {name: clock, pool: office, sla: {within: 1h}}
`)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		name     string
		at       time.Time
		source   string
		tz       *time.Location
		due, esc time.Time
	}{
		{"within the day", time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), "web", nil, time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 13, 0, 0, 0, time.UTC)},
		{"across the evening", time.Date(2026, 3, 3, 16, 30, 0, 0, time.UTC), "web", nil, time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC), time.Date(2026, 3, 4, 11, 30, 0, 0, time.UTC)},
		{"Friday evening to Monday", time.Date(2026, 3, 6, 16, 45, 0, 0, time.UTC), "web", nil, time.Date(2026, 3, 9, 9, 45, 0, 0, time.UTC), time.Date(2026, 3, 9, 11, 45, 0, 0, time.UTC)},
		{"before opening", time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC), "web", nil, time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)},
		{"Saturday", time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), "web", nil, time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)},
		// 15:30 UTC is 16:30 in Berlin: half an hour left in the owner's
		// day, the rest from 09:00 Berlin (08:00 UTC) the next day.
		{"the owner's time zone", time.Date(2026, 3, 3, 15, 30, 0, 0, time.UTC), "web", berlin, time.Date(2026, 3, 4, 8, 30, 0, 0, time.UTC), time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)},
		{"on the clock", time.Date(2026, 3, 3, 16, 30, 0, 0, time.UTC), "event", nil, time.Date(2026, 3, 3, 17, 30, 0, 0, time.UTC), time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := org(1)
			o.Reps[1].TimeZone = c.tz
			// Out of hours the pool skips the rep and the queue owner (in
			// UTC) takes the lead: the due time is counted in theirs.
			d := route(t, s, o, State{}, rules.Record{"source": c.source}, c.at)
			if d.SLADue == nil || !d.SLADue.Equal(c.due) {
				t.Errorf("due %v, want %v (%s)", d.SLADue, c.due, d.Reason)
			}
			if !c.esc.IsZero() && (d.SLAEscalate == nil || !d.SLAEscalate.Equal(c.esc)) {
				t.Errorf("escalate %v, want %v", d.SLAEscalate, c.esc)
			}
		})
	}
	for _, bad := range []string{
		"pools: [{name: p, method: round_robin, members: [{team: Inbound}]}]\nrules: [{name: r, pool: p, sla: {within: 1h, working_hours: true}}]",
		"pools: [{name: p, method: round_robin, members: [{team: Inbound}], working_hours: {from: \"09:00\", to: \"17:00\", days: []}}]\nrules: [{name: r, pool: p}]",
	} {
		if _, err := Parse("r.yaml", []byte(head+bad)); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

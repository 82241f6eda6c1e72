package leads_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

var (
	ctx   = context.Background()
	asOf  = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	must  = storetest.Must
	model = `name: inbound
fit:
  - name: Software
    field: industry
    equals: Software
    points: 10
engagement:
  - event: email_click
    points: 5
  - event: form_submit
    points: 20
    once: true
grades:
  - {grade: A, min: 30}
  - {grade: B, min: 0}
mql: 30
`
)

type fixture struct {
	org        *storetest.Org
	a1, a2, b1 crm.Lead
}

func newFixture(t *testing.T, s *store.Store) *fixture {
	org := storetest.NewOrg(t, s)
	f := &fixture{org: org}
	lead := func(owner crm.User, industry string) crm.Lead {
		l := crm.Lead{FirstName: "L", LastName: owner.Email, Email: "x@" + industry + ".example", Company: industry + " Inc", Industry: industry,
			Status: crm.LeadNew, OwnerID: &owner.ID, CreatedAt: asOf.AddDate(0, -2, 0)}
		must(t, s.Leads.Create(ctx, crm.System, &l))
		return l
	}
	f.a1, f.a2, f.b1 = lead(org.RepA1, "Software"), lead(org.RepA2, "Retail"), lead(org.RepB, "Software")
	for i, l := range []crm.Lead{f.a1, f.a1, f.a2, f.b1} {
		e := crm.LeadEvent{LeadID: l.ID, Kind: "email_click", OccurredAt: asOf.AddDate(0, 0, -10+i)}
		must(t, s.AddLeadEvent(ctx, crm.System, &e))
	}
	e := crm.LeadEvent{LeadID: f.a1.ID, Kind: "form_submit", Detail: "Contact sales", OccurredAt: asOf.AddDate(0, 0, -3)}
	must(t, s.AddLeadEvent(ctx, crm.System, &e))
	return f
}

func scoreOf(t *testing.T, s *store.Store, p crm.Principal, lead int64) leads.Explanation {
	t.Helper()
	ex, err := leads.Explain(ctx, s, p, lead, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 {
		t.Fatalf("lead %d has %d active scores, want 1", lead, len(ex))
	}
	return ex[0]
}

func sumOf(lines []leads.Line) float64 {
	var s float64
	for _, l := range lines {
		s += l.Points
	}
	return math.Round(s*100) / 100
}

func TestApplyScoresEveryLead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		v, err := leads.Apply(ctx, s, admin, "inbound.yaml", []byte(model), asOf)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != 1 || v.Leads != 3 {
			t.Fatalf("version %d scored %d leads, want version 1 and 3 leads", v.Version, v.Leads)
		}
		want := map[int64]float64{f.a1.ID: 10 + 5 + 5 + 20, f.a2.ID: 5, f.b1.ID: 15}
		for id, score := range want {
			ex := scoreOf(t, s, admin, id)
			if ex.Score != score || sumOf(ex.Lines) != score {
				t.Errorf("lead %d: score %v, lines sum %v, want %v", id, ex.Score, sumOf(ex.Lines), score)
			}
		}
		if ex := scoreOf(t, s, admin, f.a1.ID); ex.Grade != "A" || !ex.MQL {
			t.Errorf("a1 grade %q mql %v, want A and MQL", ex.Grade, ex.MQL)
		}
		list, _, err := leads.Scores(ctx, s, admin, leads.ScoreQuery{})
		if err != nil || len(list) != 3 || list[0].LeadID != f.a1.ID {
			t.Fatalf("scores list %+v (%v), want 3 leads, a1 first", list, err)
		}
		audit, err := s.AuditLog(ctx, admin, "scoring_model", v.ID, 10)
		if err != nil || len(audit) != 1 {
			t.Errorf("audit of the model: %+v (%v)", audit, err)
		}
	})
}

// A rep sees only their own leads' scores, a manager their team's; the
// viewer none; nobody but ops and admin applies a model.
func TestScoreVisibility(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		_, err := leads.Apply(ctx, s, storetest.As(f.org.Admin), "inbound.yaml", []byte(model), asOf)
		must(t, err)
		rep := storetest.As(f.org.RepA1)
		if _, err := leads.Explain(ctx, s, rep, f.a2.ID, 0); !errors.Is(err, crm.ErrNotFound) && !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("rep a1 explaining a2's lead: %v, want refused", err)
		}
		if _, err := leads.History(ctx, s, rep, f.b1.ID, "", asOf, 5); err == nil {
			t.Error("rep a1 read b1's score history")
		}
		for _, c := range []struct {
			who  crm.User
			want int
		}{{f.org.RepA1, 1}, {f.org.MgrA, 2}, {f.org.VP, 3}, {f.org.MgrB, 1}} {
			list, _, err := leads.Scores(ctx, s, storetest.As(c.who), leads.ScoreQuery{})
			if err != nil || len(list) != c.want {
				t.Errorf("%s sees %d scored leads (%v), want %d", c.who.Email, len(list), err, c.want)
			}
		}
		if _, _, err := leads.Scores(ctx, s, storetest.As(f.org.Viewer), leads.ScoreQuery{}); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("viewer listing lead scores: %v, want forbidden", err)
		}
		if _, err := leads.Apply(ctx, s, storetest.As(f.org.MgrA), "inbound.yaml", []byte(model), asOf); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("manager applying a model: %v, want forbidden", err)
		}
	})
}

// Changing the model and applying it again rescores every lead from its
// history; the old version's scores stay readable.
func TestModelChangeRescoresHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		v1, err := leads.Apply(ctx, s, admin, "inbound.yaml", []byte(model), asOf)
		must(t, err)
		changed := model + "decay:\n  half_life_days: 10\n"
		v2, err := leads.Apply(ctx, s, admin, "inbound.yaml", []byte(changed), asOf)
		must(t, err)
		if v2.Version != 2 {
			t.Fatalf("second apply is version %d", v2.Version)
		}
		// a1: fit 10; clicks 10 and 9 days old, form 3 days old, half-life 10 days.
		want := 10 + 5*math.Pow(2, -1) + 5*math.Pow(2, -0.9) + 20*math.Pow(2, -0.3)
		ex := scoreOf(t, s, admin, f.a1.ID)
		if ex.ModelID != v2.ID || math.Abs(ex.Score-want) > 0.02 || sumOf(ex.Lines) != ex.Score {
			t.Errorf("after the change: model %d score %v lines %v, want model %d and %.2f", ex.ModelID, ex.Score, sumOf(ex.Lines), v2.ID, want)
		}
		old, err := leads.Explain(ctx, s, admin, f.a1.ID, v1.ID)
		if err != nil || len(old) != 1 || old[0].Score != 40 || old[0].Active {
			t.Errorf("old version's score: %+v (%v), want 40, inactive", old, err)
		}
		vs, err := leads.Versions(ctx, s, admin)
		if err != nil || len(vs) != 2 || !vs[0].Active || vs[1].Active {
			t.Errorf("versions %+v (%v)", vs, err)
		}
	})
}

// A bad model leaves the active version and its scores as they were.
func TestBadModelChangesNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		_, err := leads.Apply(ctx, s, admin, "inbound.yaml", []byte(model), asOf)
		must(t, err)
		_, err = leads.Apply(ctx, s, admin, "inbound.yaml", []byte(model+"fit:\n  - field: nope\n"), asOf)
		if !errors.Is(err, crm.ErrInvalid) {
			t.Fatalf("bad model: %v, want invalid", err)
		}
		if ex := scoreOf(t, s, admin, f.a1.ID); ex.Version != 1 || ex.Score != 40 {
			t.Errorf("after a refused model: version %d score %v", ex.Version, ex.Score)
		}
	})
}

// A new event rescores its lead at once.
func TestRescoreLead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		_, err := leads.Apply(ctx, s, admin, "inbound.yaml", []byte(model), asOf)
		must(t, err)
		e := crm.LeadEvent{LeadID: f.a2.ID, Kind: "form_submit", OccurredAt: asOf.Add(-time.Hour)}
		must(t, s.AddLeadEvent(ctx, crm.System, &e))
		must(t, leads.RescoreLead(ctx, s, f.a2.ID, asOf))
		if ex := scoreOf(t, s, admin, f.a2.ID); ex.Score != 25 || len(ex.Lines) != 2 {
			t.Errorf("a2 after a form: %v from %d lines, want 25 from 2", ex.Score, len(ex.Lines))
		}
		if ex := scoreOf(t, s, admin, f.a1.ID); ex.Score != 40 {
			t.Errorf("a1 changed to %v", ex.Score)
		}
		n, err := leads.RescoreAll(ctx, s, admin, asOf)
		if err != nil || n != 3 {
			t.Fatalf("rescore all: %d (%v)", n, err)
		}
		if ex := scoreOf(t, s, admin, f.a2.ID); ex.Score != 25 || len(ex.Lines) != 2 {
			t.Errorf("a2 after rescoring all: %v from %d lines", ex.Score, len(ex.Lines))
		}

		// A changed model, then an event: the event is scored by the new
		// version (no stale definitions kept), the old version's lines stay.
		_, err = leads.Apply(ctx, s, admin, "inbound.yaml", []byte(strings.Replace(model, "points: 5", "points: 6", 1)), asOf)
		must(t, err)
		e = crm.LeadEvent{LeadID: f.a2.ID, Kind: "email_click", OccurredAt: asOf.Add(-time.Minute)}
		must(t, s.AddLeadEvent(ctx, crm.System, &e))
		must(t, leads.RescoreLead(ctx, s, f.a2.ID, asOf))
		ex := scoreOf(t, s, admin, f.a2.ID)
		if ex.Version != 2 || ex.Score != 6+6+20 || len(ex.Lines) != 3 || sumOf(ex.Lines) != ex.Score {
			t.Errorf("a2 after an event under version 2: v%d %v from %d lines, want v2 32 from 3", ex.Version, ex.Score, len(ex.Lines))
		}
		if ex.Grade != "A" || !ex.MQL {
			t.Errorf("a2's grade %q mql %v after reaching 32", ex.Grade, ex.MQL)
		}
		list, _, err := leads.Scores(ctx, s, admin, leads.ScoreQuery{})
		if err != nil || len(list) != 3 || list[0].LeadID != f.a1.ID || list[0].Score != 42 || list[1].LeadID != f.a2.ID || list[1].Score != 32 {
			t.Errorf("list after the event: %+v (%v), want a1 (42) then a2 (32)", list, err)
		}
	})
}

// serve rescores at start when the models last scored before today, so
// decay moves on without anyone running leads score.
func TestRunDailyRescoresStaleScores(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	f := newFixture(t, s)
	admin := storetest.As(f.org.Admin)
	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	e := crm.LeadEvent{LeadID: f.a1.ID, Kind: "email_click", OccurredAt: yesterday.Add(-time.Hour)}
	must(t, s.AddLeadEvent(ctx, crm.System, &e))
	_, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(model+"decay:\n  half_life_days: 1\n"), yesterday)
	must(t, err)
	before := scoreOf(t, s, admin, f.a1.ID)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		leads.RunDaily(runCtx, s, slog.New(slog.DiscardHandler), 23*time.Hour+59*time.Minute, time.Now)
		close(done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ex := scoreOf(t, s, admin, f.a1.ID)
		if ex.ScoredAt.After(yesterday.Add(time.Hour)) {
			if ex.Score >= before.Score {
				t.Errorf("a day of half-life decay left the score at %v (was %v)", ex.Score, before.Score)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stale scores were not rescored at start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
}

// A lead that reaches an alert's grade as its events arrive tells the
// channel once; staying at that grade does not tell it again.
func TestHotLeadAlert(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		withAlert := model + "alerts:\n  - {grade: A, channel: sales}\n"
		if _, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(model+"alerts:\n  - {grade: Z, channel: sales}\n"), asOf); err == nil || !strings.Contains(err.Error(), "alerts[0].grade") {
			t.Errorf("an alert on a grade the model lacks: %v", err)
		}
		if _, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(withAlert), asOf); err != nil {
			t.Fatal(err)
		}
		alerts := func() int {
			var n int
			s.DB().QueryRow(`SELECT COUNT(*) FROM jobs WHERE payload LIKE '%lead.hot%'`).Scan(&n)
			return n
		}
		for i, want := range []int{0, 1, 1} { // a2: 5 → 25 (B) → 30 (A) → 35 (A)
			kind := "email_click"
			if i == 0 {
				kind = "form_submit"
			}
			e := crm.LeadEvent{LeadID: f.a2.ID, Kind: kind, OccurredAt: asOf.Add(-time.Duration(10-i) * time.Minute)}
			must(t, s.AddLeadEvent(ctx, crm.System, &e))
			must(t, leads.RescoreLead(ctx, s, f.a2.ID, asOf))
			if got := alerts(); got != want {
				t.Errorf("after event %d (score %v): %d hot-lead alerts, want %d", i+1, scoreOf(t, s, admin, f.a2.ID).Score, got, want)
			}
		}
	})
}

// An event alert tells of each recent event of its kind once: not of an
// old one written late, not twice when the lead is scored again.
func TestEventAlert(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		if _, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(model+"alerts:\n  - {event: demo_request, grade: A, channel: sales}\n"), asOf); err == nil || !strings.Contains(err.Error(), "alerts[0]") {
			t.Errorf("an alert on both an event and a grade: %v", err)
		}
		if _, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(model+"alerts:\n  - {event: demo_request, channel: sales}\n"), asOf); err != nil {
			t.Fatal(err)
		}
		alerts := func() int {
			var n int
			s.DB().QueryRow(`SELECT COUNT(*) FROM jobs WHERE payload LIKE '%demo request%'`).Scan(&n)
			return n
		}
		for i, c := range []struct {
			kind string
			ago  time.Duration
			want int
		}{
			{"email_click", time.Minute, 0},
			{"demo_request", 2 * leads.EventWindow, 0}, // imported late
			{"demo_request", 5 * time.Minute, 1},
			{"email_click", time.Minute, 1}, // scored again: told once
			{"demo_request", time.Minute, 2},
		} {
			e := crm.LeadEvent{LeadID: f.a2.ID, Kind: c.kind, OccurredAt: asOf.Add(-c.ago)}
			must(t, s.AddLeadEvent(ctx, crm.System, &e))
			must(t, leads.RescoreLead(ctx, s, f.a2.ID, asOf))
			if got := alerts(); got != c.want {
				t.Errorf("after event %d (%s %v ago): %d alerts, want %d", i+1, c.kind, c.ago, got, c.want)
			}
		}
	})
}

// Scoring after an event keeps the lead's segments as they are, and sees a
// model or segment changed a moment before (the kept definitions are
// forgotten at once).
func TestRescoreAfterEvent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		v1, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(model), asOf)
		must(t, err)
		_, err = leads.SaveSegment(ctx, s, admin, "software.yaml", []byte(segment), asOf)
		must(t, err)
		members := func() int {
			var n int
			must(t, s.DB().QueryRow(`SELECT COUNT(*) FROM lead_segment_members WHERE lead_id = $1`, f.a1.ID).Scan(&n))
			return n
		}
		if members() != 1 {
			t.Fatalf("lead a1 is in %d segments, want 1", members())
		}
		e := crm.LeadEvent{LeadID: f.a1.ID, Kind: "email_click", OccurredAt: asOf.Add(-time.Hour)}
		must(t, s.AddLeadEvent(ctx, crm.System, &e))
		must(t, leads.RescoreAfterEvent(ctx, s, f.a1.ID, asOf))
		if members() != 1 {
			t.Errorf("after an event lead a1 is in %d segments, want 1", members())
		}
		before := scoreOf(t, s, admin, f.a1.ID)
		if before.ModelID != v1.ID {
			t.Fatalf("scored by version %d, want %d", before.ModelID, v1.ID)
		}
		// A new version with more points for a click counts for the next event at once.
		v2, err := leads.Apply(ctx, s, admin, "m.yaml", []byte(strings.Replace(model, "event: email_click\n    points: 5", "event: email_click\n    points: 50", 1)), asOf)
		must(t, err)
		e2 := crm.LeadEvent{LeadID: f.a1.ID, Kind: "email_click", OccurredAt: asOf.Add(-time.Minute)}
		must(t, s.AddLeadEvent(ctx, crm.System, &e2))
		must(t, leads.RescoreAfterEvent(ctx, s, f.a1.ID, asOf))
		after := scoreOf(t, s, admin, f.a1.ID)
		clicks := 0
		for _, l := range after.Lines {
			if l.Rule == "email_click" && l.Points == 50 {
				clicks++
			}
		}
		if after.ModelID != v2.ID || clicks != 4 {
			t.Errorf("after v2 and an event: version %d with %d clicks at 50 points, want version %d and 4", after.ModelID, clicks, v2.ID)
		}
		// A segment deleted a moment before is gone from the next full rescore.
		segs, err := leads.Segments(ctx, s, admin)
		must(t, err)
		must(t, leads.DeleteSegment(ctx, s, admin, segs[0].ID))
		must(t, leads.RescoreLead(ctx, s, f.a1.ID, asOf))
		if members() != 0 {
			t.Errorf("after the segment was deleted lead a1 is in %d segments", members())
		}
	})
}

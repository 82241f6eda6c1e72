package automation

import (
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// scan runs the state and schedule triggers at the clock's time, then the
// work they queued.
func (e *env) scan(t *testing.T) {
	t.Helper()
	_, err := Scan(ctx, e.s, e.clock.Now())
	storetest.Must(t, err)
	e.drain(t)
}

// A deal with no activity for the trigger's days enters once per stale
// spell: scanning again starts nothing, an activity ends the spell, and a
// new spell enters again.
func TestDealStale(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: stale
trigger: {type: deal_stale, days: 14}
reentry: every_time
steps:
  - create_task: {subject: "Stale: {opportunity.name}, {opportunity.days_since_activity} days"}
`)
		deal := e.newDeal(t, e.org.RepA1, "500")
		e.clock.Add(13 * 24 * time.Hour)
		e.scan(t)
		if n := len(e.tasks(t, deal.ID)); n != 0 {
			t.Fatalf("%d tasks after 13 days", n)
		}
		e.clock.Add(2 * 24 * time.Hour)
		e.scan(t)
		e.scan(t)
		if n := len(e.tasks(t, deal.ID)); n != 1 {
			t.Fatalf("%d tasks after 15 days, want 1", n)
		}
		call := crm.Activity{Kind: crm.ActivityCall, Subject: "Call", OwnerID: e.org.RepA1.ID, OpportunityID: &deal.ID, OccurredAt: e.clock.Now()}
		storetest.Must(t, s.Activities.Create(ctx, storetest.As(e.org.RepA1), &call))
		e.scan(t)
		e.clock.Add(15 * 24 * time.Hour)
		e.scan(t)
		// The stale task is not activity: the last touch is the call, 15
		// days ago.
		if n := len(e.tasks(t, deal.ID)); n != 2 {
			t.Fatalf("%d tasks after a second stale spell, want 2", n)
		}
	})
}

// A lead whose score reaches the threshold enters; one below does not.
func TestScoreCrossed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		_, err := leads.Apply(ctx, s, storetest.As(e.ops), "m.yaml", []byte(`
name: simple
fit:
  - {name: Exec, field: title, regex: 'VP', points: 80}
grades:
  - {grade: A, min: 60}
  - {grade: C, min: -1000}
`), e.clock.Now())
		storetest.Must(t, err)
		e.apply(t, `
name: hot
trigger: {type: score_crossed, threshold: 60}
steps:
  - update: {field: status, value: working}
`)
		hot := crm.Lead{LastName: "Hot", Title: "VP Sales", Company: "H", Status: crm.LeadNew, OwnerID: &e.org.RepA1.ID}
		cold := crm.Lead{LastName: "Cold", Title: "Intern", Company: "C", Status: crm.LeadNew, OwnerID: &e.org.RepA1.ID}
		for _, l := range []*crm.Lead{&hot, &cold} {
			storetest.Must(t, s.Leads.Create(ctx, crm.System, l))
		}
		storetest.Must(t, leads.RescoreLeads(ctx, s, []int64{hot.ID, cold.ID}, e.clock.Now()))
		e.scan(t)
		for id, want := range map[int64]crm.LeadStatus{hot.ID: crm.LeadWorking, cold.ID: crm.LeadNew} {
			l, err := s.Leads.Get(ctx, crm.System, id)
			storetest.Must(t, err)
			if l.Status != want {
				t.Errorf("lead %s: %s, want %s", l.LastName, l.Status, want)
			}
		}
	})
}

// A missed SLA starts a run for the lead, once per breach.
func TestSLABreached(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		_, err := routing.Apply(ctx, s, storetest.As(e.ops), "r.yaml", []byte(`name: t
queue_owner: admin@example.com
pools:
  - {name: a, method: round_robin, members: [{team: East A}]}
rules:
  - {name: all, pool: a, sla: {within: 10m}}
`), e.clock.Now())
		storetest.Must(t, err)
		e.apply(t, `
name: breach
trigger: {type: sla_breached}
reentry: every_time
steps:
  - assign: {to: manager}
`)
		l := crm.Lead{LastName: "Waiting", Company: "W", Status: crm.LeadNew, CreatedAt: e.clock.Now()}
		storetest.Must(t, s.Leads.Create(ctx, crm.System, &l))
		if _, err := routing.Assign(ctx, s, storetest.As(e.ops), l.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(11 * time.Minute)
		if _, err := routing.CheckSLA(ctx, s, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.scan(t)
		e.scan(t)
		got, err := s.Leads.Get(ctx, crm.System, l.ID)
		storetest.Must(t, err)
		if got.OwnerID == nil || *got.OwnerID != e.org.MgrA.ID {
			t.Errorf("owner %v, want manager %d", got.OwnerID, e.org.MgrA.ID)
		}
		if runs := e.runs(t, "breach"); len(runs) != 1 {
			t.Errorf("%d runs, want 1", len(runs))
		}
	})
}

// A schedule fires at its times in its time zone, for every record passing
// the condition, and once per time however often it is scanned.
func TestSchedule(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		// 09:00 UTC is 10:00 in Paris in March.
		e.apply(t, `
name: morning
trigger: {type: schedule, entity: opportunity, cron: "30 10 * * *", timezone: Europe/Paris}
when: opportunity.amount >= 200
reentry: every_time
steps:
  - create_task: {subject: "Morning review of {opportunity.name}"}
`)
		e.scan(t)
		if n := len(e.runs(t, "morning")); n != 0 {
			t.Fatalf("%d runs before 10:30 Paris", n)
		}
		e.clock.Add(31 * time.Minute)
		e.scan(t)
		e.scan(t)
		if a, b := len(e.tasks(t, e.org.OppA1.ID)), len(e.tasks(t, e.org.OppA2.ID)); a != 0 || b != 1 {
			t.Errorf("tasks: %d on the 100 deal, %d on the 200 deal; want 0 and 1", a, b)
		}
		if n := len(e.runs(t, "morning")); n != 2 {
			t.Errorf("%d runs, want 2 (the 200 and 300 deals)", n)
		}
		e.clock.Add(24 * time.Hour)
		e.scan(t)
		if n := len(e.runs(t, "morning")); n != 4 {
			t.Errorf("%d runs the next day, want 4", n)
		}
	})
}

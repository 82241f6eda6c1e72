package routing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

func newLeads(t *testing.T, s *store.Store, n int) []int64 {
	var ids []int64
	for i := range n {
		l := crm.Lead{LastName: "Lead", Company: "Company " + string(rune('A'+i)), Status: crm.LeadNew, CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.Leads.Create(context.Background(), crm.System, &l))
		ids = append(ids, l.ID)
	}
	return ids
}

// Parallel requests routing 10 new leads over a team of 2 give exactly 5
// each; the turn order is stored, the log explains each, and a rep reads
// the log of their own lead only.
func TestAssignConcurrentExact(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		admin := storetest.As(o.Admin)
		if _, err := routing.Assign(ctx, s, admin, 1, time.Now()); !errors.Is(err, routing.ErrNoRuleSet) {
			t.Errorf("routing before a rule set: %v", err)
		}
		if _, err := routing.Apply(ctx, s, storetest.As(o.RepA1), "r.yaml", []byte(rulesDoc), time.Now()); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a rep applying rules: %v", err)
		}
		bad := strings.Replace(rulesDoc, "team: East A", "email: nobody@example.com", 1)
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(bad), time.Now()); !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), "pools[0].members[0].email") {
			t.Errorf("a rule set naming an unknown user: %v", err)
		}
		v, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(rulesDoc), time.Now())
		if err != nil || v.Version != 1 {
			t.Fatalf("apply: %+v %v", v, err)
		}
		ids := newLeads(t, s, 10)
		var wg sync.WaitGroup
		errs := make(chan error, len(ids))
		for _, id := range ids {
			wg.Go(func() {
				if _, err := routing.Assign(ctx, s, admin, id, time.Now().UTC()); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := map[int64]int{}
		rows, err := s.DB().Query(`SELECT owner_id, COUNT(*) FROM leads WHERE id IN (SELECT lead_id FROM lead_assignments) GROUP BY owner_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var owner int64
			var n int
			rows.Scan(&owner, &n)
			got[owner] = n
		}
		rows.Close()
		if got[o.RepA1.ID] != 5 || got[o.RepA2.ID] != 5 || len(got) != 2 {
			t.Errorf("10 parallel leads over 2 reps: %v, want 5 each", got)
		}
		log, err := routing.Assignments(ctx, s, storetest.As(o.RepA1), ids[0])
		owner := o.RepA1
		if err != nil {
			owner = o.RepA2
			log, err = routing.Assignments(ctx, s, storetest.As(o.RepA2), ids[0])
		}
		if err != nil || len(log) != 1 || log[0].OwnerID != owner.ID || !strings.Contains(log[0].Decision.Reason, "round robin") {
			t.Fatalf("the lead's log as its owner: %+v (%v)", log, err)
		}
		other := o.RepA2
		if owner.ID == o.RepA2.ID {
			other = o.RepA1
		}
		if _, err := routing.Assignments(ctx, s, storetest.As(other), ids[0]); err == nil {
			t.Error("a rep read the assignment log of another rep's lead")
		}
		// The turn order survives a restart: it is in the database.
		var state string
		if err := s.DB().QueryRow(`SELECT state FROM routing_pool_state WHERE pool = 'a'`).Scan(&state); err != nil || !strings.Contains(state, `"next"`) {
			t.Errorf("stored turn order %q (%v)", state, err)
		}
	})
}

// A restart in the middle of a round robin: a new process on the same
// database carries on with the next rep in turn.
func TestRoundRobinSurvivesRestart(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSNFor(t, e.Name)
			s1, err := store.Open(ctx, dsn, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			o := storetest.NewOrg(t, s1)
			admin := storetest.As(o.Admin)
			if _, err := routing.Apply(ctx, s1, admin, "r.yaml", []byte(rulesDoc), time.Now()); err != nil {
				t.Fatal(err)
			}
			var owners []int64
			for _, id := range newLeads(t, s1, 3) {
				a, err := routing.Assign(ctx, s1, admin, id, time.Now().UTC())
				if err != nil {
					t.Fatal(err)
				}
				owners = append(owners, a.OwnerID)
			}
			ids := newLeads(t, s1, 1)
			s1.Close()
			s2, err := store.Open(ctx, dsn, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			a, err := routing.Assign(ctx, s2, admin, ids[0], time.Now().UTC())
			if err != nil {
				t.Fatal(err)
			}
			if owners[0] == owners[1] || owners[2] != owners[0] || a.OwnerID != owners[1] {
				t.Errorf("owners before the restart %v, after it %d: want alternating", owners, a.OwnerID)
			}
		})
	}
}

// The fairness audit counts each rep's leads against their share and the
// times they were passed over, in the pool where that happened.
func TestFairness(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		admin := storetest.As(o.Admin)
		doc := `name: t
queue_owner: admin@example.com
pools:
  - {name: a, members: [{team: East A}], overflow: b}
  - {name: b, method: weighted, members: [{email: rep.a1@example.com, weight: 300}, {email: rep.b@example.com, weight: 100}]}
rules:
  - {name: all, pool: a}
`
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(doc), time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, id := range newLeads(t, s, 4) {
			if _, err := routing.Assign(ctx, s, admin, id, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Users.Update(ctx, crm.System, o.RepA2.ID, func(u *crm.User) error { u.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		for _, id := range newLeads(t, s, 2) {
			if _, err := routing.Assign(ctx, s, admin, id, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		fair, err := routing.Fairness(ctx, s, admin, time.Now().Add(-time.Hour), time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]routing.FairRow{}
		for _, f := range fair {
			got[f.Pool+" "+f.Rep] = f
		}
		if a1 := got["a rep.a1@example.com"]; a1.Leads != 4 || a1.Expected != 1 {
			t.Errorf("rep A1 in pool a: %+v, want 4 leads (2 before A2 left, 2 after) and all of the share now", a1)
		}
		if a2 := got["a rep.a2@example.com"]; a2.Leads != 2 || a2.Skipped["inactive"] != 2 {
			t.Errorf("rep A2 in pool a: %+v, want 2 leads and passed over twice as inactive", a2)
		}
		if _, err := routing.Fairness(ctx, s, storetest.As(o.MgrA), time.Now().Add(-time.Hour), time.Now()); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a manager reading the fairness audit: %v", err)
		}
		// Any period: an hour that ended before these leads has none.
		earlier, err := routing.Fairness(ctx, s, admin, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range earlier {
			if f.Leads != 0 {
				t.Errorf("an earlier period counts %+v", f)
			}
		}
		if _, err := routing.Fairness(ctx, s, admin, time.Now(), time.Now().Add(-time.Hour)); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("a period that ends before it starts: %v", err)
		}
		pools, err := routing.Pools(ctx, s, admin, time.Now().UTC())
		if err != nil || len(pools) != 2 {
			t.Fatalf("pools: %+v %v", pools, err)
		}
		a := pools[0]
		if a.Name != "a" || a.Method != "round_robin" || len(a.Members) != 2 || a.Next == "" {
			t.Errorf("pool a: %+v", a)
		}
		for _, m := range a.Members {
			switch m.Email {
			case "rep.a1@example.com":
				if m.Skipped != "" || m.Today != 4 || m.Open != 4 {
					t.Errorf("rep A1 in pool a: %+v, want available with 4 leads today", m)
				}
			case "rep.a2@example.com":
				if m.Skipped != "inactive" || m.Today != 2 {
					t.Errorf("rep A2 in pool a: %+v, want inactive with 2 leads today", m)
				}
			}
		}
		if b := pools[1]; b.Name != "b" || b.Members[0].Weight != 300 || b.Members[1].Weight != 100 {
			t.Errorf("pool b: %+v", b)
		}
		if _, err := routing.Pools(ctx, s, storetest.As(o.RepA1), time.Now()); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a rep reading the pools: %v", err)
		}
	})
}

// What an import brings in without owners is routed once: 10 leads over a
// team of two, 5 each, and a second pass finds nothing left.
func TestAssignUnowned(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		admin := storetest.As(o.Admin)
		newLeads(t, s, 10)
		if n, err := routing.AssignUnowned(ctx, s, admin, time.Now()); n != 0 || err != nil {
			t.Errorf("without a rule set: %d (%v), want nothing routed", n, err)
		}
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(rulesDoc), time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, err := routing.AssignUnowned(ctx, s, admin, time.Now().UTC()); n != 10 || err != nil {
			t.Fatalf("routed %d (%v), want 10", n, err)
		}
		var a1, a2 int
		s.DB().QueryRow(`SELECT COUNT(*) FROM leads WHERE owner_id = $1`, o.RepA1.ID).Scan(&a1)
		s.DB().QueryRow(`SELECT COUNT(*) FROM leads WHERE owner_id = $1`, o.RepA2.ID).Scan(&a2)
		if a1 != 5 || a2 != 5 {
			t.Errorf("10 imported leads over 2 reps: %d and %d, want 5 each", a1, a2)
		}
		if n, _ := routing.AssignUnowned(ctx, s, admin, time.Now().UTC()); n != 0 {
			t.Errorf("a second pass routed %d", n)
		}
	})
}

// A rule with an alert tells its channel of every lead it routes: queued in
// the assignment's transaction, delivered by the worker to a real receiver,
// signed.
func TestRoutingAlert(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		admin := storetest.As(o.Admin)
		got := make(chan []byte, 4)
		var sig http.Header
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			sig = r.Header.Clone()
			got <- b
		}))
		defer recv.Close()
		doc := strings.Replace(rulesDoc, "{name: all, pool: a}", "{name: all, pool: a, alert: sales}", 1)
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(doc), time.Now()); err != nil {
			t.Fatal(err)
		}
		ids := newLeads(t, s, 1)
		a, err := routing.Assign(ctx, s, admin, ids[0], time.Now().UTC())
		if err != nil || a.Decision.Alert != "sales" {
			t.Fatalf("assign: %+v %v", a, err)
		}
		w := jobs.NewWorker(s, jobs.Options{})
		if err := notify.Register(w, s, []notify.Channel{{Name: "sales", Type: notify.Webhook, URL: recv.URL, Secret: "s3cret"}}, notify.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case body := <-got:
			if !strings.Contains(string(body), "lead.routed") || !strings.Contains(string(body), a.Decision.Owner) {
				t.Errorf("the alert said %s", body)
			}
			if err := notify.Verify("s3cret", sig, body, time.Now(), 0); err != nil {
				t.Errorf("the alert's signature: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no alert reached the receiver")
		}
	})
}

// A rep out of office is passed over with the reason; who may say so: the
// rep, their managers, ops; a bad time zone or period is refused by field.
func TestAvailability(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		admin := storetest.As(o.Admin)
		now := time.Now().UTC()
		away := routing.Availability{UserID: o.RepA2.ID, TimeZone: "Europe/Berlin",
			Away: []routing.AwayPeriod{{From: now.Add(-time.Hour), To: now.Add(72 * time.Hour), Note: "holiday"}}}
		if err := routing.SetAvailability(ctx, s, storetest.As(o.RepA1), away, now); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a rep setting another's availability: %v", err)
		}
		if err := routing.SetAvailability(ctx, s, storetest.As(o.MgrB), away, now); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("another team's manager: %v", err)
		}
		bad := routing.Availability{UserID: o.RepA2.ID, TimeZone: "Mars/Olympus", Away: []routing.AwayPeriod{{From: now, To: now.Add(-time.Hour)}}}
		err := routing.SetAvailability(ctx, s, storetest.As(o.RepA2), bad, now)
		if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), "time_zone") || !strings.Contains(err.Error(), "away[0].to") {
			t.Errorf("a bad availability: %v", err)
		}
		if err := routing.SetAvailability(ctx, s, storetest.As(o.MgrA), away, now); err != nil {
			t.Fatalf("rep A2's manager: %v", err)
		}
		got, err := routing.GetAvailability(ctx, s, storetest.As(o.RepA2), o.RepA2.ID)
		if err != nil || got.TimeZone != "Europe/Berlin" || len(got.Away) != 1 || got.Away[0].Note != "holiday" {
			t.Errorf("read back: %+v (%v)", got, err)
		}
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(rulesDoc), now); err != nil {
			t.Fatal(err)
		}
		for _, id := range newLeads(t, s, 2) {
			a, err := routing.Assign(ctx, s, admin, id, now)
			if err != nil {
				t.Fatal(err)
			}
			if a.OwnerID != o.RepA1.ID {
				t.Errorf("a lead went to %s while rep A2 is away", a.Decision.Owner)
			}
			skipped := ""
			for _, c := range a.Decision.Considered {
				if c.RepID == o.RepA2.ID {
					skipped = c.Skipped
				}
			}
			if !strings.Contains(skipped, "out of office") {
				t.Errorf("rep A2 passed over as %q", skipped)
			}
		}
	})
}

// withSLA applies rulesDoc with an SLA on its rule (YAML flow, such as
// {within: 10m}) to a new organisation, and returns it with its admin.
func withSLA(t *testing.T, s *store.Store, sla string) (*storetest.Org, crm.Principal) {
	t.Helper()
	o := storetest.NewOrg(t, s)
	admin := storetest.As(o.Admin)
	doc := strings.Replace(rulesDoc, "{name: all, pool: a}", "{name: all, pool: a, sla: "+sla+"}", 1)
	if _, err := routing.Apply(context.Background(), s, admin, "r.yaml", []byte(doc), time.Now()); err != nil {
		t.Fatal(err)
	}
	return o, admin
}

// A lead not answered within its rule's SLA is a breach, recorded once and
// told to the rule's channel; one answered in time is not.
func TestSLABreach(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, admin := withSLA(t, s, "{within: 10m, alert: sales}")
		bad := strings.Replace(rulesDoc, "{name: all, pool: a}", "{name: all, pool: a, sla: {within: soon}}", 1)
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(bad), time.Now()); err == nil || !strings.Contains(err.Error(), "rules[0].sla.within") {
			t.Errorf("a bad SLA: %v", err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		ids := newLeads(t, s, 2)
		for _, id := range ids {
			if _, err := routing.Assign(ctx, s, admin, id, now); err != nil {
				t.Fatal(err)
			}
		}
		answered := now.Add(5 * time.Minute)
		if _, err := s.Leads.Update(ctx, crm.System, ids[1], func(l *crm.Lead) error { l.FirstResponseAt = &answered; return nil }); err != nil {
			t.Fatal(err)
		}
		if br, err := routing.CheckSLA(ctx, s, now.Add(9*time.Minute)); err != nil || len(br) != 0 {
			t.Errorf("before the SLA: %+v (%v)", br, err)
		}
		br, err := routing.CheckSLA(ctx, s, now.Add(11*time.Minute))
		if err != nil || len(br) != 1 || br[0].LeadID != ids[0] || br[0].Alert != "sales" {
			t.Fatalf("after the SLA: %+v (%v), want lead %d only", br, err, ids[0])
		}
		if again, _ := routing.CheckSLA(ctx, s, now.Add(20*time.Minute)); len(again) != 0 {
			t.Errorf("a breach was recorded twice: %+v", again)
		}
		var alerts int
		s.DB().QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND payload LIKE '%sla_breach%'`, notify.Kind).Scan(&alerts)
		if alerts != 1 {
			t.Errorf("%d SLA alerts queued, want 1", alerts)
		}
		list, err := routing.Breaches(ctx, s, admin, 10)
		if err != nil || len(list) != 1 {
			t.Errorf("breaches: %+v (%v)", list, err)
		}
		board, teams, err := routing.SLABoard(ctx, s, admin, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil || len(teams) != 1 || teams[0].Team != "East A" || teams[0].Owner != "" || teams[0].Leads != 2 || teams[0].WithinSLA != 1 || teams[0].Breaches != 1 {
			t.Errorf("SLA board by team: %+v (%v), want East A with 2 leads, 1 within, 1 breach", teams, err)
		}
		if err != nil || len(board) != 2 {
			t.Fatalf("SLA board: %+v (%v), want a row per rep", board, err)
		}
		var leads, within, breaches int
		for _, r := range board {
			leads, within, breaches = leads+r.Leads, within+r.WithinSLA, breaches+r.Breaches
			if r.WithinSLA == 1 && (r.MedianMinutes == nil || *r.MedianMinutes != 5) {
				t.Errorf("the rep who answered in 5 minutes: %+v", r)
			}
		}
		if leads != 2 || within != 1 || breaches != 1 {
			t.Errorf("SLA board totals: %d leads, %d within, %d breaches; want 2, 1, 1", leads, within, breaches)
		}
	})
}

// A lead still unanswered at escalate_after goes to the next rep of the
// pool, the owner passed over as not having answered; once only.
func TestSLAEscalation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, admin := withSLA(t, s, "{within: 10m, escalate_after: 30m}")
		bad := strings.Replace(rulesDoc, "{name: all, pool: a}", "{name: all, pool: a, sla: {within: 10m, escalate_after: 5m}}", 1)
		if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(bad), time.Now()); err == nil || !strings.Contains(err.Error(), "sla.escalate_after") {
			t.Errorf("escalating before the SLA: %v", err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		id := newLeads(t, s, 1)[0]
		first, err := routing.Assign(ctx, s, admin, id, now)
		if err != nil {
			t.Fatal(err)
		}
		if esc, err := routing.EscalateSLA(ctx, s, now.Add(29*time.Minute)); err != nil || len(esc) != 0 {
			t.Errorf("before escalate_after: %+v (%v)", esc, err)
		}
		esc, err := routing.EscalateSLA(ctx, s, now.Add(31*time.Minute))
		if err != nil || len(esc) != 1 {
			t.Fatalf("after escalate_after: %+v (%v)", esc, err)
		}
		if esc[0].OwnerID == first.OwnerID || !strings.Contains(esc[0].Decision.Reason, "SLA escalation") {
			t.Errorf("escalated to %d (%s), first owner %d", esc[0].OwnerID, esc[0].Decision.Reason, first.OwnerID)
		}
		if again, _ := routing.EscalateSLA(ctx, s, now.Add(40*time.Minute)); len(again) != 0 {
			t.Errorf("escalated twice: %+v", again)
		}
		log, err := routing.Assignments(ctx, s, admin, id)
		if err != nil || len(log) != 2 || *log[0].PreviousOwnerID != first.OwnerID {
			t.Errorf("the log: %+v (%v)", log, err)
		}
	})
}

// An outbound call logged on the lead in time answers it, as the lead
// response-time KPI counts a first touch: no breach, no escalation.
func TestSLAAnsweredByActivity(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, admin := withSLA(t, s, "{within: 10m, escalate_after: 30m}")
		now := time.Now().UTC().Truncate(time.Second)
		id := newLeads(t, s, 1)[0]
		a, err := routing.Assign(ctx, s, admin, id, now)
		if err != nil {
			t.Fatal(err)
		}
		call := crm.Activity{Kind: crm.ActivityKind("call"), Direction: crm.Direction("outbound"), OwnerID: a.OwnerID, LeadID: &id, OccurredAt: now.Add(7 * time.Minute), Subject: "First call"}
		storetest.Must(t, s.Activities.Create(ctx, crm.System, &call))
		if br, err := routing.CheckSLA(ctx, s, now.Add(11*time.Minute)); err != nil || len(br) != 0 {
			t.Errorf("a lead called in time was breached: %+v (%v)", br, err)
		}
		if esc, err := routing.EscalateSLA(ctx, s, now.Add(31*time.Minute)); err != nil || len(esc) != 0 {
			t.Errorf("a lead called in time was escalated: %+v (%v)", esc, err)
		}
		board, _, err := routing.SLABoard(ctx, s, admin, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil || len(board) != 1 || board[0].WithinSLA != 1 || board[0].MedianMinutes == nil || *board[0].MedianMinutes != 7 {
			t.Errorf("the SLA board does not count the call as the answer: %+v (%v)", board, err)
		}
	})
}

// warn_before tells the channel once that a lead is about to breach, only
// while it is unanswered and not yet due.
func TestSLAWarning(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, admin := withSLA(t, s, "{within: 10m, warn_before: 3m, alert: sales}")
		now := time.Now().UTC().Truncate(time.Second)
		ids := newLeads(t, s, 3)
		for _, id := range ids {
			if _, err := routing.Assign(ctx, s, admin, id, now); err != nil {
				t.Fatal(err)
			}
		}
		answered := now.Add(2 * time.Minute)
		_, err := s.Leads.Update(ctx, crm.System, ids[1], func(l *crm.Lead) error { l.FirstResponseAt = &answered; return nil })
		storetest.Must(t, err)
		if w, err := routing.WarnSLA(ctx, s, now.Add(6*time.Minute)); err != nil || len(w) != 0 {
			t.Errorf("before the warning time: %+v (%v)", w, err)
		}
		w, err := routing.WarnSLA(ctx, s, now.Add(8*time.Minute))
		if err != nil || len(w) != 2 || w[0].LeadID == ids[1] || w[1].LeadID == ids[1] {
			t.Fatalf("at the warning time: %+v (%v), want the two unanswered leads", w, err)
		}
		if again, _ := routing.WarnSLA(ctx, s, now.Add(9*time.Minute)); len(again) != 0 {
			t.Errorf("warned twice: %+v", again)
		}
		var warnings int
		s.DB().QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND payload LIKE '%sla_warning%'`, notify.Kind).Scan(&warnings)
		if warnings != 2 {
			t.Errorf("%d warnings queued, want 2", warnings)
		}
		// A lead assigned now whose warning time passes only after it is due
		// (the check ran late) is breached, not warned.
		late := newLeads(t, s, 1)[0]
		_, err = routing.Assign(ctx, s, admin, late, now)
		storetest.Must(t, err)
		if w, _ := routing.WarnSLA(ctx, s, now.Add(11*time.Minute)); len(w) != 0 {
			t.Errorf("warned after the due time: %+v", w)
		}
		for _, bad := range []string{"{within: 10m, warn_before: 10m, alert: sales}", "{within: 10m, warn_before: 2m}"} {
			doc := strings.Replace(rulesDoc, "{name: all, pool: a}", "{name: all, pool: a, sla: "+bad+"}", 1)
			if _, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(doc), time.Now()); !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), "rules[0].sla.") {
				t.Errorf("sla %s: %v", bad, err)
			}
		}
	})
}

package intake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/intake"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const rules = `name: t
queue_owner: admin@example.com
match_accounts: false
pools:
  - {name: east, method: round_robin, members: [{team: East A}]}
rules:
  - {name: all, pool: east}
`

// setup applies the shipped inbound scoring model and a round robin over
// team A's two reps.
func setup(t *testing.T, s *store.Store) *storetest.Org {
	t.Helper()
	ctx := context.Background()
	o := storetest.NewOrg(t, s)
	model, err := os.ReadFile("../../examples/scoring/inbound.yaml")
	storetest.Must(t, err)
	_, err = leads.Apply(ctx, s, crm.System, "inbound.yaml", model, time.Now().UTC())
	storetest.Must(t, err)
	_, err = routing.Apply(ctx, s, crm.System, "r.yaml", []byte(rules), time.Now().UTC())
	storetest.Must(t, err)
	return o
}

func count(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	storetest.Must(t, s.DB().QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

// Leads posted in parallel are written in shared transactions: every one
// is stored with its owner, score, why-log and assignment, the round robin
// is exact, and one refused lead (a bad email, a duplicate key in the same
// batch) fails alone with its own error.
func TestCreateInParallel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := setup(t, s)
		d := intake.New(s)
		const n = 60
		results := make([]intake.Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			l := &crm.Lead{FirstName: "Lead", LastName: fmt.Sprint(i), Company: fmt.Sprintf("Company %d", i),
				Email: fmt.Sprintf("l%d@c%d.example", i, i), Title: "VP Sales", Industry: "Technology"}
			switch i {
			case 7:
				l.Email = "not an email"
			case 20, 21:
				id := "dup"
				l.ExternalID = &id
			}
			wg.Go(func() { results[i], errs[i] = d.Create(ctx, storetest.As(o.Admin), l) })
		}
		wg.Wait()
		if !errors.Is(errs[7], crm.ErrInvalid) {
			t.Errorf("a lead with a bad email: %v", errs[7])
		}
		if dupErr := errors.Join(errs[20], errs[21]); (errs[20] == nil) == (errs[21] == nil) || !errors.Is(dupErr, crm.ErrConflict) && !errors.Is(dupErr, crm.ErrInvalid) {
			t.Errorf("two leads with one external id: %v / %v", errs[20], errs[21])
		}
		perRep := map[int64]int{}
		stored := 0
		for i, r := range results {
			if errs[i] != nil {
				continue
			}
			stored++
			if r.Routing == nil || r.Lead.OwnerID == nil || *r.Lead.OwnerID != r.Routing.OwnerID {
				t.Fatalf("lead %d: %+v", i, r)
			}
			perRep[r.Routing.OwnerID]++
			got, err := s.Leads.Get(ctx, crm.System, r.Lead.ID)
			if err != nil || got.OwnerID == nil || *got.OwnerID != r.Routing.OwnerID {
				t.Errorf("lead %d as stored: %+v %v", i, got, err)
			}
		}
		if stored != n-2 {
			t.Fatalf("%d of %d stored", stored, n)
		}
		if perRep[o.RepA1.ID]+perRep[o.RepA2.ID] != stored || perRep[o.RepA1.ID]-perRep[o.RepA2.ID] > 1 || perRep[o.RepA2.ID]-perRep[o.RepA1.ID] > 1 {
			t.Errorf("round robin: %v", perRep)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads`); got != stored {
			t.Errorf("%d leads in the database, %d acknowledged", got, stored)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_assignments`); got != stored {
			t.Errorf("%d assignments for %d leads", got, stored)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE entity = 'lead' AND action = 'create'`); got != stored {
			t.Errorf("%d audit entries for %d leads", got, stored)
		}
		// Every lead is scored, and its score is the sum of its why-log.
		if got := count(t, s, `SELECT COUNT(*) FROM lead_scores`); got != stored {
			t.Errorf("%d scores for %d leads", got, stored)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_scores sc WHERE sc.score <> (SELECT COALESCE(SUM(l.points), 0) FROM lead_score_log l WHERE l.lead_id = sc.lead_id AND l.model_id = sc.model_id)`); got != 0 {
			t.Errorf("%d scores differ from their why-log", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_score_log WHERE rule = 'Decision maker'`); got != stored {
			t.Errorf("the fit rule on titles logged %d times for %d leads", got, stored)
		}
	})
}

// A rep creates leads for themselves only (the store's own check), and a
// lead that already has an owner is stored and scored but not routed.
func TestCreateChecksScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := setup(t, s)
		d := intake.New(s)
		rep := storetest.As(o.RepB)
		if _, err := d.Create(ctx, rep, &crm.Lead{LastName: "Theirs", OwnerID: &o.RepA1.ID}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("a rep creating a lead for another team's rep: %v", err)
		}
		r, err := d.Create(ctx, rep, &crm.Lead{LastName: "Mine", OwnerID: &o.RepB.ID})
		if err != nil || r.Routing != nil || *r.Lead.OwnerID != o.RepB.ID {
			t.Fatalf("a rep's own lead: %+v %v", r, err)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_scores WHERE lead_id = $1`, r.Lead.ID); got != 1 {
			t.Errorf("the rep's lead has %d scores", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_assignments`); got != 0 {
			t.Errorf("%d assignments for a lead that came with an owner", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE entity = 'lead' AND actor_id = $1`, o.RepB.ID); got != 1 {
			t.Errorf("the rep's lead is audited %d times as theirs", got)
		}
	})
}

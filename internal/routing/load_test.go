package routing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const rulesDoc = `name: t
queue_owner: admin@example.com
pools:
  - {name: a, method: round_robin, members: [{team: East A}]}
rules:
  - {name: all, pool: a}
`

// A dry run over the store's organisation: leads matching the account go
// to its owner, the others round robin over the team's reps, nothing is
// assigned, and only ops and admin may run it.
func TestDryRun(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		set, err := routing.Parse("r.yaml", []byte(rulesDoc))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := routing.ReadLeads("leads.csv", strings.NewReader("first_name,email,company,employees,fav_colour\n"+
			"A,a@one.example,One,10,red\nB,b@two.example,Two,,\nC,c@gmail.com,acme,5,\nD,d@four.example,Four,7,\nE,e@five.example,Five,7,\n"))
		if err != nil {
			t.Fatal(err)
		}
		if ls[0].CustomFields["fav_colour"] != "red" || *ls[0].Employees != 10 {
			t.Fatalf("read %+v", ls[0])
		}
		before := count(t, s)
		ds, err := routing.DryRun(ctx, s, storetest.As(o.Admin), set, ls, time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, d := range ds {
			got[d.Owner]++
		}
		if ds[2].AccountID == nil || ds[2].Owner != o.RepA1.Email {
			t.Errorf("the lead named like the account went to %s (%s), want its owner", ds[2].Owner, ds[2].Reason)
		}
		if got[o.RepA1.Email] != 3 || got[o.RepA2.Email] != 2 {
			t.Errorf("owners %v: want the account's lead to rep A1 and 4 round robin over A1 and A2", got)
		}
		if after := count(t, s); after != before {
			t.Errorf("a dry run changed the leads: %d → %d", before, after)
		}
		if _, err := routing.DryRun(ctx, s, storetest.As(o.MgrA), set, ls, time.Now()); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("a manager's dry run: %v, want forbidden", err)
		}
	})
}

func count(t *testing.T, s *store.Store) int {
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM leads`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadLeadsErrors(t *testing.T) {
	for _, c := range []struct{ csv, want string }{
		{"email,employees\na@b,many\n", `leads.csv line 2: employees: "many" is not a number of employees`},
		{"email,annual_revenue\na@b,lots\n", `leads.csv line 2: annual_revenue: "lots" is not an amount`},
		{"email\na@b,extra\n", "leads.csv line 2: columns: 2 values for 1 columns"},
		{"", "leads.csv: no header"},
	} {
		_, err := routing.ReadLeads("leads.csv", strings.NewReader(c.csv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.csv, err, c.want)
		}
	}
}

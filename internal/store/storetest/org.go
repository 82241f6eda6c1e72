package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Org is a small organisation for tests: a region run by a VP with two
// teams under it, a manager per team, two reps in team A and one in team B,
// a viewer and an admin, one account, and one open deal per rep.
type Org struct {
	Admin, VP, MgrA, MgrB, RepA1, RepA2, RepB, Viewer crm.User
	Region, TeamA, TeamB                              crm.Team
	Account                                           crm.Account
	OppA1, OppA2, OppB                                crm.Opportunity
}

// As is the principal of a user.
func As(u crm.User) crm.Principal { return crm.Principal{UserID: u.ID, Role: u.Role} }

// Must fails the test on error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// NewOpp is an open deal on the org's account owned by owner.
func (o *Org) NewOpp(owner crm.User, amount string) *crm.Opportunity {
	close := crm.NewDate(time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC))
	return &crm.Opportunity{Name: "Deal for " + owner.Email, AccountID: o.Account.ID, OwnerID: owner.ID,
		Amount: decimal.RequireFromString(amount), Currency: "USD", Stage: "Prospecting", Type: crm.DealNew, ExpectedClose: &close}
}

// NewOrg creates the organisation in s.
func NewOrg(t testing.TB, s *store.Store) *Org {
	t.Helper()
	ctx := context.Background()
	sys := crm.System
	o := &Org{}
	user := func(email string, role crm.Role, team *crm.Team, mgr *crm.User) crm.User {
		u := crm.User{Email: email, Name: email, Role: role, Active: true}
		if team != nil {
			u.TeamID = &team.ID
		}
		if mgr != nil {
			u.ManagerID = &mgr.ID
		}
		Must(t, s.Users.Create(ctx, sys, &u))
		return u
	}
	o.Admin = user("admin@example.com", crm.RoleAdmin, nil, nil)
	o.Viewer = user("viewer@example.com", crm.RoleViewer, nil, nil)
	o.VP = user("vp@example.com", crm.RoleManager, nil, nil)
	o.Region = crm.Team{Name: "East", Region: "East", ManagerID: &o.VP.ID}
	Must(t, s.Teams.Create(ctx, sys, &o.Region))
	o.MgrA = user("mgr.a@example.com", crm.RoleManager, &o.Region, &o.VP)
	o.MgrB = user("mgr.b@example.com", crm.RoleManager, &o.Region, &o.VP)
	o.TeamA = crm.Team{Name: "East A", ParentID: &o.Region.ID, ManagerID: &o.MgrA.ID, Region: "East"}
	o.TeamB = crm.Team{Name: "East B", ParentID: &o.Region.ID, ManagerID: &o.MgrB.ID, Region: "East"}
	Must(t, s.Teams.Create(ctx, sys, &o.TeamA))
	Must(t, s.Teams.Create(ctx, sys, &o.TeamB))
	o.RepA1 = user("rep.a1@example.com", crm.RoleRep, &o.TeamA, &o.MgrA)
	o.RepA2 = user("rep.a2@example.com", crm.RoleRep, &o.TeamA, &o.MgrA)
	o.RepB = user("rep.b@example.com", crm.RoleRep, &o.TeamB, &o.MgrB)
	emp, lat, lon := int64(1200), 39.96, -83.0
	rev := decimal.RequireFromString("1100000.50")
	o.Account = crm.Account{Name: "Acme", Industry: "Manufacturing", Employees: &emp, AnnualRevenue: &rev,
		Country: "US", State: "OH", City: "Columbus", Latitude: &lat, Longitude: &lon, OwnerID: &o.RepA1.ID, Segment: "Mid-market"}
	Must(t, s.Accounts.Create(ctx, sys, &o.Account))
	for _, d := range []struct {
		dst   *crm.Opportunity
		owner crm.User
		amt   string
	}{{&o.OppA1, o.RepA1, "100"}, {&o.OppA2, o.RepA2, "200"}, {&o.OppB, o.RepB, "300"}} {
		v := o.NewOpp(d.owner, d.amt)
		Must(t, s.Opportunities.Create(ctx, sys, v))
		*d.dst = *v
	}
	return o
}

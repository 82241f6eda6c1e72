package quality_test

import (
	"context"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

var ctx = context.Background()

// The test organisation is storetest's (a VP over teams A and B, reps A1, A2
// and B) with problems planted for every check, each owned by a known user,
// on a store whose clock says the records were written on 2025-02-01. The
// report runs as of 2025-02-10 12:00 UTC (fiscal quarter FY2025-Q1).
var (
	written = time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	now     = time.Date(2025, 2, 10, 12, 0, 0, 0, time.UTC)
)

// fixture is the organisation and, per check, the records planted for it.
type fixture struct {
	*storetest.Org
	planted map[string][]planted
}

// planted is one record a check must find, and who owns it (0: nobody known).
type planted struct {
	entity string
	id     int64
	owner  int64
}

func day(y int, m time.Month, d int) *crm.Date {
	v := crm.NewDate(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	return &v
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ptr[T any](v T) *T { return &v }

func exec(t testing.TB, s *store.Store, query string, args ...any) {
	t.Helper()
	if _, err := s.DB().ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// newFixture builds the organisation in s. Records are made through the
// store's API; what the API refuses (broken references, a deal closed before
// it was created) is then made with raw SQL, as a careless import would.
func newFixture(t testing.TB, s *store.Store) *fixture {
	t.Helper()
	s.SetClock(func() time.Time { return written })
	sys := crm.System
	f := &fixture{Org: storetest.NewOrg(t, s), planted: map[string][]planted{}}
	plant := func(check, entity string, id, owner int64) {
		f.planted[check] = append(f.planted[check], planted{entity, id, owner})
	}
	must := storetest.Must

	// Users beside the org's: neither needs a quota this quarter.
	for _, u := range []crm.User{
		{Email: "rep.new@example.com", Name: "New Rep", Role: crm.RoleRep, TeamID: &f.TeamB.ID, Active: true, HireDate: day(2025, 4, 1)},
		{Email: "rep.gone@example.com", Name: "Gone Rep", Role: crm.RoleRep, TeamID: &f.TeamB.ID, Active: false},
	} {
		must(t, s.Users.Create(ctx, sys, &u))
	}
	// Quotas: A1 for the quarter, A2 for a month of it; B has none.
	for _, q := range []crm.Quota{
		{UserID: &f.RepA1.ID, Period: "FY2025-Q1", Amount: dec("100000"), Currency: "USD"},
		{UserID: &f.RepA2.ID, Period: "FY2025-M02", Amount: dec("30000"), Currency: "USD"},
		{UserID: &f.RepB.ID, Period: "FY2024-Q4", Amount: dec("100000"), Currency: "USD"},
		{TeamID: &f.TeamB.ID, Period: "FY2025-Q1", Amount: dec("300000"), Currency: "USD"},
	} {
		must(t, s.Quotas.Create(ctx, sys, &q))
	}
	plant("reps_without_quota", "user", f.RepB.ID, f.RepB.ID)

	account := func(name, domain, segment string, owner *crm.User) crm.Account {
		a := crm.Account{Name: name, Domain: domain, Segment: segment}
		if owner != nil {
			a.OwnerID = &owner.ID
		}
		must(t, s.Accounts.Create(ctx, sys, &a))
		return a
	}
	// Duplicate accounts: by normalised name, and by domain.
	for _, d := range []struct {
		name, domain string
		owner        *crm.User
	}{
		{"Globex Corporation", "", &f.RepA1},
		{"Globex, Inc.", "", &f.RepB},
		{"The Hooli Group", "", &f.MgrA},
		{"HOOLI", "", nil},
		{"Initech", "initech.com", &f.RepA2},
		{"Initrode", "https://www.Initech.com/about", &f.RepA2},
	} {
		a := account(d.name, d.domain, "", d.owner)
		var owner int64
		if d.owner != nil {
			owner = d.owner.ID
		}
		plant("duplicate_accounts", "account", a.ID, owner)
	}
	umbrella := account("Umbrella", "umbrella.com", "SMB", &f.RepA1)
	account("Umbrella Health", "umbrellahealth.com", "SMB", &f.RepB)

	// Contacts: two share an email (in different case); two have none.
	for i, c := range []crm.Contact{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.example", OwnerID: &f.RepA1.ID, AccountID: &f.Account.ID},
		{FirstName: "Ada", LastName: "L.", Email: "Ada@Acme.example", OwnerID: &f.RepB.ID},
		{FirstName: "No", LastName: "Email", OwnerID: &f.RepA1.ID},
		{FirstName: "Also", LastName: "Without", OwnerID: &f.RepA1.ID},
	} {
		must(t, s.Contacts.Create(ctx, sys, &c))
		if i < 2 {
			plant("duplicate_contacts", "contact", c.ID, *c.OwnerID)
		}
	}
	orphanContact := crm.Contact{FirstName: "Lost", LastName: "Contact", Email: "lost@nowhere.example", OwnerID: &f.RepB.ID, AccountID: &umbrella.ID}
	must(t, s.Contacts.Create(ctx, sys, &orphanContact))
	exec(t, s, `UPDATE contacts SET account_id = 999998 WHERE id = $1`, orphanContact.ID)
	plant("unknown_account", "contact", orphanContact.ID, f.RepB.ID)

	// Leads. All answered but the ones said otherwise.
	lead := func(first, email string, owner *crm.User, created time.Time, answered bool, status crm.LeadStatus) crm.Lead {
		l := crm.Lead{FirstName: first, LastName: "Lead", Email: email, OwnerID: &owner.ID, CreatedAt: created, Status: status}
		if answered {
			l.FirstResponseAt = ptr(created.Add(10 * time.Minute))
		}
		must(t, s.Leads.Create(ctx, sys, &l))
		return l
	}
	earlier := written.Add(-72 * time.Hour)
	for _, d := range []struct {
		email string
		owner *crm.User
	}{{"grace@navy.example", &f.RepA1}, {"Grace@Navy.example", &f.RepA1}, {"lin@x.example", &f.RepA1}, {"lin@x.example", &f.RepB}} {
		l := lead("Dup", d.email, d.owner, earlier, true, crm.LeadWorking)
		plant("duplicate_leads", "lead", l.ID, d.owner.ID)
	}
	lead("Unique", "unique@x.example", &f.RepA1, earlier, true, crm.LeadNew)
	unanswered := lead("Waiting", "waiting@x.example", &f.RepA2, time.Date(2025, 2, 5, 8, 0, 0, 0, time.UTC), false, crm.LeadNew)
	plant("leads_never_responded", "lead", unanswered.ID, f.RepA2.ID)
	lead("Fresh", "fresh@x.example", &f.RepA2, now.Add(-6*time.Hour), false, crm.LeadNew)   // within a day
	lead("Dropped", "dropped@x.example", &f.RepA2, earlier, false, crm.LeadDisqualified)    // closed out
	worked := lead("Called", "called@x.example", &f.RepB, earlier, false, crm.LeadWorking)  // has an activity
	ghostOwned := lead("Ghost", "ghost@x.example", &f.RepB, earlier, true, crm.LeadWorking) // owner vanishes
	exec(t, s, `UPDATE leads SET owner_id = 888889 WHERE id = $1`, ghostOwned.ID)
	plant("unknown_owner", "lead", ghostOwned.ID, 0)

	// Opportunities. Open ones close on 2025-03-31 and were created on the
	// clock's day unless said otherwise.
	opp := func(name string, owner crm.User, acct crm.Account, stage, amount string, close *crm.Date, created time.Time) crm.Opportunity {
		o := crm.Opportunity{Name: name, AccountID: acct.ID, OwnerID: owner.ID, Amount: dec(amount), Currency: "USD",
			Stage: stage, Type: crm.DealNew, ExpectedClose: close, CreatedAt: created}
		must(t, s.Opportunities.Create(ctx, sys, &o))
		return o
	}
	q1end := day(2025, 3, 31)
	activity := func(owner crm.User, o *crm.Opportunity, at time.Time) crm.Activity {
		a := crm.Activity{Kind: crm.ActivityCall, Subject: "Call", OwnerID: owner.ID, OccurredAt: at}
		if o != nil {
			a.OpportunityID = &o.ID
		}
		must(t, s.Activities.Create(ctx, sys, &a))
		return a
	}
	calledAct := crm.Activity{Kind: crm.ActivityEmail, Subject: "Intro", OwnerID: f.RepB.ID, LeadID: &worked.ID, OccurredAt: earlier.Add(time.Hour)}
	must(t, s.Activities.Create(ctx, sys, &calledAct))

	o := opp("Orphan deal", f.RepA2, f.Account, "Prospecting", "1000", q1end, time.Time{})
	exec(t, s, `UPDATE opportunities SET account_id = 999999 WHERE id = $1`, o.ID)
	plant("unknown_account", "opportunity", o.ID, f.RepA2.ID)

	o = opp("Ghost-owned deal", f.RepB, f.Account, "Closed Won", "2000", nil, time.Time{})
	exec(t, s, `UPDATE opportunities SET owner_id = 888888 WHERE id = $1`, o.ID)
	plant("unknown_owner", "opportunity", o.ID, 0)

	o = opp("Verbal deal", f.RepB, f.Account, "Negotiation", "3000", q1end, time.Time{})
	exec(t, s, `UPDATE opportunities SET stage = 'Verbal' WHERE id = $1`, o.ID)
	plant("unknown_stage", "opportunity", o.ID, f.RepB.ID)

	o = opp("Undated deal", f.RepB, f.Account, "Qualification", "4000", nil, time.Time{})
	plant("open_deal_no_close_date", "opportunity", o.ID, f.RepB.ID)

	o = opp("Free win", f.RepA1, f.Account, "Closed Won", "0", nil, time.Time{})
	plant("won_deal_zero_amount", "opportunity", o.ID, f.RepA1.ID)
	opp("Free loss", f.RepA1, f.Account, "Closed Lost", "0", nil, time.Time{}) // a lost deal may have no amount

	o = opp("Undated loss", f.RepA2, f.Account, "Closed Lost", "5000", nil, time.Time{})
	exec(t, s, `UPDATE opportunities SET closed_at = NULL WHERE id = $1`, o.ID)
	plant("closed_deal_no_close_date", "opportunity", o.ID, f.RepA2.ID)

	o = opp("Time-travel win", f.RepA1, f.Account, "Closed Won", "6000", nil, time.Time{})
	exec(t, s, `UPDATE opportunities SET closed_at = $1 WHERE id = $2`, day(2024, 12, 20), o.ID)
	plant("closed_before_created", "opportunity", o.ID, f.RepA1.ID)

	o = opp("Overdue deal", f.RepA2, f.Account, "Proposal", "7000", day(2025, 1, 31), time.Time{})
	plant("past_close_date", "opportunity", o.ID, f.RepA2.ID)
	opp("Due today", f.RepA2, f.Account, "Proposal", "7000", day(2025, 2, 10), time.Time{}) // not yet past

	// Stale: one whose last call was in December, one never touched since
	// December; one old deal called last week is fine.
	o = opp("Quiet deal", f.RepA1, f.Account, "Qualification", "8000", q1end, time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC))
	activity(f.RepA1, &o, time.Date(2024, 12, 20, 15, 0, 0, 0, time.UTC))
	plant("stale_deals", "opportunity", o.ID, f.RepA1.ID)
	o = opp("Forgotten deal", f.RepB, f.Account, "Qualification", "9000", q1end, time.Date(2024, 12, 15, 0, 0, 0, 0, time.UTC))
	plant("stale_deals", "opportunity", o.ID, f.RepB.ID)
	o = opp("Busy deal", f.RepB, f.Account, "Qualification", "9000", q1end, time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC))
	activity(f.RepA2, &o, time.Date(2025, 2, 3, 10, 0, 0, 0, time.UTC)) // anyone's activity counts

	// Broken references from activities, line items and lead events.
	a := activity(f.RepA1, &f.OppA1, written)
	exec(t, s, `UPDATE activities SET opportunity_id = 666666 WHERE id = $1`, a.ID)
	plant("unknown_opportunity", "activity", a.ID, f.RepA1.ID)
	a = activity(f.RepB, nil, written)
	exec(t, s, `UPDATE activities SET contact_id = 555555 WHERE id = $1`, a.ID)
	plant("unknown_contact", "activity", a.ID, f.RepB.ID)
	a = activity(f.RepA2, nil, written)
	exec(t, s, `UPDATE activities SET lead_id = 444445 WHERE id = $1`, a.ID)
	plant("unknown_lead", "activity", a.ID, f.RepA2.ID)
	exec(t, s, `INSERT INTO lead_events (id, lead_id, kind, occurred_at, detail) VALUES (900002, 444444, 'web_visit', $1, '')`, written)
	plant("unknown_lead", "lead_event", 900002, 0)
	exec(t, s, `INSERT INTO line_items (id, opportunity_id, product_id, quantity, unit_price, total_price) VALUES (900001, $1, 777777, 1, 10, 10)`, f.OppA1.ID)
	plant("unknown_product", "line_item", 900001, f.RepA1.ID)

	// Product prices: a dozen Widget line items at about the list price, one
	// large order at list price, and one price with an extra zero.
	widget := crm.Product{Name: "Widget", Family: "Widgets", ListPrice: dec("1000"), Currency: "USD", Active: true}
	must(t, s.Products.Create(ctx, sys, &widget))
	bulk := opp("Widget fleet", f.RepA1, umbrella, "Closed Won", "11950", nil, time.Time{})
	for i := range 12 {
		li := crm.LineItem{OpportunityID: bulk.ID, ProductID: widget.ID, Quantity: dec("1")}
		if i == 0 {
			li.UnitPrice = dec("950") // a small discount is no outlier
		}
		must(t, s.AddLineItem(ctx, sys, &li))
	}
	li := crm.LineItem{OpportunityID: bulk.ID, ProductID: widget.ID, Quantity: dec("40")} // a big order is no typo
	must(t, s.AddLineItem(ctx, sys, &li))
	typo := opp("Widget typo", f.RepA1, umbrella, "Closed Won", "10000", nil, time.Time{})
	li = crm.LineItem{OpportunityID: typo.ID, ProductID: widget.ID, Quantity: dec("1"), UnitPrice: dec("10000")}
	must(t, s.AddLineItem(ctx, sys, &li))
	plant("product_amount_outliers", "line_item", li.ID, f.RepA1.ID)

	// Deal amounts: a dozen SMB proposals of 5,000 to 6,000, one of 11,500
	// (unusual, but only twice the median) and one of 500,000.
	opp("SMB proposal (large)", f.RepA1, umbrella, "Proposal", "11000", q1end, time.Time{})
	for i := range 11 {
		opp("SMB proposal", f.RepA1, umbrella, "Proposal", decimal.NewFromInt(int64(5000+100*i)).String(), q1end, time.Time{})
	}
	o = opp("SMB proposal (typo)", f.RepB, umbrella, "Proposal", "500000", q1end, time.Time{})
	plant("deal_amount_outliers", "opportunity", o.ID, f.RepB.ID)

	// An open deal whose amount is not known yet.
	o = opp("Amount to come", f.RepB, f.Account, "Qualification", "0", q1end, time.Time{})
	plant("open_deal_zero_amount", "opportunity", o.ID, f.RepB.ID)
	return f
}

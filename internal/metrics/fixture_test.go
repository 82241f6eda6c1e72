package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// fixture is storetest's small organisation plus deals, history, leads,
// activities, quotas, costs and rates whose KPIs are worked out by hand in
// the comments of kpis_test.go. The focus period is FY2025-Q1 (Jan–Mar 2025).
type fixture struct {
	*storetest.Org
	Beta, Gamma, Delta crm.Account
	Deals              map[string]*crm.Opportunity
	Leads              map[string]*crm.Lead
}

// asOf is "now" for every report of the fixture.
var asOf = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t, err = time.Parse("2006-01-02", s)
	}
	if err != nil {
		panic(err)
	}
	return t
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func newFixture(t *testing.T, s *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	sys := crm.System
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	o := storetest.NewOrg(t, s)
	fx := &fixture{Org: o, Deals: map[string]*crm.Opportunity{}, Leads: map[string]*crm.Lead{}}
	// The org's three open Prospecting deals (100, 200, 300 USD, expected
	// 2025-03-31) were created "now": move them to 2024-12-01.
	for _, id := range []int64{o.OppA1.ID, o.OppA2.ID, o.OppB.ID} {
		_, err := s.DB().ExecContext(ctx, `UPDATE opportunities SET created_at = $1 WHERE id = $2`, day("2024-12-01"), id)
		must(err)
		_, err = s.DB().ExecContext(ctx, `UPDATE opportunity_history SET changed_at = $1 WHERE opportunity_id = $2`, day("2024-12-01"), id)
		must(err)
	}
	for _, a := range []struct {
		dst               *crm.Account
		name, seg, indust string
	}{{&fx.Beta, "Beta", "Enterprise", "Software"}, {&fx.Gamma, "Gamma", "Enterprise", "Retail"}, {&fx.Delta, "Delta", "SMB", "Software"}} {
		*a.dst = crm.Account{Name: a.name, Segment: a.seg, Industry: a.indust}
		must(s.Accounts.Create(ctx, sys, a.dst))
	}
	must(s.PutExchangeRate(ctx, sys, crm.ExchangeRate{Currency: "EUR", ValidFrom: day("2025-01-01"), Rate: dec("1.10")}))
	must(s.PutExchangeRate(ctx, sys, crm.ExchangeRate{Currency: "EUR", ValidFrom: day("2025-02-01"), Rate: dec("1.20")}))

	type step struct {
		at    string
		stage string
	}
	// deal creates an opportunity at its first step and moves it through the
	// others with the store's clock set to each step's time.
	deal := func(name string, owner crm.User, acct crm.Account, amount, currency, source string, typ crm.DealType,
		expected string, prob *float64, steps ...step) {
		t.Helper()
		exp := crm.NewDate(day(expected))
		v := &crm.Opportunity{Name: name, AccountID: acct.ID, OwnerID: owner.ID, Amount: dec(amount), Currency: currency,
			Stage: steps[0].stage, Source: source, Type: typ, ExpectedClose: &exp, Probability: prob, CreatedAt: day(steps[0].at)}
		s.SetClock(func() time.Time { return day(steps[0].at) })
		must(s.Opportunities.Create(ctx, sys, v))
		for _, st := range steps[1:] {
			s.SetClock(func() time.Time { return day(st.at) })
			var err error
			v, err = s.Opportunities.Update(ctx, sys, v.ID, func(x *crm.Opportunity) error { x.Stage = st.stage; return nil })
			must(err)
		}
		fx.Deals[name] = v
	}
	p60 := 0.6
	// Won in FY2025-Q1.
	deal("D1", o.RepA1, fx.Beta, "1000", "USD", "Web", crm.DealNew, "2025-01-31", nil,
		step{"2025-01-01", "Prospecting"}, step{"2025-01-11", "Qualification"}, step{"2025-01-21", "Proposal"}, step{"2025-01-31", "Closed Won"})
	deal("D2", o.RepA1, fx.Gamma, "500", "EUR", "Web", crm.DealExpansion, "2025-02-10", nil,
		step{"2025-01-10", "Qualification"}, step{"2025-02-10", "Closed Won"})
	deal("D4", o.RepA2, fx.Gamma, "2000", "USD", "Referral", crm.DealNew, "2025-03-15", nil,
		step{"2024-11-01", "Prospecting"}, step{"2025-03-15", "Closed Won"})
	deal("D8", o.RepB, fx.Delta, "100", "GBP", "Web", crm.DealNew, "2025-03-20", nil,
		step{"2025-03-01", "Negotiation"}, step{"2025-03-20", "Closed Won"})
	// Lost in FY2025-Q1 (D5 has a zero amount).
	deal("D3", o.RepA1, o.Account, "800", "USD", "Referral", crm.DealNew, "2025-03-01", nil,
		step{"2025-01-05", "Prospecting"}, step{"2025-01-25", "Proposal"}, step{"2025-03-01", "Closed Lost"})
	deal("D5", o.RepA2, o.Account, "0", "USD", "Web", crm.DealRenewal, "2025-02-11", nil,
		step{"2025-02-01", "Prospecting"}, step{"2025-02-11", "Closed Lost"})
	// Won in the previous quarter and in the same quarter last year.
	deal("D6", o.RepB, o.Account, "300", "USD", "Web", crm.DealNew, "2024-12-20", nil,
		step{"2024-10-01", "Prospecting"}, step{"2024-12-20", "Closed Won"})
	deal("D7", o.RepB, o.Account, "400", "USD", "Web", crm.DealNew, "2024-02-15", nil,
		step{"2024-01-15", "Prospecting"}, step{"2024-02-15", "Closed Won"})
	// Open: in EUR with its own probability, expected in Q1; and one expected in Q2.
	deal("D9", o.RepA1, o.Account, "1000", "EUR", "Web", crm.DealNew, "2025-03-10", &p60,
		step{"2025-02-15", "Prospecting"}, step{"2025-03-01", "Proposal"})
	deal("D10", o.RepB, o.Account, "5000", "USD", "Web", crm.DealNew, "2025-05-15", nil,
		step{"2024-12-15", "Negotiation"})
	s.SetClock(func() time.Time { return asOf })

	widget := crm.Product{Name: "Widget", Family: "Hardware", ListPrice: dec("1000"), Currency: "USD", Active: true}
	must(s.Products.Create(ctx, sys, &widget))
	must(s.AddLineItem(ctx, sys, &crm.LineItem{OpportunityID: fx.Deals["D1"].ID, ProductID: widget.ID, Quantity: dec("1")}))

	// Quotas: RepA1 1500 for the quarter; RepA2 12000 for the year (3000 a
	// quarter, 1000 a month); RepB none.
	for _, q := range []crm.Quota{
		{UserID: &o.RepA1.ID, Period: "FY2025-Q1", Amount: dec("1500"), Currency: "USD"},
		{UserID: &o.RepA2.ID, Period: "FY2025", Amount: dec("12000"), Currency: "USD"},
		{TeamID: &o.TeamB.ID, Period: "FY2025-Q1", Amount: dec("99999"), Currency: "USD"}, // team quotas are not used
	} {
		must(s.Quotas.Create(ctx, sys, &q))
	}
	// Costs: 3000 marketing in the quarter, 12000 sales over the year (3000 a quarter).
	for _, c := range []crm.Cost{
		{Period: "FY2025-Q1", Category: crm.CostMarketing, Amount: dec("3000"), Currency: "USD"},
		{Period: "FY2025", Category: crm.CostSales, Amount: dec("12000"), Currency: "USD"},
	} {
		must(s.Costs.Create(ctx, sys, &c))
	}

	// Leads created in Q1 and how they were answered.
	lead := func(name string, owner crm.User, created string, firstResponse string, status crm.LeadStatus, converted *crm.Opportunity) *crm.Lead {
		l := &crm.Lead{FirstName: name, LastName: "Lead", Company: name + " Inc", Source: "Web", Industry: "Software",
			Status: status, OwnerID: &owner.ID, CreatedAt: day(created)}
		if firstResponse != "" {
			fr := day(firstResponse)
			l.FirstResponseAt = &fr
		}
		if converted != nil {
			l.ConvertedOpportunityID = &converted.ID
			ca := day(created).Add(24 * time.Hour)
			l.ConvertedAt = &ca
		}
		must(s.Leads.Create(ctx, sys, l))
		fx.Leads[name] = l
		return l
	}
	l1 := lead("L1", o.RepA1, "2025-01-10 09:00", "", crm.LeadConverted, fx.Deals["D2"])
	l2 := lead("L2", o.RepA1, "2025-01-11 10:00", "2025-01-11 10:30", crm.LeadQualified, nil)
	l3 := lead("L3", o.RepB, "2025-02-01 08:00", "2025-02-01 09:00", crm.LeadWorking, nil)
	l4 := lead("L4", o.RepB, "2025-03-01 08:00", "", crm.LeadNew, nil)
	_ = l2

	act := func(owner crm.User, kind crm.ActivityKind, at string, minutes int64, dir crm.Direction, l *crm.Lead) {
		a := &crm.Activity{Kind: kind, Subject: string(kind), OwnerID: owner.ID, OccurredAt: day(at), DurationMinutes: minutes, Direction: dir}
		if l != nil {
			a.LeadID = &l.ID
		}
		must(s.Activities.Create(ctx, sys, a))
	}
	act(o.RepA1, crm.ActivityCall, "2025-01-10 09:03", 10, crm.DirectionOutbound, l1)
	act(o.RepA1, crm.ActivityCall, "2025-01-12 11:00", 20, crm.DirectionOutbound, nil)
	act(o.RepA1, crm.ActivityEmail, "2025-01-13 11:00", 5, crm.DirectionOutbound, nil)
	act(o.RepA1, crm.ActivityMeeting, "2025-01-14 11:00", 60, crm.DirectionNone, nil)
	act(o.RepA1, crm.ActivityTask, "2025-01-15 11:00", 30, crm.DirectionNone, nil)
	act(o.RepA1, crm.ActivityDemo, "2025-01-20 11:00", 45, crm.DirectionNone, l1)
	act(o.RepB, crm.ActivityEmail, "2025-02-01 10:00", 0, crm.DirectionOutbound, l3)
	act(o.RepB, crm.ActivityMeeting, "2025-02-03 10:00", 30, crm.DirectionNone, nil)
	act(o.RepB, crm.ActivityOther, "2025-02-04 10:00", 15, crm.DirectionNone, nil)
	act(o.RepB, crm.ActivityEmail, "2025-03-01 08:01", 0, crm.DirectionInbound, l4)   // the lead writing in is no response
	act(o.RepB, crm.ActivityCall, "2024-12-01 08:00", 10, crm.DirectionOutbound, nil) // previous quarter
	return fx
}

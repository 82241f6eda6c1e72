package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustCreate[T any](t *testing.T, r *store.Repo[T], p crm.Principal, v *T) {
	t.Helper()
	if err := r.Create(ctx, p, v); err != nil {
		t.Fatalf("create %T: %v", v, err)
	}
}

var as = storetest.As

func TestEntitiesRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		got, err := s.Accounts.Get(ctx, crm.System, o.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Acme" || !got.AnnualRevenue.Equal(dec("1100000.50")) || *got.Employees != 1200 || *got.Latitude != 39.96 || got.CreatedAt.IsZero() {
			t.Errorf("account round trip: %+v", got)
		}
		contact := crm.Contact{AccountID: &o.Account.ID, FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.example", OwnerID: &o.RepA1.ID}
		mustCreate(t, s.Contacts, crm.System, &contact)
		created := time.Date(2025, 1, 2, 9, 30, 0, 0, time.UTC)
		lead := crm.Lead{FirstName: "Grace", Email: "grace@navy.example", Company: "Navy", Source: "webinar", OwnerID: &o.RepA1.ID,
			CreatedAt: created, FirstResponseAt: ptr(created.Add(4 * time.Minute)), CustomFields: crm.CustomFields{"budget": "50k"}}
		mustCreate(t, s.Leads, crm.System, &lead)
		gotLead, err := s.Leads.Get(ctx, crm.System, lead.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gotLead.Status != crm.LeadNew || gotLead.CustomFields["budget"] != "50k" || !gotLead.FirstResponseAt.Equal(created.Add(4*time.Minute)) {
			t.Errorf("lead round trip: %+v", gotLead)
		}
		if err := s.AddLeadEvent(ctx, crm.System, &crm.LeadEvent{LeadID: lead.ID, Kind: "web_visit", OccurredAt: created}); err != nil {
			t.Fatal(err)
		}
		if ev, err := s.LeadEvents(ctx, crm.System, lead.ID); err != nil || len(ev) != 1 || ev[0].Kind != "web_visit" {
			t.Errorf("lead events: %v %v", ev, err)
		}
		prod := crm.Product{Name: "Widget Pro", Family: "Widgets", ListPrice: dec("4821.00"), Currency: "USD", Active: true}
		mustCreate(t, s.Products, crm.System, &prod)
		opp := o.NewOpp(o.RepA1, "12000.25")
		mustCreate(t, s.Opportunities, crm.System, opp)
		li := crm.LineItem{OpportunityID: opp.ID, ProductID: prod.ID, Quantity: dec("3")}
		if err := s.AddLineItem(ctx, crm.System, &li); err != nil {
			t.Fatal(err)
		}
		if items, err := s.LineItems(ctx, crm.System, opp.ID); err != nil || len(items) != 1 || !items[0].TotalPrice.Equal(dec("14463")) {
			t.Errorf("line items: %+v %v", items, err)
		}
		act := crm.Activity{Kind: crm.ActivityCall, OwnerID: o.RepA1.ID, OpportunityID: &opp.ID, AccountID: &o.Account.ID, ContactID: &contact.ID,
			OccurredAt: created, DurationMinutes: 25, Direction: crm.DirectionOutbound, Outcome: "connected"}
		mustCreate(t, s.Activities, crm.System, &act)
		if got, err := s.Activities.Get(ctx, crm.System, act.ID); err != nil || got.DurationMinutes != 25 || *got.ContactID != contact.ID {
			t.Errorf("activity: %+v %v", got, err)
		}
		q := crm.Quota{UserID: &o.RepA1.ID, Period: "fy2025-q1", Amount: dec("250000"), Currency: "USD"}
		mustCreate(t, s.Quotas, crm.System, &q)
		if q.Period != "FY2025-Q1" {
			t.Errorf("quota period not canonical: %q", q.Period)
		}
		cost := crm.Cost{Period: "FY2025-M01", Category: crm.CostMarketing, Amount: dec("9999.99"), Currency: "USD"}
		mustCreate(t, s.Costs, crm.System, &cost)
		if got, err := s.Costs.Get(ctx, crm.System, cost.ID); err != nil || !got.Amount.Equal(dec("9999.99")) {
			t.Errorf("cost: %+v %v", got, err)
		}
		// Update keeps created_at and changes what was asked.
		upd, err := s.Accounts.Update(ctx, crm.System, o.Account.ID, func(a *crm.Account) error { a.Segment = "Enterprise"; return nil })
		if err != nil || upd.Segment != "Enterprise" || !upd.CreatedAt.Equal(got.CreatedAt) {
			t.Errorf("update account: %+v %v", upd, err)
		}
		// Every write is audited.
		log, err := s.AuditLog(ctx, crm.System, "account", o.Account.ID, 10)
		if err != nil || len(log) != 2 || log[0].Action != "update" {
			t.Errorf("audit log: %+v %v", log, err)
		}
	})
}

// The audit log's before and after are the record as JSON objects (null
// when there is none), also once the entry is encoded for the API.
func TestAuditLogJSON(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		a := crm.Account{Name: "Audited", Segment: "SMB"}
		storetest.Must(t, s.Accounts.Create(ctx, crm.System, &a))
		_, err := s.Accounts.Update(ctx, crm.System, a.ID, func(a *crm.Account) error { a.Segment = "Enterprise"; return nil })
		storetest.Must(t, err)
		log, err := s.AuditLog(ctx, crm.System, "account", a.ID, 10)
		storetest.Must(t, err)
		tests := []struct {
			action        string
			before, after any // the segment, or nil for no record
			beforeNull    bool
		}{
			{action: "update", before: "SMB", after: "Enterprise"},
			{action: "create", beforeNull: true, after: "SMB"},
		}
		if len(log) != len(tests) {
			t.Fatalf("audit log %+v, want %d entries", log, len(tests))
		}
		for i, tt := range tests {
			t.Run(tt.action, func(t *testing.T) {
				b, err := json.Marshal(log[i])
				storetest.Must(t, err)
				var e struct {
					Action        string
					Before, After *map[string]any
				}
				if err := json.Unmarshal(b, &e); err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				segment := func(m *map[string]any) any {
					if m == nil {
						return nil
					}
					return (*m)["segment"]
				}
				if e.Action != tt.action || (e.Before == nil) != tt.beforeNull || segment(e.Before) != tt.before || segment(e.After) != tt.after {
					t.Errorf("entry %s, want %s with before %v, after %v", b, tt.action, tt.before, tt.after)
				}
			})
		}
	})
}

func TestStageHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		clock := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return clock })
		opp := o.NewOpp(o.RepA1, "1000")
		mustCreate(t, s.Opportunities, as(o.RepA1), opp)
		step := func(change func(*crm.Opportunity)) *crm.Opportunity {
			clock = clock.Add(24 * time.Hour)
			v, err := s.Opportunities.Update(ctx, as(o.RepA1), opp.ID, func(v *crm.Opportunity) error { change(v); return nil })
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		step(func(v *crm.Opportunity) { v.Stage = "Qualification" })
		step(func(v *crm.Opportunity) { v.Name = "renamed only" }) // not a tracked change
		step(func(v *crm.Opportunity) { v.Amount = dec("1500") })
		step(func(v *crm.Opportunity) {
			v.ExpectedClose = ptr(crm.NewDate(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)))
		})
		won := step(func(v *crm.Opportunity) { v.Stage = "Closed Won" })
		if !won.IsClosed || !won.IsWon || won.ClosedAt == nil || won.ClosedAt.String() != "2025-01-15" || won.ForecastCategory != crm.ForecastClosed {
			t.Errorf("won deal not derived: %+v", won)
		}
		h, err := s.History(ctx, as(o.RepA1), opp.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			stage, amount, day string
		}{{"Prospecting", "1000", "2025-01-10"}, {"Qualification", "1000", "2025-01-11"}, {"Qualification", "1500", "2025-01-13"},
			{"Qualification", "1500", "2025-01-14"}, {"Closed Won", "1500", "2025-01-15"}}
		if len(h) != len(want) {
			t.Fatalf("history has %d rows, want %d: %+v", len(h), len(want), h)
		}
		for i, w := range want {
			if h[i].Stage != w.stage || !h[i].Amount.Equal(dec(w.amount)) || h[i].ChangedAt.Format("2006-01-02") != w.day {
				t.Errorf("history[%d] = %s %s %s, want %+v", i, h[i].Stage, h[i].Amount, h[i].ChangedAt, w)
			}
		}
		if h[3].ExpectedClose.String() != "2025-06-30" || *h[4].ChangedBy != o.RepA1.ID {
			t.Errorf("history details: %+v", h[3:])
		}
		lost := step(func(v *crm.Opportunity) { v.Stage = "Prospecting" })
		if lost.IsClosed || lost.ClosedAt != nil {
			t.Errorf("reopened deal still closed: %+v", lost)
		}
	})
}

func TestVisibility(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		oppA1, oppA2, oppB := o.OppA1, o.OppA2, o.OppB
		cases := []struct {
			who  crm.User
			want []int64
		}{
			{o.RepA1, []int64{oppA1.ID}},
			{o.RepB, []int64{oppB.ID}},
			{o.MgrA, []int64{oppA1.ID, oppA2.ID}},
			{o.MgrB, []int64{oppB.ID}},
			{o.VP, []int64{oppA1.ID, oppA2.ID, oppB.ID}},
			{o.Admin, []int64{oppA1.ID, oppA2.ID, oppB.ID}},
		}
		for _, c := range cases {
			page, err := s.Opportunities.List(ctx, as(c.who), store.ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, v := range page.Items {
				got = append(got, v.ID)
			}
			if len(got) != len(c.want) {
				t.Errorf("%s sees %v, want %v", c.who.Email, got, c.want)
				continue
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%s sees %v, want %v", c.who.Email, got, c.want)
				}
			}
		}
		if _, err := s.Opportunities.Get(ctx, as(o.RepA1), oppB.ID); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("rep reading another rep's deal: %v, want not found", err)
		}
		if _, err := s.Opportunities.Update(ctx, as(o.RepA1), oppA2.ID, func(v *crm.Opportunity) error { v.Amount = dec("1"); return nil }); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("rep updating another rep's deal: %v, want not found", err)
		}
		if _, err := s.History(ctx, as(o.RepA1), oppB.ID); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("rep reading another rep's history: %v", err)
		}
		// A rep cannot hand a deal to, or create one for, someone outside their scope.
		err := s.Opportunities.Create(ctx, as(o.RepA1), o.NewOpp(o.RepB, "5"))
		if !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("rep creating a deal for another rep: %v", err)
		}
		// A viewer reads no records.
		if _, err := s.Opportunities.List(ctx, as(o.Viewer), store.ListQuery{}); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("viewer listing deals: %v", err)
		}
		// Quotas: a rep sees their own only.
		for _, u := range []crm.User{o.RepA1, o.RepB} {
			mustCreate(t, s.Quotas, crm.System, &crm.Quota{UserID: &u.ID, Period: "FY2025", Amount: dec("1000"), Currency: "USD"})
		}
		page, err := s.Quotas.List(ctx, as(o.RepA1), store.ListQuery{})
		if err != nil || len(page.Items) != 1 || *page.Items[0].UserID != o.RepA1.ID {
			t.Errorf("rep quotas: %+v %v", page, err)
		}
	})
}

func TestInvalidWritesLeaveNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		before, _ := s.AuditLog(ctx, crm.System, "", 0, 1000)
		pageBefore, _ := s.Opportunities.List(ctx, crm.System, store.ListQuery{})
		bad := o.NewOpp(o.RepA1, "-5")
		bad.AccountID = 999999
		bad.Stage = "Nope"
		bad.Currency = "XXX"
		err := s.Opportunities.Create(ctx, crm.System, bad)
		var ve *crm.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("want a validation error, got %v", err)
		}
		fields := map[string]bool{}
		for _, f := range ve.Fields {
			fields[f.Field] = true
		}
		for _, f := range []string{"amount", "account_id", "stage", "currency"} {
			if !fields[f] {
				t.Errorf("no error for %s in %v", f, ve)
			}
		}
		page, _ := s.Opportunities.List(ctx, crm.System, store.ListQuery{})
		after, _ := s.AuditLog(ctx, crm.System, "", 0, 1000)
		if len(page.Items) != len(pageBefore.Items) || len(after) != len(before) {
			t.Errorf("a refused write left rows behind: %d deals, audit %d → %d", len(page.Items), len(before), len(after))
		}
		// Duplicate email and external id are refused with the field named.
		dup := crm.User{Email: "ADMIN@example.com", Name: "x", Role: crm.RoleRep, Active: true}
		if err := s.Users.Create(ctx, crm.System, &dup); !errors.As(err, &ve) || ve.Fields[0].Field != "email" {
			t.Errorf("duplicate email: %v", err)
		}
		// Unknown filters are named.
		if _, err := s.Opportunities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"colour": "red"}}); !errors.As(err, &ve) || ve.Fields[0].Field != "colour" {
			t.Errorf("unknown filter: %v", err)
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		for i := range 7 {
			v := o.NewOpp(o.RepA1, "10")
			if i%2 == 0 {
				v.Stage = "Closed Won"
			}
			mustCreate(t, s.Opportunities, crm.System, v)
		}
		var seen int
		q := store.ListQuery{Filters: map[string]string{"is_won": "true"}, Limit: 3}
		for {
			page, err := s.Opportunities.List(ctx, crm.System, q)
			if err != nil {
				t.Fatal(err)
			}
			seen += len(page.Items)
			for _, v := range page.Items {
				if !v.IsWon {
					t.Errorf("filter is_won=true returned %+v", v)
				}
			}
			if page.Next == 0 {
				break
			}
			q.After = page.Next
		}
		if seen != 4 {
			t.Errorf("paged through %d won deals, want 4", seen)
		}
		page, err := s.Opportunities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"closed_at_from": time.Now().Format("2006-01-02")}})
		if err != nil || len(page.Items) != 4 {
			t.Errorf("closed_at_from: %d items, %v", len(page.Items), err)
		}
	})
}

func TestFiscalYearAndCurrencies(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		if err := s.UpdateSettings(ctx, crm.System, crm.Settings{FiscalYearStartMonth: 2, CorporateCurrency: "USD"}); err != nil {
			t.Fatal(err)
		}
		cal, err := s.Calendar(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := cal.PeriodOf(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), crm.GrainQuarter)
		if p.String() != "FY2025-Q4" {
			t.Errorf("2025-01-15 with a February year is %s, want FY2025-Q4", p)
		}
		p = cal.PeriodOf(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), crm.GrainQuarter)
		if p.String() != "FY2026-Q1" {
			t.Errorf("2025-02-01 with a February year is %s, want FY2026-Q1", p)
		}
		for _, r := range []crm.ExchangeRate{
			{Currency: "EUR", ValidFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Rate: dec("1.10")},
			{Currency: "EUR", ValidFrom: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), Rate: dec("1.05")},
		} {
			if err := s.PutExchangeRate(ctx, crm.System, r); err != nil {
				t.Fatal(err)
			}
		}
		rt, err := s.RateTable(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			day  time.Time
			want string
		}{{time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), "110"}, {time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), "105"}} {
			got, err := rt.Convert(dec("100"), "EUR", c.day)
			if err != nil || !got.Equal(dec(c.want)) {
				t.Errorf("100 EUR on %s = %s (%v), want %s", c.day.Format("2006-01-02"), got, err, c.want)
			}
		}
		if err := s.PutExchangeRate(ctx, crm.System, crm.ExchangeRate{Currency: "ZZZ", ValidFrom: time.Now(), Rate: dec("1")}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("unknown currency rate: %v", err)
		}
		if err := s.UpdateSettings(ctx, crm.System, crm.Settings{FiscalYearStartMonth: 13, CorporateCurrency: "USD"}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("month 13 accepted: %v", err)
		}
	})
}

func rowsOf(n int, first int64, accountID, ownerID int64) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			row := []any{first + int64(i), "Bulk deal", accountID, ownerID, decimal.New(int64(i)*100+99, -2), "USD", "Prospecting",
				"pipeline", "new", created, created, false, false, ptr(crm.NewDate(created.AddDate(0, 3, 0)))}
			if !yield(row, nil) {
				return
			}
		}
	}
}

var bulkColumns = []string{"id", "name", "account_id", "owner_id", "amount", "currency", "stage", "forecast_category", "deal_type",
	"created_at", "updated_at", "is_closed", "is_won", "expected_close"}

func TestBulkLoad(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		const n = 5000
		err := s.WithBulk(ctx, func(b *store.Bulk) error {
			first, err := b.AllocIDs(ctx, n)
			if err != nil {
				return err
			}
			got, err := b.Load(ctx, "opportunities", bulkColumns, rowsOf(n, first, o.Account.ID, o.RepA1.ID))
			if got != n {
				t.Errorf("loaded %d rows, want %d", got, n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var count int
		var sum string
		if err := s.DB().QueryRow(`SELECT COUNT(*), CAST(SUM(amount) AS VARCHAR) FROM opportunities`).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		// sum of (i*100+99)/100 for i < n
		want := decimal.New(int64(n*(n-1)/2*100+99*n), -2)
		if count != n+3 || !dec(sum).Sub(dec("600")).Equal(want) {
			t.Errorf("after bulk load: %d rows summing %s, want %d and %s", count, sum, n, want)
		}
		// New ids after a bulk load do not collide with it.
		v := o.NewOpp(o.RepA1, "1")
		mustCreate(t, s.Opportunities, crm.System, v)
		// A failing load leaves nothing behind.
		err = s.WithBulk(ctx, func(b *store.Bulk) error {
			if _, err := b.Load(ctx, "opportunities", bulkColumns, rowsOf(10, 10_000_000, o.Account.ID, o.RepA1.ID)); err != nil {
				return err
			}
			return errors.New("stop after loading")
		})
		if err == nil {
			t.Fatal("want the error back")
		}
		s.DB().QueryRow(`SELECT COUNT(*) FROM opportunities`).Scan(&count)
		if count != n+4 {
			t.Errorf("a rolled-back bulk load left rows: %d, want %d", count, n+4)
		}
	})
}

// A migration for one engine runs there and is only recorded on the other,
// so both have one sequence of versions.
func TestEngineMigration(t *testing.T) {
	indexes := map[string]string{
		"duckdb":   `SELECT COUNT(*) FROM duckdb_indexes() WHERE index_name = 'activities_lead'`,
		"postgres": `SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'activities_lead'`,
	}
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			var recorded, index int
			if err := s.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = '016_activities_lead.postgres.sql'`).Scan(&recorded); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().QueryRow(indexes[e.Name]).Scan(&index); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"duckdb": 0, "postgres": 1}[e.Name]
			if recorded != 1 || index != want {
				t.Errorf("migration recorded %d times, index present %d times; want 1 and %d", recorded, index, want)
			}
		})
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dsn := storetest.DSNFor(t, e.Name)
			for range 2 {
				s, err := store.Open(ctx, dsn, nil)
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.SchemaVersion(ctx)
				s.Close()
				if err != nil || v < 1 {
					t.Fatalf("schema version %d, %v", v, err)
				}
			}
		})
	}
}

// Two writers changing different fields of one record at once never lose
// one's change silently: on PostgreSQL the second waits for the first and
// both land; on DuckDB the second may be refused with a conflict instead.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		l := crm.Lead{LastName: "Shared", Status: crm.LeadNew, CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.Leads.Create(ctx, crm.System, &l))
		held := make(chan struct{})
		second := make(chan error, 1)
		err := s.WithBulk(ctx, func(b *store.Bulk) error {
			if _, err := s.Leads.UpdateIn(ctx, b, crm.System, l.ID, func(v *crm.Lead) error { v.OwnerID = &o.RepA1.ID; return nil }); err != nil {
				return err
			}
			go func() {
				close(held)
				_, err := s.Leads.Update(ctx, crm.System, l.ID, func(v *crm.Lead) error { v.Title = "CTO"; return nil })
				second <- err
			}()
			<-held
			time.Sleep(200 * time.Millisecond) // the second writer reads while this one holds its change
			return nil
		})
		storetest.Must(t, err)
		errSecond := <-second
		got, err := s.Leads.Get(ctx, crm.System, l.ID)
		storetest.Must(t, err)
		if got.OwnerID == nil || *got.OwnerID != o.RepA1.ID {
			t.Errorf("the first writer's owner was lost: %v (second writer: %v)", got.OwnerID, errSecond)
		}
		switch {
		case errSecond == nil && got.Title != "CTO":
			t.Errorf("the second writer succeeded but its title was lost: %q", got.Title)
		case errSecond != nil && s.Engine() == "postgres":
			t.Errorf("on PostgreSQL the second writer should wait, not fail: %v", errSecond)
		}
	})
}

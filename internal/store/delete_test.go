package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// TestDelete: who may delete what, that a record others point at is kept
// (naming them), that its own rows go with it, and that the delete is
// audited with the record as it was.
func TestDelete(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		sys := crm.System
		lead := func(owner crm.User) *crm.Lead {
			l := &crm.Lead{FirstName: "Ada", Company: "Lovelace Ltd", Email: "ada@lovelace.example", OwnerID: &owner.ID}
			storetest.Must(t, s.Leads.Create(ctx, sys, l))
			return l
		}
		activity := func(owner crm.User, link func(a *crm.Activity)) *crm.Activity {
			a := &crm.Activity{Kind: crm.ActivityCall, OwnerID: owner.ID, OccurredAt: time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)}
			link(a)
			storetest.Must(t, s.Activities.Create(ctx, sys, a))
			return a
		}
		closed := o.NewOpp(o.RepA1, "500")
		closed.Stage = "Closed Won"
		storetest.Must(t, s.Opportunities.Create(ctx, sys, closed))
		busyLead := lead(o.RepA1)
		calls := []*crm.Activity{activity(o.RepA1, func(a *crm.Activity) { a.LeadID = &busyLead.ID }),
			activity(o.RepA1, func(a *crm.Activity) { a.LeadID = &busyLead.ID })}
		contact := &crm.Contact{FirstName: "Grace", AccountID: &o.Account.ID, OwnerID: &o.RepA1.ID}
		storetest.Must(t, s.Contacts.Create(ctx, sys, contact))

		cases := []struct {
			name string
			as   crm.User
			del  func(p crm.Principal) error
			want error  // nil: deleted
			says string // in the error
		}{
			{"a rep deletes their own lead", o.RepA1, func(p crm.Principal) error { return s.Leads.Delete(ctx, p, lead(o.RepA1).ID) }, nil, ""},
			{"a rep may not delete a converted lead", o.RepA1, func(p crm.Principal) error {
				l := lead(o.RepA1)
				_, err := s.Leads.Update(ctx, sys, l.ID, func(v *crm.Lead) error { v.Status = crm.LeadConverted; return nil })
				storetest.Must(t, err)
				return s.Leads.Delete(ctx, p, l.ID)
			}, crm.ErrForbidden, "only ops may delete a converted lead"},
			{"a rep cannot see another rep's lead", o.RepA1, func(p crm.Principal) error { return s.Leads.Delete(ctx, p, lead(o.RepB).ID) }, crm.ErrNotFound, "not found"},
			{"a manager deletes a lead of their team", o.MgrA, func(p crm.Principal) error { return s.Leads.Delete(ctx, p, lead(o.RepA2).ID) }, nil, ""},
			{"a viewer deletes nothing", o.Viewer, func(p crm.Principal) error { return s.Leads.Delete(ctx, p, lead(o.RepA1).ID) }, crm.ErrForbidden, "a viewer may not delete leads"},
			{"a lead with activities goes, they stay", o.RepA1, func(p crm.Principal) error { return s.Leads.Delete(ctx, p, busyLead.ID) }, nil, ""},
			{"a rep deletes their open deal", o.RepA1, func(p crm.Principal) error { return s.Opportunities.Delete(ctx, p, o.OppA1.ID) }, nil, ""},
			{"a rep may not delete a closed deal", o.RepA1, func(p crm.Principal) error { return s.Opportunities.Delete(ctx, p, closed.ID) }, crm.ErrForbidden, "only ops may delete a closed deal"},
			{"an account with deals and contacts is kept", o.Admin, func(p crm.Principal) error { return s.Accounts.Delete(ctx, p, o.Account.ID) }, crm.ErrConflict, "1 contact (contacts.account_id), 3 opportunities (opportunities.account_id) still point at it"},
			{"a rep may not delete an account", o.RepA1, func(p crm.Principal) error { return s.Accounts.Delete(ctx, p, o.Account.ID) }, crm.ErrForbidden, "only ops may delete an account"},
			{"a rep may not delete a contact they do not own", o.RepA2, func(p crm.Principal) error { return s.Contacts.Delete(ctx, p, contact.ID) }, crm.ErrForbidden, "you do not own it"},
			{"users are disabled, not deleted", o.Admin, func(p crm.Principal) error { return s.Users.Delete(ctx, p, o.RepB.ID) }, crm.ErrForbidden, "disable the user instead"},
			{"a missing record", o.Admin, func(p crm.Principal) error { return s.Activities.Delete(ctx, p, 987654) }, crm.ErrNotFound, "not found"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := c.del(storetest.As(c.as))
				if c.want == nil {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
				}
			})
		}
		// The lead's activities stay, unlinked, the change audited as the
		// deleter's; the refused deletes left their records.
		for _, a := range calls {
			got, err := s.Activities.Get(ctx, sys, a.ID)
			if err != nil || got.LeadID != nil {
				t.Fatalf("activity %d after its lead went: %+v %v", a.ID, got, err)
			}
			log, err := s.AuditLog(ctx, sys, "activity", a.ID, 1)
			storetest.Must(t, err)
			if len(log) != 1 || log[0].Action != "update" || *log[0].ActorID != o.RepA1.ID || !strings.Contains(string(log[0].Before), `"lead_id":`) {
				t.Fatalf("audit of the unlinked activity: %+v", log)
			}
		}
		if _, err := s.Accounts.Get(ctx, sys, o.Account.ID); err != nil {
			t.Fatalf("the kept account: %v", err)
		}
		if _, err := s.Opportunities.Get(ctx, sys, closed.ID); err != nil {
			t.Fatalf("the closed deal: %v", err)
		}
	})
}

// TestDeleteTakesItsPartsAndIsAudited: a deal's history and a lead's
// events go with them; the audit log and the change feed keep the record
// as it was.
func TestDeleteTakesItsPartsAndIsAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		sys := crm.System
		storetest.Must(t, s.WithBulk(ctx, func(b *store.Bulk) error { return b.SetWatched(ctx, []string{"opportunity"}) }))
		if _, err := s.Opportunities.Update(ctx, sys, o.OppA1.ID, func(v *crm.Opportunity) error { v.Stage = "Qualification"; return nil }); err != nil {
			t.Fatal(err)
		}
		l := &crm.Lead{FirstName: "Ada", Email: "ada@lovelace.example", OwnerID: &o.RepA1.ID}
		storetest.Must(t, s.Leads.Create(ctx, sys, l))
		storetest.Must(t, s.AddLeadEvent(ctx, sys, &crm.LeadEvent{LeadID: l.ID, Kind: "web_visit", OccurredAt: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}))

		storetest.Must(t, s.Opportunities.Delete(ctx, storetest.As(o.RepA1), o.OppA1.ID))
		storetest.Must(t, s.Leads.Delete(ctx, storetest.As(o.RepA1), l.ID))

		count := func(query string, id int64) int64 {
			var n int64
			storetest.Must(t, s.DB().QueryRowContext(ctx, query, id).Scan(&n))
			return n
		}
		for _, c := range []struct {
			query string
			id    int64
		}{
			{`SELECT COUNT(*) FROM opportunities WHERE id = $1`, o.OppA1.ID},
			{`SELECT COUNT(*) FROM opportunity_history WHERE opportunity_id = $1`, o.OppA1.ID},
			{`SELECT COUNT(*) FROM leads WHERE id = $1`, l.ID},
			{`SELECT COUNT(*) FROM lead_events WHERE lead_id = $1`, l.ID},
		} {
			if n := count(c.query, c.id); n != 0 {
				t.Errorf("%s (%d): %d rows left", c.query, c.id, n)
			}
		}
		if n := count(`SELECT COUNT(*) FROM opportunities WHERE id <> $1`, o.OppA1.ID); n != 2 {
			t.Errorf("the other deals: %d, want 2", n)
		}
		log, err := s.AuditLog(ctx, sys, "opportunity", o.OppA1.ID, 10)
		storetest.Must(t, err)
		if len(log) == 0 || log[0].Action != "delete" || log[0].ActorID == nil || *log[0].ActorID != o.RepA1.ID ||
			!strings.Contains(string(log[0].Before), `"stage":"Qualification"`) || len(log[0].After) != 0 && string(log[0].After) != "null" {
			t.Fatalf("audit of the delete: %+v", log)
		}
		var action, before string
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT action, before_json FROM change_events WHERE entity = 'opportunity' AND entity_id = $1 ORDER BY id DESC LIMIT 1`, o.OppA1.ID).Scan(&action, &before))
		if action != "delete" || !strings.Contains(before, `"name":"Deal for rep.a1@example.com"`) {
			t.Fatalf("change event: %s %s", action, before)
		}
	})
}

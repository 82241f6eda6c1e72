package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// initRepos declares, per entity, who reads and writes it, what it
// references and how it can be filtered.
func (s *Store) initRepos() {
	s.Teams = &Repo[crm.Team]{s: s, entity: "team", table: "teams", mayWrite: writeOps,
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Team) error {
			probs := crm.NewProblems("team")
			probs.Merge(v.Validate())
			refs := []ref{{"parent_id", "teams", v.ParentID, nil}, {"manager_id", "users", v.ManagerID, nil}}
			if err := s.checkRefs(ctx, q, p, probs, refs); err != nil {
				return err
			}
			if v.ParentID != nil && old != nil {
				if cyc, err := teamCycle(ctx, q, v.ID, *v.ParentID); err != nil {
					return err
				} else if cyc {
					probs.Add("parent_id", "would make the team its own ancestor")
				}
			}
			return probs.Err()
		},
		filters: map[string]filter{"parent_id": {"parent_id", filterInt}, "manager_id": {"manager_id", filterInt}, "region": {"region", filterText}},
	}
	s.Users = &Repo[crm.User]{s: s, entity: "user", table: "users", mayWrite: writeAdmin,
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.User) error {
			v.Email = strings.ToLower(strings.TrimSpace(v.Email))
			if old == nil {
				v.CreatedAt = s.now()
			} else {
				v.CreatedAt = old.CreatedAt
			}
			probs := crm.NewProblems("user")
			probs.Merge(v.Validate())
			if err := s.checkRefs(ctx, q, p, probs, []ref{{"manager_id", "users", v.ManagerID, nil}, {"team_id", "teams", v.TeamID, nil}}); err != nil {
				return err
			}
			if err := checkUnique(ctx, q, probs, "users", "email", v.Email, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		after: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.User) error {
			if old != nil && old.Active && !v.Active {
				return s.revokeAccess(ctx, q, v.ID)
			}
			return nil
		},
		filters: map[string]filter{"role": {"role", filterText}, "team_id": {"team_id", filterInt}, "manager_id": {"manager_id", filterInt}, "active": {"active", filterBool}, "email": {"email", filterText}},
	}
	s.Accounts = &Repo[crm.Account]{s: s, entity: "account", deletes: accountDeletion, table: "accounts", mayWrite: writeSellers,
		ownerOf: func(v *crm.Account) *int64 { return v.OwnerID },
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Account) error {
			v.CreatedAt = s.createdAt(v.CreatedAt, old != nil, func() time.Time { return old.CreatedAt })
			probs := crm.NewProblems("account")
			probs.Merge(v.Validate())
			if err := s.checkRefs(ctx, q, p, probs, []ref{{"owner_id", "users", v.OwnerID, nil}, {"parent_id", "accounts", v.ParentID, nil}}); err != nil {
				return err
			}
			if err := checkExternal(ctx, q, probs, "accounts", v.ExternalID, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"owner_id": {"owner_id", filterInt}, "industry": {"industry", filterText}, "segment": {"segment", filterText},
			"country": {"country", filterText}, "state": {"state", filterText}, "parent_id": {"parent_id", filterInt}, "external_id": {"external_id", filterText}, "name": {"name", filterText}},
	}
	s.Contacts = &Repo[crm.Contact]{s: s, entity: "contact", deletes: contactDeletion, table: "contacts", mayWrite: writeSellers,
		ownerOf: func(v *crm.Contact) *int64 { return v.OwnerID },
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Contact) error {
			v.CreatedAt = s.createdAt(v.CreatedAt, old != nil, func() time.Time { return old.CreatedAt })
			probs := crm.NewProblems("contact")
			probs.Merge(v.Validate())
			if err := s.checkRefs(ctx, q, p, probs, []ref{{"account_id", "accounts", v.AccountID, nil}, {"owner_id", "users", v.OwnerID, nil}}); err != nil {
				return err
			}
			if err := checkExternal(ctx, q, probs, "contacts", v.ExternalID, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"account_id": {"account_id", filterInt}, "owner_id": {"owner_id", filterInt}, "email": {"email", filterText}, "external_id": {"external_id", filterText}},
	}
	s.Leads = &Repo[crm.Lead]{s: s, entity: "lead", deletes: leadDeletion, table: "leads", owner: "owner_id", mayWrite: writeSellers,
		ownerOf: func(v *crm.Lead) *int64 { return v.OwnerID },
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Lead) error {
			if v.Status == "" {
				v.Status = crm.LeadNew
			}
			if old == nil && v.CreatedAt.IsZero() {
				v.CreatedAt = s.now()
			}
			probs := crm.NewProblems("lead")
			probs.Merge(v.Validate())
			if err := s.checkRefs(ctx, q, p, probs, []ref{{"owner_id", "users", v.OwnerID, nil},
				{"converted_opportunity_id", "opportunities", v.ConvertedOpportunityID, before(old, func(o *crm.Lead) *int64 { return o.ConvertedOpportunityID })}}); err != nil {
				return err
			}
			if err := checkExternal(ctx, q, probs, "leads", v.ExternalID, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"owner_id": {"owner_id", filterInt}, "status": {"status", filterText}, "source": {"source", filterText}, "channel": {"channel", filterText},
			"email": {"email", filterText}, "created_at": {"created_at", filterTime}, "external_id": {"external_id", filterText}},
	}
	s.Products = &Repo[crm.Product]{s: s, entity: "product", table: "products", mayWrite: writeOps,
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Product) error {
			probs := crm.NewProblems("product")
			probs.Merge(v.Validate())
			if err := checkCurrencyKnown(ctx, q, probs, "currency", v.Currency); err != nil {
				return err
			}
			if err := checkExternal(ctx, q, probs, "products", v.ExternalID, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"family": {"family", filterText}, "active": {"active", filterBool}, "name": {"name", filterText}, "external_id": {"external_id", filterText}},
	}
	s.Opportunities = &Repo[crm.Opportunity]{s: s, entity: "opportunity", deletes: opportunityDeletion, table: "opportunities", owner: "owner_id", mayWrite: writeSellers,
		ownerOf: func(v *crm.Opportunity) *int64 { return &v.OwnerID },
		check:   s.checkOpportunity,
		after:   s.recordStageChange,
		filters: map[string]filter{"owner_id": {"owner_id", filterInt}, "account_id": {"account_id", filterInt}, "stage": {"stage", filterText},
			"type": {"deal_type", filterText}, "source": {"source", filterText}, "currency": {"currency", filterText}, "forecast_category": {"forecast_category", filterText},
			"is_closed": {"is_closed", filterBool}, "is_won": {"is_won", filterBool}, "expected_close": {"expected_close", filterTime},
			"closed_at": {"closed_at", filterTime}, "created_at": {"created_at", filterTime}, "external_id": {"external_id", filterText}},
	}
	s.Activities = &Repo[crm.Activity]{s: s, entity: "activity", deletes: activityDeletion, table: "activities", owner: "owner_id", mayWrite: writeSellers,
		ownerOf: func(v *crm.Activity) *int64 { return &v.OwnerID },
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Activity) error {
			probs := crm.NewProblems("activity")
			probs.Merge(v.Validate())
			owner := &v.OwnerID
			if v.OwnerID == 0 {
				owner = nil
			}
			refs := []ref{{"owner_id", "users", owner, nil}, {"account_id", "accounts", v.AccountID, nil}, {"contact_id", "contacts", v.ContactID, nil},
				{"lead_id", "leads", v.LeadID, before(old, func(o *crm.Activity) *int64 { return o.LeadID })},
				{"opportunity_id", "opportunities", v.OpportunityID, before(old, func(o *crm.Activity) *int64 { return o.OpportunityID })}}
			if err := s.checkRefs(ctx, q, p, probs, refs); err != nil {
				return err
			}
			if err := checkExternal(ctx, q, probs, "activities", v.ExternalID, v.ID); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"owner_id": {"owner_id", filterInt}, "kind": {"kind", filterText}, "account_id": {"account_id", filterInt}, "contact_id": {"contact_id", filterInt},
			"lead_id": {"lead_id", filterInt}, "opportunity_id": {"opportunity_id", filterInt}, "occurred_at": {"occurred_at", filterTime}, "captured": {"captured", filterBool}},
	}
	s.Quotas = &Repo[crm.Quota]{s: s, entity: "quota", table: "quotas", mayWrite: writeOps,
		visible: func(sc scope) string {
			if sc.all {
				return "TRUE"
			}
			return "(" + inList("user_id", sc.users) + " OR " + inList("team_id", sc.teams) + ")"
		},
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Quota) error {
			cal, err := s.calendar(ctx, q)
			if err != nil {
				return err
			}
			probs := crm.NewProblems("quota")
			probs.Merge(v.Validate(cal))
			if per, err := cal.ParsePeriod(v.Period); err == nil {
				v.Period = per.String()
			}
			if err := s.checkRefs(ctx, q, p, probs, []ref{{"user_id", "users", v.UserID, nil}, {"team_id", "teams", v.TeamID, nil}}); err != nil {
				return err
			}
			if err := checkCurrencyKnown(ctx, q, probs, "currency", v.Currency); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"user_id": {"user_id", filterInt}, "team_id": {"team_id", filterInt}, "period": {"period", filterText}},
	}
	s.Costs = &Repo[crm.Cost]{s: s, entity: "cost", table: "costs", mayWrite: writeOps,
		visible: func(sc scope) string {
			if sc.all {
				return "TRUE"
			}
			return "FALSE"
		},
		check: func(ctx context.Context, q querier, p crm.Principal, old, v *crm.Cost) error {
			cal, err := s.calendar(ctx, q)
			if err != nil {
				return err
			}
			probs := crm.NewProblems("cost")
			probs.Merge(v.Validate(cal))
			if per, err := cal.ParsePeriod(v.Period); err == nil {
				v.Period = per.String()
			}
			if err := checkCurrencyKnown(ctx, q, probs, "currency", v.Currency); err != nil {
				return err
			}
			return probs.Err()
		},
		filters: map[string]filter{"period": {"period", filterText}, "category": {"category", filterText}},
	}
}

// ref is one reference a record makes: field name, target table, id (nil =
// none), and on an update the id it had before.
type ref struct {
	field string
	table string
	id    *int64
	prev  *int64
}

// before is the value a reference had before an update (nil on create).
func before[T any](old *T, field func(*T) *int64) *int64 {
	if old == nil {
		return nil
	}
	return field(old)
}

// singular names the records of each table in messages.
var singular = map[string]string{"users": "user", "teams": "team", "accounts": "account", "contacts": "contact",
	"leads": "lead", "opportunities": "opportunity", "activities": "activity", "products": "product"}

// ownerExists is exists for an owner, in the same query refusing a viewer:
// viewers see aggregates only, so they could never see what they own.
func ownerExists(ctx context.Context, q querier, probs *crm.Problems, id int64) (bool, error) {
	var role string
	err := q.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&role)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check owner_id: %w", err)
	}
	if crm.Role(role) == crm.RoleViewer {
		probs.Add("owner_id", "user %d is a viewer: viewers see aggregates only and cannot own records", id)
	}
	return true, nil
}

// ownedTables are read by owner (see Repo.owner): a reference to one of their
// rows must stay inside the writer's scope, or a rep could link their record
// to another rep's deal and read its outcome through the link.
var ownedTables = map[string]bool{"leads": true, "opportunities": true, "activities": true}

// checkRefs checks that every reference resolves, for records of owned
// tables inside p's scope (unless the update leaves it as it was). A record
// out of scope answers exactly as a missing one, so ids cannot be probed;
// the attempt is logged.
func (s *Store) checkRefs(ctx context.Context, q querier, p crm.Principal, probs *crm.Problems, refs []ref) error {
	var sc *scope
	for _, r := range refs {
		if r.id == nil {
			continue
		}
		var ok bool
		var err error
		if r.field == "owner_id" && r.table == "users" {
			ok, err = ownerExists(ctx, q, probs, *r.id)
		} else {
			ok, err = exists(ctx, q, r.table, "id", *r.id)
		}
		if err != nil {
			return err
		}
		if ok && ownedTables[r.table] && !p.Role.SeesAll() && (r.prev == nil || *r.prev != *r.id) {
			if sc == nil {
				v, err := s.scopeOf(ctx, p)
				if err != nil {
					return err
				}
				sc = &v
			}
			var owner *int64
			if err := q.QueryRowContext(ctx, `SELECT owner_id FROM `+r.table+` WHERE id = $1`, *r.id).Scan(&owner); err != nil {
				return fmt.Errorf("check %s: %w", r.field, err)
			}
			if owner == nil || !sc.hasUser(*owner) {
				s.log.Warn("access denied", "entity", singular[r.table], "id", *r.id, "user", p.UserID, "role", p.Role, "reference", r.field)
				ok = false
			}
		}
		if !ok {
			probs.Add(r.field, "no %s with id %d", singular[r.table], *r.id)
		}
	}
	return nil
}

func checkCurrencyKnown(ctx context.Context, q querier, probs *crm.Problems, field, code string) error {
	if !crm.ValidCurrencyCode(code) {
		return nil // Validate already said why
	}
	ok, err := exists(ctx, q, "currencies", "code", code)
	if err != nil {
		return err
	}
	if !ok {
		probs.Add(field, "%q is not a known currency (add it under /api/currencies)", code)
	}
	return nil
}

func checkUnique(ctx context.Context, q querier, probs *crm.Problems, table, column, value string, self int64) error {
	var other int64
	err := q.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE `+column+` = $1 AND id <> $2 LIMIT 1`, value, self).Scan(&other)
	if err == nil {
		probs.Add(column, "%q is already used", value)
		return nil
	}
	if isNoRows(err) {
		return nil
	}
	return fmt.Errorf("check unique %s.%s: %w", table, column, err)
}

func checkExternal(ctx context.Context, q querier, probs *crm.Problems, table string, ext *string, self int64) error {
	if ext == nil {
		return nil
	}
	return checkUnique(ctx, q, probs, table, "external_id", *ext, self)
}

// createdAt keeps the stored creation time on update and fills it on create.
func (s *Store) createdAt(given time.Time, updating bool, stored func() time.Time) time.Time {
	if updating {
		return stored()
	}
	if given.IsZero() {
		return s.now()
	}
	return given.UTC()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func teamCycle(ctx context.Context, q querier, team, parent int64) (bool, error) {
	for range 10000 {
		if parent == team {
			return true, nil
		}
		var next *int64
		if err := q.QueryRowContext(ctx, `SELECT parent_id FROM teams WHERE id = $1`, parent).Scan(&next); err != nil {
			if isNoRows(err) {
				return false, nil
			}
			return false, err
		}
		if next == nil {
			return false, nil
		}
		parent = *next
	}
	return true, nil
}

func (s *Store) calendar(ctx context.Context, q querier) (crm.FiscalCalendar, error) {
	var v string
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'fiscal_year_start_month'`).Scan(&v); err != nil {
		return crm.FiscalCalendar{}, fmt.Errorf("read fiscal calendar: %w", err)
	}
	var m int
	fmt.Sscan(v, &m)
	return crm.FiscalCalendar{StartMonth: time.Month(m)}, nil
}

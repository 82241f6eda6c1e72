package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Deleting a record. A record other records depend on (an account's
// contacts and deals, a deal a converted lead names) is not deleted: the
// delete is refused, naming them, so nothing is left dangling and nothing
// else disappears with it. Activities are the sellers' logged work, which
// the activity KPIs count: those linked to the record stay and lose the
// link (each change audited). What belongs to the record alone (a deal's
// stage history and line items, a lead's scores, events and segment
// memberships) goes with it in the same transaction. Logs stay: the audit
// log keeps the record as it was, routing's assignments and automation's
// runs keep what happened.

// deletion says how records of an entity are deleted.
type deletion[T any] struct {
	// may refuses deleting v when p's role may not (beyond seeing it and,
	// for reps and managers, owning it).
	may func(p crm.Principal, v *T) error
	// pointers are the references to a record of this entity: while one
	// exists, the record is not deleted.
	pointers []pointer
	// unlinks is the activities' column linking them to the record: it is
	// cleared on the activities that hold it.
	unlinks string
	// parts delete (or adjust) the rows that belong to the record; $1 is its id.
	parts []string
}

// pointer is a column of table holding ids of the entity; one and many
// name its records in messages.
type pointer struct {
	table, column, one, many string
}

// Delete removes one record, audited with its last state, in one
// transaction with its parts. A record p may not see answers ErrNotFound,
// one p sees but may not delete ErrForbidden, one others point at
// ErrConflict naming them.
func (r *Repo[T]) Delete(ctx context.Context, p crm.Principal, id int64) error {
	if r.deletes == nil || !r.mayWrite(p) {
		return r.deleteForbidden(p)
	}
	defer r.written()
	return r.s.rowWrite(ctx, id, func(tx *sql.Tx) error { return r.delete(ctx, tx, p, id) },
		fmt.Sprintf("delete %s %d", r.entity, id))
}

// DeleteIn is Delete inside b's transaction.
func (r *Repo[T]) DeleteIn(ctx context.Context, b *Bulk, p crm.Principal, id int64) error {
	if r.deletes == nil || !r.mayWrite(p) {
		return r.deleteForbidden(p)
	}
	defer r.written()
	return r.delete(ctx, b.conn, p, id)
}

func (r *Repo[T]) deleteForbidden(p crm.Principal) error {
	if r.deletes == nil {
		return fmt.Errorf("delete %s: %w", r.entity, crm.Refuse("%s records are not deleted: %s", r.entity, notDeletedWhy[r.table]))
	}
	return fmt.Errorf("delete %s: %w", r.entity, crm.Refuse("a %s may not delete %s", p.Role, r.table))
}

// notDeletedWhy says what to do instead for the entities without deletion.
var notDeletedWhy = map[string]string{
	"users":    "disable the user instead: their records and history keep their owner",
	"teams":    "move the team's members and sub-teams, then rename or keep it",
	"products": "mark the product inactive instead: won deals keep their line items",
	"quotas":   "set the amount to what it should be: the change is audited",
	"costs":    "set the amount to what it should be: the change is audited",
}

func (r *Repo[T]) delete(ctx context.Context, tx querier, p crm.Principal, id int64) error {
	lock := ""
	if r.s.Engine() == "postgres" {
		lock = " FOR UPDATE"
	}
	old, err := r.get(ctx, tx, p, id, lock)
	if err != nil {
		return err
	}
	if r.ownerOf != nil && !p.Role.SeesAll() {
		sc, err := r.s.scopeOf(ctx, p)
		if err != nil {
			return err
		}
		if o := r.ownerOf(old); o == nil || !sc.hasUser(*o) {
			return fmt.Errorf("delete %s %d: %w", r.entity, id, crm.Refuse("you do not own it"))
		}
	}
	if r.deletes.may != nil {
		if err := r.deletes.may(p, old); err != nil {
			return fmt.Errorf("delete %s %d: %w", r.entity, id, err)
		}
	}
	var held []string
	for _, pt := range r.deletes.pointers {
		var n int64
		query := `SELECT COUNT(*) FROM ` + pt.table + ` WHERE ` + pt.column + ` = $1`
		if pt.table == r.table {
			query += ` AND id <> $1`
		}
		if err := tx.QueryRowContext(ctx, query, id).Scan(&n); err != nil {
			return fmt.Errorf("delete %s %d: count %s: %w", r.entity, id, pt.many, err)
		}
		switch {
		case n == 1:
			held = append(held, fmt.Sprintf("1 %s (%s.%s)", pt.one, pt.table, pt.column))
		case n > 1:
			held = append(held, fmt.Sprintf("%d %s (%s.%s)", n, pt.many, pt.table, pt.column))
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("delete %s %d: %s still point at it; delete them or point them elsewhere first: %w",
			r.entity, id, strings.Join(held, ", "), crm.ErrConflict)
	}
	if r.deletes.unlinks != "" {
		if err := r.s.unlinkActivities(ctx, tx, p, r.deletes.unlinks, id); err != nil {
			return fmt.Errorf("delete %s %d: %w", r.entity, id, err)
		}
	}
	for _, q := range r.deletes.parts {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("delete %s %d: %w", r.entity, id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+r.table+` WHERE id = $1`, id); err != nil {
		return r.writeError("delete", err)
	}
	return r.s.audit(ctx, tx, p, "delete", r.entity, id, old, nil)
}

// closedDealsByOps keeps won and lost deals, which quotas, forecasts and
// pay were measured on, to ops and admin.
func closedDealsByOps(p crm.Principal, v *crm.Opportunity) error {
	if v.IsClosed && !p.Role.SeesAll() {
		return crm.Refuse("the deal is closed (%s): only ops may delete a closed deal, which quotas and pay were measured on", v.Stage)
	}
	return nil
}

// convertedLeadsByOps keeps converted leads, which lead conversion and
// marketing's figures were measured on, to ops and admin.
func convertedLeadsByOps(p crm.Principal, v *crm.Lead) error {
	if v.Status == crm.LeadConverted && !p.Role.SeesAll() {
		return crm.Refuse("the lead is converted: only ops may delete a converted lead, which lead conversion was measured on")
	}
	return nil
}

// opsOnly keeps deleting shared records (accounts) to ops and admin.
func opsOnly[T any](p crm.Principal, _ *T) error {
	if !p.Role.SeesAll() {
		return crm.Refuse("only ops may delete an account, which every seller shares")
	}
	return nil
}

// unlinkActivities clears column (lead_id, ...) on the activities linked to
// id, each change audited as p's.
func (s *Store) unlinkActivities(ctx context.Context, q querier, p crm.Principal, column string, id int64) error {
	linked, err := queryAll[crm.Activity](ctx, q, "activities", column+" = $1 ORDER BY id", id)
	if err != nil {
		return err
	}
	for _, old := range linked {
		v := old
		switch column {
		case "lead_id":
			v.LeadID = nil
		case "opportunity_id":
			v.OpportunityID = nil
		case "contact_id":
			v.ContactID = nil
		case "account_id":
			v.AccountID = nil
		default:
			return fmt.Errorf("unlink activities: unknown link %s", column)
		}
		if _, err := q.ExecContext(ctx, `UPDATE activities SET `+column+` = NULL WHERE id = $1`, v.ID); err != nil {
			return fmt.Errorf("unlink activity %d: %w", v.ID, err)
		}
		if err := s.audit(ctx, q, p, "update", "activity", v.ID, &old, &v); err != nil {
			return err
		}
	}
	return nil
}

// The deletions of the entities that have one.
var (
	accountDeletion = &deletion[crm.Account]{may: opsOnly[crm.Account], unlinks: "account_id", pointers: []pointer{
		{"contacts", "account_id", "contact", "contacts"}, {"opportunities", "account_id", "opportunity", "opportunities"},
		{"accounts", "parent_id", "child account", "child accounts"}}}
	contactDeletion = &deletion[crm.Contact]{unlinks: "contact_id"}
	leadDeletion    = &deletion[crm.Lead]{may: convertedLeadsByOps, unlinks: "lead_id",
		parts: []string{
			`UPDATE scoring_models SET scored_leads = scored_leads - 1 WHERE id IN (SELECT model_id FROM lead_scores WHERE lead_id = $1)`,
			`DELETE FROM lead_scores WHERE lead_id = $1`, `DELETE FROM lead_score_log WHERE lead_id = $1`,
			`DELETE FROM lead_predictions WHERE lead_id = $1`, `DELETE FROM lead_segment_members WHERE lead_id = $1`,
			`DELETE FROM lead_events WHERE lead_id = $1`}}
	opportunityDeletion = &deletion[crm.Opportunity]{may: closedDealsByOps, unlinks: "opportunity_id",
		pointers: []pointer{{"leads", "converted_opportunity_id", "converted lead", "converted leads"}},
		parts:    []string{`DELETE FROM opportunity_history WHERE opportunity_id = $1`, `DELETE FROM line_items WHERE opportunity_id = $1`}}
	activityDeletion = &deletion[crm.Activity]{}
)

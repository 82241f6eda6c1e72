package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"time"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// checkOpportunity validates a deal and derives what follows from its stage:
// closed / won flags, the close date, and the default forecast category.
func (s *Store) checkOpportunity(ctx context.Context, q querier, p crm.Principal, old, v *crm.Opportunity) error {
	now := s.now()
	v.CreatedAt = s.createdAt(v.CreatedAt, old != nil, func() time.Time { return old.CreatedAt })
	v.UpdatedAt = now
	if v.Type == "" {
		v.Type = crm.DealNew
	}
	probs := crm.NewProblems("opportunity")
	probs.Merge(v.Validate())
	owner := &v.OwnerID
	if v.OwnerID == 0 {
		owner = nil
	}
	account := &v.AccountID
	if v.AccountID == 0 {
		account = nil
	}
	if err := s.checkRefs(ctx, q, p, probs, []ref{{"account_id", "accounts", account, nil}, {"owner_id", "users", owner, nil}}); err != nil {
		return err
	}
	if err := checkCurrencyKnown(ctx, q, probs, "currency", v.Currency); err != nil {
		return err
	}
	if err := checkExternal(ctx, q, probs, "opportunities", v.ExternalID, v.ID); err != nil {
		return err
	}
	if v.Stage != "" {
		st, err := stageByName(ctx, q, v.Stage)
		if err != nil {
			return err
		}
		if st == nil {
			probs.Add("stage", "%q is not a pipeline stage", v.Stage)
		} else {
			v.IsClosed = st.Kind != crm.StageOpen
			v.IsWon = st.Kind == crm.StageWon
			stageChanged := old == nil || old.Stage != v.Stage
			if v.ForecastCategory == "" || (stageChanged && v.IsClosed) {
				v.ForecastCategory = st.ForecastCategory
			}
			switch {
			case v.IsClosed && v.ClosedAt == nil:
				d := crm.NewDate(now)
				v.ClosedAt = &d
			case !v.IsClosed:
				v.ClosedAt = nil
				v.LossReason = ""
			}
		}
	}
	return probs.Err()
}

// recordStageChange appends to the stage history whenever stage, amount,
// close date or forecast category changed (and on creation).
func (s *Store) recordStageChange(ctx context.Context, q querier, p crm.Principal, old, v *crm.Opportunity) error {
	if old != nil && old.Stage == v.Stage && old.Amount.Equal(v.Amount) && old.ForecastCategory == v.ForecastCategory &&
		reflect.DeepEqual(old.ExpectedClose, v.ExpectedClose) && reflect.DeepEqual(old.Probability, v.Probability) {
		return nil
	}
	id, err := s.allocIDs(ctx, 1)
	if err != nil {
		return err
	}
	var by *int64
	if p.UserID != 0 {
		by = &p.UserID
	}
	ch := crm.StageChange{ID: id, OpportunityID: v.ID, ChangedAt: v.UpdatedAt, Stage: v.Stage, Amount: v.Amount,
		ExpectedClose: v.ExpectedClose, ForecastCategory: v.ForecastCategory, Probability: v.Probability, ChangedBy: by}
	if old == nil {
		ch.ChangedAt = v.CreatedAt
	}
	cols := fieldsOf(reflect.TypeOf(ch)).columns
	_, err = q.ExecContext(ctx, "INSERT INTO opportunity_history ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")", values(ch)...)
	if err != nil {
		return fmt.Errorf("record stage history: %w", err)
	}
	return nil
}

// History lists an opportunity's changes, oldest first.
func (s *Store) History(ctx context.Context, p crm.Principal, opportunityID int64) ([]crm.StageChange, error) {
	if _, err := s.Opportunities.Get(ctx, p, opportunityID); err != nil {
		return nil, err
	}
	return queryAll[crm.StageChange](ctx, s.db, "opportunity_history", "opportunity_id = $1 ORDER BY changed_at, id", opportunityID)
}

// LineItems lists an opportunity's products.
func (s *Store) LineItems(ctx context.Context, p crm.Principal, opportunityID int64) ([]crm.LineItem, error) {
	if _, err := s.Opportunities.Get(ctx, p, opportunityID); err != nil {
		return nil, err
	}
	return queryAll[crm.LineItem](ctx, s.db, "line_items", "opportunity_id = $1 ORDER BY id", opportunityID)
}

// AddLineItem puts a product on an opportunity the principal may change.
// A zero unit price takes the product's list price; the total is computed.
func (s *Store) AddLineItem(ctx context.Context, p crm.Principal, li *crm.LineItem) error {
	if !writeSellers(p) {
		return crm.ErrForbidden
	}
	opp, err := s.Opportunities.Get(ctx, p, li.OpportunityID)
	if err != nil {
		return err
	}
	if err := s.Opportunities.checkOwner(ctx, p, opp, opp); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		probs := crm.NewProblems("line item")
		var listPrice decimal.Decimal
		err := tx.QueryRowContext(ctx, `SELECT list_price FROM products WHERE id = $1`, li.ProductID).Scan(&decimalScanner{dst: &listPrice})
		if isNoRows(err) {
			probs.Add("product_id", "no product with id %d", li.ProductID)
		} else if err != nil {
			return err
		}
		if li.UnitPrice.IsZero() {
			li.UnitPrice = listPrice
		}
		li.TotalPrice = li.Quantity.Mul(li.UnitPrice).Round(2)
		probs.Merge(li.Validate())
		if err := probs.Err(); err != nil {
			return err
		}
		id, err := s.allocIDs(ctx, 1)
		if err != nil {
			return err
		}
		li.ID = id
		cols := fieldsOf(reflect.TypeOf(*li)).columns
		if _, err := tx.ExecContext(ctx, "INSERT INTO line_items ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")", values(li)...); err != nil {
			return fmt.Errorf("add line item: %w", err)
		}
		return s.audit(ctx, tx, p, "create", "line_item", id, nil, li)
	})
}

// LeadEvents lists a lead's engagement, oldest first.
func (s *Store) LeadEvents(ctx context.Context, p crm.Principal, leadID int64) ([]crm.LeadEvent, error) {
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return nil, err
	}
	return queryAll[crm.LeadEvent](ctx, s.db, "lead_events", "lead_id = $1 ORDER BY occurred_at, id", leadID)
}

// AddLeadEvent records an engagement of a lead the principal may see.
func (s *Store) AddLeadEvent(ctx context.Context, p crm.Principal, e *crm.LeadEvent) error {
	if !writeSellers(p) {
		return crm.ErrForbidden
	}
	if _, err := s.Leads.Get(ctx, p, e.LeadID); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	id, err := s.allocIDs(ctx, 1)
	if err != nil {
		return err
	}
	e.ID = id
	cols := fieldsOf(reflect.TypeOf(*e)).columns
	// Audited like line items: an event moves the lead's score.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO lead_events ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")", values(e)...); err != nil {
			return fmt.Errorf("add lead event: %w", err)
		}
		return s.audit(ctx, tx, p, "create", "lead_event", e.ID, nil, e)
	})
}

// queryAll reads every row of table matching where.
func queryAll[T any](ctx context.Context, q querier, table, where string, args ...any) ([]T, error) {
	var zero T
	query := "SELECT " + columnList(fieldsOf(reflect.TypeOf(zero)).columns) + " FROM " + table + " WHERE " + where
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := rows.Scan(scanTargets(&v)...); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

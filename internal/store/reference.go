package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// Reference data: pipeline stages, currencies and exchange rates. Everyone
// but viewers reads them; ops and admin change them.

func stageByName(ctx context.Context, q querier, name string) (*crm.Stage, error) {
	st, err := queryAll[crm.Stage](ctx, q, "stages", "name = $1", name)
	if err != nil || len(st) == 0 {
		return nil, err
	}
	return &st[0], nil
}

// Stages lists the pipeline stages in order.
func (s *Store) Stages(ctx context.Context) ([]crm.Stage, error) {
	return queryAll[crm.Stage](ctx, s.db, "stages", "TRUE ORDER BY stage_order, name")
}

// PutStage creates or replaces a stage definition. A stage in use may change
// probability, order and category, but not kind (that would rewrite history).
func (s *Store) PutStage(ctx context.Context, p crm.Principal, st crm.Stage) error {
	if !writeOps(p) {
		return crm.ErrForbidden
	}
	if err := st.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := stageByName(ctx, tx, st.Name)
		if err != nil {
			return err
		}
		if old != nil && old.Kind != st.Kind {
			if used, err := exists(ctx, tx, "opportunities", "stage", st.Name); err != nil {
				return err
			} else if used {
				return crm.Invalid("stage", "kind", "cannot change the kind of a stage that opportunities are in")
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM stages WHERE name = $1`, st.Name); err != nil {
			return fmt.Errorf("replace stage: %w", err)
		}
		cols := fieldsOf(reflect.TypeOf(st)).columns
		if _, err := tx.ExecContext(ctx, "INSERT INTO stages ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")", values(st)...); err != nil {
			return fmt.Errorf("save stage: %w", err)
		}
		return s.audit(ctx, tx, p, "put", "stage", 0, old, st)
	})
}

// Currencies lists the known currencies.
func (s *Store) Currencies(ctx context.Context) ([]crm.Currency, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code, name FROM currencies ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("read currencies: %w", err)
	}
	defer rows.Close()
	out := []crm.Currency{}
	for rows.Next() {
		var c crm.Currency
		if err := rows.Scan(&c.Code, &c.Name); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutCurrency adds or renames a currency.
func (s *Store) PutCurrency(ctx context.Context, p crm.Principal, c crm.Currency) error {
	if !writeOps(p) {
		return crm.ErrForbidden
	}
	c.Code = strings.ToUpper(strings.TrimSpace(c.Code))
	probs := crm.NewProblems("currency")
	probs.Require(crm.ValidCurrencyCode(c.Code), "code", "is not a 3-letter ISO 4217 code")
	probs.Require(strings.TrimSpace(c.Name) != "", "name", "is required")
	if err := probs.Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM currencies WHERE code = $1`, c.Code); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO currencies (code, name) VALUES ($1, $2)`, c.Code, c.Name); err != nil {
			return fmt.Errorf("save currency: %w", err)
		}
		return s.audit(ctx, tx, p, "put", "currency", 0, nil, c)
	})
}

// ExchangeRates lists every dated rate.
func (s *Store) ExchangeRates(ctx context.Context) ([]crm.ExchangeRate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT currency, valid_from, rate FROM exchange_rates ORDER BY currency, valid_from`)
	if err != nil {
		return nil, fmt.Errorf("read exchange rates: %w", err)
	}
	defer rows.Close()
	out := []crm.ExchangeRate{}
	for rows.Next() {
		var r crm.ExchangeRate
		var d crm.Date
		if err := rows.Scan(&r.Currency, &d, &decimalScanner{dst: &r.Rate}); err != nil {
			return nil, err
		}
		r.ValidFrom = d.Time
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutExchangeRate sets the rate of a currency to the corporate currency from a day on.
// Rates are money: the change is audited with the previous rate.
func (s *Store) PutExchangeRate(ctx context.Context, p crm.Principal, r crm.ExchangeRate) error {
	if !writeOps(p) {
		return crm.ErrForbidden
	}
	probs := crm.NewProblems("exchange rate")
	crm.CheckRate(probs, "rate", r.Rate)
	probs.Require(!r.ValidFrom.IsZero(), "valid_from", "is required")
	day := crm.NewDate(r.ValidFrom)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkCurrencyKnown(ctx, tx, probs, "currency", r.Currency); err != nil {
			return err
		}
		probs.Require(crm.ValidCurrencyCode(r.Currency), "currency", "is not a 3-letter ISO 4217 code")
		if err := probs.Err(); err != nil {
			return err
		}
		var before *decimal.Decimal
		if err := tx.QueryRowContext(ctx, `SELECT rate FROM exchange_rates WHERE currency = $1 AND valid_from = $2`, r.Currency, day).
			Scan(&nullDecimalScanner{dst: &before}); err != nil && !isNoRows(err) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM exchange_rates WHERE currency = $1 AND valid_from = $2`, r.Currency, day); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO exchange_rates (currency, valid_from, rate) VALUES ($1, $2, $3)`, r.Currency, day, r.Rate.String()); err != nil {
			return fmt.Errorf("save exchange rate: %w", err)
		}
		return s.audit(ctx, tx, p, "put", "exchange_rate", 0, before, r)
	})
}

// RateTable loads every rate into a converter to the corporate currency.
func (s *Store) RateTable(ctx context.Context) (*crm.RateTable, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	rates, err := s.ExchangeRates(ctx)
	if err != nil {
		return nil, err
	}
	return crm.NewRateTable(st.CorporateCurrency, rates)
}

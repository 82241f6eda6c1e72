package metrics

import (
	"context"
	"fmt"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// periodRow is an amount booked against a fiscal period (a quota or a cost).
type periodRow struct {
	userID   int64
	period   crm.Period
	amount   decimal.Decimal
	currency string
}

// convertAt converts an amount at the rate of day; ok is false without a rate.
func (sel *selection) convertAt(amount decimal.Decimal, currency string, day crm.Period) (decimal.Decimal, bool) {
	v, err := sel.rates.Convert(amount, currency, day.Start)
	return v, err == nil
}

func months(p crm.Period) int {
	switch p.Grain {
	case crm.GrainMonth:
		return 1
	case crm.GrainQuarter:
		return 3
	}
	return 12
}

func within(inner, outer crm.Period) bool {
	return !inner.Start.Before(outer.Start) && !inner.End.After(outer.End)
}

// quotas reads the personal quotas of the selection's users for the period
// and resolves each user's quota for it:
//
//  1. the quota for exactly that period, if there is one;
//  2. else the sum of the quotas of the finer periods inside it (a year's
//     quarters, or else its months; a quarter's months);
//  3. else the share of the quota of the period containing it, by months
//     (a quarter of a year quota is a quarter of it; a month of a quarter
//     quota a third).
//
// Each quota row converts at the rate of its period's first day. A quota
// row with no rate is left out and counted in unconverted. Team quotas are
// not used here. With no period (all time) there are no quotas.
func (sel *selection) quotas(ctx context.Context, s *store.Store) (map[int64]decimal.Decimal, int64, error) {
	if sel.quotaCache != nil {
		return sel.quotaCache, sel.quotaUnconverted, nil
	}
	q, n, err := sel.readQuotas(ctx, s)
	if err == nil {
		sel.quotaCache, sel.quotaUnconverted = q, n
	}
	return q, n, err
}

func (sel *selection) readQuotas(ctx context.Context, s *store.Store) (map[int64]decimal.Decimal, int64, error) {
	out := map[int64]decimal.Decimal{}
	if sel.period == nil {
		return out, 0, nil
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT user_id, period, CAST(amount AS VARCHAR), currency FROM quotas WHERE user_id IS NOT NULL AND `+
		sel.ownerCond("user_id"))
	if err != nil {
		return nil, 0, fmt.Errorf("kpi: read quotas: %w", err)
	}
	defer rows.Close()
	byUser := map[int64][]periodRow{}
	for rows.Next() {
		var r periodRow
		var per string
		if err := rows.Scan(&r.userID, &per, scanMoney(&r.amount), &r.currency); err != nil {
			return nil, 0, fmt.Errorf("kpi: read quotas: %w", err)
		}
		if _, visible := sel.users[r.userID]; !visible {
			continue
		}
		if r.period, err = sel.cal.ParsePeriod(per); err != nil {
			continue // stored periods are canonical; a bad one cannot be placed
		}
		byUser[r.userID] = append(byUser[r.userID], r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("kpi: read quotas: %w", err)
	}
	P := *sel.period
	var unconverted int64
	for user, rs := range byUser {
		var exact, finer, coarser []periodRow
		finestCoarser := 13
		coarsestFiner := 0
		for _, r := range rs {
			switch {
			case r.period.Grain == P.Grain && r.period.Start.Equal(P.Start):
				exact = append(exact, r)
			case r.period.Grain < P.Grain && within(r.period, P):
				finer = append(finer, r)
				coarsestFiner = max(coarsestFiner, months(r.period))
			case r.period.Grain > P.Grain && within(P, r.period):
				coarser = append(coarser, r)
				finestCoarser = min(finestCoarser, months(r.period))
			}
		}
		var use []periodRow
		share := decimal.NewFromInt(1)
		switch {
		case len(exact) > 0:
			use = exact
		case len(finer) > 0:
			for _, r := range finer {
				if months(r.period) == coarsestFiner {
					use = append(use, r)
				}
			}
		case len(coarser) > 0:
			for _, r := range coarser {
				if months(r.period) == finestCoarser {
					use = append(use, r)
				}
			}
			share = decimal.NewFromInt(int64(months(P))).Div(decimal.NewFromInt(int64(finestCoarser)))
		}
		if len(use) == 0 {
			continue
		}
		total := decimal.Zero
		for _, r := range use {
			v, ok := sel.convertAt(r.amount, r.currency, r.period)
			if !ok {
				unconverted++
				continue
			}
			total = total.Add(v)
		}
		out[user] = total.Mul(share).Round(2)
	}
	return out, unconverted, nil
}

// costs is the sales and marketing cost of the period: every cost row of a
// period inside it, plus a share by months of rows of a period containing
// it; every row at the rate of its period's first day. All time: every row.
// found is false when no cost row concerns the period (cost unknown).
func (sel *selection) costs(ctx context.Context, s *store.Store) (total decimal.Decimal, unconverted int64, found bool, err error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT period, CAST(amount AS VARCHAR), currency FROM costs`)
	if err != nil {
		return decimal.Zero, 0, false, fmt.Errorf("kpi: read costs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r periodRow
		var per string
		if err := rows.Scan(&per, scanMoney(&r.amount), &r.currency); err != nil {
			return decimal.Zero, 0, false, fmt.Errorf("kpi: read costs: %w", err)
		}
		if r.period, err = sel.cal.ParsePeriod(per); err != nil {
			continue
		}
		share := decimal.NewFromInt(1)
		if sel.period != nil {
			P := *sel.period
			switch {
			case within(r.period, P):
			case within(P, r.period):
				share = decimal.NewFromInt(int64(months(P))).Div(decimal.NewFromInt(int64(months(r.period))))
			default:
				continue
			}
		}
		found = true
		v, ok := sel.convertAt(r.amount, r.currency, r.period)
		if !ok {
			unconverted++
			continue
		}
		total = total.Add(v.Mul(share))
	}
	return total.Round(2), unconverted, found, rows.Err()
}

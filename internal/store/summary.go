package store

import (
	"context"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// PipelineSummary is the headline of one currency's deals: open pipeline now,
// and what closed in a period.
type PipelineSummary struct {
	Currency   string          `json:"currency"`
	OpenCount  int64           `json:"open_count"`
	OpenAmount decimal.Decimal `json:"open_amount"`
	WonCount   int64           `json:"won_count"`
	WonAmount  decimal.Decimal `json:"won_amount"`
	LostCount  int64           `json:"lost_count"`
}

// Summary aggregates the deals the principal may see (a viewer sees the
// whole organisation's aggregates), per currency, for deals closed in [from, to).
func (s *Store) Summary(ctx context.Context, p crm.Principal, from, to time.Time) ([]PipelineSummary, error) {
	cond := "TRUE"
	if p.Role != crm.RoleViewer {
		sc, err := s.scopeOf(ctx, p)
		if err != nil {
			return nil, err
		}
		cond = sc.ownerPredicate("owner_id")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT currency,
		COUNT(*) FILTER (WHERE NOT is_closed),
		SUM(amount) FILTER (WHERE NOT is_closed),
		COUNT(*) FILTER (WHERE is_won AND closed_at >= $1 AND closed_at < $2),
		SUM(amount) FILTER (WHERE is_won AND closed_at >= $1 AND closed_at < $2),
		COUNT(*) FILTER (WHERE is_closed AND NOT is_won AND closed_at >= $1 AND closed_at < $2)
		FROM opportunities WHERE `+cond+` GROUP BY currency ORDER BY currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("pipeline summary: %w", err)
	}
	defer rows.Close()
	out := []PipelineSummary{}
	for rows.Next() {
		var ps PipelineSummary
		if err := rows.Scan(&ps.Currency, &ps.OpenCount, &decimalScanner{dst: &ps.OpenAmount}, &ps.WonCount,
			&decimalScanner{dst: &ps.WonAmount}, &ps.LostCount); err != nil {
			return nil, fmt.Errorf("pipeline summary: %w", err)
		}
		out = append(out, ps)
	}
	return out, rows.Err()
}

// DealMonths are the months (their first day) in which deals were created
// or closed, oldest first, over every deal (months are not records: period
// pickers use them for every role).
func (s *Store) DealMonths(ctx context.Context) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT y, m FROM (
		SELECT EXTRACT(YEAR FROM created_at) AS y, EXTRACT(MONTH FROM created_at) AS m FROM opportunities
		UNION SELECT EXTRACT(YEAR FROM closed_at), EXTRACT(MONTH FROM closed_at) FROM opportunities WHERE closed_at IS NOT NULL
	) AS months ORDER BY y, m`)
	if err != nil {
		return nil, fmt.Errorf("deal months: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var y, m float64
		if err := rows.Scan(&y, &m); err != nil {
			return nil, fmt.Errorf("deal months: %w", err)
		}
		out = append(out, time.Date(int(y), time.Month(m), 1, 0, 0, 0, 0, time.UTC))
	}
	return out, rows.Err()
}

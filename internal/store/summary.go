package store

import (
	"context"
	"database/sql"
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

// DealDateRange is the first day a deal was created and the last day one
// closed or is expected to close, over every deal (dates are not records:
// period pickers use them for every role); zero times when there are none.
func (s *Store) DealDateRange(ctx context.Context) (first, last time.Time, err error) {
	var f, l sql.NullTime
	err = s.db.QueryRowContext(ctx, `SELECT CAST(MIN(created_at) AS DATE),
		MAX(COALESCE(closed_at, expected_close, CAST(created_at AS DATE))) FROM opportunities`).Scan(&f, &l)
	if err != nil {
		return first, last, fmt.Errorf("deal date range: %w", err)
	}
	return f.Time, l.Time, nil
}

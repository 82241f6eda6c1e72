package demo

import (
	"context"
	"math"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// A rep's call is in the corporate currency: won so far plus the commit
// deals, each converted at the rate of its day. The expected sums are worked
// out here in SQL, with each deal's rate looked up on its own, not as
// SubmitCalls does it.
func TestCallsAreInCorporateCurrency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		generate(t, s, testConfig(7))
		if _, err := SubmitCalls(ctx, s, testNow, 7); err != nil {
			t.Fatal(err)
		}
		cal, err := s.Calendar(ctx)
		storetest.Must(t, err)
		per := cal.PeriodOf(testNow, crm.GrainQuarter)
		rows, err := s.DB().QueryContext(ctx, `WITH d AS (
				SELECT o.owner_id, o.amount, o.currency,
					(o.is_won AND o.closed_at >= $1 AND o.closed_at < $2)
						OR (NOT o.is_closed AND o.expected_close >= $1 AND o.expected_close < $2 AND o.forecast_category = 'commit') AS counts,
					CASE WHEN o.is_won THEN o.closed_at ELSE o.expected_close END AS on_day
				FROM opportunities o)
			SELECT u.id,
				CAST(COALESCE(SUM(d.amount * CASE WHEN d.currency = 'USD' THEN 1 ELSE (SELECT r.rate FROM exchange_rates r
					WHERE r.currency = d.currency AND r.valid_from <= d.on_day ORDER BY r.valid_from DESC LIMIT 1) END) FILTER (WHERE d.counts), 0) AS DOUBLE PRECISION),
				CAST(COALESCE(SUM(d.amount) FILTER (WHERE d.counts), 0) AS DOUBLE PRECISION),
				CAST(f.commit_amount AS DOUBLE PRECISION)
			FROM users u
			JOIN forecast_submissions f ON f.user_id = u.id AND f.period = $3 AND f.version = 1
			LEFT JOIN d ON d.owner_id = u.id
			WHERE u.role = 'rep'
			GROUP BY u.id, f.commit_amount`, per.Start, per.End, per.String())
		storetest.Must(t, err)
		defer rows.Close()
		reps, mixed := 0, 0
		for rows.Next() {
			var id int64
			var converted, unconverted, commit float64
			storetest.Must(t, rows.Scan(&id, &converted, &unconverted, &commit))
			reps++
			// Calls are rounded to thousands.
			if math.Abs(commit-converted) > 500.01 {
				t.Errorf("rep %d committed %.0f, want %.2f rounded to thousands (%.2f before converting)", id, commit, converted, unconverted)
			}
			if math.Abs(converted-unconverted) > 1000 {
				mixed++
			}
		}
		storetest.Must(t, rows.Err())
		if reps == 0 || mixed == 0 {
			t.Fatalf("%d reps' calls, %d with deals in other currencies: the test proves nothing", reps, mixed)
		}
	})
}

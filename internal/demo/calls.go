package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// SubmitCalls has every rep submit a forecast call for the current quarter
// from their own pipeline (won so far plus their commit deals; best case and
// pipeline on top), then every manager, deepest first, roll up their direct
// reports, about one in three overriding the roll-up with a reason, as
// managers do. Calls go through the store like a user's, audited.
func SubmitCalls(ctx context.Context, s *store.Store, now time.Time, seed int64) (int, error) {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return 0, err
	}
	per := cal.PeriodOf(now, crm.GrainQuarter)
	rates, err := s.RateTable(ctx)
	if err != nil {
		return 0, err
	}
	type seller struct {
		id, manager                    int64
		role                           crm.Role
		won, commit, best, pipe        decimal.Decimal
		teamCommit, teamBest, teamPipe decimal.Decimal
	}
	people := map[int64]*seller{}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, role, COALESCE(manager_id, 0) FROM users WHERE active AND role IN ('rep', 'manager')`)
	if err != nil {
		return 0, fmt.Errorf("demo calls: %w", err)
	}
	for rows.Next() {
		var p seller
		if err := rows.Scan(&p.id, &p.role, &p.manager); err != nil {
			rows.Close()
			return 0, fmt.Errorf("demo calls: %w", err)
		}
		people[p.id] = &p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// A call is in the corporate currency: each deal's amount converts at
	// the rate of its day (the close date when won, else the expected
	// close), as the KPIs and the forecasts convert it. Summed per owner,
	// currency, day and kind first, so few amounts convert.
	rows, err = s.DB().QueryContext(ctx, `SELECT o.owner_id, o.currency, CASE WHEN o.is_won THEN o.closed_at ELSE o.expected_close END,
			CASE WHEN o.is_won THEN 'won' ELSE o.forecast_category END, CAST(SUM(o.amount) AS VARCHAR)
		FROM opportunities o
		WHERE (o.is_won AND o.closed_at >= $1 AND o.closed_at < $2)
			OR (NOT o.is_closed AND o.expected_close >= $1 AND o.expected_close < $2 AND o.forecast_category IN ('commit', 'best_case', 'pipeline'))
		GROUP BY 1, 2, 3, 4`, per.Start, per.End)
	if err != nil {
		return 0, fmt.Errorf("demo calls: %w", err)
	}
	for rows.Next() {
		var owner int64
		var currency, kind string
		var on time.Time
		var amount decimal.Decimal
		if err := rows.Scan(&owner, &currency, &on, &kind, &amount); err != nil {
			rows.Close()
			return 0, fmt.Errorf("demo calls: %w", err)
		}
		p := people[owner]
		if p == nil {
			continue
		}
		v, err := rates.Convert(amount, currency, on)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("demo calls: %w", err)
		}
		into := map[string]*decimal.Decimal{"won": &p.won, "commit": &p.commit, "best_case": &p.best, "pipeline": &p.pipe}[kind]
		*into = into.Add(v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	depth := func(id int64) int {
		d := 0
		for m := people[id].manager; m != 0 && people[m] != nil && d < len(people); m = people[m].manager {
			d++
		}
		return d
	}
	order := make([]*seller, 0, len(people))
	for _, p := range people {
		order = append(order, p)
	}
	sort.Slice(order, func(i, j int) bool { // deepest first: reports before their managers
		di, dj := depth(order[i].id), depth(order[j].id)
		if di != dj {
			return di > dj
		}
		return order[i].id < order[j].id
	})
	rng := rand.New(rand.NewPCG(uint64(seed), 0xca11))
	at := now.Add(-time.Duration(rng.IntN(48)) * time.Hour)
	s.SetClock(func() time.Time { return at })
	defer s.SetClock(time.Now)
	n := 0
	for _, p := range order {
		sub := crm.ForecastSubmission{UserID: p.id, Period: per.String()}
		if p.role == crm.RoleRep {
			sub.Commit = p.won.Add(p.commit).Round(-3)
			sub.BestCase = sub.Commit.Add(p.best).Round(-3)
			sub.Pipeline = sub.BestCase.Add(p.pipe).Round(-3)
		} else {
			if p.teamCommit.IsZero() && p.teamPipe.IsZero() {
				continue // nobody reported to them
			}
			sub.Commit, sub.BestCase, sub.Pipeline = p.teamCommit, p.teamBest, p.teamPipe
			if rng.IntN(3) == 0 {
				f := decimal.NewFromFloat(0.9 + 0.2*rng.Float64())
				sub.Commit = sub.Commit.Mul(f).Round(-3)
				if sub.BestCase.LessThan(sub.Commit) {
					sub.BestCase = sub.Commit
				}
				if sub.Pipeline.LessThan(sub.BestCase) {
					sub.Pipeline = sub.BestCase
				}
				sub.Reason = overrideReasons[rng.IntN(len(overrideReasons))]
			}
		}
		if err := s.SubmitForecast(ctx, crm.Principal{UserID: p.id, Role: p.role}, &sub); err != nil {
			return n, fmt.Errorf("demo call of user %d: %w", p.id, err)
		}
		n++
		if m := people[p.manager]; m != nil {
			m.teamCommit = m.teamCommit.Add(sub.Commit)
			m.teamBest = m.teamBest.Add(sub.BestCase)
			m.teamPipe = m.teamPipe.Add(sub.Pipeline)
		}
	}
	return n, nil
}

var overrideReasons = []string{
	"Two commit deals depend on the customer's budget approval; holding back.",
	"Procurement at our largest account signed early; adding the upside.",
	"New reps are ramping faster than their commits suggest.",
	"Renewals this quarter historically slip into the next one.",
	"Pricing change lands mid-quarter; expecting pull-forward.",
}

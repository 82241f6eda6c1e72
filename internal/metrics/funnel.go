package metrics

import (
	"context"
	"fmt"
	"slices"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// FunnelStage is one step of the funnel over the deals created in the
// period. Reached counts the deals that got to this stage or beyond (a deal
// that skipped it still passed it; a won deal passed every open stage),
// Advanced those that went beyond it, LostHere the lost deals for which it
// was the furthest stage reached (the leakage). The rest of Reached is still
// open here. The last row is the won stage: Reached is the won deals.
type FunnelStage struct {
	Stage            string   `json:"stage"`
	Reached          int64    `json:"reached"`
	Advanced         int64    `json:"advanced"`
	LostHere         int64    `json:"lost_here"`
	ConversionToNext *float64 `json:"conversion_to_next"`
	// AvgDaysInStage is the mean time deals spent in the stage, over
	// finished stays (the deal moved on, or closed); null when none did.
	AvgDaysInStage *float64 `json:"avg_days_in_stage"`
}

// Funnel follows the deals created in the filter's period through the open
// stages, from their stage history (and current stage).
func Funnel(ctx context.Context, s *store.Store, p crm.Principal, f Filter) ([]FunnelStage, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	return sel.funnel(ctx, s)
}

func (sel *selection) funnel(ctx context.Context, s *store.Store) ([]FunnelStage, error) {
	stages, err := s.Stages(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(stages, func(a, b crm.Stage) int { return int(a.Position - b.Position) })
	var open []crm.Stage
	var won *crm.Stage
	for i, st := range stages {
		switch {
		case st.Kind == crm.StageOpen:
			open = append(open, st)
		case st.Kind == crm.StageWon && won == nil:
			won = &stages[i]
		}
	}
	where, params, _ := sel.where(entOpp)
	q := render("funnel", map[string]string{"where": where}, sel.timeParams(params))
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: funnel: %w", err)
	}
	defer rows.Close()
	type reach struct {
		order         int64
		closed, isWon bool
		n             int64
	}
	var reaches []reach
	days := map[string]float64{}
	for rows.Next() {
		var part int
		var stage *string
		var maxOpen *int64
		var r reach
		var d *float64
		if err := rows.Scan(&part, &stage, &maxOpen, &r.closed, &r.isWon, &r.n, nullFloat{&d}); err != nil {
			return nil, fmt.Errorf("kpi: funnel: %w", err)
		}
		if part == 1 {
			if stage != nil && d != nil {
				days[*stage] = *d
			}
			continue
		}
		// A deal with no open stage on record entered at the first one.
		if maxOpen != nil {
			r.order = *maxOpen
		} else if len(open) > 0 {
			r.order = open[0].Position
		}
		reaches = append(reaches, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi: funnel: %w", err)
	}
	out := make([]FunnelStage, 0, len(open)+1)
	var wonCount int64
	for _, r := range reaches {
		if r.isWon {
			wonCount += r.n
		}
	}
	for _, st := range open {
		fs := FunnelStage{Stage: st.Name}
		for _, r := range reaches {
			switch {
			case r.isWon:
				fs.Reached += r.n
				fs.Advanced += r.n
			case r.order > st.Position:
				fs.Reached += r.n
				fs.Advanced += r.n
			case r.order == st.Position:
				fs.Reached += r.n
				if r.closed {
					fs.LostHere += r.n
				}
			}
		}
		fs.ConversionToNext = ratio(fs.Advanced, fs.Reached)
		if d, ok := days[st.Name]; ok {
			fs.AvgDaysInStage = ptr(d)
		}
		out = append(out, fs)
	}
	if won != nil {
		out = append(out, FunnelStage{Stage: won.Name, Reached: wonCount})
	}
	return out, nil
}

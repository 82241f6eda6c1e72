package metrics

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// FunnelStage is one row of the funnel over the deals created in the
// period: the open stages in pipeline order, then the won stages, then the
// lost ones. For an open stage, Reached counts the deals whose stage history
// (or current stage) records them in it (a deal that skipped it did not
// reach it), Advanced those of them also recorded in a later open stage, or
// won, LostHere the lost deals for which it was the furthest open stage on
// record (the leakage); the rest of Reached is still open with it as the
// furthest stage. A deal whose history holds no open stage (imported already
// closed) reaches none. For a closed stage, Reached is the number of deals that
// ended in it, and the other counts are 0.
type FunnelStage struct {
	Stage            string        `json:"stage"`
	Kind             crm.StageKind `json:"kind"` // open, won or lost
	Reached          int64         `json:"reached"`
	Advanced         int64         `json:"advanced"`
	LostHere         int64         `json:"lost_here"`
	ConversionToNext *float64      `json:"conversion_to_next"` // Advanced ÷ Reached; null when nobody reached the stage, and for closed stages
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
	// Open stages first, then won, then lost; by position within each.
	kindOrder := map[crm.StageKind]int{crm.StageOpen: 0, crm.StageWon: 1, crm.StageLost: 2}
	slices.SortStableFunc(stages, func(a, b crm.Stage) int {
		return cmp.Or(kindOrder[a.Kind]-kindOrder[b.Kind], cmp.Compare(a.Position, b.Position))
	})
	where, params, _ := sel.where(entOpp)
	q := render("funnel", map[string]string{"where": where}, sel.timeParams(params))
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: funnel: %w", err)
	}
	defer rows.Close()
	reach := map[string]FunnelStage{}
	days := map[string]float64{}
	for rows.Next() {
		var part int
		var stage string
		var r FunnelStage
		var d *float64
		if err := rows.Scan(&part, &stage, &r.Reached, &r.Advanced, &r.LostHere, nullFloat{&d}); err != nil {
			return nil, fmt.Errorf("kpi: funnel: %w", err)
		}
		if part == 1 {
			if d != nil {
				days[stage] = *d
			}
			continue
		}
		reach[stage] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi: funnel: %w", err)
	}
	out := make([]FunnelStage, 0, len(stages))
	for _, st := range stages {
		fs := reach[st.Name]
		fs.Stage, fs.Kind = st.Name, st.Kind
		if st.Kind == crm.StageOpen {
			fs.ConversionToNext = ratio(fs.Advanced, fs.Reached)
			if d, ok := days[st.Name]; ok {
				fs.AvgDaysInStage = ptr(d)
			}
		}
		out = append(out, fs)
	}
	return out, nil
}

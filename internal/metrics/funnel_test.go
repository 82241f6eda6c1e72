package metrics

import (
	"context"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// TestFunnel follows the deals created in FY2025-Q1 through their history:
//
//	D1 Prospecting 01-01 → Qualification 01-11 → Proposal 01-21 → Won 01-31
//	D2 Qualification 01-10 → Won 02-10 (skipped Prospecting: passed it)
//	D3 Prospecting 01-05 → Proposal 01-25 → Lost 03-01
//	D5 Prospecting 02-01 → Lost 02-11
//	D8 Negotiation 03-01 → Won 03-20
//	D9 Prospecting 02-15 → Proposal 03-01, still open
//
//	Prospecting:   reached 6, advanced 5 (D5 lost here), days 10, 20, 10, 14 → 13.5
//	Qualification: reached 5, advanced 5, days 10, 31 → 20.5
//	Proposal:      reached 5, advanced 3 (D3 lost here, D9 open), days 10, 35 → 22.5 (D9's stay is not finished)
//	Negotiation:   reached 3, advanced 3, days 19
//	Closed Won:    reached 3
func TestFunnel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		got, err := Funnel(ctx, s, ops, Filter{Period: "FY2025-Q1", AsOf: asOf})
		storetest.Must(t, err)
		f := func(v float64) *float64 { return &v }
		wantStages := []FunnelStage{
			{"Prospecting", 6, 5, 1, f(5.0 / 6), f(13.5)},
			{"Qualification", 5, 5, 0, f(1), f(20.5)},
			{"Proposal", 5, 3, 1, f(0.6), f(22.5)},
			{"Negotiation", 3, 3, 0, f(1), f(19)},
			{"Closed Won", 3, 0, 0, nil, nil},
		}
		if len(got) != len(wantStages) {
			t.Fatalf("got %d stages, want %d: %+v", len(got), len(wantStages), got)
		}
		eqp := func(a, b *float64) bool {
			return (a == nil) == (b == nil) && (a == nil || *a-*b < 1e-9 && *b-*a < 1e-9)
		}
		for i, w := range wantStages {
			g := got[i]
			if g.Stage != w.Stage || g.Reached != w.Reached || g.Advanced != w.Advanced || g.LostHere != w.LostHere ||
				!eqp(g.ConversionToNext, w.ConversionToNext) || !eqp(g.AvgDaysInStage, w.AvgDaysInStage) {
				t.Errorf("stage %d = %s, want %s", i, show(g), show(w))
			}
		}
		// A rep's funnel holds only their deals: D1, D2, D3, D9.
		got, err = Funnel(ctx, s, storetest.As(fx.RepA1), Filter{Period: "FY2025-Q1", AsOf: asOf})
		storetest.Must(t, err)
		if got[0].Reached != 4 || got[0].LostHere != 0 || got[2].LostHere != 1 || got[4].Reached != 2 {
			t.Errorf("rep funnel: %+v", got)
		}
	})
}

func show(s FunnelStage) string {
	p := func(v *float64) any {
		if v == nil {
			return nil
		}
		return *v
	}
	return fmtAny(s.Stage, s.Reached, s.Advanced, s.LostHere, p(s.ConversionToNext), p(s.AvgDaysInStage))
}

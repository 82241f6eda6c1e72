package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// TestFunnel follows the deals created in FY2025-Q1 through their history:
//
//	D1 Prospecting 01-01 → Qualification 01-11 → Proposal 01-21 → Won 01-31
//	D2 Qualification 01-10 → Won 02-10 (skipped Prospecting: did not reach it)
//	D3 Prospecting 01-05 → Proposal 01-25 → Lost 03-01 (skipped Qualification)
//	D5 Prospecting 02-01 → Lost 02-11
//	D8 Negotiation 03-01 → Won 03-20
//	D9 Prospecting 02-15 → Proposal 03-01, still open
//
//	Prospecting:   reached 4 (D1, D3, D5, D9), advanced 3 (D5 lost here), days 10, 20, 10, 14 → 13.5
//	Qualification: reached 2 (D1, D2), advanced 2, days 10, 31 → 20.5
//	Proposal:      reached 3 (D1, D3, D9), advanced 1 (D3 lost here, D9 open), days 10, 35 → 22.5 (D9's stay is not finished)
//	Negotiation:   reached 1 (D8), advanced 1, days 19
//	Closed Won:    3 (D1, D2, D8); Closed Lost: 2 (D3, D5)
//
// and in FY2025-Q2 the deals added below: Q1 imported already won (its
// history holds no open stage: it reached none), Q2 Qualification → Lost.
// A stage nobody reached has 0 reached and no conversion, never 100%.
func TestFunnel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		for _, d := range []struct {
			name   string
			stages []string
			at     []time.Time
		}{
			{"Q1", []string{"Closed Won"}, []time.Time{day("2025-04-02")}},
			{"Q2", []string{"Qualification", "Closed Lost"}, []time.Time{day("2025-04-03"), day("2025-04-13")}},
		} {
			s.SetClock(func() time.Time { return d.at[0] })
			exp := crm.NewDate(d.at[len(d.at)-1])
			o := &crm.Opportunity{Name: d.name, AccountID: fx.Account.ID, OwnerID: fx.RepA2.ID, Amount: decimal.NewFromInt(100), Currency: "USD",
				Stage: d.stages[0], Type: crm.DealNew, ExpectedClose: &exp, CreatedAt: d.at[0]}
			storetest.Must(t, s.Opportunities.Create(ctx, crm.System, o))
			for i, st := range d.stages[1:] {
				s.SetClock(func() time.Time { return d.at[i+1] })
				_, err := s.Opportunities.Update(ctx, crm.System, o.ID, func(x *crm.Opportunity) error { x.Stage = st; return nil })
				storetest.Must(t, err)
			}
		}
		s.SetClock(func() time.Time { return asOf })
		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		f := func(v float64) *float64 { return &v }
		open, won, lost := crm.StageOpen, crm.StageWon, crm.StageLost
		tests := []struct {
			name   string
			who    crm.Principal
			period string
			want   []FunnelStage
		}{
			{"ops, FY2025-Q1", ops, "FY2025-Q1", []FunnelStage{
				{"Prospecting", open, 4, 3, 1, f(0.75), f(13.5)},
				{"Qualification", open, 2, 2, 0, f(1), f(20.5)},
				{"Proposal", open, 3, 1, 1, f(1.0 / 3), f(22.5)},
				{"Negotiation", open, 1, 1, 0, f(1), f(19)},
				{"Closed Won", won, 3, 0, 0, nil, nil},
				{"Closed Lost", lost, 2, 0, 0, nil, nil},
			}},
			// A rep's funnel holds only their deals: D1, D2, D3, D9.
			{"rep A1, FY2025-Q1", storetest.As(fx.RepA1), "FY2025-Q1", []FunnelStage{
				{"Prospecting", open, 3, 3, 0, f(1), f(44.0 / 3)},
				{"Qualification", open, 2, 2, 0, f(1), f(20.5)},
				{"Proposal", open, 3, 1, 1, f(1.0 / 3), f(22.5)},
				{"Negotiation", open, 0, 0, 0, nil, nil},
				{"Closed Won", won, 2, 0, 0, nil, nil},
				{"Closed Lost", lost, 1, 0, 0, nil, nil},
			}},
			{"ops, FY2025-Q2", ops, "FY2025-Q2", []FunnelStage{
				{"Prospecting", open, 0, 0, 0, nil, nil},
				{"Qualification", open, 1, 0, 1, f(0), f(10)},
				{"Proposal", open, 0, 0, 0, nil, nil},
				{"Negotiation", open, 0, 0, 0, nil, nil},
				{"Closed Won", won, 1, 0, 0, nil, nil},
				{"Closed Lost", lost, 1, 0, 0, nil, nil},
			}},
		}
		eqp := func(a, b *float64) bool {
			return (a == nil) == (b == nil) && (a == nil || *a-*b < 1e-9 && *b-*a < 1e-9)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := Funnel(ctx, s, tt.who, Filter{Period: tt.period, AsOf: asOf})
				storetest.Must(t, err)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d stages, want %d: %+v", len(got), len(tt.want), got)
				}
				for i, w := range tt.want {
					g := got[i]
					if g.Stage != w.Stage || g.Kind != w.Kind || g.Reached != w.Reached || g.Advanced != w.Advanced || g.LostHere != w.LostHere ||
						!eqp(g.ConversionToNext, w.ConversionToNext) || !eqp(g.AvgDaysInStage, w.AvgDaysInStage) {
						t.Errorf("stage %d = %s, want %s", i, show(g), show(w))
					}
				}
			})
		}
	})
}

// A stage created after the closed stages (as an import creates Maven's
// Engaging, at position 7) is still an open stage, listed with the open ones
// before the won and lost stages.
func TestFunnelStageOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		storetest.Must(t, s.PutStage(ctx, crm.System, crm.Stage{Name: "Engaging", Position: 7, Probability: 0.4, Kind: crm.StageOpen, ForecastCategory: crm.ForecastPipeline}))
		storetest.Must(t, s.PutStage(ctx, crm.System, crm.Stage{Name: "Lost (no decision)", Position: 3, Probability: 0, Kind: crm.StageLost, ForecastCategory: crm.ForecastOmitted}))
		got, err := Funnel(ctx, s, storetest.As(o.Admin), Filter{})
		storetest.Must(t, err)
		var names []string
		for _, st := range got {
			names = append(names, st.Stage+" ("+string(st.Kind)+")")
		}
		want := []string{"Prospecting (open)", "Qualification (open)", "Proposal (open)", "Negotiation (open)", "Engaging (open)",
			"Closed Won (won)", "Lost (no decision) (lost)", "Closed Lost (lost)"}
		if strings.Join(names, ", ") != strings.Join(want, ", ") {
			t.Errorf("stages %s\nwant %s", strings.Join(names, ", "), strings.Join(want, ", "))
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
	return fmtAny(s.Stage, s.Kind, s.Reached, s.Advanced, s.LostHere, p(s.ConversionToNext), p(s.AvgDaysInStage))
}

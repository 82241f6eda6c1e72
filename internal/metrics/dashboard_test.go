package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// TestDashboardMatchesComputeBy: ComputeDashboard, which reads the data once
// for the total and both drill-downs, gives exactly what ComputeOverview,
// ComputeBy(team) and ComputeBy(rep) give one by one, for every role,
// several periods and every kind of filter (those that narrow the owners,
// and those under which quotas, activities or leads do not apply). Besides
// the fixture, a deal and an activity of a user without a team and a lead
// without an owner make the "(no team)" and "(no owner)" slices.
func TestDashboardMatchesComputeBy(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newFixture(t, s)
		sys := crm.System
		s.SetClock(func() time.Time { return day("2025-02-20") })
		closed := crm.NewDate(day("2025-02-20"))
		storetest.Must(t, s.Opportunities.Create(ctx, sys, &crm.Opportunity{Name: "VP deal", AccountID: fx.Beta.ID, OwnerID: fx.VP.ID,
			Amount: dec("700"), Currency: "USD", Stage: "Closed Won", Type: crm.DealNew, Source: "Web", ClosedAt: &closed,
			ExpectedClose: &closed, CreatedAt: day("2025-01-02")}))
		storetest.Must(t, s.Activities.Create(ctx, sys, &crm.Activity{Kind: crm.ActivityCall, Subject: "call", OwnerID: fx.VP.ID,
			OccurredAt: day("2025-02-19 10:00"), DurationMinutes: 25, Direction: crm.DirectionOutbound}))
		storetest.Must(t, s.Leads.Create(ctx, sys, &crm.Lead{FirstName: "Nobody's", LastName: "Lead", Company: "Orphan Inc",
			Source: "Web", Industry: "Software", Status: crm.LeadNew, CreatedAt: day("2025-02-10 09:00")}))
		s.SetClock(func() time.Time { return asOf })

		ops := crm.Principal{UserID: fx.Admin.ID, Role: crm.RoleOps}
		principals := []crm.Principal{ops, storetest.As(fx.VP), storetest.As(fx.MgrA), storetest.As(fx.RepB), storetest.As(fx.Viewer)}
		filters := []Filter{{}, {TeamID: fx.TeamA.ID}, {TeamID: fx.Region.ID}, {RepID: fx.RepA1.ID}, {Region: "East"},
			{Segment: "Enterprise"}, {Industry: "Software"}, {Source: "Web"}, {Type: "new"}, {Product: "Widget"}}
		opts := OverviewOptions{TrendPeriods: 4, PipelinePeriods: 3}
		compared, sliced := 0, 0
		for _, p := range principals {
			for _, period := range []string{"", "FY2025-Q1", "FY2025", "FY2024-M12"} {
				for _, f := range filters {
					f.Period, f.AsOf = period, asOf
					name := string(p.Role) + " " + fmtAny(p.UserID) + " " + fmtAny(f)
					got, err := ComputeDashboard(ctx, s, p, f, opts)
					var want Dashboard
					var wantErr error
					if want.Overview, wantErr = ComputeOverview(ctx, s, p, f, opts); wantErr == nil {
						if want.ByTeam, wantErr = ComputeBy(ctx, s, p, f, "team"); wantErr == nil && p.Role != crm.RoleViewer {
							want.ByRep, wantErr = ComputeBy(ctx, s, p, f, "rep")
						}
					}
					if (err != nil) != (wantErr != nil) {
						t.Errorf("%s: ComputeDashboard error %v, one by one %v", name, err, wantErr)
						continue
					}
					if err != nil {
						continue
					}
					g, err := json.Marshal(got)
					storetest.Must(t, err)
					w, err := json.Marshal(want)
					storetest.Must(t, err)
					if !bytes.Equal(g, w) {
						t.Errorf("%s: ComputeDashboard differs from ComputeOverview + ComputeBy:\n%s", name, diffLines(indentJSON(w), indentJSON(g)))
					}
					compared++
					if len(got.ByTeam) > 1 && len(got.ByRep) > 1 {
						sliced++
					}
				}
			}
		}
		if compared < 100 || sliced < 50 {
			t.Errorf("only %d dashboards compared, %d with several teams and reps", compared, sliced)
		}
		// The extra records are in their slices.
		d, err := ComputeDashboard(ctx, s, ops, Filter{Period: "FY2025-Q1", AsOf: asOf}, OverviewOptions{})
		storetest.Must(t, err)
		labels := map[string]KPIs{}
		for _, x := range append(d.ByTeam, d.ByRep...) {
			labels[x.Label] = x.KPIs
		}
		check(t, labels["(no team)"], want{"won_amount": "700", "time_spent_selling.sellers": 1, "lead_response.leads": 1})
		check(t, labels["(no owner)"], want{"won_count": 0, "lead_response.leads": 1})
		check(t, labels[fx.VP.Name], want{"won_amount": "700", "quota": nil})
	})
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// Whatever teams a seed gives the demo, its routing rule set applies and a
// new lead is routed to a rep of the right segment.
func TestDemoRoutingEverySeed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC) // a Monday, in working hours
	for _, seed := range []int64{1, 2, 3} {
		s := storetest.OpenDuckDB(t)
		if _, err := demo.Generate(ctx, s, demo.Config{Seed: seed, Opportunities: 1500, Now: now}); err != nil {
			t.Fatal(err)
		}
		if err := demo.ApplyRouting(ctx, s, now); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// The last week's inbound leads were routed as they came in.
		var recent, routed, early int
		storetest.Must(t, s.DB().QueryRow(`SELECT COUNT(*) FROM leads WHERE created_at >= $1 AND converted_opportunity_id IS NULL`, now.AddDate(0, 0, -demo.RoutedDays)).Scan(&recent))
		storetest.Must(t, s.DB().QueryRow(`SELECT COUNT(DISTINCT a.lead_id), COUNT(*) FILTER (WHERE a.assigned_at <> l.created_at) FROM lead_assignments a JOIN leads l ON l.id = a.lead_id`).Scan(&routed, &early))
		if recent == 0 || routed != recent || early != 0 {
			t.Errorf("seed %d: %d of %d recent leads routed, %d not at their arrival", seed, routed, recent, early)
		}
		// Their breaches are recorded, and the ones under an alerting rule told.
		var breaches, alerts int
		storetest.Must(t, s.DB().QueryRow(`SELECT COUNT(*) FROM lead_assignments WHERE sla_breached_at IS NOT NULL`).Scan(&breaches))
		storetest.Must(t, s.DB().QueryRow(`SELECT COUNT(*) FROM jobs WHERE payload LIKE '%lead.sla_breach%'`).Scan(&alerts))
		if breaches == 0 || alerts == 0 || alerts > breaches {
			t.Errorf("seed %d: %d breaches, %d breach alerts", seed, breaches, alerts)
		}
		emp := int64(5000)
		l := crm.Lead{LastName: "Big", Company: "Not An Account Inc", Employees: &emp, Status: crm.LeadNew, CreatedAt: now}
		storetest.Must(t, s.Leads.Create(ctx, crm.System, &l))
		a, err := routing.Assign(ctx, s, crm.System, l.ID, now)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var team string
		if err := s.DB().QueryRow(`SELECT t.name FROM users u JOIN teams t ON t.id = u.team_id WHERE u.id = $1`, a.OwnerID).Scan(&team); err != nil {
			t.Fatal(err)
		}
		if a.Decision.Rule != "Enterprise-sized" || !strings.Contains(team, "Enterprise") {
			t.Errorf("seed %d: a 5,000-person lead went to %s of %s (%s)", seed, a.Decision.Owner, team, a.Decision.Reason)
		}
	}
}

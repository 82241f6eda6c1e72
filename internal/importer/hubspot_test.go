package importer

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const hubspotDeals = "hubspot-crm-exports-all-deals-2024-11-01.csv"

func TestImportHubSpot(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := copyDir(t, "testdata/hubspot")
		t1 := time.Date(2024, 11, 2, 9, 0, 0, 0, time.UTC)
		res, err := ImportHubSpot(ctx, s, dir, Options{Now: t1})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res.Summary())
		want := map[string]int64{"accounts": 3, "contacts": 4, "leads": 2, "opportunities": 4}
		for table, n := range want {
			if res.PerEntity[table] != n {
				t.Errorf("%s: wrote %d, want %d (%v)", table, res.PerEntity[table], n, res.PerEntity)
			}
		}
		checks := []struct{ query, want string }{
			// owners named in the files become reps
			{`SELECT CAST(COUNT(*) AS VARCHAR) FROM users WHERE role = 'rep'`, "2"},
			{`SELECT u.name FROM opportunities o JOIN users u ON u.id = o.owner_id WHERE o.external_id = '7002'`, "Ingrid Larsen"},
			{`SELECT CAST(employees AS VARCHAR) FROM accounts WHERE external_id = '9002'`, "1200"},
			{`SELECT CAST(annual_revenue AS VARCHAR) FROM accounts WHERE external_id = '9001'`, "25000000.00"},
			{`SELECT CAST(created_at AS VARCHAR) FROM accounts WHERE external_id = '9001'`, "2023-01-04 09:12:00"},
			// contacts: the primary company; several ids in one cell keep the first
			{`SELECT a.name FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.external_id = '504'`, "Initech"},
			{`SELECT COALESCE(CAST(account_id AS VARCHAR), 'none') FROM contacts WHERE external_id = '503'`, "none"},
			// contacts at a lead stage are leads too
			{`SELECT status FROM leads WHERE external_id = '502'`, "working"},
			{`SELECT status FROM leads WHERE external_id = '503'`, "new"},
			// deals: stage labels and ids, amounts with separators, kinds guessed for new stages
			{`SELECT stage || ' ' || CAST(amount AS VARCHAR) FROM opportunities WHERE external_id = '7002'`, "Contract Sent 48000.00"},
			{`SELECT kind || ' ' || CAST(probability AS VARCHAR) FROM stages WHERE name = 'Contract Sent'`, "open 0.9"},
			{`SELECT kind || ' ' || CAST(probability AS VARCHAR) FROM stages WHERE name = 'Appointment Scheduled'`, "open 0.2"},
			{`SELECT kind FROM stages WHERE name = 'Demo Booked'`, "open"},
			{`SELECT CAST(is_won AS VARCHAR) || ' ' || CAST(closed_at AS VARCHAR) FROM opportunities WHERE external_id = '7003'`, "true 2024-10-20"},
			{`SELECT forecast_category || ' ' || deal_type FROM opportunities WHERE external_id = '7002'`, "commit new"},
			{`SELECT deal_type FROM opportunities WHERE external_id = '7001'`, "expansion"},
			{`SELECT CAST(amount AS VARCHAR) FROM opportunities WHERE external_id = '7004'`, "0.00"},
		}
		for _, c := range checks {
			if got := queryString(t, s, c.query); got != c.want {
				t.Errorf("%s\n got %q, want %q", c.query, got, c.want)
			}
		}

		// The expansion is won, the services deal moves on.
		t2 := t1.Add(30 * 24 * time.Hour)
		editCSV(t, filepath.Join(dir, hubspotDeals), func(r map[string]string) {
			switch r["Record ID"] {
			case "7001":
				r["Deal Stage"], r["Is Closed Won"], r["Close Date"] = "closedwon", "true", "2024-11-28"
			case "7004":
				r["Deal Stage"] = "Proposal Sent"
			}
		})
		res2, err := ImportHubSpot(ctx, s, dir, Options{Now: t2})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res2.Summary())
		if got := count(t, s, `SELECT COUNT(*) FROM opportunity_history WHERE changed_at = $1`, t2); got != 2 {
			t.Errorf("%d history rows at the re-import, want 2", got)
		}
		if got := queryString(t, s, `SELECT h.stage FROM opportunity_history h JOIN opportunities o ON o.id = h.opportunity_id WHERE o.external_id = '7001' AND h.changed_at = $1`, t2); got != "Closed Won" {
			t.Errorf("history of the won deal: %s", got)
		}
		if got := queryString(t, s, `SELECT CAST(is_won AS VARCHAR) || ' ' || CAST(closed_at AS VARCHAR) FROM opportunities WHERE external_id = '7001'`); got != "true 2024-11-28" {
			t.Errorf("won deal: %s", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM users`); got != 2 {
			t.Errorf("%d users after re-import, want the same 2 owners", got)
		}
	})
}

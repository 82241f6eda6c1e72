package importer

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// copyDir copies the files of a fixture folder, so a test can change them.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// editCSV rewrites a fixture file: edit gets each record (header first) by column name.
func editCSV(t *testing.T, path string, edit func(row map[string]string)) {
	t.Helper()
	recs := storetest.ReadCSV(t, path)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	w.UseCRLF = true
	w.Write(recs[0])
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		edit(m)
		for i, h := range recs[0] {
			r[i] = m[h]
		}
		w.Write(r)
	}
	w.Flush()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func queryString(t *testing.T, s *store.Store, query string, args ...any) string {
	t.Helper()
	var v *string
	if err := s.DB().QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if v == nil {
		return "<null>"
	}
	return *v
}

const (
	sfOppOverlay  = "0065g00000Op1AaAAJ"
	sfOppSealcoat = "0065g00000Op1AbAAJ"
	sfOppDriveway = "0065g00000Op1AcAAJ"
	sfOppRenewal  = "0065g00000Op1AdAAJ"
	sfOppParking  = "0065g00000Op1AeAAJ"
)

func TestImportSalesforce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := copyDir(t, "testdata/salesforce")
		t1 := time.Date(2024, 11, 1, 8, 0, 0, 0, time.UTC)
		res, err := ImportSalesforce(ctx, s, dir, Options{Now: t1})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res.Summary())
		want := map[string]int64{"users": 3, "accounts": 3, "contacts": 3, "leads": 2, "products": 2, "opportunities": 5,
			"opportunity_history": 5, "line_items": 3, "activities": 5}
		for table, n := range want {
			if res.PerEntity[table] != n {
				t.Errorf("%s: wrote %d, want %d (%v)", table, res.PerEntity[table], n, res.PerEntity)
			}
		}
		if res.RowsRead != 32 || res.Rejected != 0 || res.Skipped != 1 {
			t.Errorf("read %d rows (want 32, the deleted account included), rejected %d, skipped %d (want the deleted account)", res.RowsRead, res.Rejected, res.Skipped)
		}
		checks := []struct{ query, want string }{
			// users: Dana manages Sam and Kim (Kim's ManagerId is 15 characters); Kim is inactive
			{`SELECT role FROM users WHERE email = 'dana@acme.example'`, "manager"},
			{`SELECT m.email FROM users u JOIN users m ON m.id = u.manager_id WHERE u.email = 'kim@acme.example'`, "dana@acme.example"},
			{`SELECT CAST(active AS VARCHAR) FROM users WHERE email = 'kim@acme.example'`, "false"},
			// accounts: the deleted one skipped, a 15-character ParentId resolved, websites reduced to domains
			{`SELECT p.name FROM accounts a JOIN accounts p ON p.id = a.parent_id WHERE a.name = 'Cedar Lane HOA'`, "Ridge Property Group"},
			{`SELECT domain FROM accounts WHERE name = 'Ridge Property Group'`, "ridgepg.example"},
			{`SELECT CAST(annual_revenue AS VARCHAR) FROM accounts WHERE name = 'Ridge Property Group'`, "12500000.00"},
			{`SELECT CAST(COUNT(*) AS VARCHAR) FROM accounts WHERE name = 'Deleted Co'`, "0"},
			{`SELECT a.name FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.email = 'sam.lee@ridgepg.example'`, "Ridge Property Group"},
			// leads: statuses, queue owner dropped, custom fields kept
			{`SELECT status FROM leads WHERE email = 'jin@mapledental.example'`, "new"},
			{`SELECT status FROM leads WHERE email = 'ana@ortizlog.example'`, "converted"},
			{`SELECT COALESCE(CAST(owner_id AS VARCHAR), 'none') FROM leads WHERE email = 'ana@ortizlog.example'`, "none"},
			{`SELECT custom_fields FROM leads WHERE email = 'jin@mapledental.example'`, `{"Budget__c":"50k","Timeline__c":"Q3"}`},
			{`SELECT CAST(annual_revenue AS VARCHAR) FROM leads WHERE email = 'jin@mapledental.example'`, "2100000.00"},
			// products priced from the standard price book
			{`SELECT CAST(list_price AS VARCHAR) FROM products WHERE name = 'Mill & Overlay'`, "4500.00"},
			// opportunities: stages, flags, forecast categories, types, close dates
			{`SELECT stage || ' ' || CAST(is_closed AS VARCHAR) || ' ' || CAST(is_won AS VARCHAR) FROM opportunities WHERE external_id = '` + sfOppSealcoat + `'`, "Closed Won true true"},
			{`SELECT CAST(closed_at AS VARCHAR) FROM opportunities WHERE external_id = '` + sfOppSealcoat + `'`, "2024-10-01"},
			{`SELECT stage || ' ' || CAST(is_won AS VARCHAR) FROM opportunities WHERE external_id = '` + sfOppDriveway + `'`, "Closed Lost false"},
			{`SELECT forecast_category FROM opportunities WHERE external_id = '` + sfOppOverlay + `'`, "best_case"},
			{`SELECT deal_type FROM opportunities WHERE external_id = '` + sfOppSealcoat + `'`, "expansion"},
			{`SELECT deal_type FROM opportunities WHERE external_id = '` + sfOppRenewal + `'`, "renewal"},
			{`SELECT COALESCE(CAST(closed_at AS VARCHAR), 'open') FROM opportunities WHERE external_id = '` + sfOppRenewal + `'`, "open"},
			{`SELECT u.email FROM opportunities o JOIN users u ON u.id = o.owner_id WHERE o.external_id = '` + sfOppRenewal + `'`, "sam@acme.example"},
			{`SELECT kind || ' ' || CAST(probability AS VARCHAR) FROM stages WHERE name = 'Discovery'`, "open 0.15"},
			{`SELECT kind || ' ' || forecast_category FROM stages WHERE name = 'Negotiation/Review'`, "open commit"},
			// history: the file's rows, plus a first row for deals without any
			{`SELECT CAST(COUNT(*) AS VARCHAR) FROM opportunity_history`, "8"},
			{`SELECT string_agg(h.stage, ' > ' ORDER BY h.changed_at) FROM opportunity_history h JOIN opportunities o ON o.id = h.opportunity_id WHERE o.external_id = '` + sfOppSealcoat + `'`, "Prospecting > Negotiation/Review > Closed Won"},
			// line items: by Product2Id, or through the price book entry; unit price from the total
			{`SELECT CAST(SUM(l.total_price) AS VARCHAR) FROM line_items l JOIN opportunities o ON o.id = l.opportunity_id WHERE o.external_id = '` + sfOppSealcoat + `'`, "12400.00"},
			{`SELECT CAST(l.total_price AS VARCHAR) FROM line_items l JOIN opportunities o ON o.id = l.opportunity_id WHERE o.external_id = '` + sfOppOverlay + `'`, "42000.00"},
			// activities: kinds from subtypes and types, polymorphic Who/What ids
			{`SELECT kind || ' ' || CAST(duration_minutes AS VARCHAR) || ' ' || direction FROM activities WHERE subject = 'Call: walk the back lot'`, "call 13 outbound"},
			{`SELECT o.external_id FROM activities a JOIN opportunities o ON o.id = a.opportunity_id WHERE a.subject = 'Call: walk the back lot'`, sfOppOverlay},
			{`SELECT l.email FROM activities a JOIN leads l ON l.id = a.lead_id WHERE a.subject = 'Email: intro'`, "jin@mapledental.example"},
			{`SELECT kind FROM activities WHERE subject = 'Update CRM'`, "task"},
			{`SELECT kind || ' ' || CAST(duration_minutes AS VARCHAR) FROM activities WHERE subject = 'Board presentation'`, "demo 90"},
			{`SELECT a.kind || ' ' || acc.name FROM activities a JOIN accounts acc ON acc.id = a.account_id WHERE a.subject = 'Quarterly review'`, "meeting Ridge Property Group"},
			{`SELECT CAST(COUNT(*) AS VARCHAR) FROM audit_log WHERE entity = 'import'`, "1"},
		}
		for _, c := range checks {
			if got := queryString(t, s, c.query); got != c.want {
				t.Errorf("%s\n got %q, want %q", c.query, got, c.want)
			}
		}

		// A week later: one deal won, one re-priced, one pushed.
		t2 := t1.Add(7 * 24 * time.Hour)
		editCSV(t, filepath.Join(dir, "Opportunity.csv"), func(r map[string]string) {
			switch r["Id"] {
			case sfOppParking:
				r["StageName"], r["IsClosed"], r["IsWon"], r["Amount"], r["Probability"] = "Closed Won", "true", "true", "9000", "100"
				r["ForecastCategory"], r["ForecastCategoryName"] = "Closed", "Closed"
			case sfOppRenewal:
				r["Amount"] = "27,000.00"
			case sfOppOverlay:
				r["CloseDate"] = "2024-12-15"
			}
		})
		res2, err := ImportSalesforce(ctx, s, dir, Options{Now: t2})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res2.Summary())
		if res2.PerEntity["opportunities"] != 5 || res2.Inserted != 0 {
			t.Errorf("re-import: %+v", res2)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities`); got != 5 {
			t.Errorf("%d opportunities after re-import", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunity_history`); got != 11 {
			t.Errorf("%d history rows after re-import, want 8 + 3", got)
		}
		rows, err := s.DB().Query(`SELECT o.external_id, h.stage, CAST(h.amount AS VARCHAR), COALESCE(CAST(h.expected_close AS VARCHAR), '') FROM opportunity_history h
			JOIN opportunities o ON o.id = h.opportunity_id WHERE h.changed_at = $1 ORDER BY o.external_id`, t2)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var id, stage, amount, closeDate string
			if err := rows.Scan(&id, &stage, &amount, &closeDate); err != nil {
				t.Fatal(err)
			}
			got = append(got, id+" "+stage+" "+amount+" "+closeDate)
		}
		rows.Close()
		wantRows := []string{
			sfOppOverlay + " Proposal/Price Quote 42000.00 2024-12-15",
			sfOppRenewal + " Discovery 27000.00 2025-03-31",
			sfOppParking + " Closed Won 9000.00 2025-06-30",
		}
		if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
			t.Errorf("history rows stamped with the import's time:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
		}
		if got := queryString(t, s, `SELECT CAST(is_won AS VARCHAR) || ' ' || CAST(closed_at AS VARCHAR) FROM opportunities WHERE external_id = '`+sfOppParking+`'`); got != "true 2025-06-30" {
			t.Errorf("won deal: %s", got)
		}

		// Deals alone, later: owners and accounts are found from earlier imports.
		only := t.TempDir()
		b, _ := os.ReadFile(filepath.Join(dir, "Opportunity.csv"))
		os.WriteFile(filepath.Join(only, "Opportunity.csv"), b, 0o644)
		res3, err := ImportSalesforce(ctx, s, only, Options{Now: t2.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if res3.Written != 5 || res3.Updated != 0 || res3.Inserted != 0 {
			t.Errorf("deals alone: %s", res3.Summary())
		}
	})
}

func TestSalesforceIDs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0015g00000Xy1Aa", "0015g00000Xy1AaAAJ"},
		{"0015g00000Xy1AaAAJ", "0015g00000Xy1AaAAJ"},
		{"0015g00000Xy1Aaaaj", "0015g00000Xy1AaAAJ"}, // the suffix is case-insensitive
		{"001000000000000", "001000000000000AAA"},
		{"00300000000000A", "00300000000000AAAQ"},
	} {
		got, ok := sfID18(c.in)
		if !ok || got != c.want {
			t.Errorf("sfID18(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "001", "0015g00000Xy1AaAAK", "0015g00000Xy1A-", "0015g00000Xy1Aa AAJ"} {
		if got, ok := sfID18(bad); ok {
			t.Errorf("sfID18(%q) = %q, want refused", bad, got)
		}
	}
}

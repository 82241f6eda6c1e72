package importer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

var ctx = context.Background()

const (
	mavenDir     = "../../../shared/data/maven-crm"
	mavenMapping = "../../examples/maven-crm/mapping.yaml"
)

// readCSVFile reads a whole CSV with the standard library, independently of
// the importer's reader, as maps by column name.
func readCSVFile(t *testing.T, path string) []map[string]string {
	t.Helper()
	recs := storetest.ReadCSV(t, path)
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[strings.TrimPrefix(h, "\ufeff")] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func count(t *testing.T, s *store.Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.DB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func sumOf(t *testing.T, s *store.Store, query string, args ...any) decimal.Decimal {
	t.Helper()
	var v *string
	if err := s.DB().QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if v == nil {
		return decimal.Zero
	}
	return decimal.RequireFromString(*v)
}

func TestImportMaven(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("the Maven data set is not here: ", err)
	}
	pipeline := readCSVFile(t, filepath.Join(mavenDir, "sales_pipeline.csv"))
	accounts := readCSVFile(t, filepath.Join(mavenDir, "accounts.csv"))
	products := readCSVFile(t, filepath.Join(mavenDir, "products.csv"))
	teams := readCSVFile(t, filepath.Join(mavenDir, "sales_teams.csv"))

	stageOf := map[string]string{"Won": "Closed Won", "Lost": "Closed Lost"}
	wantStage := map[string]int64{}
	wonSum, lostSum := decimal.Zero, decimal.Zero
	var won, lost, noAccount int64
	for _, r := range pipeline {
		st := r["deal_stage"]
		if m, ok := stageOf[st]; ok {
			st = m
		}
		wantStage[st]++
		v := decimal.Zero
		if r["close_value"] != "" {
			v = decimal.RequireFromString(r["close_value"])
		}
		switch r["deal_stage"] {
		case "Won":
			won++
			wonSum = wonSum.Add(v)
		case "Lost":
			lost++
			lostSum = lostSum.Add(v)
		}
		if r["account"] == "" {
			noAccount++
		}
	}
	managers, regions := map[string]bool{}, map[string]bool{}
	for _, r := range teams {
		managers[r["manager"]] = true
		regions[r["regional_office"]] = true
	}

	storetest.Run(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
		var progress int64
		res, err := ImportMapped(ctx, s, mavenMapping, mavenDir, Options{Now: now, Progress: func(n int64) { progress = n }})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		t.Log(res.Summary())
		if !res.Committed || res.Rejected != 0 || len(res.Problems) != 0 {
			t.Fatalf("result: %+v", res)
		}
		rows := int64(len(pipeline)*2 + len(accounts) + len(products) + len(teams))
		if res.RowsRead != rows || progress != rows {
			t.Errorf("rows read %d (progress %d), want %d", res.RowsRead, progress, rows)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities`); got != int64(len(pipeline)) {
			t.Errorf("opportunities: %d, want %d", got, len(pipeline))
		}
		for st, n := range wantStage {
			if got := count(t, s, `SELECT COUNT(*) FROM opportunities WHERE stage = $1`, st); got != n {
				t.Errorf("stage %s: %d deals, want %d", st, got, n)
			}
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities WHERE is_won`); got != won {
			t.Errorf("won: %d, want %d", got, won)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities WHERE is_closed AND NOT is_won`); got != lost {
			t.Errorf("lost: %d, want %d", got, lost)
		}
		if got := sumOf(t, s, `SELECT CAST(SUM(amount) AS VARCHAR) FROM opportunities WHERE is_won`); !got.Equal(wonSum) {
			t.Errorf("won amount %s, want %s", got, wonSum)
		}
		if got := sumOf(t, s, `SELECT CAST(SUM(amount) AS VARCHAR) FROM opportunities WHERE is_closed AND NOT is_won`); !got.Equal(lostSum) {
			t.Errorf("lost amount %s, want %s", got, lostSum)
		}
		// Every deal's dates as in the file: created = engage_date, closed = close_date.
		type dates struct{ created, closed string }
		stored := map[string]dates{}
		rs, err := s.DB().Query(`SELECT external_id, CAST(CAST(created_at AS DATE) AS VARCHAR), COALESCE(CAST(closed_at AS VARCHAR), '') FROM opportunities`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id string
			var d dates
			if err := rs.Scan(&id, &d.created, &d.closed); err != nil {
				t.Fatal(err)
			}
			stored[id] = d
		}
		rs.Close()
		for _, r := range pipeline {
			d := stored[r["opportunity_id"]]
			if r["engage_date"] != "" && d.created != r["engage_date"] {
				t.Errorf("%s: created %s, want %s", r["opportunity_id"], d.created, r["engage_date"])
			}
			if (r["deal_stage"] == "Won" || r["deal_stage"] == "Lost") && d.closed != r["close_date"] {
				t.Errorf("%s: closed %q, want %q", r["opportunity_id"], d.closed, r["close_date"])
			}
			if r["engage_date"] == "" && d.created != now.Format(time.DateOnly) {
				t.Errorf("%s without engage date: created %s, want the import's day", r["opportunity_id"], d.created)
			}
		}
		wantAccounts := int64(len(accounts))
		if noAccount > 0 {
			wantAccounts++ // the "(no account)" placeholder
		}
		if got := count(t, s, `SELECT COUNT(*) FROM accounts`); got != wantAccounts {
			t.Errorf("accounts: %d, want %d", got, wantAccounts)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities o JOIN accounts a ON a.id = o.account_id WHERE a.name = '(no account)'`); got != noAccount {
			t.Errorf("deals on the placeholder account: %d, want %d", got, noAccount)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM accounts c JOIN accounts p ON p.id = c.parent_id`); got == 0 {
			t.Error("no account got its parent (subsidiary_of)")
		}
		if got := count(t, s, `SELECT COUNT(*) FROM products`); got != int64(len(products)) {
			t.Errorf("products: %d, want %d", got, len(products))
		}
		if got := count(t, s, `SELECT COUNT(*) FROM line_items`); got != int64(len(pipeline)) {
			t.Errorf("line items: %d, want %d", got, len(pipeline))
		}
		if got := sumOf(t, s, `SELECT CAST(SUM(l.total_price) AS VARCHAR) FROM line_items l JOIN opportunities o ON o.id = l.opportunity_id WHERE o.is_won`); !got.Equal(wonSum) {
			t.Errorf("won line items total %s, want %s", got, wonSum)
		}
		// The organisation: reps under their managers, managers over a team
		// in their regional office.
		if got := count(t, s, `SELECT COUNT(*) FROM users WHERE role = 'rep'`); got != int64(len(teams)) {
			t.Errorf("reps: %d, want %d", got, len(teams))
		}
		if got := count(t, s, `SELECT COUNT(*) FROM users WHERE role = 'manager'`); got != int64(len(managers)) {
			t.Errorf("managers: %d, want %d", got, len(managers))
		}
		if got := count(t, s, `SELECT COUNT(*) FROM teams WHERE parent_id IS NULL`); got != int64(len(regions)) {
			t.Errorf("regional teams: %d, want %d", got, len(regions))
		}
		for _, r := range teams {
			var mgr, region string
			err := s.DB().QueryRow(`SELECT m.name, rt.name FROM users u JOIN users m ON m.id = u.manager_id JOIN teams t ON t.id = u.team_id
				JOIN teams rt ON rt.id = t.parent_id WHERE u.name = $1 AND t.manager_id = m.id`, r["sales_agent"]).Scan(&mgr, &region)
			if err != nil || mgr != r["manager"] || region != r["regional_office"] {
				t.Errorf("%s: manager %q in %q (%v), want %q in %q", r["sales_agent"], mgr, region, err, r["manager"], r["regional_office"])
			}
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunity_history`); got != int64(len(pipeline)) {
			t.Errorf("history rows: %d, want one per deal (%d)", got, len(pipeline))
		}
		if got := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE entity = 'import'`); got != 1 {
			t.Errorf("audit entries: %d, want 1", got)
		}

		// A second import of the same files changes nothing.
		res2, err := ImportMapped(ctx, s, mavenMapping, mavenDir, Options{Now: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Inserted != 0 || res2.Updated != 0 || res2.Written != res.Written {
			t.Errorf("re-import: %s", res2.Summary())
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunities`); got != int64(len(pipeline)) {
			t.Errorf("after re-import: %d opportunities", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunity_history`); got != int64(len(pipeline)) {
			t.Errorf("after re-import: %d history rows", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM users`); got != int64(len(teams)+len(managers)) {
			t.Errorf("after re-import: %d users", got)
		}
	})
}

package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const corruptMapping = `source: corrupt test
defaults:
  currency: USD
files:
  - file: reps.csv
    entity: user
    email_domain: example.com
    columns:
      name: rep
  - file: accounts.csv
    entity: account
    key: name
    columns:
      name: Company
      employees: Employees
  - file: deals.csv
    entity: opportunity
    columns:
      external_id: Deal ID
      name: Deal
      account: {column: Company, match: name}
      owner: {column: Rep, match: name}
      stage: Stage
      amount: Amount
      created_at: Created
      expected_close: Close
`

// writeFiles writes test files; "\n" in the text is written as CRLF.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var corruptFiles = map[string]string{
	"mapping.yaml": corruptMapping,
	"reps.csv":     "\ufeffrep\r\nAnn Smith\r\nBo Jones\r\n",
	"accounts.csv": "Company,Employees\r\nAcme,\"1,200\"\r\nGlobex,12\r\n",
	"deals.csv": "Deal ID,Deal,Company,Rep,Stage,Amount,Created,Close\r\n" +
		"D1,Good one,Acme,Ann Smith,Prospecting,\"1,000.50\",2024-01-05,03/31/2024\r\n" + // line 2
		"D2,Bad amount,Acme,Ann Smith,Prospecting,\"12,34\",2024-01-05,2024-03-31\r\n" + // line 3
		"D3,Unknown account,Initrode,Ann Smith,Prospecting,100,2024-01-05,2024-03-31\r\n" + // line 4
		"D4,Bad date,Globex,Bo Jones,Prospecting,100,2024-01-05,31/31/2024\r\n" + // line 5
		"D1,Duplicate id,Globex,Bo Jones,Prospecting,100,2024-01-05,2024-03-31\r\n" + // line 6
		"D6,Too many fields,Globex,Bo Jones,Prospecting,100,2024-01-05,2024-03-31,extra\r\n" + // line 7
		"D7,Negative,Globex,Bo Jones,Prospecting,-5,2024-01-05,2024-03-31\r\n" + // line 8
		"D8,Unknown stage,Globex,Bo Jones,Dreaming,5,2024-01-05,2024-03-31\r\n" + // line 9
		"D9,\"Multi\r\nline, \"\"quoted\"\" name\",Globex,Nobody,Closed Won,\"$2,500\",1/15/2024,2/1/2024\r\n" + // line 10, unknown rep
		"D10,\"Multi\nline, fine\",Globex,Bo Jones,Closed Won,\"$2,500\",1/15/2024 3:04 PM,2/1/2024\r\n" + // line 12
		"\r\n" +
		"D11,,Globex,Bo Jones,Prospecting,,,\r\n" + // line 15: no name
		"D12,Huge,Globex,Bo Jones,Prospecting,1000000000000000,2024-01-05,2024-03-31\r\n", // line 16
}

var wantProblems = []string{
	"deals.csv:3: Amount: 12,34: not an amount",
	"deals.csv:4: Company: Initrode: no account with this name",
	"deals.csv:5: Close: 31/31/2024: not a date (want e.g. 2024-03-31 or 3/31/2024)",
	"deals.csv:6: Deal ID: D1: appears again in the file (first on line 2)",
	"deals.csv:7: has 9 fields, the header has 8",
	"deals.csv:8: Amount: -5: must not be negative",
	"deals.csv:9: Stage: Dreaming: unknown stage (define it under stages: in the mapping, or create missing records)",
	"deals.csv:10: Rep: Nobody: no user with this name",
	"deals.csv:15: Deal: is required",
	"deals.csv:16: Amount: 1000000000000000: above the largest amount, 999999999999999.99",
}

func TestInvalidRowsAtomic(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := writeFiles(t, corruptFiles)
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{RejectsPath: rejects})
		if !errors.Is(err, crm.ErrInvalid) {
			t.Fatalf("want an error wrapping ErrInvalid, got %v", err)
		}
		var ie *Error
		if !errors.As(err, &ie) {
			t.Fatalf("want *Error, got %T", err)
		}
		var got []string
		for _, p := range ie.Problems {
			got = append(got, p.String())
		}
		if strings.Join(got, "\n") != strings.Join(wantProblems, "\n") {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
		}
		for _, w := range wantProblems {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("the error does not say %q", w)
			}
		}
		if res.Committed || res.Written != 0 || res.Rejected != int64(len(wantProblems)) || res.RowsRead != 16 {
			t.Errorf("result: committed %v, read %d, written %d, rejected %d", res.Committed, res.RowsRead, res.Written, res.Rejected)
		}
		// Nothing at all was stored, not even the valid files.
		for _, table := range []string{"users", "accounts", "opportunities", "opportunity_history", "audit_log"} {
			if n := count(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Errorf("%s: %d rows after a failed import", table, n)
			}
		}
		if _, err := os.Stat(rejects); err != nil {
			t.Errorf("rejects file: %v", err)
		}
	})
}

func TestInvalidRowsSkipped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := writeFiles(t, corruptFiles)
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{SkipInvalid: true, RejectsPath: rejects})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res.Summary())
		if !res.Committed || res.Rejected != int64(len(wantProblems)) || res.PerEntity["opportunities"] != 2 || len(res.Problems) != len(wantProblems) {
			t.Errorf("result: %+v", res)
		}
		if got := queryString(t, s, `SELECT string_agg(external_id, ',' ORDER BY external_id) FROM opportunities`); got != "D1,D10" {
			t.Errorf("stored deals %s, want D1,D10", got)
		}
		if got := queryString(t, s, `SELECT name FROM opportunities WHERE external_id = 'D10'`); got != "Multi\nline, fine" {
			t.Errorf("multi-line name %q", got)
		}
		if got := queryString(t, s, `SELECT CAST(amount AS VARCHAR) || ' ' || CAST(expected_close AS VARCHAR) FROM opportunities WHERE external_id = 'D1'`); got != "1000.50 2024-03-31" {
			t.Errorf("D1: %s", got)
		}
		if got := queryString(t, s, `SELECT CAST(created_at AS VARCHAR) FROM opportunities WHERE external_id = 'D10'`); got != "2024-01-15 15:04:00" {
			t.Errorf("D10 created %s", got)
		}
		if got := queryString(t, s, `SELECT CAST(employees AS VARCHAR) FROM accounts WHERE name = 'Acme'`); got != "1200" {
			t.Errorf("employees %s", got)
		}
		recs := storetest.ReadCSV(t, rejects)
		header := strings.Join(recs[0], ",")
		if header != "Deal ID,Deal,Company,Rep,Stage,Amount,Created,Close,file,line,field,reason" {
			t.Errorf("rejects header %s", header)
		}
		if len(recs)-1 != len(wantProblems) {
			t.Fatalf("%d rejected rows, want %d", len(recs)-1, len(wantProblems))
		}
		byLine := map[string][]string{}
		for _, r := range recs[1:] {
			byLine[r[9]] = r
		}
		if r := byLine["3"]; r[0] != "D2" || r[5] != "12,34" || r[8] != "deals.csv" || r[10] != "Amount" || r[11] != "not an amount" {
			t.Errorf("rejected line 3: %q", r)
		}
		if r := byLine["10"]; r[1] != "Multi\nline, \"quoted\" name" || r[11] != "no user with this name" {
			t.Errorf("rejected line 10: %q", r)
		}
		// The row with a field too many keeps its values; the surplus is on the last column.
		if r := byLine["7"]; r[0] != "D6" || r[1] != "Too many fields" || r[7] != "2024-03-31,extra" || !strings.Contains(r[11], "9 fields") {
			t.Errorf("rejected malformed line 7: %q", r)
		}
		// The audit log has the one entry of the import.
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE entity = 'import' AND action = 'import'`); n != 1 {
			t.Errorf("%d audit entries", n)
		}
	})
}

func TestCreateMissing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		files := map[string]string{
			"mapping.yaml": corruptMapping,
			"reps.csv":     "rep\nAnn Smith\n",
			"accounts.csv": "Company,Employees\nAcme,5\n",
			"deals.csv": "Deal ID,Deal,Company,Rep,Stage,Amount,Created,Close\n" +
				"D1,One,Initrode,Ann Smith,Dreaming,100,2024-01-05,2024-03-31\n" +
				"D2,Two,Initrode,Carl Nobody,Closed Lost,100,2024-01-05,2024-03-31\n",
		}
		dir := writeFiles(t, files)
		res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{CreateMissing: true, Now: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Created["accounts"] != 1 || res.Created["users"] != 1 || res.Created["stages"] != 1 {
			t.Errorf("created %v", res.Created)
		}
		if got := queryString(t, s, `SELECT a.name FROM opportunities o JOIN accounts a ON a.id = o.account_id WHERE o.external_id = 'D2'`); got != "Initrode" {
			t.Errorf("stub account %s", got)
		}
		if got := queryString(t, s, `SELECT kind FROM stages WHERE name = 'Dreaming'`); got != "open" {
			t.Errorf("stub stage kind %s", got)
		}
		if got := queryString(t, s, `SELECT u.email FROM opportunities o JOIN users u ON u.id = o.owner_id WHERE o.external_id = 'D2'`); got != "carl.nobody@import.invalid" {
			t.Errorf("stub user %s", got)
		}
	})
}

func TestUnknownColumn(t *testing.T) {
	files := map[string]string{"mapping.yaml": corruptMapping, "reps.csv": "rep,Region\nAnn,East\n", "accounts.csv": "Company,Employees\nAcme,5\n",
		"deals.csv": "Deal ID,Deal,Company,Rep,Stage,Amount,Created\nD1,One,Acme,Ann,Prospecting,1,2024-01-01\n"}
	dir := writeFiles(t, files)
	s := storetest.OpenDuckDB(t)
	_, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{})
	if !errors.Is(err, crm.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	for _, want := range []string{
		"reps.csv:1: Region: unknown column: mapping.yaml does not map it to a user field (map it, or list it under ignore:)",
		"deals.csv:1: Close: no such column (mapped to expected_close in mapping.yaml; the file has: Deal ID, Deal, Company, Rep, Stage, Amount, Created)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestParentsNullsAndRetry(t *testing.T) {
	mapping := `files:
  - file: accounts.csv
    entity: account
    columns:
      external_id: Id
      name: Name
      parent: Parent
      employees: Employees
      domain: Domain
  - file: deals.csv
    entity: opportunity
    columns:
      external_id: Id
      name: Name
      account: Account
      owner: {value: "Ann Smith", match: name}
      stage: {value: Prospecting}
      amount: Amount
    ignore: [Note]
  - file: reps.csv
    entity: user
    email_domain: example.com
    columns: {name: rep}
`
	files := map[string]string{
		"mapping.yaml": mapping,
		"reps.csv":     "rep\nAnn Smith\n",
		"accounts.csv": "Id,Name,Parent,Employees,Domain\n" +
			"A1,Child,A2,,\\N\n" + // the parent comes later
			"A2,Parent,,NULL,parent.example\n" +
			"A3,Orphan,A9,\\N,\n" + // unknown parent: rejected
			"A4,Self,A4,5,\n", // its own parent: rejected
		"deals.csv": "Id,Name,Account,Amount,Note\n" +
			"D1,One,A1,1,\n" +
			"D2,Two,A3,2,on the rejected account\n" +
			"D1,Again,A2,3,duplicate id in a first load\n" +
			"D4,Four,A2,,NULL\n",
	}
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := writeFiles(t, files)
		res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range res.Problems {
			got = append(got, p.String())
		}
		want := []string{
			"accounts.csv:4: Parent: A9: no account with this external id",
			"accounts.csv:5: Parent: A4: an account cannot be its own parent",
			"deals.csv:3: Account: A3: no account with this external id",
			"deals.csv:4: Id: D1: appears again in the file (first on line 2)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if res.PerEntity["accounts"] != 2 || res.PerEntity["opportunities"] != 2 || res.Rejected != 4 {
			t.Errorf("result %s %v", res.Summary(), res.PerEntity)
		}
		if got := queryString(t, s, `SELECT p.name FROM accounts a JOIN accounts p ON p.id = a.parent_id WHERE a.external_id = 'A1'`); got != "Parent" {
			t.Errorf("forward parent: %s", got)
		}
		// Empty and null tokens: NULL in number columns, '' in text columns.
		if got := queryString(t, s, `SELECT COALESCE(CAST(employees AS VARCHAR), 'null') || '|' || domain FROM accounts WHERE external_id = 'A1'`); got != "null|" {
			t.Errorf("A1 employees|domain = %q", got)
		}
		if got := queryString(t, s, `SELECT COALESCE(CAST(employees AS VARCHAR), 'null') FROM accounts WHERE external_id = 'A2'`); got != "null" {
			t.Errorf("A2 employees = %q", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM accounts WHERE external_id IN ('A3', 'A4')`); got != 0 {
			t.Errorf("rejected accounts stored: %d", got)
		}
		if got := queryString(t, s, `SELECT string_agg(external_id, ',' ORDER BY external_id) FROM opportunities`); got != "D1,D4" {
			t.Errorf("deals %s", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM opportunity_history`); got != 2 {
			t.Errorf("history rows %d, want 2", got)
		}

		// A dry run checks and stores nothing.
		before := count(t, s, `SELECT COUNT(*) FROM audit_log`)
		res, err = ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{SkipInvalid: true, DryRun: true})
		if err != nil || res.Committed || len(res.Problems) != 4 {
			t.Errorf("dry run: %v %s %v", err, res.Summary(), res.Problems)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM audit_log`); got != before {
			t.Errorf("a dry run wrote the audit log")
		}
	})
}

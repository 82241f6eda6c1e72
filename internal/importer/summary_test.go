package importer

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// mavenCopy copies the Maven data set and the shipped mapping into a fresh
// folder, the mapping edited by the replacements (old, new, old, new, ...),
// and sales_pipeline.csv's lines by edit (which gets the 1-based line).
// It returns the folder; the mapping is mapping.yaml in it.
func mavenCopy(t *testing.T, edit func(line int, text string) string, replace ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"accounts.csv", "products.csv", "sales_teams.csv", "sales_pipeline.csv"} {
		b, err := os.ReadFile(filepath.Join(mavenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "sales_pipeline.csv" && edit != nil {
			lines := strings.SplitAfter(string(b), "\n")
			for i := range lines {
				lines[i] = edit(i+1, lines[i])
			}
			b = []byte(strings.Join(lines, ""))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := os.ReadFile(mavenMapping)
	if err != nil {
		t.Fatal(err)
	}
	text := string(m)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(text, replace[i]) {
			t.Fatalf("the mapping has no %q", replace[i])
		}
		text = strings.ReplaceAll(text, replace[i], replace[i+1])
	}
	if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The two fixes of the shipped Maven mapping, undone.
var (
	noGTXProFix  = []string{"\n        map: {GTXPro: GTX Pro}", ""}
	noAccountFix = []string{`, default: "(no account)", create_missing: true`, ""}
)

// Importing Maven without the mapping's fixes gives thousands of problems of
// three kinds; the summary counts each kind once, with its first lines, in
// the result (and so in its JSON) and in the error's text.
func TestProblemSummaryMaven(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("the Maven data set is not here: ", err)
	}
	// Count from the file: lines naming GTXPro, lines naming no account
	// (whose line items then name a rejected deal), and those naming no
	// account but a known product (with GTXPro unmapped, a line item naming
	// it is rejected for its product before its deal is looked for).
	var gtx, noAcct, noAcctKnownProduct []int
	for i, r := range readCSVFile(t, filepath.Join(mavenDir, "sales_pipeline.csv")) {
		line := i + 2
		if r["product"] == "GTXPro" {
			gtx = append(gtx, line)
		}
		if r["account"] == "" {
			noAcct = append(noAcct, line)
			if r["product"] != "GTXPro" {
				noAcctKnownProduct = append(noAcctKnownProduct, line)
			}
		}
	}
	group := func(field, value, reason string, lines []int) ProblemGroup {
		return ProblemGroup{File: "sales_pipeline.csv", Field: field, Value: value, Reason: reason, Count: len(lines), Lines: lines[:5]}
	}
	gtxGroup := group("product", "GTXPro", "no product with this name", gtx)
	acctGroup := group("account", "", "is required", noAcct)
	noDeal := func(lines []int) ProblemGroup {
		return group("opportunity_id", "", "no opportunity with this external id, stored or accepted in this import", lines)
	}
	tests := []struct {
		name    string
		replace []string
		want    []ProblemGroup
	}{
		{"product spelt GTXPro", noGTXProFix, []ProblemGroup{gtxGroup}},
		{"deals without account", noAccountFix, []ProblemGroup{acctGroup, noDeal(noAcct)}},
		{"both", append(slices.Clone(noGTXProFix), noAccountFix...), []ProblemGroup{gtxGroup, acctGroup, noDeal(noAcctKnownProduct)}},
	}
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dir := mavenCopy(t, nil, tt.replace...)
				res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{})
				var ie *Error
				if !errors.As(err, &ie) {
					t.Fatalf("want an *Error, got %v", err)
				}
				if fmt.Sprint(res.ProblemSummary) != fmt.Sprint(tt.want) {
					t.Errorf("summary:\n%v\nwant:\n%v", res.ProblemSummary, tt.want)
				}
				total := 0
				for _, g := range tt.want {
					total += g.Count
				}
				if len(res.Problems) != total {
					t.Errorf("%d problems, want %d", len(res.Problems), total)
				}
				// The error's text: the count, a line per kind, then the first 50.
				msg := err.Error()
				lines := strings.Split(msg, "\n")
				want := []string{fmt.Sprintf("import: %d problems, nothing stored:", total), " by file, field and reason:"}
				for _, g := range tt.want {
					want = append(want, "  "+g.String())
				}
				want = append(want, " the first 50:", "  "+res.Problems[0].String())
				if got := strings.Join(lines[:len(want)], "\n"); got != strings.Join(want, "\n") {
					t.Errorf("error text begins:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
				}
				if last := lines[len(lines)-1]; last != fmt.Sprintf("  ... and %d more", total-50) {
					t.Errorf("error text ends with %q", last)
				}
				// The JSON of the result carries the summary.
				b, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				var back struct {
					Summary []ProblemGroup `json:"problem_summary"`
				}
				if err := json.Unmarshal(b, &back); err != nil || fmt.Sprint(back.Summary) != fmt.Sprint(tt.want) {
					t.Errorf("JSON problem_summary %v (%v)", back.Summary, err)
				}
			})
		}
	})
}

// Grouping: by file, field and reason, line numbers in the reason not
// splitting a group; a value shared by the whole group is kept.
func TestSummarizeProblems(t *testing.T) {
	p := func(file string, line int, field, value, reason string) Problem {
		return Problem{File: file, Line: line, Field: field, Value: value, Reason: reason}
	}
	tests := []struct {
		name string
		in   []Problem
		want []string
	}{
		{"none", nil, nil},
		{"one", []Problem{p("a.csv", 3, "Amount", "x", "not an amount")}, []string{"1 × a.csv: Amount: x: not an amount (line 3)"}},
		{"values differ", []Problem{p("a.csv", 3, "Amount", "x", "not an amount"), p("a.csv", 4, "Amount", "y", "not an amount")},
			[]string{"2 × a.csv: Amount: not an amount (lines 3, 4)"}},
		{"line numbers in the reason", []Problem{
			p("a.csv", 5, "Id", "D1", "appears again in the file (first on line 2)"),
			p("a.csv", 9, "Id", "D3", "appears again in the file (first on line 7)"),
			p("a.csv", 12, "", "", "has 9 fields, the header has 8"),
			p("a.csv", 14, "", "", "has 9 fields, the header has 8 (the record runs to line 16: is a quote not closed?)"),
			p("a.csv", 20, "", "", "has 9 fields, the header has 8 (the record runs to line 23: is a quote not closed?)"),
		}, []string{
			"2 × a.csv: Id: appears again in the file (first on line N) (lines 5, 9)",
			"2 × a.csv: has 9 fields, the header has 8 (the record runs to line N: is a quote not closed?) (lines 14, 20)",
			"1 × a.csv: has 9 fields, the header has 8 (line 12)",
		}},
		{"files and fields apart, largest first", []Problem{
			p("a.csv", 2, "Owner", "Ann", "no user with this name"),
			p("b.csv", 2, "Owner", "Ann", "no user with this name"),
			p("b.csv", 3, "Owner", "Ann", "no user with this name"),
			p("b.csv", 4, "Manager", "Ann", "no user with this name"),
		}, []string{
			"2 × b.csv: Owner: Ann: no user with this name (lines 2, 3)",
			"1 × a.csv: Owner: Ann: no user with this name (line 2)",
			"1 × b.csv: Manager: Ann: no user with this name (line 4)",
		}},
		{"more lines than kept", []Problem{
			p("a.csv", 2, "Stage", "X", "unknown stage"), p("a.csv", 3, "Stage", "X", "unknown stage"), p("a.csv", 4, "Stage", "X", "unknown stage"),
			p("a.csv", 5, "Stage", "X", "unknown stage"), p("a.csv", 6, "Stage", "X", "unknown stage"), p("a.csv", 7, "Stage", "X", "unknown stage"),
		}, []string{"6 × a.csv: Stage: X: unknown stage (lines 2, 3, 4, 5, 6, ...)"}},
		{"no line", []Problem{p("mapping.yaml", 0, "files", "", "is required")}, []string{"1 × mapping.yaml: files: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, g := range SummarizeProblems(tt.in) {
				got = append(got, g.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A malformed row of a file mapped twice (Maven's pipeline feeds deals and
// line items) is reported once, and its row in the rejects file carries its
// values.
func TestMalformedRowMappedTwice(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("the Maven data set is not here: ", err)
	}
	const line = 5
	tests := []struct {
		name   string
		edit   func(text string) string
		reason string
		want   []string // the rejects row's first eight columns
	}{
		{"a field too many", func(s string) string { return strings.TrimRight(s, "\r\n") + ",surplus\n" }, "has 9 fields, the header has 8",
			[]string{"MV1LWRNH", "Moses Frase", "GTX Basic", "Codehow", "Won", "2016-10-25", "2017-03-09", "588,surplus"}},
		{"a field missing", func(s string) string { return s[:strings.LastIndexByte(s, ',')] + "\n" }, "has 7 fields, the header has 8",
			[]string{"MV1LWRNH", "Moses Frase", "GTX Basic", "Codehow", "Won", "2016-10-25", "2017-03-09", ""}},
		{"not UTF-8", func(s string) string { return strings.Replace(s, "Codehow", "Code\xffhow", 1) }, "not valid UTF-8 (save the file as UTF-8)",
			[]string{"MV1LWRNH", "Moses Frase", "GTX Basic", "Code\xffhow", "Won", "2016-10-25", "2017-03-09", "588"}},
	}
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dir := mavenCopy(t, func(n int, text string) string {
					if n == line {
						return tt.edit(text)
					}
					return text
				})
				rejects := filepath.Join(t.TempDir(), "rejects.csv")
				res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{SkipInvalid: true, DryRun: true, RejectsPath: rejects})
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("sales_pipeline.csv:%d: %s", line, tt.reason)
				if len(res.Problems) != 1 || res.Problems[0].String() != want {
					t.Errorf("problems %v, want [%s]", res.Problems, want)
				}
				if res.Rejected != 2 { // the deal and its line item
					t.Errorf("rejected %d rows, want 2", res.Rejected)
				}
				f, err := os.Open(rejects)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				r := csv.NewReader(f)
				r.LazyQuotes = true
				recs, err := r.ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 2 {
					t.Fatalf("rejects file: %q, want the header and one row", recs)
				}
				row := recs[1]
				if got := strings.Join(row[:8], "|"); got != strings.Join(tt.want, "|") {
					t.Errorf("rejected row %q, want %q", row[:8], tt.want)
				}
				if got := strings.Join(row[8:], "|"); got != fmt.Sprintf("sales_pipeline.csv|%d||%s", line, tt.reason) {
					t.Errorf("rejected row's file, line, field, reason: %q", row[8:])
				}
			})
		}
	})
}

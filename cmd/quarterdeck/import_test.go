package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// TestImportProblemSummary imports Maven with the shipped mapping's two
// fixes undone (the product spelt "GTXPro", deals naming no account): every
// way of running the import says how many rows have each problem, in one
// line per kind with the first lines, before (or instead of) the rows.
func TestImportProblemSummary(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("Maven data set not found")
	}
	m, err := os.ReadFile("../../examples/maven-crm/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mapping := strings.Replace(string(m), "\n        map: {GTXPro: GTX Pro}", "", 1)
	mapping = strings.Replace(mapping, `, default: "(no account)", create_missing: true`, "", 1)
	mappingFile := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(mappingFile, []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	recs := storetest.ReadCSV(t, filepath.Join(mavenDir, "sales_pipeline.csv"))
	var gtx, noAccount []string  // line numbers
	for i, r := range recs[1:] { // opportunity_id,sales_agent,product,account,...
		if r[2] == "GTXPro" {
			gtx = append(gtx, fmt.Sprint(i+2))
		}
		if r[3] == "" {
			noAccount = append(noAccount, fmt.Sprint(i+2))
		}
	}
	wantLines := []string{
		fmt.Sprintf("%d × sales_pipeline.csv: product: GTXPro: no product with this name (lines %s, ...)", len(gtx), strings.Join(gtx[:5], ", ")),
		fmt.Sprintf("%d × sales_pipeline.csv: account: is required (lines %s, ...)", len(noAccount), strings.Join(noAccount[:5], ", ")),
	}

	tests := []struct {
		name     string
		args     []string
		code     int
		out      func(r result) string // where the summary is
		jsonOnly bool
	}{
		{"atomic", nil, 1, func(r result) string { return r.stderr }, false},
		{"skip invalid", []string{"--skip-invalid", "--dry-run", "--rejects", filepath.Join(t.TempDir(), "rejects.csv")}, 0,
			func(r result) string { return r.stdout }, false},
		{"json", []string{"--json"}, 1, func(r result) string { return r.stdout }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "maven.db")
			args := append([]string{"import", "--quiet", "--database", db, "--mapping", mappingFile}, tt.args...)
			r := runCLI(t, nil, append(args, mavenDir)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %.2000s\nstderr: %.2000s", r.code, tt.code, r.stdout, r.stderr)
			}
			out := tt.out(r)
			if tt.jsonOnly {
				var res importer.Result
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("JSON: %v\n%.2000s", err, out)
				}
				var got []string
				for _, g := range res.ProblemSummary {
					got = append(got, g.String())
				}
				if len(got) < 2 || got[0] != wantLines[0] || got[1] != wantLines[1] {
					t.Errorf("problem_summary:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
				}
				return
			}
			// The kinds come first, one line each, largest first; then
			// (when the import stops) the first rows.
			lines := strings.Split(out, "\n")
			var at []int
			for _, w := range wantLines {
				i := slices.Index(lines, "  "+w)
				if i < 0 {
					t.Errorf("the output does not say %q:\n%.3000s", w, out)
				}
				at = append(at, i)
			}
			if first := slices.Index(lines, "  sales_pipeline.csv:"+gtx[0]+": product: GTXPro: no product with this name"); tt.code != 0 && (first < 0 || first < at[1]) {
				t.Errorf("the first rows are not listed after the summary:\n%.3000s", out)
			}
		})
	}
}

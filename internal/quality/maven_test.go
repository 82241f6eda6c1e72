package quality_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/quality"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const (
	mavenDir     = "../../../shared/data/maven-crm"
	mavenMapping = "../../examples/maven-crm/mapping.yaml"
)

// readCSV reads a whole file as maps by column name.
func readCSV(t *testing.T, path string) []map[string]string {
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

// The real Maven CRM data set, imported with the shipped mapping: what the
// report says is counted again from the files. The data set has no expected
// close dates, no activities and no quotas; the report says so.
func TestMavenDataSet(t *testing.T) {
	if _, err := os.Stat(mavenDir); err != nil {
		t.Skip("the Maven data set is not here: ", err)
	}
	want := map[string]int64{}
	for _, r := range readCSV(t, filepath.Join(mavenDir, "sales_pipeline.csv")) {
		switch r["deal_stage"] {
		case "Won", "Lost":
			if r["close_date"] == "" {
				want["closed_deal_no_close_date"]++
			} else if r["close_date"] < r["engage_date"] {
				want["closed_before_created"]++
			}
			if r["deal_stage"] == "Won" && (r["close_value"] == "" || r["close_value"] == "0") {
				want["won_deal_zero_amount"]++
			}
		default: // open, and the file has no expected close date
			want["open_deal_no_close_date"]++
			if r["close_value"] == "" || r["close_value"] == "0" {
				want["open_deal_zero_amount"]++
			}
			want["stale_deals"]++ // every deal started before the import, and none has an activity
		}
	}
	want["reps_without_quota"] = int64(len(readCSV(t, filepath.Join(mavenDir, "sales_teams.csv"))))

	storetest.Run(t, func(t *testing.T, s *store.Store) {
		imported := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := importer.ImportMapped(ctx, s, mavenMapping, mavenDir, importer.Options{Now: imported}); err != nil {
			t.Fatalf("import: %v", err)
		}
		rep, err := quality.Run(ctx, s, crm.System, quality.Options{Now: imported.AddDate(0, 2, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			switch {
			case f.Check == "product_amount_outliers" || f.Check == "deal_amount_outliers":
				t.Logf("%s: %d", f.Check, f.Count) // a judgement, not a fact of the files
			case f.Count != want[f.Check]:
				t.Errorf("%s: %d, want %d (examples %+v)", f.Check, f.Count, want[f.Check], f.Examples)
			}
			if f.Passed != (f.Count == 0) {
				t.Errorf("%s: passed %v with count %d", f.Check, f.Passed, f.Count)
			}
		}
	})
}

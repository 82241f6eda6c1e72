package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const xEducationDir = "../../../shared/data/leads"

// A new user's path through the leads commands on the X Education data:
// import (which scores the leads), apply a model, list, explain, segments,
// and a broken model refused with file, line and field.
func TestLeadsCommands(t *testing.T) {
	if _, err := os.Stat(filepath.Join(xEducationDir, "leads_train.csv")); err != nil {
		t.Skip("X Education data set not found")
	}
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := storetest.DSNFor(t, e.Name)
			env := map[string]string{"QUARTERDECK_DATABASE_URL": db}
			mustRun(t, env, "--quiet", "leads", "model", "apply", "../../examples/scoring/x-education.yaml")
			r := mustRun(t, env, "--quiet", "import", "--mapping", "../../examples/x-education/mapping.yaml", xEducationDir)
			if !strings.Contains(r.stdout, "6447 leads scored again") {
				t.Errorf("import did not rescore the leads:\n%s", r.stdout)
			}
			r = mustRun(t, env, "leads", "list", "--limit", "0", "--json")
			var list []struct {
				LeadID int64   `json:"lead_id"`
				Score  float64 `json:"score"`
				Grade  string  `json:"grade"`
				Status string  `json:"status"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 6447 {
				t.Fatalf("leads list: %d leads (%v)", len(list), err)
			}
			// The model must sort leads: A converts far more often than D.
			conv := map[string][2]int{}
			for _, l := range list {
				c := conv[l.Grade]
				c[1]++
				if l.Status == "converted" {
					c[0]++
				}
				conv[l.Grade] = c
			}
			rate := func(g string) float64 { return float64(conv[g][0]) / float64(max(1, conv[g][1])) }
			if rate("A") < 2*rate("D") || conv["A"][1] == 0 || conv["D"][1] == 0 {
				t.Errorf("conversion by grade %v: A should convert at least twice as often as D", conv)
			}
			top := list[0]
			r = mustRun(t, env, "leads", "explain", "--json", jsonInt(top.LeadID))
			var ex []struct {
				Score float64 `json:"score"`
				Lines []struct {
					Points float64 `json:"points"`
				} `json:"lines"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil || len(ex) != 1 {
				t.Fatalf("explain: %v %s", err, r.stdout)
			}
			var sum float64
			for _, l := range ex[0].Lines {
				sum += l.Points
			}
			if ex[0].Score != top.Score || sum < top.Score-0.005 || sum > top.Score+0.005 {
				t.Errorf("explain: score %v, lines sum %v, list said %v", ex[0].Score, sum, top.Score)
			}
			seg := filepath.Join(t.TempDir(), "professionals.yaml")
			os.WriteFile(seg, []byte("name: Professionals\nmatch:\n  - field: title\n    equals: Working Professional\n"), 0o644)
			mustRun(t, env, "leads", "segments", "save", seg)
			r = mustRun(t, env, "leads", "segments", "list")
			if !strings.Contains(r.stdout, "Professionals") {
				t.Errorf("segments list:\n%s", r.stdout)
			}
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(bad, []byte("name: bad\nfit:\n  - field: custom.time_on_site\n    between: [900]\n    points: 5\n"), 0o644)
			r = runCLI(t, env, "leads", "model", "apply", bad)
			if r.code == 0 || !strings.Contains(r.stderr, "bad.yaml:4: fit[0].between: want [low, high]") {
				t.Errorf("bad model: exit %d\n%s", r.code, r.stderr)
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

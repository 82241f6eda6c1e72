package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeLeadFiles writes a training file of n leads whose conversion
// depends on visits and source, and a file to score without the target and
// with its columns in another order.
func writeLeadFiles(t *testing.T, n int) (trainPath, scorePath string) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	sources := []string{"Google", "Referral", "Select", "", "Olark Chat"}
	lift := map[string]float64{"Google": 0, "Referral": 2, "Select": -1, "": -1, "Olark Chat": -0.5}
	var train, score strings.Builder
	train.WriteString("Lead,Converted,Visits,Source,Note\n")
	score.WriteString("Source,Visits,Lead\n")
	for i := range n {
		v := rng.IntN(20)
		s := sources[rng.IntN(len(sources))]
		z := -2 + 0.25*float64(v) + lift[s]
		won := "No"
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			won = "Yes"
		}
		visits := strconv.Itoa(v)
		if i%50 == 0 {
			visits = "NA"
		}
		fmt.Fprintf(&train, "L%d,%s,%s,%s,\"note, %d\"\n", i, won, visits, s, i)
		if i < 100 {
			fmt.Fprintf(&score, "%s,%s,S%d\n", s, visits, i)
		}
	}
	trainPath = filepath.Join(dir, "train.csv")
	scorePath = filepath.Join(dir, "score.csv")
	if err := os.WriteFile(trainPath, []byte(train.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scorePath, []byte(score.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return trainPath, scorePath
}

func runLeadsPredict(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	c := cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	cmd := c.leadsPredictCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func TestLeadsPredictCSV(t *testing.T) {
	trainPath, scorePath := writeLeadFiles(t, 1500)
	out, stderr, err := runLeadsPredict("--train", trainPath, "--score", scorePath, "--target", "Converted", "--id", "Lead")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "id,probability" || len(lines) != 101 {
		t.Fatalf("output:\n%s", out)
	}
	for i, l := range lines[1:] {
		id, p, ok := strings.Cut(l, ",")
		v, err := strconv.ParseFloat(p, 64)
		if !ok || id != "S"+strconv.Itoa(i) || err != nil || v <= 0 || v >= 1 {
			t.Fatalf("line %d: %q", i+2, l)
		}
	}
	if !strings.Contains(stderr, "holdout AUC") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestLeadsPredictJSON(t *testing.T) {
	trainPath, scorePath := writeLeadFiles(t, 1500)
	out, _, err := runLeadsPredict("--train", trainPath, "--score", scorePath, "--target", "Converted", "--id", "Lead",
		"--exclude", "Note", "--json", "--factors", "2")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Model   string
		Holdout struct {
			Rows        int
			AUC         float64
			Brier       float64
			Reliability []struct{ Count int }
		}
		Candidates  []struct{ Model string }
		TrainRows   int `json:"train_rows"`
		ScoreRows   int `json:"score_rows"`
		Excluded    []string
		Columns     []struct{ Name, Kind string }
		Predictions []struct {
			ID          string
			Probability float64
			Factors     []struct{ Feature string }
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Model == "" || len(r.Candidates) != 5 || r.TrainRows != 1500 || r.ScoreRows != 100 || len(r.Predictions) != 100 {
		t.Errorf("report %+v", r)
	}
	if r.Holdout.AUC < 0.7 || r.Holdout.Brier <= 0 || len(r.Holdout.Reliability) != 10 || r.Holdout.Rows < 200 {
		t.Errorf("holdout %+v", r.Holdout)
	}
	kinds := map[string]string{}
	for _, c := range r.Columns {
		kinds[c.Name] = c.Kind
	}
	if kinds["Visits"] != "numeric" || kinds["Source"] != "categorical" || kinds["Note"] != "" || len(r.Excluded) != 1 {
		t.Errorf("columns %+v excluded %v", r.Columns, r.Excluded)
	}
	if p := r.Predictions[0]; p.ID != "S0" || len(p.Factors) != 2 {
		t.Errorf("prediction %+v", p)
	}
}

func TestLeadsPredictErrors(t *testing.T) {
	trainPath, scorePath := writeLeadFiles(t, 1500)
	smallTrain, _ := writeLeadFiles(t, 300)
	dir := t.TempDir()
	badTarget := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badTarget, []byte("Lead,Converted,Visits\nA,1,3\nB,maybe,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ragged := filepath.Join(dir, "ragged.csv")
	if err := os.WriteFile(ragged, []byte("Lead,Converted,Visits\nA,1,3\nB,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noVisits := filepath.Join(dir, "novisits.csv")
	if err := os.WriteFile(noVisits, []byte("Lead,Source\nS1,Google\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.csv")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := func(train, score string) []string {
		return []string{"--train", train, "--score", score, "--target", "Converted", "--id", "Lead"}
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"flags", []string{"--train", trainPath}, []string{"--train, --score, --target and --id are all required"}},
		{"unreadable", base(filepath.Join(dir, "nope.csv"), scorePath), []string{"nope.csv", "no such file"}},
		{"empty", base(empty, scorePath), []string{"empty.csv: the file is empty"}},
		{"bad target", base(badTarget, scorePath), []string{"bad.csv: line 3 (row 2), column \"Converted\": target value \"maybe\""}},
		{"ragged", base(ragged, scorePath), []string{"ragged.csv", "line 3", "wrong number of fields"}},
		{"no target column", append(base(trainPath, scorePath)[:4], "--target", "Won", "--id", "Lead"), []string{"train.csv: header, column \"Won\": no such column (the target column)"}},
		{"score lacks a feature", base(trainPath, noVisits), []string{"novisits.csv: header, column \"Visits\": no such column, but the training file has it as a numeric feature"}},
		{"too few", base(smallTrain, scorePath), []string{"train.csv: ", "rows have Converted = 1", "training needs at least 200 of each"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runLeadsPredict(c.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

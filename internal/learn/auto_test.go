package learn

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

func keys(rows []Row) []string {
	k := make([]string, len(rows))
	for i := range rows {
		k[i] = "lead-" + strconv.Itoa(i)
	}
	return k
}

func TestTrainAuto(t *testing.T) {
	cases := []struct {
		name   string
		schema Schema
		gen    func(int, uint64) ([]Row, []float64)
		trees  bool // an interaction only trees can represent
	}{
		{"interaction", xorSchema, genXOR, true},
		{"additive", logisticSchema, genLogistic, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, _ := c.gen(6000, 21)
			res, err := TrainAuto(c.schema, rows, AutoOptions{Keys: keys(rows)})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Candidates) != 5 || res.TrainRows+res.HoldoutRows != len(rows) || res.HoldoutRows < 1000 || res.HoldoutRows > 1400 {
				t.Fatalf("%d candidates, %d fitted + %d holdout rows", len(res.Candidates), res.TrainRows, res.HoldoutRows)
			}
			for i := 1; i < len(res.Candidates); i++ {
				if res.Candidates[i].AUC > res.Candidates[i-1].AUC {
					t.Errorf("candidates not best first: %d has %.4f after %.4f", i, res.Candidates[i].AUC, res.Candidates[i-1].AUC)
				}
			}
			if res.Holdout.AUC != res.Candidates[0].AUC {
				t.Errorf("holdout %v is not the best candidate %v", res.Holdout.AUC, res.Candidates[0].AUC)
			}
			if c.trees && res.Chosen == "logistic" {
				t.Errorf("chose logistic regression for an interaction: holdout AUC %.4f", res.Holdout.AUC)
			}
			if res.Trees < 1 || res.Trees > 500 {
				t.Errorf("trees %d", res.Trees)
			}
			// The refitted model is close to the oracle on fresh rows.
			fresh, oracle := c.gen(4000, 22)
			ev := Evaluate(res.Model, fresh)
			best := AUC(oracle, labels(fresh))
			if ev.AUC < best-0.02 {
				t.Errorf("%s: AUC %.4f on fresh rows, oracle %.4f", res.Chosen, ev.AUC, best)
			}
		})
	}
}

func TestTrainAutoDeterministic(t *testing.T) {
	rows, _ := genXOR(3000, 3)
	a, err := TrainAuto(xorSchema, rows, AutoOptions{Keys: keys(rows)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := TrainAuto(xorSchema, rows, AutoOptions{Keys: keys(rows)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[:100] {
		if a.Model.Score(r) != b.Model.Score(r) {
			t.Fatal("two trainings on the same rows differ")
		}
	}
}

func TestTrainAutoRefusesFewRows(t *testing.T) {
	rows, _ := genLogistic(3000, 4)
	var kept []Row
	won := 0
	for _, r := range rows {
		if r.Won {
			if won >= 199 {
				continue
			}
			won++
		}
		kept = append(kept, r)
	}
	_, err := TrainAuto(logisticSchema, kept, AutoOptions{})
	var few *TooFewDealsError
	if !errors.As(err, &few) || !errors.Is(err, ErrTooFewDeals) || few.Won != 199 || few.Min != MinDealsPerClass {
		t.Fatalf("err = %v", err)
	}
	if _, err := TrainAuto(logisticSchema, rows, AutoOptions{Keys: []string{"a"}}); err == nil {
		t.Error("one key for 3000 rows accepted")
	}
}

func TestBlendExplainSumsToLogOdds(t *testing.T) {
	rows, _ := genLogistic(4000, 6)
	b := &Blend{GBT: mustGBT(t, logisticSchema, rows), Logistic: mustLogistic(t, logisticSchema, rows), Weight: 0.75}
	for _, r := range rows[:100] {
		sum := b.BaseLogOdds()
		for _, f := range b.Explain(r, 0) {
			sum += f.Contribution
		}
		if z := b.LogOdds(r); math.Abs(sum-z) > 1e-9 {
			t.Fatalf("base+Σ = %.12f, log-odds = %.12f", sum, z)
		}
		if p := b.Score(r); math.Abs(p-sigmoid(b.LogOdds(r))) > 1e-15 {
			t.Fatal("score is not sigmoid(log-odds)")
		}
	}
	if len(b.Explain(rows[0], 2)) != 2 {
		t.Error("top-2 factors")
	}
}

func TestInHoldout(t *testing.T) {
	n := 0
	for i := range 10000 {
		if InHoldout(strconv.Itoa(i), 0.2) {
			n++
		}
	}
	if n < 1850 || n > 2150 {
		t.Errorf("%d of 10000 keys in a 20%% holdout", n)
	}
	// Nested: a key in the 10% holdout is in the 20% one.
	for i := range 1000 {
		k := strconv.Itoa(i)
		if InHoldout(k, 0.1) && !InHoldout(k, 0.2) {
			t.Fatalf("key %s in the 10%% holdout, not in the 20%% one", k)
		}
	}
}

package learn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// TimeSplit orders rows by Time (then ID, for determinism) and returns the
// earliest rows as train and the latest holdoutFraction as holdout, so the
// model is always evaluated on deals later than everything it saw. Rows
// sharing the cut-off timestamp all go to holdout, so no moment straddles
// the split. The input slice is not modified.
func TimeSplit(rows []Row, holdoutFraction float64) (train, holdout []Row, err error) {
	if !(holdoutFraction > 0 && holdoutFraction < 1) {
		return nil, nil, fmt.Errorf("learn: holdout fraction %v not in (0, 1)", holdoutFraction)
	}
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b Row) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	cut := len(sorted) - int(math.Round(holdoutFraction*float64(len(sorted))))
	if cut >= len(sorted) {
		return sorted, nil, nil
	}
	for cut > 0 && sorted[cut-1].Time.Equal(sorted[cut].Time) {
		cut--
	}
	return sorted[:cut:cut], sorted[cut:], nil
}

// ReliabilityBin is one row of a reliability (calibration) table.
type ReliabilityBin struct {
	Lo, Hi        float64 // predicted-probability range [Lo, Hi); the last bin includes 1
	Count         int
	MeanPredicted float64 // NaN when Count is 0
	ObservedRate  float64 // NaN when Count is 0
}

// Evaluation summarises a model on a holdout.
type Evaluation struct {
	Model    string
	N        int
	Won      int
	BaseRate float64 // observed win rate
	AUC      float64 // NaN when the holdout has only one class
	Brier    float64 // mean squared error of the probability
	LogLoss  float64 // mean negative log-likelihood, probabilities clipped to [1e-15, 1-1e-15]
	// Reliability has 10 equal-width bins of predicted probability.
	Reliability [10]ReliabilityBin
}

// Evaluate scores the holdout with m and computes the metrics.
func Evaluate(m Model, holdout []Row) Evaluation {
	return EvaluateScores(m.Name(), ScoreAll(m, holdout), labels(holdout))
}

// Compare evaluates each model on the same holdout.
func Compare(holdout []Row, models ...Model) []Evaluation {
	out := make([]Evaluation, len(models))
	for i, m := range models {
		out[i] = Evaluate(m, holdout)
	}
	return out
}

func labels(rows []Row) []bool {
	y := make([]bool, len(rows))
	for i := range rows {
		y[i] = rows[i].Won
	}
	return y
}

// EvaluateScores computes the metrics from precomputed probabilities, e.g.
// for a fallback method that is not a Model.
func EvaluateScores(name string, p []float64, won []bool) Evaluation {
	if len(p) != len(won) {
		panic("learn: EvaluateScores: scores and labels differ in length")
	}
	e := Evaluation{Model: name, N: len(p), AUC: AUC(p, won)}
	const eps = 1e-15
	var sumP [10]float64
	var sumY [10]int
	for i, pi := range p {
		y := 0.0
		if won[i] {
			y = 1
			e.Won++
		}
		e.Brier += (pi - y) * (pi - y)
		q := min(max(pi, eps), 1-eps)
		e.LogLoss -= y*math.Log(q) + (1-y)*math.Log(1-q)
		b := min(int(pi*10), 9)
		b = max(b, 0)
		e.Reliability[b].Count++
		sumP[b] += pi
		if won[i] {
			sumY[b]++
		}
	}
	for b := range e.Reliability {
		r := &e.Reliability[b]
		r.Lo, r.Hi = float64(b)/10, float64(b+1)/10
		r.MeanPredicted, r.ObservedRate = math.NaN(), math.NaN()
		if r.Count > 0 {
			r.MeanPredicted = sumP[b] / float64(r.Count)
			r.ObservedRate = float64(sumY[b]) / float64(r.Count)
		}
	}
	if e.N > 0 {
		n := float64(e.N)
		e.BaseRate = float64(e.Won) / n
		e.Brier /= n
		e.LogLoss /= n
	} else {
		e.BaseRate, e.Brier, e.LogLoss = math.NaN(), math.NaN(), math.NaN()
	}
	return e
}

// AUC is the Mann–Whitney estimate of P(score of a won deal > score of a
// lost deal), counting ties as one half (average ranks). It is NaN when
// either class is absent.
func AUC(p []float64, won []bool) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	var rankSumPos float64
	nPos := 0
	for i := 0; i < len(idx); {
		j := i + 1 // +1 so a NaN score (never equal to itself) still advances
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of 1-based ranks i+1..j
		for _, k := range idx[i:j] {
			if won[k] {
				rankSumPos += avg
				nPos++
			}
		}
		i = j
	}
	nNeg := len(p) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	u := rankSumPos - float64(nPos)*float64(nPos+1)/2
	return u / (float64(nPos) * float64(nNeg))
}

// Package learn holds the learned models shared by the modules that score
// records: per-deal win probabilities (internal/forecast) and lead
// conversion (quarterdeck leads predict). It estimates P(won) from feature
// rows extracted at scoring time and evaluates the models on a holdout.
//
// Three hand-written models implement Model: an L2-regularised logistic
// regression fitted by Newton/IRLS (the default: calibrated, explainable,
// fast), a naive-Bayes baseline that mirrors Odoo's predictive lead scoring,
// and histogram gradient-boosted trees for data with interactions (e.g. the
// effect of days_in_stage depending on the stage). Which one to ship should
// be decided per dataset with TimeSplit + Compare, not assumed: on additive
// data the logistic model is as good as the trees and cheaper to explain.
//
// Everything is pure, deterministic, in-memory computation; the caller does
// extraction, storage and the fallback when training refuses.
package learn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// A Row is one deal at scoring time.
type Row struct {
	ID   int64
	Time time.Time // scoring time, used for the time-ordered split
	Num  []float64 // numeric features, aligned with Schema.Numeric (NaN = missing)
	Cat  []string  // categorical features, aligned with Schema.Categorical ("" = missing)
	Won  bool      // label (ignored when scoring)
}

// Schema names the features; the names appear in explanations.
type Schema struct {
	Numeric     []string
	Categorical []string
	// Log lists numeric features the caller knows are heavy-tailed
	// (amounts, counts); the logistic model applies signed log1p to them
	// before standardising. Naive Bayes ignores it: quantile bins are
	// invariant under monotone transforms.
	Log []string
}

// A Factor is one feature's contribution to a deal's log-odds.
type Factor struct {
	Feature      string  `json:"feature"`      // schema name, e.g. "stage"
	Name         string  `json:"name"`         // display name, e.g. "stage = Negotiation" or "days_in_stage"
	Value        string  `json:"value"`        // the deal's value as shown, e.g. "Negotiation", "12.5", "missing"
	Contribution float64 `json:"contribution"` // signed, in log-odds units, relative to the model's base
}

// Model is a trained win-probability model. Implementations are read-only
// after training, so Score and Explain are safe for concurrent use. They
// panic on a row whose Num/Cat lengths differ from the training schema: that
// is a programming error, and silently misaligned features would be worse.
type Model interface {
	// Score returns P(won) for the row.
	Score(Row) float64
	// Explain returns the k largest contributions by absolute value
	// (all of them when k <= 0).
	Explain(Row, int) []Factor
	Name() string
}

// MinDealsPerClass is the minimum number of won and of lost training rows.
// Below it the estimates are too noisy to show to users, so training refuses
// and the caller falls back to another method.
const MinDealsPerClass = 200

// ErrTooFewDeals is matched (errors.Is) by every *TooFewDealsError.
var ErrTooFewDeals = errors.New("learn: too few closed deals to train")

// TooFewDealsError reports the class counts that made training refuse.
type TooFewDealsError struct {
	Won, Lost, Min int
}

func (e *TooFewDealsError) Error() string {
	return fmt.Sprintf("learn: too few closed deals to train: %d won, %d lost (need at least %d of each)", e.Won, e.Lost, e.Min)
}

// Is lets callers test with errors.Is(err, ErrTooFewDeals).
func (e *TooFewDealsError) Is(target error) bool { return target == ErrTooFewDeals }

// checkRows validates row shapes and class counts shared by all trainers.
func checkRows(schema Schema, rows []Row) error { return checkRowsMin(schema, rows, MinDealsPerClass) }

// checkRowsMin is checkRows with another minimum per class: TrainAuto
// checks MinDealsPerClass on all its rows, then fits on part of them.
func checkRowsMin(schema Schema, rows []Row, minPerClass int) error {
	won := 0
	for i := range rows {
		r := &rows[i]
		if len(r.Num) != len(schema.Numeric) || len(r.Cat) != len(schema.Categorical) {
			return fmt.Errorf("learn: row %d (id %d) has %d numeric/%d categorical values, schema has %d/%d",
				i, r.ID, len(r.Num), len(r.Cat), len(schema.Numeric), len(schema.Categorical))
		}
		if r.Won {
			won++
		}
	}
	lost := len(rows) - won
	if won < minPerClass || lost < minPerClass {
		return &TooFewDealsError{Won: won, Lost: lost, Min: minPerClass}
	}
	return nil
}

// checkRowShape guards scoring against rows built for another schema, which
// would otherwise silently misalign features.
func checkRowShape(schema Schema, r Row) {
	if len(r.Num) != len(schema.Numeric) || len(r.Cat) != len(schema.Categorical) {
		panic(fmt.Sprintf("learn: row id %d has %d numeric/%d categorical values, schema has %d/%d",
			r.ID, len(r.Num), len(r.Cat), len(schema.Numeric), len(schema.Categorical)))
	}
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1+e^z) without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func isMissing(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// numChunks is fixed (not derived from GOMAXPROCS) so floating-point
// reduction order, and therefore every result, is identical on any machine.
const numChunks = 16

// parallelChunks runs fn over numChunks contiguous ranges of [0,n) using at
// most GOMAXPROCS goroutines. fn receives the chunk index so callers can
// keep per-chunk accumulators and reduce them in a fixed order.
func parallelChunks(n int, fn func(chunk, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), numChunks)
	next := make(chan int, numChunks)
	for c := range numChunks {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range next {
				lo, hi := c*n/numChunks, (c+1)*n/numChunks
				fn(c, lo, hi)
			}
		})
	}
	wg.Wait()
}

// forEachParallel runs fn(0..n-1) on at most GOMAXPROCS goroutines.
func forEachParallel(n int, fn func(i int)) {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// ScoreAll scores rows in parallel; out[i] = m.Score(rows[i]).
func ScoreAll(m Model, rows []Row) []float64 {
	out := make([]float64, len(rows))
	parallelChunks(len(rows), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = m.Score(rows[i])
		}
	})
	return out
}

// quantileSample is how many values cut points are taken from: deciles of
// 100k values are as good as of 500k, and sorting dominated training time.
const quantileSample = 100_000

// quantileCuts returns up to maxBins-1 distinct cut points from a
// fixed-stride sample of feature f's non-missing values.
func quantileCuts(rows []Row, f, maxBins int) []float64 {
	stride := max(1, len(rows)/quantileSample)
	vals := make([]float64, 0, len(rows)/stride+1)
	for i := 0; i < len(rows); i += stride {
		if x := rows[i].Num[f]; !isMissing(x) {
			vals = append(vals, x)
		}
	}
	slices.Sort(vals)
	var cuts []float64
	for b := 1; b < maxBins && len(vals) > 0; b++ {
		q := vals[b*(len(vals)-1)/maxBins]
		if len(cuts) == 0 || q > cuts[len(cuts)-1] {
			cuts = append(cuts, q)
		}
	}
	return cuts
}

package learn

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
)

// AutoOptions tunes TrainAuto. The zero value selects the defaults.
type AutoOptions struct {
	// HoldoutFraction of the rows is set aside to choose the model and
	// the number of trees; default 0.2.
	HoldoutFraction float64
	// Keys, one per row, decide the holdout by a hash, so that it does
	// not depend on the order of the rows. nil uses the row index.
	Keys []string
	// GBT is the boosting configuration; Trees is the most trees tried.
	// Default: up to 500 trees of depth 4, learning rate 0.05, at least
	// 10 rows per leaf.
	GBT GBTOptions
	// Logistic configures the logistic regression candidate.
	Logistic LogisticOptions
}

func (o AutoOptions) withDefaults() AutoOptions {
	if !(o.HoldoutFraction > 0 && o.HoldoutFraction < 1) {
		o.HoldoutFraction = 0.2
	}
	if o.GBT == (GBTOptions{}) {
		o.GBT = GBTOptions{Trees: 500, Depth: 4, LearningRate: 0.05, MinLeaf: 10}
	}
	o.GBT = o.GBT.withDefaults()
	return o
}

// AutoResult is the model TrainAuto chose, trained on all rows, and how
// every candidate did on the holdout.
type AutoResult struct {
	Model       Model
	Chosen      string       // "logistic", "gbt" or "blend"
	Holdout     Evaluation   // the chosen candidate, fitted without the holdout
	Candidates  []Evaluation // every candidate on the same holdout, best first ("blend 0.75": 0.75 on the trees)
	Trees       int          // boosting rounds kept (by holdout log-loss)
	BlendWeight float64      // the trees' share of the blend's log-odds, when Chosen is "blend"
	TrainRows   int          // rows the holdout candidates were fitted on
	HoldoutRows int
}

// InHoldout reports whether a key falls in the given fraction of keys set
// aside, by an FNV-1a hash of the key (salted so that it is independent
// of other hash splits of the same keys). FNV's high bits are poorly mixed
// for short keys such as "1", "2", ..., so the hash goes through
// SplitMix64's finaliser before it is read as a number in [0, 1).
func InHoldout(key string, fraction float64) bool {
	h := fnv.New64a()
	h.Write([]byte("learn.holdout\x00"))
	h.Write([]byte(key))
	x := h.Sum64()
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < fraction
}

// TrainAuto chooses between logistic regression, gradient-boosted trees and
// a blend of the two by their AUC on a hash holdout of rows, then refits
// the winner on all rows. The number of trees is chosen on the same holdout
// by log-loss (early stopping). It returns a *TooFewDealsError when either
// class has fewer than MinDealsPerClass rows in all of rows.
func TrainAuto(schema Schema, rows []Row, opts AutoOptions) (*AutoResult, error) {
	if err := checkRows(schema, rows); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if o.Keys != nil && len(o.Keys) != len(rows) {
		return nil, fmt.Errorf("learn: %d keys for %d rows", len(o.Keys), len(rows))
	}
	var fit, hold []Row
	for i := range rows {
		key := strconv.Itoa(i)
		if o.Keys != nil {
			key = o.Keys[i]
		}
		if InHoldout(key, o.HoldoutFraction) {
			hold = append(hold, rows[i])
		} else {
			fit = append(fit, rows[i])
		}
	}
	y := labels(hold)
	won := 0
	for _, w := range y {
		if w {
			won++
		}
	}
	if won == 0 || won == len(y) {
		return nil, errors.New("learn: the holdout has only one class; too few rows to choose a model")
	}
	// The fits on part of the rows may have fewer than MinDealsPerClass:
	// all rows had enough, which is what the minimum protects.
	lr, err := trainLogistic(schema, fit, o.Logistic, 1)
	if err != nil {
		return nil, err
	}
	gbt, err := trainGBT(schema, fit, o.GBT, 1)
	if err != nil {
		return nil, err
	}
	trees := bestTrees(gbt, hold)
	gbt.trees = gbt.trees[:trees]

	zl := make([]float64, len(hold))
	zg := make([]float64, len(hold))
	parallelChunks(len(hold), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			zl[i], zg[i] = lr.LogOdds(hold[i]), gbt.LogOdds(hold[i])
		}
	})
	type cand struct {
		ev Evaluation
		w  float64 // trees' weight: 0 logistic, 1 gbt
	}
	var cands []cand
	for _, w := range []float64{0, 1, 0.25, 0.5, 0.75} {
		p := make([]float64, len(hold))
		for i := range p {
			p[i] = sigmoid(w*zg[i] + (1-w)*zl[i])
		}
		name := fmt.Sprintf("blend %.2f", w)
		switch w {
		case 0:
			name = "logistic"
		case 1:
			name = "gbt"
		}
		cands = append(cands, cand{EvaluateScores(name, p, y), w})
	}
	// Best AUC first; a blend must beat both of its parts to be chosen, and
	// among equals the earlier (simpler) candidate wins: the sort is stable.
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(b.ev.AUC, a.ev.AUC) })
	best := cands[0]
	chosen := best.ev.Model
	if best.w > 0 && best.w < 1 {
		chosen = "blend"
	}
	res := &AutoResult{Chosen: chosen, Holdout: best.ev, Trees: trees, TrainRows: len(fit), HoldoutRows: len(hold)}
	for _, c := range cands {
		res.Candidates = append(res.Candidates, c.ev)
	}

	// Refit on every row with what the holdout chose.
	var full Model
	var lrAll *Logistic
	var gbtAll *GBT
	if best.w < 1 {
		if lrAll, err = TrainLogistic(schema, rows, o.Logistic); err != nil {
			return nil, err
		}
		full = lrAll
	}
	if best.w > 0 {
		g := o.GBT
		g.Trees = trees
		if gbtAll, err = TrainGBT(schema, rows, g); err != nil {
			return nil, err
		}
		full = gbtAll
	}
	if best.w > 0 && best.w < 1 {
		full = &Blend{GBT: gbtAll, Logistic: lrAll, Weight: best.w}
		res.BlendWeight = best.w
	}
	res.Model = full
	return res, nil
}

// bestTrees is the number of the model's trees with the lowest log-loss on
// rows (at least one).
func bestTrees(m *GBT, rows []Row) int {
	n := len(m.trees)
	loss := make([][]float64, numChunks) // per chunk, per tree count
	parallelChunks(len(rows), func(c, lo, hi int) {
		l := make([]float64, n)
		var buf [64]uint8
		for i := lo; i < hi; i++ {
			b := m.rowBins(rows[i], buf[:])
			z := m.base
			y := b2f(rows[i].Won)
			for t, tree := range m.trees {
				z += leafValue(tree, b)
				// log-loss of sigmoid(z) for label y
				l[t] += softplus(z) - y*z
			}
		}
		loss[c] = l
	})
	best, bestLoss := 1, math.Inf(1)
	for t := range n {
		s := 0.0
		for c := range loss {
			if loss[c] != nil {
				s += loss[c][t]
			}
		}
		if s < bestLoss-1e-12 {
			best, bestLoss = t+1, s
		}
	}
	return best
}

// Blend averages a GBT's and a logistic regression's log-odds, Weight on
// the trees. The two often err on different rows: the trees on smooth
// effects far from a split, the regression on interactions.
type Blend struct {
	GBT      *GBT
	Logistic *Logistic
	Weight   float64
}

// Name implements Model.
func (m *Blend) Name() string { return "blend" }

// LogOdds is the weighted mean of the two models' log-odds.
func (m *Blend) LogOdds(r Row) float64 {
	return m.Weight*m.GBT.LogOdds(r) + (1-m.Weight)*m.Logistic.LogOdds(r)
}

// BaseLogOdds is the same weighted mean of the models' bases, so that
// Explain's contributions sum to LogOdds(row) - BaseLogOdds().
func (m *Blend) BaseLogOdds() float64 {
	return m.Weight*m.GBT.BaseLogOdds() + (1-m.Weight)*m.Logistic.BaseLogOdds()
}

// Score implements Model.
func (m *Blend) Score(r Row) float64 { return sigmoid(m.LogOdds(r)) }

// Explain implements Model: each feature's contribution is the same
// weighted mean of its contributions in the two models.
func (m *Blend) Explain(r Row, k int) []Factor {
	g := m.GBT.Explain(r, 0)
	l := m.Logistic.Explain(r, 0)
	byFeature := make(map[string]int, len(l))
	for i, f := range l {
		byFeature[f.Feature] = i
	}
	out := make([]Factor, 0, len(g))
	for _, f := range g {
		c := m.Weight * f.Contribution
		if i, ok := byFeature[f.Feature]; ok {
			c += (1 - m.Weight) * l[i].Contribution
		}
		f.Contribution = c
		out = append(out, f)
	}
	return topK(out, k)
}

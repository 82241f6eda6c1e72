package learn

import (
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
)

// LogisticOptions tunes TrainLogistic. The zero value selects the defaults.
type LogisticOptions struct {
	// L2 is the ridge penalty λ in ½λ‖β‖² on the standardised scale
	// (intercept unpenalised). It keeps one-hot blocks and perfectly
	// separating levels finite. Default 1; negative means 0.
	L2 float64
	// MinCategoryCount pools levels seen fewer times into "other", so
	// one-off values do not get their own noisy coefficient. Default 20.
	MinCategoryCount int
	// AutoLogSkew additionally applies signed log1p to numeric features
	// whose training |skewness| exceeds it, for heavy tails the caller did
	// not list in Schema.Log. Default 2; negative disables.
	AutoLogSkew float64
	// MaxIter bounds Newton iterations. Default 50.
	MaxIter int
	// Tol stops when the largest coefficient change is below it. Default 1e-6.
	Tol float64
}

func (o LogisticOptions) withDefaults() LogisticOptions {
	if o.L2 == 0 {
		o.L2 = 1
	} else if o.L2 < 0 {
		o.L2 = 0
	}
	if o.MinCategoryCount <= 0 {
		o.MinCategoryCount = 20
	}
	if o.AutoLogSkew == 0 {
		o.AutoLogSkew = 2
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 50
	}
	if o.Tol <= 0 {
		o.Tol = 1e-6
	}
	return o
}

// numEnc standardises one numeric feature.
type numEnc struct {
	log      bool    // apply signed log1p first
	mean, sd float64 // of the (transformed) non-missing training values
	col      int     // dense column of the standardised value
	missCol  int     // dense column of the missing indicator, or -1
}

// catEnc one-hot encodes one categorical feature.
type catEnc struct {
	levels map[string]int // level -> column
	other  int            // column for pooled rare and unseen levels, or -1
	lo, hi int            // the feature's columns are [lo, hi)
}

// missingLevel names "" in explanations and in the one-hot encoding:
// absence is often informative (e.g. no next step scheduled).
const missingLevel = "(missing)"

// Logistic is an L2-regularised logistic regression.
//
// Design columns are: intercept, one standardised column per numeric
// feature, a missing indicator for numeric features that had missing
// training values (the value itself is imputed with the training mean, i.e.
// 0 after standardising), then full one-hot blocks for categoricals with no
// reference level (the ridge penalty makes that identifiable and keeps every
// level's coefficient interpretable against the average).
type Logistic struct {
	schema  Schema
	num     []numEnc
	cat     []catEnc
	nDense  int       // intercept + numeric + indicator columns
	beta    []float64 // coefficients, len = number of columns
	colMean []float64 // training mean of each encoded column, for Explain
	names   []string  // column names
	iters   int
	conv    bool
}

// Coef is one fitted coefficient on the encoded (standardised) scale.
type Coef struct {
	Name  string
	Value float64
}

// Name implements Model.
func (m *Logistic) Name() string { return "logistic" }

// Coefficients returns the fitted coefficients, intercept first.
func (m *Logistic) Coefficients() []Coef {
	out := make([]Coef, len(m.beta))
	for j := range m.beta {
		out[j] = Coef{m.names[j], m.beta[j]}
	}
	return out
}

// Iterations reports the Newton iterations used and whether Tol was reached.
func (m *Logistic) Iterations() (int, bool) { return m.iters, m.conv }

func signedLog1p(x float64) float64 {
	if x < 0 {
		return -math.Log1p(-x)
	}
	return math.Log1p(x)
}

// TrainLogistic fits the model on closed deals. It returns a
// *TooFewDealsError (matching ErrTooFewDeals) when either class has fewer
// than MinDealsPerClass rows.
func TrainLogistic(schema Schema, rows []Row, opts LogisticOptions) (*Logistic, error) {
	return trainLogistic(schema, rows, opts, MinDealsPerClass)
}

func trainLogistic(schema Schema, rows []Row, opts LogisticOptions, minPerClass int) (*Logistic, error) {
	if err := checkRowsMin(schema, rows, minPerClass); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	m := &Logistic{schema: schema}
	m.buildEncoders(rows, opts)

	n, nd, nc := len(rows), m.nDense, len(m.cat)
	dense := make([]float64, n*nd)
	cats := make([]int32, n*nc)
	y := make([]float64, n)
	parallelChunks(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			m.encode(rows[i], dense[i*nd:(i+1)*nd], cats[i*nc:(i+1)*nc])
			if rows[i].Won {
				y[i] = 1
			}
		}
	})

	p := len(m.names)
	m.colMean = make([]float64, p)
	for i := range n {
		for j, x := range dense[i*nd : (i+1)*nd] {
			m.colMean[j] += x
		}
		for _, c := range cats[i*nc : (i+1)*nc] {
			if c >= 0 {
				m.colMean[c]++
			}
		}
	}
	for j := range m.colMean {
		m.colMean[j] /= float64(n)
	}

	f := &irls{n: n, p: p, nd: nd, nc: nc, dense: dense, cats: cats, y: y, l2: opts.L2}
	beta := make([]float64, p)
	beta[0] = math.Log(priorOdds(y))
	obj, g, h := f.pass(beta)
	for m.iters < opts.MaxIter {
		m.iters++
		delta, err := solveSPD(h, g, p)
		if err != nil {
			return nil, err
		}
		// Newton on a concave objective rarely overshoots, but halving
		// guarantees monotone progress when weights are near zero.
		step := 1.0
		cand := make([]float64, p)
		var objC float64
		var gC, hC []float64
		for {
			for j := range cand {
				cand[j] = beta[j] + step*delta[j]
			}
			objC, gC, hC = f.pass(cand)
			if objC >= obj-1e-12*math.Abs(obj) || step < 1e-6 {
				break
			}
			step /= 2
		}
		maxd := 0.0
		for j := range delta {
			maxd = max(maxd, math.Abs(step*delta[j]))
		}
		beta, obj, g, h = cand, objC, gC, hC
		if maxd < opts.Tol {
			m.conv = true
			break
		}
	}
	m.beta = beta
	return m, nil
}

// priorOdds starts the intercept where the first Newton step is small.
func priorOdds(y []float64) float64 {
	s := 0.0
	for _, v := range y {
		s += v
	}
	r := s / float64(len(y))
	return r / (1 - r)
}

func (m *Logistic) buildEncoders(rows []Row, opts LogisticOptions) {
	s := m.schema
	logSet := map[string]bool{}
	for _, name := range s.Log {
		logSet[name] = true
	}
	m.names = []string{"(intercept)"}
	m.num = make([]numEnc, len(s.Numeric))
	col := 1
	for k, name := range s.Numeric {
		e := &m.num[k]
		e.log = logSet[name] || (opts.AutoLogSkew > 0 && math.Abs(skewness(rows, k)) > opts.AutoLogSkew)
		var sum, sumSq float64
		cnt, miss := 0, 0
		for i := range rows {
			x := rows[i].Num[k]
			if isMissing(x) {
				miss++
				continue
			}
			if e.log {
				x = signedLog1p(x)
			}
			sum += x
			cnt++
		}
		if cnt > 0 {
			e.mean = sum / float64(cnt)
		}
		for i := range rows {
			x := rows[i].Num[k]
			if isMissing(x) {
				continue
			}
			if e.log {
				x = signedLog1p(x)
			}
			sumSq += (x - e.mean) * (x - e.mean)
		}
		e.sd = 1
		if cnt > 1 {
			if sd := math.Sqrt(sumSq / float64(cnt-1)); sd > 1e-12 {
				e.sd = sd
			}
		}
		e.col = col
		col++
		display := name
		if e.log {
			display = "log1p(" + name + ")"
		}
		m.names = append(m.names, display)
		e.missCol = -1
		if miss > 0 {
			e.missCol = col
			col++
			m.names = append(m.names, name+" missing")
		}
	}
	m.nDense = col

	m.cat = make([]catEnc, len(s.Categorical))
	for k, name := range s.Categorical {
		counts := map[string]int{}
		for i := range rows {
			v := rows[i].Cat[k]
			if v == "" {
				v = missingLevel
			}
			counts[v]++
		}
		// Sorted so column order (and the float reduction order) is
		// deterministic despite map iteration.
		levels := make([]string, 0, len(counts))
		for v := range counts {
			levels = append(levels, v)
		}
		sort.Strings(levels)
		e := &m.cat[k]
		e.levels = map[string]int{}
		e.other = -1
		e.lo = col
		rare := false
		for _, v := range levels {
			if counts[v] >= opts.MinCategoryCount {
				e.levels[v] = col
				m.names = append(m.names, name+" = "+v)
				col++
			} else {
				rare = true
			}
		}
		if rare {
			e.other = col
			m.names = append(m.names, name+" = other")
			col++
		}
		e.hi = col
	}
}

// skewness is the sample skewness of feature k's non-missing values.
func skewness(rows []Row, k int) float64 {
	var n, mean float64
	for i := range rows {
		if x := rows[i].Num[k]; !isMissing(x) {
			n++
			mean += (x - mean) / n
		}
	}
	if n < 3 {
		return 0
	}
	var m2, m3 float64
	for i := range rows {
		if x := rows[i].Num[k]; !isMissing(x) {
			d := x - mean
			m2 += d * d
			m3 += d * d * d
		}
	}
	m2 /= n
	m3 /= n
	if m2 <= 0 {
		return 0
	}
	return m3 / math.Pow(m2, 1.5)
}

// encode writes a row's dense columns and active one-hot column per
// categorical (-1 when the level maps to nothing, i.e. unseen with no
// "other" bucket: it then contributes only through the intercept).
func (m *Logistic) encode(r Row, dense []float64, cats []int32) {
	dense[0] = 1
	for k := range m.num {
		e := &m.num[k]
		x := r.Num[k]
		if isMissing(x) {
			dense[e.col] = 0
			if e.missCol >= 0 {
				dense[e.missCol] = 1
			}
			continue
		}
		if e.log {
			x = signedLog1p(x)
		}
		dense[e.col] = (x - e.mean) / e.sd
		if e.missCol >= 0 {
			dense[e.missCol] = 0
		}
	}
	for k := range m.cat {
		cats[k] = int32(m.catCol(k, r.Cat[k]))
	}
}

func (m *Logistic) catCol(k int, v string) int {
	e := &m.cat[k]
	if v == "" {
		v = missingLevel
	}
	if c, ok := e.levels[v]; ok {
		return c
	}
	return e.other
}

// Score implements Model.
func (m *Logistic) Score(r Row) float64 {
	return sigmoid(m.LogOdds(r))
}

// LogOdds returns the linear predictor for the row.
func (m *Logistic) LogOdds(r Row) float64 {
	checkRowShape(m.schema, r)
	z := m.beta[0]
	for k := range m.num {
		e := &m.num[k]
		x := r.Num[k]
		if isMissing(x) {
			if e.missCol >= 0 {
				z += m.beta[e.missCol]
			}
			continue
		}
		if e.log {
			x = signedLog1p(x)
		}
		z += m.beta[e.col] * (x - e.mean) / e.sd
	}
	for k := range m.cat {
		if c := m.catCol(k, r.Cat[k]); c >= 0 {
			z += m.beta[c]
		}
	}
	return z
}

// BaseLogOdds is the log-odds of the training-mean encoded row; Explain's
// contributions over all features sum to LogOdds(row) - BaseLogOdds().
func (m *Logistic) BaseLogOdds() float64 {
	z := 0.0
	for j, b := range m.beta {
		z += b * m.colMean[j]
	}
	return z
}

// Explain implements Model. Each feature's contribution is
// Σ β_j (x_j − mean_j) over its encoded columns, so a categorical level's
// contribution includes "not being" the other levels, and a numeric
// feature's includes its missing indicator.
func (m *Logistic) Explain(r Row, k int) []Factor {
	checkRowShape(m.schema, r)
	nd, nc := m.nDense, len(m.cat)
	dense := make([]float64, nd)
	cats := make([]int32, nc)
	m.encode(r, dense, cats)
	out := make([]Factor, 0, len(m.num)+nc)
	for i, e := range m.num {
		c := m.beta[e.col] * (dense[e.col] - m.colMean[e.col])
		if e.missCol >= 0 {
			c += m.beta[e.missCol] * (dense[e.missCol] - m.colMean[e.missCol])
		}
		val := "missing"
		if x := r.Num[i]; !isMissing(x) {
			val = strconv.FormatFloat(x, 'g', 6, 64)
		}
		name := m.schema.Numeric[i]
		out = append(out, Factor{Feature: name, Name: name, Value: val, Contribution: c})
	}
	for i, e := range m.cat {
		active := int(cats[i])
		c := 0.0
		for col := e.lo; col < e.hi; col++ {
			c += m.beta[col] * (b2f(col == active) - m.colMean[col])
		}
		name := m.schema.Categorical[i]
		val := r.Cat[i]
		if val == "" {
			val = missingLevel
		}
		out = append(out, Factor{Feature: name, Name: name + " = " + val, Value: val, Contribution: c})
	}
	return topK(out, k)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// topK sorts by |contribution| (name breaks ties for determinism) and trims.
func topK(fs []Factor, k int) []Factor {
	slices.SortStableFunc(fs, func(a, b Factor) int {
		if d := math.Abs(b.Contribution) - math.Abs(a.Contribution); d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	if k > 0 && k < len(fs) {
		fs = fs[:k]
	}
	return fs
}

// irls holds the encoded design for Newton iterations. The one-hot part is
// stored as active column indices, so each row costs O(d² + d·c + c²)
// instead of O(p²) when accumulating the Hessian.
type irls struct {
	n, p, nd, nc int
	dense        []float64
	cats         []int32
	y            []float64
	l2           float64
}

// pass returns the penalised log-likelihood, its gradient and the negative
// Hessian (full symmetric, row-major) at beta.
func (f *irls) pass(beta []float64) (float64, []float64, []float64) {
	p, nd, nc := f.p, f.nd, f.nc
	type acc struct {
		ll   float64
		g, h []float64
	}
	accs := make([]acc, numChunks)
	parallelChunks(f.n, func(c, lo, hi int) {
		g := make([]float64, p)
		h := make([]float64, p*p) // lower triangle only
		ll := 0.0
		for i := lo; i < hi; i++ {
			x := f.dense[i*nd : (i+1)*nd]
			cs := f.cats[i*nc : (i+1)*nc]
			z := 0.0
			for j, v := range x {
				z += beta[j] * v
			}
			for _, cj := range cs {
				if cj >= 0 {
					z += beta[cj]
				}
			}
			mu := sigmoid(z)
			ll += f.y[i]*z - softplus(z)
			r := f.y[i] - mu
			w := mu * (1 - mu)
			for a, va := range x {
				g[a] += r * va
				wa := w * va
				row := h[a*p : a*p+a+1]
				for b := range row {
					row[b] += wa * x[b]
				}
			}
			for ci, cj := range cs {
				if cj < 0 {
					continue
				}
				g[cj] += r
				row := h[int(cj)*p:]
				for b, vb := range x {
					row[b] += w * vb
				}
				// Distinct features have distinct column ranges; order
				// the pair so we always write the lower triangle.
				for _, ck := range cs[:ci+1] {
					if ck < 0 {
						continue
					}
					hi, lo := max(cj, ck), min(cj, ck)
					h[int(hi)*p+int(lo)] += w
				}
			}
		}
		accs[c] = acc{ll, g, h}
	})
	ll := 0.0
	g := make([]float64, p)
	h := make([]float64, p*p)
	for _, a := range accs {
		if a.g == nil {
			continue
		}
		ll += a.ll
		for j := range g {
			g[j] += a.g[j]
		}
		for j := range h {
			h[j] += a.h[j]
		}
	}
	for j := 1; j < p; j++ {
		ll -= 0.5 * f.l2 * beta[j] * beta[j]
		g[j] -= f.l2 * beta[j]
		h[j*p+j] += f.l2
	}
	for a := range p {
		for b := a + 1; b < p; b++ {
			h[a*p+b] = h[b*p+a]
		}
	}
	return ll, g, h
}

var errNotPD = errors.New("learn: Hessian not positive definite (a constant or duplicated column with L2 = 0?)")

// solveSPD solves A x = b for symmetric positive-definite A (row-major p×p)
// by Cholesky. A tiny ridge is added once on failure to survive columns
// that are exactly collinear when the caller disabled L2.
func solveSPD(a, b []float64, p int) ([]float64, error) {
	for attempt := range 2 {
		l := slices.Clone(a)
		if attempt == 1 {
			for j := range p {
				l[j*p+j] += 1e-8 * (1 + a[j*p+j])
			}
		}
		if choleskyInPlace(l, p) {
			x := slices.Clone(b)
			for i := range p { // L y = b
				s := x[i]
				for k := range i {
					s -= l[i*p+k] * x[k]
				}
				x[i] = s / l[i*p+i]
			}
			for i := p - 1; i >= 0; i-- { // Lᵀ x = y
				s := x[i]
				for k := i + 1; k < p; k++ {
					s -= l[k*p+i] * x[k]
				}
				x[i] = s / l[i*p+i]
			}
			return x, nil
		}
	}
	return nil, errNotPD
}

func choleskyInPlace(a []float64, p int) bool {
	for j := range p {
		s := a[j*p+j]
		for k := range j {
			s -= a[j*p+k] * a[j*p+k]
		}
		if s <= 0 || math.IsNaN(s) {
			return false
		}
		d := math.Sqrt(s)
		a[j*p+j] = d
		for i := j + 1; i < p; i++ {
			t := a[i*p+j]
			for k := range j {
				t -= a[i*p+k] * a[j*p+k]
			}
			a[i*p+j] = t / d
		}
	}
	return true
}

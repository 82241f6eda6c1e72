package ets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Forecast holds point forecasts and prediction intervals. Lower[i] and
// Upper[i] are the bounds at Levels[i] percent, one value per step ahead.
type Forecast struct {
	Point  []float64
	Levels []float64
	Lower  [][]float64
	Upper  [][]float64
}

// DefaultLevels are the usual 80% and 95% prediction intervals.
var DefaultLevels = []float64{80, 95}

func checkLevels(levels []float64) error {
	for _, l := range levels {
		if !(l > 0 && l < 100) {
			return fmt.Errorf("ets: interval level %v: must be a percentage strictly between 0 and 100", l)
		}
	}
	return nil
}

// Forecast forecasts h steps ahead with prediction intervals at levels
// (percent; DefaultLevels when nil). The additive models and the
// non-seasonal multiplicative-error ones use the exact variances of
// Hyndman et al. (2008, classes 1 and 2) with normal quantiles; the other
// multiplicative models use quantiles of simulated sample paths drawn from
// a fixed seed, so the result is deterministic too.
func (m *Model) Forecast(h int, levels []float64) (Forecast, error) {
	if h <= 0 {
		return Forecast{}, fmt.Errorf("%w (got %d)", ErrHorizon, h)
	}
	if levels == nil {
		levels = DefaultLevels
	}
	if err := checkLevels(levels); err != nil {
		return Forecast{}, err
	}
	sp := m.spec()
	fc := Forecast{Point: sp.point(m.State, m.Phi, h), Levels: slices.Clone(levels)}
	fc.Lower = make([][]float64, len(levels))
	fc.Upper = make([][]float64, len(levels))
	for i := range levels {
		fc.Lower[i] = make([]float64, h)
		fc.Upper[i] = make([]float64, h)
	}
	var v []float64
	switch {
	case m.Error == "A" && m.Season != "M":
		v = m.variance(h)
	case m.Error == "M" && m.Season == "N":
		v = m.varianceClass2(h, fc.Point)
	}
	if v != nil {
		for i, l := range levels {
			z := normalQuantile(0.5 + l/200)
			for j := range h {
				w := z * math.Sqrt(v[j])
				fc.Lower[i][j] = fc.Point[j] - w
				fc.Upper[i][j] = fc.Point[j] + w
			}
		}
		return fc, nil
	}
	m.simulate(h, levels, &fc)
	return fc, nil
}

func (m *Model) spec() spec {
	return spec{err: m.Error[0], trend: m.Trend[0], season: m.Season[0], damped: m.Damped, m: m.M}
}

// point iterates the forecast function from state x (Model.State layout).
func (sp spec) point(x []float64, phi float64, h int) []float64 {
	l := x[0]
	var b float64
	k := 1
	if sp.trend != 'N' {
		b = x[1]
		k = 2
	}
	if !sp.damped {
		phi = 1
	}
	out := make([]float64, h)
	phiSum, phiPow := 0.0, 1.0
	for i := range out {
		phiPow *= phi
		phiSum += phiPow
		f := l
		if sp.trend != 'N' {
			f += phiSum * b
		}
		if sp.season != 'N' {
			// x[k] is the most recent seasonal state, x[k+m-1] the one
			// for the next period.
			s := x[k+sp.m-1-i%sp.m]
			if sp.season == 'A' {
				f += s
			} else {
				f *= s
			}
		}
		out[i] = f
	}
	return out
}

// variance is the h-step forecast variance of the linear models (class 1):
// sigma²(1 + sum_{j<h} c_j²).
func (m *Model) variance(h int) []float64 {
	c := m.coefficients(h)
	v := make([]float64, h)
	acc := 1.0
	for j := range h {
		v[j] = m.Sigma2 * acc
		acc += c[j] * c[j]
	}
	return v
}

// varianceClass2 is the exact forecast variance of the multiplicative-error
// models without season (Hyndman et al. 2008, class 2):
// v_h = (1+sigma²)theta_h - mu_h², theta_1 = mu_1²,
// theta_h = mu_h² + sigma² sum_{j<h} c_j² theta_{h-j}.
func (m *Model) varianceClass2(h int, mu []float64) []float64 {
	c := m.coefficients(h)
	theta := make([]float64, h)
	v := make([]float64, h)
	for j := range h {
		theta[j] = mu[j] * mu[j]
		for i := 1; i <= j; i++ {
			theta[j] += m.Sigma2 * c[i-1] * c[i-1] * theta[j-i]
		}
		v[j] = (1+m.Sigma2)*theta[j] - mu[j]*mu[j]
	}
	return v
}

// coefficients returns c_1..c_h: how much a one-step error moves the
// forecast j steps later, alpha + beta*phi_j + gamma*[j mod m = 0].
func (m *Model) coefficients(h int) []float64 {
	c := make([]float64, h)
	phiJ, phiPow := 0.0, 1.0
	for j := range c {
		step := j + 1
		c[j] = m.Alpha
		if m.Trend != "N" {
			if m.Damped {
				phiPow *= m.Phi
				phiJ += phiPow
			} else {
				phiJ = float64(step)
			}
			c[j] += m.Beta * phiJ
		}
		if m.Season != "N" && step%m.M == 0 {
			c[j] += m.Gamma
		}
	}
	return c
}

// simulate fills the intervals of fc from nsim sample paths.
func (m *Model) simulate(h int, levels []float64, fc *Forecast) {
	sp := m.spec()
	nsim := m.nsim
	if nsim <= 0 {
		nsim = 5000
	}
	rng := rand.New(rand.NewPCG(m.seed, 0x9e3779b97f4a7c15))
	sigma := math.Sqrt(m.Sigma2)
	paths := make([][]float64, h)
	for j := range paths {
		paths[j] = make([]float64, nsim)
	}
	k := 1
	if sp.trend != 'N' {
		k = 2
	}
	phi := m.Phi
	if !sp.damped {
		phi = 1
	}
	ring := make([]float64, max(sp.m, 1))
	for p := range nsim {
		l := m.State[0]
		var b float64
		if k == 2 {
			b = m.State[1]
		}
		pos := 0
		if sp.season != 'N' {
			for i := range sp.m {
				ring[i] = m.State[k+sp.m-1-i]
			}
		}
		for j := range h {
			phib := 0.0
			if k == 2 {
				phib = phi * b
			}
			q := l + phib
			mu := q
			var s float64
			switch sp.season {
			case 'A':
				s = ring[pos]
				mu = q + s
			case 'M':
				s = ring[pos]
				mu = q * s
			}
			e := sigma * rng.NormFloat64()
			var y float64
			if sp.err == 'M' {
				y = mu * (1 + e)
			} else {
				y = mu + e
			}
			paths[j][p] = y
			var pt float64
			switch sp.season {
			case 'N':
				pt = y
			case 'A':
				pt = y - s
			case 'M':
				pt = y / s
			}
			lnew := q + m.Alpha*(pt-q)
			if k == 2 {
				b = phib + m.Beta/m.Alpha*(lnew-l-phib)
			}
			switch sp.season {
			case 'A':
				ring[pos] = s + m.Gamma*(y-q-s)
			case 'M':
				ring[pos] = s + m.Gamma*(y/q-s)
			}
			if sp.season != 'N' {
				pos = (pos + 1) % sp.m
			}
			l = lnew
		}
	}
	for j := range h {
		for i, lv := range levels {
			a := (1 - lv/100) / 2
			fc.Lower[i][j] = quantile(paths[j], a)
			fc.Upper[i][j] = quantile(paths[j], 1-a)
		}
	}
}

// quantile of x with R's default (type 7) interpolation. It reorders x:
// selecting the two order statistics needed is several times cheaper than
// sorting, and sorting the paths was a third of the M1 run time.
func quantile(x []float64, p float64) float64 {
	h := p * float64(len(x)-1)
	lo := math.Floor(h)
	i := int(lo)
	v := selectK(x, i)
	if i+1 >= len(x) || h == lo {
		return v
	}
	// After selection everything right of i is >= x[i]: the next order
	// statistic is their minimum.
	next := x[i+1]
	for _, w := range x[i+2:] {
		next = min(next, w)
	}
	return v + (h-lo)*(next-v)
}

// selectK partially orders x so that x[k] is its k-th smallest value, with
// nothing larger before it and nothing smaller after it (Hoare's select).
func selectK(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three, which also bounds the scans below.
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}

func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// Naive forecasts the last observation for h steps.
func Naive(y []float64, h int) ([]float64, error) {
	return SeasonalNaive(y, 1, h)
}

// SeasonalNaive forecasts each step with the observation one season
// earlier; with fewer than m observations it falls back to the last value.
func SeasonalNaive(y []float64, m, h int) ([]float64, error) {
	if err := checkSeries(y, m); err != nil {
		return nil, err
	}
	if h <= 0 {
		return nil, fmt.Errorf("%w (got %d)", ErrHorizon, h)
	}
	n := len(y)
	if n < m {
		m = 1
	}
	out := make([]float64, h)
	for i := range out {
		out[i] = y[n-m+i%m]
	}
	return out, nil
}

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
// (percent; DefaultLevels when nil). Additive-error models use the
// analytic variance of Hyndman et al. (2008, class 1); models with a
// multiplicative component use quantiles of simulated sample paths from a
// fixed seed, so the result is deterministic.
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
	if m.Error == "A" && m.Season != "M" {
		v := m.variance(h)
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

// variance is the h-step forecast variance of the linear models:
// sigma²(1 + sum_{j<h} c_j²), c_j = alpha + beta*phi_j + gamma*[j mod m = 0].
func (m *Model) variance(h int) []float64 {
	v := make([]float64, h)
	acc := 1.0
	phiJ, phiPow := 0.0, 1.0
	for j := range h {
		v[j] = m.Sigma2 * acc
		// c for the next step, j+1 steps after the origin.
		step := j + 1
		c := m.Alpha
		if m.Trend != "N" {
			if m.Damped {
				phiPow *= m.Phi
				phiJ += phiPow
			} else {
				phiJ = float64(step)
			}
			c += m.Beta * phiJ
		}
		if m.Season != "N" && step%m.M == 0 {
			c += m.Gamma
		}
		acc += c * c
	}
	return v
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
		slices.Sort(paths[j])
		for i, lv := range levels {
			a := (1 - lv/100) / 2
			fc.Lower[i][j] = quantile(paths[j], a)
			fc.Upper[i][j] = quantile(paths[j], 1-a)
		}
	}
}

// quantile of sorted x, R's default (type 7) interpolation.
func quantile(x []float64, p float64) float64 {
	h := p * float64(len(x)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[i] + (h-lo)*(x[i+1]-x[i])
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

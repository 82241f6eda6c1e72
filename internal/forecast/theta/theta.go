// Package theta forecasts with the Theta method of Assimakopoulos and
// Nikolopoulos (2000), in the form Hyndman and Billah (2003) showed it to
// be: simple exponential smoothing with a drift of half the series' linear
// trend, on the seasonally adjusted series when a seasonality test says so
// (classical multiplicative decomposition), reseasonalised afterwards. It
// follows R's forecast::thetaf, except that the prediction intervals are
// scaled by the seasonal index, as the point forecast is.
package theta

import (
	"errors"
	"fmt"
	"math"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
)

// Model is a fitted Theta model.
type Model struct {
	// Seasonal says whether the series was seasonally adjusted; Index is
	// then the multiplicative seasonal index by position (i % M).
	Seasonal bool
	M        int
	Index    []float64
	// Drift is half the slope of the least-squares line through the
	// (adjusted) series: the theta = 2 line's contribution.
	Drift float64
	// SES is simple exponential smoothing fitted to the adjusted series.
	SES *ets.Model
	N   int
}

// String names the model.
func (m *Model) String() string {
	if m.Seasonal {
		return "Theta(seasonal)"
	}
	return "Theta"
}

// ErrShort is returned for a series too short to smooth.
var ErrShort = errors.New("theta: a series needs at least 2 observations")

// Fit fits the Theta method to y with seasonal period m (1 for none).
func Fit(y []float64, m int) (*Model, error) {
	n := len(y)
	if n < 2 {
		return nil, ErrShort
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, ets.ErrNaN
		}
	}
	if m < 1 {
		return nil, fmt.Errorf("theta: seasonal period %d: must be at least 1", m)
	}
	mod := &Model{M: m, N: n}
	x := y
	if seasonalityTest(y, m) {
		if idx := seasonalIndex(y, m); idx != nil {
			mod.Seasonal, mod.Index = true, idx
			x = make([]float64, n)
			for i, v := range y {
				x[i] = v / idx[i%m]
			}
		}
	}
	ses, err := ets.Fit(x, 1, ets.Options{Spec: "ANN"})
	if err != nil {
		return nil, err
	}
	mod.SES = ses
	mod.Drift = slope(x) / 2
	return mod, nil
}

// Forecast forecasts h steps with prediction intervals at levels (percent;
// ets.DefaultLevels when nil). The intervals are SES's, around the Theta
// point forecast, times the seasonal index.
func (m *Model) Forecast(h int, levels []float64) (ets.Forecast, error) {
	fc, err := m.SES.Forecast(h, levels)
	if err != nil {
		return ets.Forecast{}, err
	}
	alpha := math.Max(1e-10, m.SES.Alpha)
	// The drift of the theta = 2 line as SES carries it forward (Hyndman
	// and Billah 2003, eq. 4).
	shift := (1 - math.Pow(1-alpha, float64(m.N))) / alpha
	for j := range h {
		d := m.Drift * (float64(j) + shift)
		s := 1.0
		if m.Seasonal {
			s = m.Index[(m.N+j)%m.M]
		}
		fc.Point[j] = (fc.Point[j] + d) * s
		for i := range fc.Lower {
			fc.Lower[i][j] = (fc.Lower[i][j] + d) * s
			fc.Upper[i][j] = (fc.Upper[i][j] + d) * s
		}
	}
	return fc, nil
}

// seasonalityTest is thetaf's: the autocorrelation at lag m is significant
// at 90 % (two-sided), with Bartlett's variance from the lags below it.
// It needs more than two seasons.
func seasonalityTest(y []float64, m int) bool {
	n := len(y)
	if m <= 1 || n <= 2*m {
		return false
	}
	r := acf(y, m)
	if r == nil {
		return false // constant
	}
	var s float64
	for k := 1; k < m; k++ {
		s += r[k] * r[k]
	}
	stat := math.Sqrt((1 + 2*s) / float64(n))
	const z90 = 1.6448536269514722 // qnorm(0.95)
	return math.Abs(r[m])/stat > z90
}

// acf is the sample autocorrelation at lags 0..maxLag; nil for a constant
// series.
func acf(y []float64, maxLag int) []float64 {
	n := len(y)
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	var c0 float64
	for _, v := range y {
		c0 += (v - mean) * (v - mean)
	}
	if c0 == 0 {
		return nil
	}
	r := make([]float64, maxLag+1)
	for k := range r {
		var c float64
		for t := 0; t+k < n; t++ {
			c += (y[t] - mean) * (y[t+k] - mean)
		}
		r[k] = c / c0
	}
	return r
}

// seasonalIndex is the multiplicative seasonal figure of stats::decompose
// (ets.SeasonalFigure). It is nil when the series is not positive (the
// ratios mean nothing) or an index is near 0, as thetaf then does without.
func seasonalIndex(y []float64, m int) []float64 {
	for _, v := range y {
		if v <= 0 {
			return nil
		}
	}
	idx := ets.SeasonalFigure(y, m, true)
	for _, v := range idx {
		if math.Abs(v) < 1e-4 {
			return nil
		}
	}
	return idx
}

// slope is the least-squares slope of y on 0..n-1.
func slope(y []float64) float64 {
	n := float64(len(y))
	var st, sy, stt, sty float64
	for i, v := range y {
		t := float64(i)
		st += t
		sy += v
		stt += t * t
		sty += t * v
	}
	return (n*sty - st*sy) / (n*stt - st*st)
}

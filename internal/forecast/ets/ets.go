// Package ets fits exponential smoothing state-space models, ETS(E,T,S) in
// the taxonomy of Hyndman, Koehler, Ord and Snyder ("Forecasting with
// Exponential Smoothing: The State Space Approach", 2008), by maximum
// likelihood, selects among them by AICc and forecasts with prediction
// intervals. Its defaults follow R's forecast::ets(y, model = "ZZZ"), so
// that results can be compared with that reference implementation.
package ets

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Parameter bounds, R's defaults: every smoothing weight in
// [1e-4, 0.9999], beta below alpha, gamma below 1-alpha, phi in [0.8, 0.98].
const (
	lowerSmooth = 1e-4
	upperSmooth = 0.9999
	lowerPhi    = 0.8
	upperPhi    = 0.98
	// maxSeasonal is the longest season R's ets will model.
	maxSeasonal = 24
)

// Options tunes Fit. The zero value selects automatically, as R's
// ets(y, model = "ZZZ") does.
type Options struct {
	// Spec restricts the model: three letters for error, trend and season,
	// each one of A, M, N or Z (automatic), the trend optionally "Ad" for a
	// damped trend; e.g. "ZZZ" (default), "AAdN", "MZM".
	Spec string
	// AdditiveOnly excludes every multiplicative component.
	AdditiveOnly bool
	// NSim is the number of simulated sample paths used for the prediction
	// intervals of models without an analytic variance; default 5000.
	NSim int
	// Seed seeds the simulation so that intervals are reproducible.
	Seed uint64
}

// Model is a fitted ETS model.
type Model struct {
	Error  string // "A" or "M"
	Trend  string // "N" or "A"
	Season string // "N", "A" or "M"
	Damped bool

	Alpha, Beta, Gamma, Phi float64
	// M is the seasonal period the model uses: 1 for a non-seasonal model.
	M int

	// Init is the estimated initial state x0: level, then the trend if
	// any, then the seasonal states s0, s-1, ..., s-(m-1).
	Init []float64
	// State is the state after the last observation, same layout.
	State []float64

	N                      int // observations
	NParams                int // estimated parameters, sigma included
	LogLik, AIC, AICc, BIC float64
	// Sigma2 is the residual variance (relative for multiplicative errors).
	Sigma2    float64
	Fitted    []float64
	Residuals []float64

	nsim int
	seed uint64
}

// String names the model as R does, e.g. "ETS(M,Ad,M)".
func (m *Model) String() string {
	t := m.Trend
	if m.Damped {
		t += "d"
	}
	return fmt.Sprintf("ETS(%s,%s,%s)", m.Error, t, m.Season)
}

// Label says in plain words what the model assumes, e.g. "trend, no
// seasonality" for ETS(M,A,N); String is the technical name.
func (m *Model) Label() string {
	trend := "no trend"
	switch {
	case m.Trend == "A" && m.Damped:
		trend = "trend that levels off"
	case m.Trend == "A":
		trend = "trend"
	}
	season := "no seasonality"
	switch m.Season {
	case "A":
		season = "seasonality"
	case "M":
		season = "seasonality growing with the level"
	}
	return trend + ", " + season
}

// spec is one candidate model form.
type spec struct {
	err, trend, season byte // 'A', 'M', 'N'
	damped             bool
	m                  int
}

func (s spec) String() string {
	d := ""
	if s.damped {
		d = "d"
	}
	return fmt.Sprintf("ETS(%c,%c%s,%c)", s.err, s.trend, d, s.season)
}

// Errors returned for unusable input.
var (
	ErrEmpty   = errors.New("ets: empty series")
	ErrNaN     = errors.New("ets: series contains NaN or infinite values")
	ErrPeriod  = errors.New("ets: seasonal period must be at least 1")
	ErrHorizon = errors.New("ets: forecast horizon must be at least 1")
)

func checkSeries(y []float64, m int) error {
	if len(y) == 0 {
		return ErrEmpty
	}
	if m < 1 {
		return fmt.Errorf("%w (got %d)", ErrPeriod, m)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w (index %d)", ErrNaN, i)
		}
	}
	return nil
}

// parseSpec expands opt.Spec into the letters allowed for each component
// and the damping choices.
func parseSpec(s string) (errs, trends, seasons string, damped []bool, err error) {
	if s == "" {
		s = "ZZZ"
	}
	s = strings.ToUpper(s)
	dampedOnly := false
	if len(s) == 4 && s[2] == 'D' {
		dampedOnly = true
		s = s[:2] + s[3:]
	}
	if len(s) != 3 {
		return "", "", "", nil, fmt.Errorf("ets: model spec %q: want three letters like ZZZ, AAN or AAdN", s)
	}
	expand := func(c byte, all, what string) (string, error) {
		if c == 'Z' {
			return all, nil
		}
		if !strings.ContainsRune(all, rune(c)) {
			return "", fmt.Errorf("ets: model spec %q: %s %q must be one of %s or Z", s, what, c, strings.Join(strings.Split(all, ""), ", "))
		}
		return string(c), nil
	}
	if errs, err = expand(s[0], "AM", "error"); err != nil {
		return
	}
	// Multiplicative trends are not offered: R excludes them by default
	// because they forecast explosively.
	if trends, err = expand(s[1], "NA", "trend"); err != nil {
		return
	}
	if seasons, err = expand(s[2], "NAM", "season"); err != nil {
		return
	}
	switch {
	case dampedOnly:
		if trends == "N" {
			return "", "", "", nil, fmt.Errorf("ets: model spec %q: a damped model needs a trend", s)
		}
		trends = "A"
		damped = []bool{true}
	case s[1] == 'Z':
		damped = []bool{false, true}
	default:
		// An explicit trend letter means undamped; "Ad" asks for damping.
		damped = []bool{false}
	}
	return errs, trends, seasons, damped, nil
}

// Fit selects by AICc among the ETS models allowed by opt and the data and
// returns the best one fitted by maximum likelihood. m is the seasonal
// period (1 for none).
func Fit(y []float64, m int, opt Options) (*Model, error) {
	sel, err := Select(y, m, opt)
	return sel.Best, err
}

// Selection is the outcome of the automatic search: the candidate with the
// lowest AICc, and the damped-trend candidate with the lowest AICc (nil
// when none was fitted), for a combination that wants a damped member
// without searching twice.
type Selection struct {
	Best, Damped *Model
}

// Select is Fit, also keeping the best damped-trend candidate.
func Select(y []float64, m int, opt Options) (Selection, error) {
	var sel Selection
	if err := checkSeries(y, m); err != nil {
		return sel, err
	}
	errs, trends, seasons, dampings, err := parseSpec(opt.Spec)
	if err != nil {
		return sel, err
	}
	nsim := opt.NSim
	if nsim <= 0 {
		nsim = 5000
	}
	seed := opt.Seed
	n := len(y)
	positive := true
	constant := true
	for _, v := range y {
		if v <= 0 {
			positive = false
		}
		if v != y[0] {
			constant = false
		}
	}
	if constant {
		// As R does: nothing to estimate, so simple exponential smoothing
		// with alpha at its upper bound reproduces the series exactly.
		sel.Best = constantModel(y, nsim, seed)
		return sel, nil
	}

	// Seasonal models need a period R would model (2..24) and more than one
	// season of data; otherwise only non-seasonal ones are tried, like R.
	// fitSpec's degrees-of-freedom guard then drops what the data cannot
	// support.
	seasonalOK := m > 1 && m <= maxSeasonal && n > m && n >= 4
	if !seasonalOK {
		seasons = strings.ReplaceAll(strings.ReplaceAll(seasons, "A", ""), "M", "")
		if seasons == "" {
			seasons = "N"
		}
	}
	if !positive {
		errs = strings.ReplaceAll(errs, "M", "")
		seasons = strings.ReplaceAll(seasons, "M", "")
		if errs == "" {
			return sel, errors.New("ets: multiplicative error needs strictly positive data")
		}
		if seasons == "" {
			return sel, errors.New("ets: multiplicative season needs strictly positive data")
		}
	}
	if opt.AdditiveOnly {
		errs = strings.ReplaceAll(errs, "M", "")
		seasons = strings.ReplaceAll(seasons, "M", "")
		if errs == "" || seasons == "" {
			return sel, errors.New("ets: additive-only excludes the requested model")
		}
	}

	var cands []spec
	for _, e := range []byte(errs) {
		for _, t := range []byte(trends) {
			for _, s := range []byte(seasons) {
				for _, d := range dampings {
					if t == 'N' && d {
						continue
					}
					// R's restrict=TRUE: additive errors with a
					// multiplicative season are numerically unstable.
					if e == 'A' && s == 'M' {
						continue
					}
					sm := 1
					if s != 'N' {
						sm = m
					}
					cands = append(cands, spec{err: e, trend: t, season: s, damped: d, m: sm})
				}
			}
		}
	}

	if len(cands) == 0 {
		return sel, fmt.Errorf("ets: model spec %q: additive errors with a multiplicative season are not supported", opt.Spec)
	}

	// Too little data to estimate anything sensible: R falls back to an
	// unoptimised Holt-Winters; a level-only model is the closest honest
	// equivalent and still has a likelihood.
	if n <= 2+4 {
		cands = []spec{{err: 'A', trend: 'N', season: 'N', m: 1}}
	}

	for _, sp := range cands {
		fit := fitSpec(y, sp)
		if fit == nil {
			continue
		}
		fit.nsim, fit.seed = nsim, seed
		if sel.Best == nil || fit.AICc < sel.Best.AICc {
			sel.Best = fit
		}
		if fit.Damped && (sel.Damped == nil || fit.AICc < sel.Damped.AICc) {
			sel.Damped = fit
		}
	}
	if sel.Best == nil {
		// Too few points to estimate even a level model: carry the last
		// value forward (alpha ~ 1), with the spread of its past errors.
		sel.Best = constantModel(y, nsim, seed)
	}
	return sel, nil
}

// constantModel is ETS(A,N,N) with alpha ~ 1 and initial level y[0]: the
// naive forecast, for data that leave nothing to estimate.
func constantModel(y []float64, nsim int, seed uint64) *Model {
	mod := &Model{Error: "A", Trend: "N", Season: "N", Alpha: upperSmooth, M: 1, N: len(y), nsim: nsim, seed: seed}
	mod.Init = []float64{y[0]}
	st := spec{err: 'A', trend: 'N', season: 'N', m: 1}
	p := params{alpha: upperSmooth, phi: 1}
	res := st.filter(y, p, []float64{y[0]}, true)
	mod.State = res.state
	mod.Fitted, mod.Residuals = res.fitted, res.resid
	var sse float64
	for _, e := range res.resid {
		sse += e * e
	}
	mod.NParams = 2
	mod.Sigma2 = sse / float64(max(len(y)-1, 1))
	mod.LogLik, mod.AIC, mod.AICc, mod.BIC = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	return mod
}

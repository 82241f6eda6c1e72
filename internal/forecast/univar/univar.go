// Package univar forecasts one time series by a named method: automatic
// ETS, the Theta method, or their combination with the best damped-trend
// ETS model (the default: on the M1 competition it is ahead of R's ets and
// thetaf on sMAPE and MASE, monthly and quarterly; docs/benchmarks.md).
// Everything that forecasts a series (bookings, leads, `forecast series`)
// goes through Forecast, so one choice of method holds everywhere.
package univar

import (
	"fmt"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/theta"
)

// The methods.
const (
	ETS   = "ets"   // automatic exponential smoothing, chosen by AICc
	Theta = "theta" // SES with drift on the seasonally adjusted series
	// Combo is the mean of automatic ETS, Theta and the damped-trend ETS
	// model with the lowest AICc: forecasts and interval bounds alike.
	Combo   = "combo"
	Default = Combo
)

// Methods lists the method names, the default first.
var Methods = []string{Combo, ETS, Theta}

// Result is a forecast and what made it.
type Result struct {
	ets.Forecast
	Method string
	// Model names the fitted model(s) technically, e.g. "ETS(M,A,N)" or
	// "mean of ETS(M,A,N), Theta, ETS(A,Ad,N)".
	Model string
	// Label says in words what the forecast assumes.
	Label string
}

// CheckMethod refuses a name that is not a method.
func CheckMethod(method string) error {
	for _, m := range Methods {
		if method == m {
			return nil
		}
	}
	return fmt.Errorf("%q is not a forecasting method (known: %s)", method, strings.Join(Methods, ", "))
}

// Forecast fits method ("" for Default) to y, of seasonal period m, and
// forecasts h steps with prediction intervals at levels (percent;
// ets.DefaultLevels when nil).
func Forecast(y []float64, m, h int, levels []float64, method string) (Result, error) {
	if method == "" {
		method = Default
	}
	if err := CheckMethod(method); err != nil {
		return Result{}, err
	}
	if levels == nil {
		levels = ets.DefaultLevels
	}
	var parts []Result
	if method == ETS || method == Combo {
		sel, err := ets.Select(y, m, ets.Options{})
		if err != nil {
			return Result{}, err
		}
		r, err := etsResult(sel.Best, h, levels)
		if err != nil {
			return Result{}, err
		}
		if method == ETS {
			return r, nil
		}
		parts = append(parts, r)
		if sel.Damped != nil && sel.Damped != sel.Best {
			d, err := etsResult(sel.Damped, h, levels)
			if err != nil {
				return Result{}, err
			}
			parts = append(parts, d)
		}
	}
	th, err := theta.Fit(y, m)
	if err != nil {
		return Result{}, err
	}
	fc, err := th.Forecast(h, levels)
	if err != nil {
		return Result{}, err
	}
	tr := Result{Forecast: fc, Method: Theta, Model: th.String(), Label: thetaLabel(th)}
	if method == Theta {
		return tr, nil
	}
	parts = append(parts, tr)
	return mean(parts, h, levels), nil
}

func etsResult(mod *ets.Model, h int, levels []float64) (Result, error) {
	fc, err := mod.Forecast(h, levels)
	if err != nil {
		return Result{}, err
	}
	return Result{Forecast: fc, Method: ETS, Model: mod.String(), Label: mod.Label()}, nil
}

func thetaLabel(m *theta.Model) string {
	if m.Seasonal {
		return "the level smoothed with half the long-run trend, seasonally adjusted"
	}
	return "the level smoothed with half the long-run trend"
}

// mean averages the members' forecasts and interval bounds step by step.
func mean(parts []Result, h int, levels []float64) Result {
	out := Result{Method: Combo, Forecast: ets.Forecast{Point: make([]float64, h), Levels: levels,
		Lower: make([][]float64, len(levels)), Upper: make([][]float64, len(levels))}}
	for i := range levels {
		out.Lower[i], out.Upper[i] = make([]float64, h), make([]float64, h)
	}
	w := 1 / float64(len(parts))
	names := make([]string, len(parts))
	for k, p := range parts {
		names[k] = p.Model
		for j := range h {
			out.Point[j] += w * p.Point[j]
			for i := range levels {
				out.Lower[i][j] += w * p.Lower[i][j]
				out.Upper[i][j] += w * p.Upper[i][j]
			}
		}
	}
	out.Model = "mean of " + strings.Join(names, ", ")
	out.Label = fmt.Sprintf("the average of %d methods (%s)", len(parts), strings.Join(names, ", "))
	return out
}

package univar_test

import (
	"math"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/theta"
	"github.com/quarterdeck/quarterdeck/internal/forecast/univar"
)

// monthly is four years of a growing seasonal series with noise.
func monthly() []float64 {
	y := make([]float64, 48)
	for i := range y {
		y[i] = 300 + 2*float64(i) + 100*math.Sin(float64(i)*math.Pi/6) + 7*math.Sin(float64(i*i))
	}
	return y
}

// The combination is the mean, step by step, of automatic ETS, Theta and
// the best damped ETS, forecasts and interval bounds alike; each method
// alone is that model's forecast.
func TestCombinationIsTheMeanOfItsMembers(t *testing.T) {
	y := monthly()
	const h = 18
	sel, err := ets.Select(y, 12, ets.Options{})
	if err != nil || sel.Damped == nil || sel.Damped == sel.Best {
		t.Fatalf("select: %+v %v (the test needs a damped member distinct from the best)", sel, err)
	}
	th, err := theta.Fit(y, 12)
	if err != nil || !th.Seasonal {
		t.Fatalf("theta: %+v %v (the test needs a seasonal Theta member)", th, err)
	}
	var members []ets.Forecast
	for _, f := range []func() (ets.Forecast, error){
		func() (ets.Forecast, error) { return sel.Best.Forecast(h, nil) },
		func() (ets.Forecast, error) { return sel.Damped.Forecast(h, nil) },
		func() (ets.Forecast, error) { return th.Forecast(h, nil) },
	} {
		fc, err := f()
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, fc)
	}
	combo, err := univar.Forecast(y, 12, h, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if combo.Method != univar.Combo || combo.Model != "mean of "+sel.Best.String()+", "+sel.Damped.String()+", Theta(seasonal)" || !strings.HasPrefix(combo.Label, "the average of 3 methods") {
		t.Fatalf("combination %q %q %q", combo.Method, combo.Model, combo.Label)
	}
	for j := range h {
		for _, v := range []struct {
			name string
			got  float64
			of   func(ets.Forecast) float64
		}{
			{"point", combo.Point[j], func(f ets.Forecast) float64 { return f.Point[j] }},
			{"lo80", combo.Lower[0][j], func(f ets.Forecast) float64 { return f.Lower[0][j] }},
			{"hi95", combo.Upper[1][j], func(f ets.Forecast) float64 { return f.Upper[1][j] }},
		} {
			var want float64
			for _, m := range members {
				want += v.of(m) / 3
			}
			if math.Abs(v.got-want) > 1e-9*math.Abs(want) {
				t.Fatalf("step %d %s: %v, want the members' mean %v", j+1, v.name, v.got, want)
			}
		}
	}
	for _, c := range []struct {
		method string
		point  float64
		model  string
	}{{univar.ETS, members[0].Point[h-1], sel.Best.String()}, {univar.Theta, members[2].Point[h-1], "Theta(seasonal)"}} {
		r, err := univar.Forecast(y, 12, h, nil, c.method)
		if err != nil || r.Point[h-1] != c.point || r.Model != c.model || r.Method != c.method {
			t.Errorf("%s: %v %q %q (%v), want %v %q", c.method, r.Point[h-1], r.Model, r.Method, err, c.point, c.model)
		}
	}
}

func TestUnknownMethod(t *testing.T) {
	if _, err := univar.Forecast(monthly(), 12, 6, nil, "arima"); err == nil || !strings.Contains(err.Error(), `"arima" is not a forecasting method (known: combo, ets, theta)`) {
		t.Fatalf("err %v", err)
	}
}

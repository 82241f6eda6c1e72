package ets

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func noisy(n int, seed uint64, f func(t int) float64, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n)
	for t := range y {
		y[t] = f(t) + sd*r.NormFloat64()
	}
	return y
}

func TestInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		y    []float64
		m    int
		want error
	}{
		{"empty", nil, 1, ErrEmpty},
		{"nan", []float64{1, 2, math.NaN(), 4}, 1, ErrNaN},
		{"inf", []float64{1, 2, math.Inf(1), 4}, 1, ErrNaN},
		{"period", []float64{1, 2, 3, 4}, 0, ErrPeriod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Fit(tc.y, tc.m, Options{}); !errors.Is(err, tc.want) {
				t.Errorf("Fit: got %v, want %v", err, tc.want)
			}
			if _, err := SeasonalNaive(tc.y, tc.m, 3); !errors.Is(err, tc.want) {
				t.Errorf("SeasonalNaive: got %v, want %v", err, tc.want)
			}
		})
	}
	mod, err := Fit([]float64{1, 2, 3, 2, 1, 2, 3, 2, 1, 2}, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Forecast(0, nil); !errors.Is(err, ErrHorizon) {
		t.Errorf("Forecast(0): got %v, want ErrHorizon", err)
	}
	if _, err := mod.Forecast(3, []float64{80, 100}); err == nil {
		t.Error("Forecast with a 100% level: want an error")
	}
	if _, err := Naive([]float64{1}, -1); !errors.Is(err, ErrHorizon) {
		t.Errorf("Naive(h=-1): got %v, want ErrHorizon", err)
	}
	if _, err := Fit([]float64{1, 2, 3, 4, 5, 6, 7, 8}, 1, Options{Spec: "QQQ"}); err == nil {
		t.Error("spec QQQ: want an error")
	}
}

func TestConstant(t *testing.T) {
	for _, m := range []int{1, 4, 12} {
		y := make([]float64, 30)
		for i := range y {
			y[i] = 42
		}
		mod, err := Fit(y, m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fc, err := mod.Forecast(8, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range fc.Point {
			if math.Abs(v-42) > 1e-9 || math.Abs(fc.Upper[1][i]-42) > 1e-9 {
				t.Fatalf("m=%d: forecast %v, upper %v, want the constant", m, fc.Point, fc.Upper[1])
			}
		}
	}
}

func TestModelChoice(t *testing.T) {
	season := []float64{10, -5, 20, -25}
	mseason := []float64{1.2, 0.8, 1.3, 0.7}
	for _, tc := range []struct {
		name      string
		y         []float64
		m         int
		trend     bool // a trend component is wanted
		seasonal  bool
		nextAbout func(h int) float64 // the true mean h steps after the data
	}{
		{"linear trend", noisy(40, 1, func(t int) float64 { return 100 + 5*float64(t) }, 0.5), 1, true, false,
			func(h int) float64 { return 100 + 5*float64(39+h) }},
		{"additive season", noisy(48, 2, func(t int) float64 { return 200 + season[t%4] }, 1), 4, false, true,
			func(h int) float64 { return 200 + season[(47+h)%4] }},
		{"multiplicative season with trend", noisy(72, 3, func(t int) float64 { return (100 + 2*float64(t)) * mseason[t%4] }, 0.5), 4, true, true,
			func(h int) float64 { return (100 + 2*float64(71+h)) * mseason[(71+h)%4] }},
		{"level", noisy(30, 4, func(int) float64 { return 50 }, 2), 1, false, false,
			func(int) float64 { return 50 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod, err := Fit(tc.y, tc.m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if (mod.Trend != "N") != tc.trend {
				t.Errorf("%v: trend %q, want trend=%v", mod, mod.Trend, tc.trend)
			}
			if (mod.Season != "N") != tc.seasonal {
				t.Errorf("%v: season %q, want seasonal=%v", mod, mod.Season, tc.seasonal)
			}
			fc, err := mod.Forecast(4, nil)
			if err != nil {
				t.Fatal(err)
			}
			for h, v := range fc.Point {
				want := tc.nextAbout(h + 1)
				if math.Abs(v-want) > 0.05*math.Abs(want)+6 {
					t.Errorf("%v: step %d forecast %.2f, want about %.2f", mod, h+1, v, want)
				}
			}
		})
	}
}

// TestIntervals checks every model form: intervals contain the point
// forecast, widen with the horizon, and the 95% one contains the 80% one.
func TestIntervals(t *testing.T) {
	y := noisy(60, 5, func(t int) float64 { return (100 + float64(t)) * []float64{1.1, 0.9, 1.2, 0.8}[t%4] }, 4)
	for _, spec := range []string{"ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA", "MNN", "MAN", "MAdN", "MNA", "MAA", "MAdA", "MNM", "MAM", "MAdM"} {
		t.Run(spec, func(t *testing.T) {
			mod, err := Fit(y, 4, Options{Spec: spec})
			if err != nil {
				t.Fatal(err)
			}
			name := strings.NewReplacer("ETS(", "", ",", "", ")", "").Replace(mod.String())
			if name != spec {
				t.Fatalf("asked for %s, got %s", spec, mod)
			}
			fc, err := mod.Forecast(12, []float64{80, 95})
			if err != nil {
				t.Fatal(err)
			}
			for h := range fc.Point {
				lo80, hi80, lo95, hi95 := fc.Lower[0][h], fc.Upper[0][h], fc.Lower[1][h], fc.Upper[1][h]
				if !(lo95 <= lo80 && lo80 <= fc.Point[h] && fc.Point[h] <= hi80 && hi80 <= hi95) {
					t.Errorf("step %d: not nested: %.2f %.2f [%.2f] %.2f %.2f", h+1, lo95, lo80, fc.Point[h], hi80, hi95)
				}
				// Width grows with h (compare a season apart, so seasonal
				// swings of multiplicative intervals do not interfere;
				// 2% slack for simulation noise).
				if h >= 4 {
					if w, prev := hi95-lo95, fc.Upper[1][h-4]-fc.Lower[1][h-4]; w < 0.98*prev {
						t.Errorf("step %d: 95%% width %.3f below step %d's %.3f", h+1, w, h-3, prev)
					}
				}
			}
			// Deterministic: the same model forecasts the same intervals.
			again, _ := mod.Forecast(12, []float64{80, 95})
			if again.Upper[1][11] != fc.Upper[1][11] {
				t.Errorf("intervals differ between calls: %v vs %v", again.Upper[1][11], fc.Upper[1][11])
			}
		})
	}
}

func TestAnalyticWidth(t *testing.T) {
	// ETS(A,N,N): v_h = sigma²(1 + (h-1)alpha²).
	mod, err := Fit(noisy(50, 6, func(int) float64 { return 10 }, 1), 1, Options{Spec: "ANN"})
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := mod.Forecast(5, []float64{95})
	for h := range 5 {
		want := 1.959964 * math.Sqrt(mod.Sigma2*(1+float64(h)*mod.Alpha*mod.Alpha))
		if got := fc.Upper[0][h] - fc.Point[h]; math.Abs(got-want) > 1e-4*want {
			t.Errorf("h=%d: half-width %.5f, want %.5f", h+1, got, want)
		}
	}
}

func TestNonPositiveNeverMultiplicative(t *testing.T) {
	for seed := range uint64(5) {
		y := noisy(48, seed, func(t int) float64 { return 5 + 3*math.Sin(float64(t)*math.Pi/2) }, 2)
		y[7] = 0
		y[20] = -1
		mod, err := Fit(y, 4, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if mod.Error == "M" || mod.Season == "M" {
			t.Errorf("seed %d: %v chosen for data with non-positive values", seed, mod)
		}
	}
	if _, err := Fit([]float64{1, -2, 3, 4, 5, 6, 7, 8, 9}, 1, Options{Spec: "MNN"}); err == nil {
		t.Error("MNN on negative data: want an error")
	}
}

func TestShortSeries(t *testing.T) {
	// Short seasonal data must still give a (non-seasonal) model, as in
	// R; the M1 yearly series have 9 or more points.
	for _, n := range []int{1, 2, 3, 5, 9, 14} {
		y := noisy(n, uint64(n), func(t int) float64 { return 100 + float64(t) }, 1)
		mod, err := Fit(y, 12, Options{})
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if mod.Season != "N" {
			t.Errorf("n=%d: %v is seasonal with less than two seasons", n, mod)
		}
		if _, err := mod.Forecast(6, nil); err != nil {
			t.Errorf("n=%d: %v", n, err)
		}
	}
}

func TestSeasonalNaive(t *testing.T) {
	got, err := SeasonalNaive([]float64{1, 2, 3, 4, 5, 6, 7}, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{5, 6, 7, 5, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	got, _ = Naive([]float64{1, 2, 9}, 2)
	if got[0] != 9 || got[1] != 9 {
		t.Fatalf("Naive: got %v", got)
	}
}

func BenchmarkFitMonthly(b *testing.B) {
	y := noisy(120, 9, func(t int) float64 { return (1000 + 3*float64(t)) * (1 + 0.2*math.Sin(float64(t)*math.Pi/6)) }, 20)
	for b.Loop() {
		if _, err := Fit(y, 12, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestQuantileMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(r.NormFloat64() * 5) // ties on purpose
		}
		sorted := slices.Clone(x)
		slices.Sort(sorted)
		for _, p := range []float64{0, 0.025, 0.1, 0.5, 0.9, 0.975, 1} {
			h := p * float64(n-1)
			i := int(math.Floor(h))
			want := sorted[i]
			if i+1 < n {
				want += (h - math.Floor(h)) * (sorted[i+1] - sorted[i])
			}
			if got := quantile(slices.Clone(x), p); math.Abs(got-want) > 1e-9 {
				t.Fatalf("trial %d n=%d p=%v: got %v, want %v", trial, n, p, got, want)
			}
		}
	}
}

func TestForbiddenSpec(t *testing.T) {
	y := noisy(40, 3, func(t int) float64 { return 100 + 10*float64(t%4) }, 1)
	if _, err := Fit(y, 4, Options{Spec: "AAM"}); err == nil || !strings.Contains(err.Error(), "multiplicative season") {
		t.Errorf("AAM: got %v, want an error", err)
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		m    Model
		want string
	}{
		{Model{Error: "M", Trend: "A", Season: "N"}, "trend, no seasonality"},
		{Model{Error: "A", Trend: "N", Season: "N"}, "no trend, no seasonality"},
		{Model{Error: "A", Trend: "A", Damped: true, Season: "A"}, "trend that levels off, seasonality"},
		{Model{Error: "M", Trend: "N", Season: "M"}, "no trend, seasonality growing with the level"},
	} {
		if got := tc.m.Label(); got != tc.want {
			t.Errorf("%v: label %q, want %q", &tc.m, got, tc.want)
		}
	}
}

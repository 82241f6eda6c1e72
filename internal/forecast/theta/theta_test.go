package theta_test

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
	"github.com/quarterdeck/quarterdeck/internal/forecast/series"
	"github.com/quarterdeck/quarterdeck/internal/forecast/theta"
)

// reference is R's thetaf on one series (testdata/thetaf.R).
type reference struct {
	mean, lo80, hi80, lo95, hi95 []float64
}

func readReference(t *testing.T) map[string]*reference {
	f, err := os.Open("testdata/thetaf.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*reference{}
	for _, r := range rows[1:] {
		ref := out[r[0]]
		if ref == nil {
			ref = &reference{}
			out[r[0]] = ref
		}
		v := make([]float64, 5)
		for i := range v {
			if v[i], err = strconv.ParseFloat(r[2+i], 64); err != nil {
				t.Fatal(err)
			}
		}
		ref.mean, ref.lo80, ref.hi80 = append(ref.mean, v[0]), append(ref.lo80, v[1]), append(ref.hi80, v[2])
		ref.lo95, ref.hi95 = append(ref.lo95, v[3]), append(ref.hi95, v[4])
	}
	return out
}

// loadM1 reads the M1 competition data above the working directory.
func loadM1(t *testing.T) ([]series.Series, series.Values) {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "data", "mcomp")
		if _, err := os.Stat(filepath.Join(p, "m1_series.csv")); err == nil {
			ss, vs, err := series.Load(filepath.Join(p, "m1_series.csv"), filepath.Join(p, "m1_values.csv"))
			if err != nil {
				t.Fatal(err)
			}
			return ss, vs
		}
		if filepath.Dir(dir) == dir {
			t.Skip("shared/data/mcomp not found above the working directory")
		}
		dir = filepath.Dir(dir)
	}
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// The point forecasts are R's forecast::thetaf's on M1 series with and
// without seasonality; so are the intervals' widths, up to the fit, except
// that a seasonal series' are scaled by the seasonal index (R leaves them
// unscaled, so a low season gets as wide an interval as a high one).
func TestMatchesRThetaf(t *testing.T) {
	refs := readReference(t)
	ss, vs := loadM1(t)
	seasonal := map[string]bool{"QRF2": true, "QNM4": true, "MRM7": true, "MRM10": true}
	seen := 0
	for _, s := range ss {
		ref := refs[s.Name]
		if ref == nil {
			continue
		}
		seen++
		t.Run(s.Name, func(t *testing.T) {
			mod, err := theta.Fit(vs[s.Name].Train, s.Frequency)
			if err != nil {
				t.Fatal(err)
			}
			if mod.Seasonal != seasonal[s.Name] {
				t.Fatalf("seasonal %v, want %v", mod.Seasonal, seasonal[s.Name])
			}
			fc, err := mod.Forecast(s.Horizon, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j := range s.Horizon {
				if !near(fc.Point[j], ref.mean[j], 1e-4) {
					t.Fatalf("step %d: forecast %.6g, R %.6g", j+1, fc.Point[j], ref.mean[j])
				}
				scale := 1.0
				if mod.Seasonal {
					scale = mod.Index[(mod.N+j)%mod.M]
				}
				// The widths follow R's up to the fit of the smoothing: R's
				// optimiser stops at a slightly different initial level,
				// and divides the squared errors by n-2 where ours (as our
				// ETS) divides by n-3.
				for _, b := range []struct {
					name     string
					ours, rs float64
				}{{"lo80", fc.Lower[0][j], ref.lo80[j]}, {"hi80", fc.Upper[0][j], ref.hi80[j]}, {"lo95", fc.Lower[1][j], ref.lo95[j]}, {"hi95", fc.Upper[1][j], ref.hi95[j]}} {
					ratio := (b.ours - fc.Point[j]) / ((b.rs - ref.mean[j]) * scale)
					if math.Abs(ratio-1) > 0.04 {
						t.Fatalf("step %d %s: %.6g, R's %.6g (scaled by %.4f): width ratio %.3f", j+1, b.name, b.ours, b.rs, scale, ratio)
					}
				}
			}
		})
	}
	if seen != len(refs) {
		t.Errorf("compared %d of the %d reference series", seen, len(refs))
	}
}

func TestEdgeCases(t *testing.T) {
	seasonalWithZero := make([]float64, 48)
	for i := range seasonalWithZero {
		seasonalWithZero[i] = 100 + 50*math.Sin(float64(i)*math.Pi/6)
	}
	seasonalWithZero[5] = 0
	cases := []struct {
		name     string
		y        []float64
		m        int
		err      error
		seasonal bool
	}{
		{"too short", []float64{5}, 1, theta.ErrShort, false},
		{"NaN", []float64{1, math.NaN(), 3}, 1, ets.ErrNaN, false},
		{"constant", []float64{7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, 4, nil, false},
		{"a zero: no multiplicative adjustment", seasonalWithZero, 12, nil, false},
		{"two seasons only: no test", seasonalWithZero[12:36], 12, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mod, err := theta.Fit(c.y, c.m)
			if c.err != nil {
				if err != c.err {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mod.Seasonal != c.seasonal {
				t.Errorf("seasonal %v, want %v", mod.Seasonal, c.seasonal)
			}
			fc, err := mod.Forecast(6, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range fc.Point {
				if math.IsNaN(v) || !(fc.Lower[1][j] <= fc.Lower[0][j] && fc.Lower[0][j] <= v && v <= fc.Upper[0][j] && fc.Upper[0][j] <= fc.Upper[1][j]) {
					t.Fatalf("step %d: %v inside [%v, %v], [%v, %v]", j+1, v, fc.Lower[0][j], fc.Upper[0][j], fc.Lower[1][j], fc.Upper[1][j])
				}
			}
			if c.name == "constant" && fc.Point[5] != 7 {
				t.Errorf("a constant series forecasts %v", fc.Point[5])
			}
		})
	}
}

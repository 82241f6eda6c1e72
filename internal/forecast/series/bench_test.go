package series

import (
	"testing"
)

// BenchmarkM1 forecasts and scores the whole M1 competition once per
// iteration; run with -benchtime=1x for a single timing.
func BenchmarkM1(b *testing.B) {
	ss, vs := loadM1(b)
	b.ResetTimer()
	for b.Loop() {
		res, err := Run(ss, vs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Evaluate(ss, vs, res); err != nil {
			b.Fatal(err)
		}
	}
}

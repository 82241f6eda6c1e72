package forecast_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The forecasting benchmarks run on a demo organisation (seed 1, ten
// activities per deal) in DuckDB:
//
//	QUARTERDECK_BENCH_DB=/tmp/big.db go test -run '^$' -bench Forecast -benchtime 1x ./internal/forecast/
//
// uses an existing database (a `quarterdeck demo --size large` one, say);
// without it QUARTERDECK_BENCH_OPPS deals (default 20,000) are generated.
// Each step is one benchmark so that its time is reported on its own.
func benchStore(b *testing.B) *store.Store {
	ctx := context.Background()
	path := os.Getenv("QUARTERDECK_BENCH_DB")
	generate := path == ""
	if generate {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	s, err := store.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if generate {
		n := 20000
		if v, err := strconv.Atoi(os.Getenv("QUARTERDECK_BENCH_OPPS")); err == nil && v > 0 {
			n = v
		}
		if _, err := demo.Generate(ctx, s, demo.Config{Seed: 1, Opportunities: n, Activities: 10 * n, Now: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func loadBench(b *testing.B, s *store.Store) *forecast.Book {
	book, err := forecast.Load(context.Background(), s, crm.System, time.Now(), forecast.LoadOptions{Activities: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(book.Deals)), "deals")
	return book
}

// BenchmarkForecastLoad reads every deal with its history and activity times.
func BenchmarkForecastLoad(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		loadBench(b, s)
	}
}

// BenchmarkForecastPeriod runs the stage-weighted, history-weighted (eight
// earlier quarters replayed) and time-series methods for the current
// quarter over every open deal.
func BenchmarkForecastPeriod(b *testing.B) {
	book := loadBench(b, benchStore(b))
	per := book.Calendar.PeriodOf(book.Today, crm.GrainQuarter)
	for b.Loop() {
		book.Forecast(forecast.Request{Period: per, Series: true})
	}
}

// BenchmarkForecastWinModel trains and measures the three models, refits
// the best, and scores and explains every open deal.
func BenchmarkForecastWinModel(b *testing.B) {
	book := loadBench(b, benchStore(b))
	for b.Loop() {
		wm := book.TrainWinModel(book.Today)
		scores := book.ScoreOpen(wm, nil, 3)
		b.ReportMetric(float64(len(scores)), "open_deals")
	}
}

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
		if _, err := demo.Generate(ctx, s, demo.Config{Seed: 1, Opportunities: n, Activities: 10 * n, Now: generatedOn}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// generatedOn is the day a generated benchmark organisation is made on.
var generatedOn = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// benchToday is the day the organisation's data ends: the generated one's,
// or today for an existing database.
func benchToday() time.Time {
	if os.Getenv("QUARTERDECK_BENCH_DB") == "" {
		return generatedOn
	}
	return time.Now()
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

// BenchmarkForecastReport is the forecast report of the current quarter as
// the web asks for it, with the model already trained: the methods, the
// quota, and the recommended forecast, whose track record (a backtest of
// four quarters, retraining the model as of each) is computed on the first
// report of a loaded book and reused by the next (reported as cached_s).
func BenchmarkForecastReport(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		book, err := forecast.Load(ctx, s, crm.System, benchToday(), forecast.LoadOptions{Activities: true})
		if err != nil {
			b.Fatal(err)
		}
		wm := book.TrainWinModel(book.Today)
		b.StartTimer()
		rep, err := book.Report(ctx, s, crm.System, forecast.Query{WinProb: true}, wm)
		if err != nil || rep.Recommended == nil {
			b.Fatalf("report: %v, %v", err, rep.Notes)
		}
		b.StopTimer()
		start := time.Now()
		if _, err := book.Report(ctx, s, crm.System, forecast.Query{WinProb: true}, wm); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "cached_s")
		b.StartTimer()
	}
}

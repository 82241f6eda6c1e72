package jobs

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// BenchmarkQueue enqueues QUARTERDECK_BENCH_JOBS (2000) no-op jobs in one
// transaction and runs them with a worker of 32 slots, on the engine that
// QUARTERDECK_BENCH_ENGINE names:
//
//	go test ./internal/jobs/ -run '^$' -bench Queue -benchtime 3x
func BenchmarkQueue(b *testing.B) {
	n := 2000
	if v := os.Getenv("QUARTERDECK_BENCH_JOBS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("QUARTERDECK_BENCH_JOBS=%q: want a positive number", v)
		}
	}
	ctx := context.Background()
	js := make([]Job, n)
	for i := range js {
		js[i] = Job{Kind: "noop"}
	}
	var enqueue, run time.Duration
	for b.Loop() {
		b.StopTimer()
		s := storetest.OpenBench(b)
		w := NewWorker(s, Options{Concurrency: 32, Log: slog.New(slog.DiscardHandler)})
		w.Handle("noop", func(ctx context.Context, j *Job) error { return nil })
		b.StartTimer()

		start := time.Now()
		err := s.WithBulk(ctx, func(bk *store.Bulk) error {
			_, _, err := EnqueueBatch(ctx, bk, js)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		enqueue += time.Since(start)

		start = time.Now()
		ran, err := w.RunDue(ctx)
		if err != nil || ran != n {
			b.Fatalf("ran %d of %d jobs: %v", ran, n, err)
		}
		run += time.Since(start)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N*n) }
	b.ReportMetric(per(enqueue), "enqueue-ms/job")
	b.ReportMetric(per(run), "run-ms/job")
}

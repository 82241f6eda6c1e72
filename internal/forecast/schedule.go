package forecast

import (
	"context"
	"log/slog"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// RunDaily takes a snapshot at start when today has none, then every day
// at the given time of day (UTC), until ctx ends. Failures are logged and
// retried at the next run: a missed snapshot must not stop the server.
func RunDaily(ctx context.Context, s *store.Store, log *slog.Logger, at time.Duration, now func() time.Time) {
	due := func() bool {
		last, err := s.LastSnapshotDay(ctx)
		if err != nil {
			log.Error("forecast snapshot", "err", err)
			return false
		}
		return !day(last).Equal(day(now()))
	}
	jobs.Daily(ctx, at, now, due, func(t time.Time) {
		// Every server runs this schedule; one takes the snapshot.
		_, err := s.Exclusive(ctx, "daily forecast snapshot", func(ctx context.Context) error {
			if !due() {
				return nil // another server took it
			}
			res, err := TakeSnapshot(ctx, s, t)
			if err == nil {
				log.Info("forecast snapshot taken", "day", res.Day, "rows", res.Rows, "elapsed", res.Elapsed)
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			log.Error("forecast snapshot failed", "err", err)
		}
	})
}

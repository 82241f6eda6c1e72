package forecast

import (
	"context"
	"log/slog"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// RunDaily takes a snapshot at start when today has none, then every day
// at the given time of day (UTC), until ctx ends. Failures are logged and
// retried at the next run: a missed snapshot must not stop the server.
func RunDaily(ctx context.Context, s *store.Store, log *slog.Logger, at time.Duration, now func() time.Time) {
	take := func() {
		res, err := TakeSnapshot(ctx, s, now())
		if err != nil {
			if ctx.Err() == nil {
				log.Error("forecast snapshot failed", "err", err)
			}
			return
		}
		log.Info("forecast snapshot taken", "day", res.Day, "rows", res.Rows, "elapsed", res.Elapsed)
	}
	if last, err := s.LastSnapshotDay(ctx); err != nil {
		log.Error("forecast snapshot", "err", err)
	} else if !day(last).Equal(day(now())) {
		take()
	}
	for {
		t := now().UTC()
		next := day(t).Add(at)
		if !next.After(t) {
			next = next.AddDate(0, 0, 1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(t)):
			take()
		}
	}
}

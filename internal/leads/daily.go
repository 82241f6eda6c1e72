package leads

import (
	"context"
	"log/slog"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// RunDaily scores every lead again once a day at the time of day at (UTC),
// and at start when the active models last scored before today, so decay
// moves on in the served app without anyone running `leads score`.
func RunDaily(ctx context.Context, s *store.Store, log *slog.Logger, at time.Duration, now func() time.Time) {
	due := func() bool {
		vs, err := Active(ctx, s)
		if err != nil {
			log.Error("lead rescore", "err", err)
			return false
		}
		today := now().UTC().Truncate(24 * time.Hour)
		for _, v := range vs {
			if v.ScoredAt == nil || v.ScoredAt.Before(today) {
				return true
			}
		}
		return false
	}
	jobs.Daily(ctx, at, now, due, func(t time.Time) {
		// Every server runs this schedule; one rescores.
		_, err := s.Exclusive(ctx, "daily lead rescoring", func(ctx context.Context) error {
			if !due() {
				return nil // another server did it
			}
			t0 := time.Now()
			n, err := RescoreAll(ctx, s, crm.System, t.UTC())
			if err == nil && n > 0 {
				log.Info("leads rescored", "leads", n, "elapsed", time.Since(t0).Round(time.Millisecond))
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			log.Error("lead rescore failed", "err", err)
		}
	})
}

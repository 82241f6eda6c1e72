// Package jobs runs Quarterdeck's background work: daily runs inside
// `serve` (forecast snapshots, rescoring leads as their points decay), and
// the durable job queue that notifications, automation and SLA checks use:
// jobs are rows of one table, enqueued idempotently by key, claimed by
// workers (FOR UPDATE SKIP LOCKED on PostgreSQL, so two servers never run
// a job twice), retried with exponential backoff and re-claimed after a
// lease when the process that ran them died.
package jobs

import (
	"context"
	"time"
)

// Daily calls run at start when due says the day's run is missing, then
// every day at the time of day at (UTC), until ctx ends. run gets the time
// it runs for; it logs its own failures and is retried the next day.
func Daily(ctx context.Context, at time.Duration, now func() time.Time, due func() bool, run func(time.Time)) {
	if due() {
		run(now())
	}
	for {
		t := now().UTC()
		next := t.Truncate(24 * time.Hour).Add(at)
		if !next.After(t) {
			next = next.AddDate(0, 0, 1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(t)):
			run(now())
		}
	}
}

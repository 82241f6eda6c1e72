package jobs

import (
	"context"
	"testing"
	"time"
)

func TestDailyRunsWhenDueAndStops(t *testing.T) {
	for _, due := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		runs := make(chan time.Time, 2)
		done := make(chan struct{})
		now := func() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) }
		go func() {
			// The next daily run is 23 hours away: only the start run can happen.
			Daily(ctx, 9*time.Hour, now, func() bool { return due }, func(at time.Time) { runs <- at })
			close(done)
		}()
		if due {
			select {
			case at := <-runs:
				if !at.Equal(now()) {
					t.Errorf("ran for %v, want %v", at, now())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a due run did not happen at start")
			}
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Daily did not stop when its context ended")
		}
		if len(runs) != 0 {
			t.Errorf("due=%v: %d unexpected runs", due, len(runs))
		}
	}
}

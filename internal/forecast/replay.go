package forecast

import (
	"sort"
	"time"
)

// State is a deal as it stood at the start of a day: what a forecaster
// could have known then.
type State struct {
	Stage    string
	Amount   float64
	Expected time.Time // expected close; imputed when the deal had none, today when overdue
	Imputed  bool      // Expected was not on the deal
	Stated   time.Time // the expected close as the deal had it then (before either); zero when none
	// AmountKnown is false when no history row tells the amount at that
	// time: Amount is then the deal's final amount, good enough to size the
	// pipeline but never a model feature (it would leak the outcome).
	AmountKnown bool
	StageSince  time.Time
	Pushes      int // times the expected close moved later
}

// OpenAt reports whether d was open at the start of day t: created before
// t and not closed before t. A closed deal without a close date is never
// counted open (its open time is unknown).
func (d *Deal) OpenAt(t time.Time) bool {
	if !d.Created.Before(t) {
		return false
	}
	if d.IsClosed {
		return !d.Closed.IsZero() && !d.Closed.Before(t)
	}
	return true
}

// WonIn reports whether d was won with a close date in [from, to).
func (d *Deal) WonIn(from, to time.Time) bool {
	return d.Won && !d.Closed.IsZero() && !d.Closed.Before(from) && d.Closed.Before(to)
}

// StateAt replays d's history up to the start of day t. It must only be
// called for deals open at t. Histories written by imports may hold only
// the final state (stamped at the close date); a deal whose last known
// stage before t is not an open stage is placed in the first open stage it
// ever had, or else the pipeline's first open stage: the earliest stage is
// the honest guess, never the outcome. cycle imputes a missing expected
// close as created + cycle (at least t).
func (b *Book) StateAt(d *Deal, t time.Time, cycle time.Duration) State {
	var s State
	last := -1
	for i := range d.Changes {
		if d.Changes[i].At.Before(t) {
			last = i
		}
	}
	var prev time.Time
	for i := 0; i <= last; i++ {
		e := d.Changes[i].Expected
		if !e.IsZero() {
			if !prev.IsZero() && e.After(prev) {
				s.Pushes++
			}
			prev = e
		}
	}
	if last >= 0 && b.Stages[d.Changes[last].Stage].Open {
		c := d.Changes[last]
		s.Stage, s.Amount, s.Expected, s.AmountKnown = c.Stage, c.Amount, c.Expected, true
		s.StageSince = c.At
		for i := last - 1; i >= 0 && d.Changes[i].Stage == c.Stage; i-- {
			s.StageSince = d.Changes[i].At
		}
	} else {
		s.Stage, s.Amount, s.StageSince = b.firstOpenStage(d), d.Amount, d.Created
		if last >= 0 {
			s.Expected, s.Amount, s.AmountKnown = prev, d.Changes[last].Amount, true
		} else if !d.IsClosed {
			s.Expected, s.AmountKnown = d.Expected, true
		}
	}
	s.Stated = s.Expected
	if s.Expected.IsZero() {
		s.Expected, s.Imputed = d.Created.Add(cycle), true
	}
	if s.Expected.Before(t) {
		s.Expected = t // overdue deals are expected now, in the current period
	}
	return s
}

func (b *Book) firstOpenStage(d *Deal) string {
	for _, c := range d.Changes {
		if b.Stages[c.Stage].Open {
			return c.Stage
		}
	}
	if b.Stages[d.Stage].Open {
		return d.Stage
	}
	if len(b.Open) > 0 {
		return b.Open[0]
	}
	return d.Stage
}

// MedianCycle is the median created-to-close time of deals won before t,
// used to impute missing expected close dates; 90 days without any.
func (b *Book) MedianCycle(t time.Time) time.Duration {
	var cycles []time.Duration
	for i := range b.Deals {
		d := &b.Deals[i]
		if d.Won && !d.Closed.IsZero() && d.Closed.Before(t) && d.Closed.After(d.Created) {
			cycles = append(cycles, d.Closed.Sub(d.Created))
		}
	}
	if len(cycles) == 0 {
		return 90 * 24 * time.Hour
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i] < cycles[j] })
	return cycles[len(cycles)/2]
}

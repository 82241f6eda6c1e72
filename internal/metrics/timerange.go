package metrics

import "time"

// timeRange is the first and last time something happened.
type timeRange struct{ first, last time.Time }

func (t *timeRange) widen(o timeRange) {
	if o.first.Before(t.first) {
		t.first = o.first
	}
	if o.last.After(t.last) {
		t.last = o.last
	}
}

// elapsedDays is the number of days of the period up to today (at least
// one); for all time, the days from the first to the last activity.
func (sel *selection) elapsedDays(r *timeRange) int64 {
	if sel.period == nil {
		if r == nil {
			return 0
		}
		first, last := r.first.UTC().Truncate(24*time.Hour), r.last.UTC().Truncate(24*time.Hour)
		return int64(last.Sub(first)/(24*time.Hour)) + 1
	}
	end := sel.period.End
	if tomorrow := sel.today.AddDate(0, 0, 1); tomorrow.Before(end) {
		end = tomorrow
	}
	days := int64(end.Sub(sel.period.Start) / (24 * time.Hour))
	return max(days, 1)
}

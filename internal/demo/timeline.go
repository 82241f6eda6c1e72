package demo

import (
	"math"
	"sort"
	"time"
)

// Times are handled as Unix seconds inside the generator and turned into
// time.Time only when a row is written.

const (
	day  = int64(24 * 60 * 60)
	hour = int64(60 * 60)
	// Business hours in UTC: 08:00 to 18:00 US Eastern time (13:00–23:00 UTC),
	// which is also the working day of a US-wide sales team.
	workStart = 13 * hour
	workEnd   = 23 * hour
)

// timeline spreads events over the days from start to now with a business
// rhythm: growth over the years, quiet weekends, a summer and a holiday dip.
// Quantiles map to times monotonically, so events made from increasing
// quantiles (record i of n at (i+u)/n) come out in time order.
type timeline struct {
	start int64     // midnight UTC of the first day
	now   int64     // the end (exclusive)
	cum   []float64 // cumulative weight at the end of each day, normalised to 1
	open  []int64   // per day: start of the business window (Unix seconds)
	close []int64   // per day: end of the business window
}

// newTimeline builds the timeline; growth is the yearly growth of activity
// (0.35 = 35% more every year).
func newTimeline(start, now int64, growth float64) *timeline {
	days := int((now-start)/day) + 1
	tl := &timeline{start: start, now: now, cum: make([]float64, days), open: make([]int64, days), close: make([]int64, days)}
	g := math.Log(1 + growth)
	var sum float64
	for d := range days {
		t := start + int64(d)*day
		o, c := t+workStart, t+workEnd
		c = min(c, now)
		w := 0.0
		if c > o {
			w = dayWeight(t) * math.Exp(g*float64(d)/365) * float64(c-o) / float64(workEnd-workStart)
		} else {
			c = o
		}
		sum += w
		tl.cum[d] = sum
		tl.open[d], tl.close[d] = o, c
	}
	for d := range tl.cum {
		tl.cum[d] /= sum
	}
	return tl
}

// dayWeight is the relative amount of selling on a day.
func dayWeight(t int64) float64 {
	tm := time.Unix(t, 0).UTC()
	w := 1.0
	switch tm.Weekday() {
	case time.Saturday:
		return 0.04
	case time.Sunday:
		return 0.03
	case time.Monday, time.Friday:
		w = 0.9
	}
	w *= [...]float64{0.95, 1.0, 1.05, 1.0, 1.0, 0.95, 0.85, 0.8, 1.05, 1.1, 1.05, 0.8}[tm.Month()-1]
	if tm.Month() == time.December && tm.Day() >= 22 || tm.Month() == time.January && tm.Day() == 1 ||
		tm.Month() == time.July && tm.Day() == 4 || tm.Month() == time.November && tm.Day() >= 24 && tm.Day() <= 28 && tm.Weekday() >= time.Thursday {
		w *= 0.15
	}
	return w
}

// at maps a quantile q in [0,1) to a time within business hours.
func (tl *timeline) at(q float64) int64 {
	d := sort.SearchFloat64s(tl.cum, q)
	if d >= len(tl.cum) {
		d = len(tl.cum) - 1
	}
	prev := 0.0
	if d > 0 {
		prev = tl.cum[d-1]
	}
	f := 0.0
	if w := tl.cum[d] - prev; w > 0 {
		f = (q - prev) / w
	}
	return tl.open[d] + int64(f*float64(tl.close[d]-tl.open[d]))
}

// workTime moves t into business hours: a time at night or on a weekend
// moves to the next working morning, plus jitter minutes.
func workTime(t int64, jitter int64) int64 {
	d := t - t%day
	tod := t - d
	if tod < workStart {
		t = d + workStart + jitter
	} else if tod >= workEnd {
		t = d + day + workStart + jitter
	}
	for {
		wd := weekday(t)
		if wd != time.Saturday && wd != time.Sunday {
			return t
		}
		t += day
	}
}

// workMoment moves t into business hours on a working day: a weekend day to
// a working day around it, a time outside hours to a random time within them. The result is after lo; if going back would not be, t
// moves forward instead.
func workMoment(r *rng, t, lo int64) int64 {
	d := dayStart(t)
	// A weekend day goes to one of the five working days around it, so that
	// no weekday collects the weekends.
	switch weekday(d) {
	case time.Saturday:
		d += [5]int64{-3, -2, -1, 2, 3}[r.IntN(5)] * day
	case time.Sunday:
		d += [5]int64{-3, -2, 1, 2, 3}[r.IntN(5)] * day
	}
	tod := t - dayStart(t)
	if tod < workStart || tod >= workEnd {
		tod = workStart + r.Int64N(workEnd-workStart)
	}
	if m := d + tod; m > lo {
		return m
	}
	return workTime(max(t, lo+hour), 0)
}

// dayStart is midnight UTC of t's day.
func dayStart(t int64) int64 { return t - t%day }

// weekdayOn moves a date (midnight) off a weekend: back to Friday if that is
// not before lo, otherwise forward to Monday.
func weekdayOn(d, lo int64) int64 {
	switch weekday(d) {
	case time.Saturday:
		if d-day >= lo {
			return d - day
		}
		return d + 2*day
	case time.Sunday:
		if d-2*day >= lo {
			return d - 2*day
		}
		return d + day
	}
	return d
}

func utc(t int64) time.Time { return time.Unix(t, 0).UTC() }

// weekday of t (1970-01-01 was a Thursday).
func weekday(t int64) time.Weekday { return time.Weekday((t/day + 4) % 7) }

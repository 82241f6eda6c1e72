package forecast

import (
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Method names, as in the JSON, the snapshots and the pages.
const (
	MethodStage   = "stage_weighted"
	MethodHistory = "history_weighted"
	MethodWinProb = "win_probability"
	MethodSeries  = "time_series"
	MethodCommit  = "rep_commit"
)

// Slice is the part of a period's forecast that comes from the book at one
// moment: bookings already won in the period, and the open deals expected
// to close in what is left of it.
type Slice struct {
	AsOf   time.Time
	Period crm.Period
	Won    float64
	Open   []OpenDeal
}

// OpenDeal is an open deal expected to close in the period, as of AsOf.
type OpenDeal struct {
	Deal  *Deal
	State State
}

// OpenAmount is the unweighted open pipeline of the slice.
func (s *Slice) OpenAmount() float64 {
	sum := 0.0
	for _, o := range s.Open {
		sum += o.State.Amount
	}
	return sum
}

// SliceAt cuts the deals the book shows at the start of day asOf for period
// per. keep, when set, limits them further (to one team, say).
func (b *Book) SliceAt(asOf time.Time, per crm.Period, cycle time.Duration, keep func(*Deal) bool) Slice {
	return b.slice(asOf, per, cycle, func(d *Deal) bool { return b.shows(d, keep) })
}

// slice is SliceAt over the deals filter lets through, all when nil.
func (b *Book) slice(asOf time.Time, per crm.Period, cycle time.Duration, filter func(*Deal) bool) Slice {
	s := Slice{AsOf: asOf, Period: per}
	from := per.Start
	for i := range b.Deals {
		d := &b.Deals[i]
		if filter != nil && !filter(d) {
			continue
		}
		if d.WonIn(per.Start, per.End) && d.Closed.Before(asOf) {
			s.Won += d.Amount
			continue
		}
		if !d.OpenAt(asOf) {
			continue
		}
		st := b.StateAt(d, asOf, cycle)
		if !st.Expected.Before(from) && st.Expected.Before(per.End) {
			s.Open = append(s.Open, OpenDeal{Deal: d, State: st})
		}
	}
	return s
}

// ageBuckets bound days in the current stage.
var ageBuckets = []float64{14, 30, 60, 120}

func ageBucket(days float64) int {
	for i, b := range ageBuckets {
		if days <= b {
			return i
		}
	}
	return len(ageBuckets)
}

// shrink is how many observations the prior weighs: a cell with fewer
// deals than this leans towards the level above it.
const shrink = 20

// MinHistory is the number of past deal-periods below which the
// history-weighted method says its history is thin.
const MinHistory = 100

// Conversion is what the organisation's own history says about deals open
// at the same point of earlier periods: how often a deal in a stage, with so
// many days in it, in a segment, was won before its period ended.
type Conversion struct {
	Observations int // past (deal, period) pairs learned from
	Periods      int // earlier periods replayed
	Thin         bool
	// inflow is, per group, the mean amount won in earlier periods (after
	// the same offset) by deals that were not in the pipeline expected for
	// the period then: deals created later or pulled in from later periods.
	inflow      map[int64]float64
	stage       map[string]cell
	stageAge    map[stageAge]cell
	stageAgeSeg map[stageAgeSeg]cell
	prior       map[string]float64
	// timely is, of the past open deals that were won (by the day), the
	// share won within their period: overall, by stage, and by stage and
	// how often the expected close had been pushed. It turns a chance of
	// winning at all into one of winning within the period.
	timely       cell
	timelyStage  map[string]cell
	timelyPushes map[stagePushes]cell
}

type stagePushes struct {
	stage  string
	pushes int // 0, 1, or 2 for two or more
}

type cell struct{ won, n float64 }

type stageAge struct {
	stage string
	age   int
}

type stageAgeSeg struct {
	stageAge
	segment string
}

// LearnConversion replays up to periods earlier periods at the same offset
// from their start as s.AsOf is from s.Period's start, keeping only periods
// that had ended by s.AsOf (their outcome was known then). Probabilities
// come from every deal of the organisation; the inflow, per group, from the
// deals shown that keep lets through.
func (b *Book) LearnConversion(s *Slice, periods int, cycle time.Duration, keep func(*Deal) bool, group func(*Deal) int64) *Conversion {
	cv := &Conversion{inflow: map[int64]float64{}, stage: map[string]cell{}, stageAge: map[stageAge]cell{}, stageAgeSeg: map[stageAgeSeg]cell{}, prior: map[string]float64{},
		timelyStage: map[string]cell{}, timelyPushes: map[stagePushes]cell{}}
	for name, st := range b.Stages {
		cv.prior[name] = st.Probability
	}
	offset := s.AsOf.Sub(s.Period.Start)
	per := s.Period
	for k := 0; cv.Periods < periods && k < periods+4; k++ {
		per = b.Calendar.Prev(per)
		at := per.Start.Add(offset)
		if per.End.After(s.AsOf) {
			continue
		}
		past := b.slice(at, per, cycle, nil)
		if len(past.Open) == 0 && cv.Periods > 0 {
			break // before the organisation's history began
		}
		cv.Periods++
		inSlice := map[*Deal]bool{}
		for _, o := range past.Open {
			inSlice[o.Deal] = true
		}
		for i := range b.Deals {
			d := &b.Deals[i]
			if b.shows(d, keep) && !inSlice[d] && d.WonIn(at, per.End) {
				cv.inflow[group(d)] += d.Amount
			}
		}
		for _, o := range past.Open {
			won := 0.0
			if o.Deal.WonIn(at, per.End) {
				won = 1
			}
			sa := stageAge{o.State.Stage, ageBucket(at.Sub(o.State.StageSince).Hours() / 24)}
			add(cv.stage, o.State.Stage, won)
			add(cv.stageAge, sa, won)
			add(cv.stageAgeSeg, stageAgeSeg{sa, o.Deal.Segment}, won)
			cv.Observations++
			if o.Deal.Won && o.Deal.Closed.Before(s.AsOf) {
				cv.timely.won += won
				cv.timely.n++
				add(cv.timelyStage, o.State.Stage, won)
				add(cv.timelyPushes, stagePushes{o.State.Stage, min(o.State.Pushes, 2)}, won)
			}
		}
	}
	cv.Thin = cv.Observations < MinHistory
	for k := range cv.inflow {
		cv.inflow[k] /= float64(cv.Periods)
	}
	return cv
}

func add[K comparable](m map[K]cell, k K, won float64) {
	c := m[k]
	c.won += won
	c.n++
	m[k] = c
}

// Probability is the learned chance that a deal in this state closes won
// within the period: the segment cell shrunk towards the stage-and-age
// cell, that towards the stage, and that towards the stage's configured
// probability, so that thin history falls back gracefully to the
// stage-weighted method.
func (cv *Conversion) Probability(st State, seg string, asOf time.Time) float64 {
	sa := stageAge{st.Stage, ageBucket(asOf.Sub(st.StageSince).Hours() / 24)}
	return shrunk(cv.prior[st.Stage], cv.stage[st.Stage], cv.stageAge[sa], cv.stageAgeSeg[stageAgeSeg{sa, seg}])
}

// shrunk blends each cell in turn into p, the level above: a cell with
// fewer than shrink observations leans towards it.
func shrunk(p float64, cells ...cell) float64 {
	for _, c := range cells {
		p = (c.won + shrink*p) / (c.n + shrink)
	}
	return p
}

// Timely is the learned chance that a deal in this state, if it is won at
// all, is won within the period: the cell of its stage and close-date
// pushes shrunk towards its stage's, that towards the overall share, and
// that (with no history) towards 1, which leaves a chance to win as it was.
// Deals won after the day are not known yet, so the recent slow ones are
// missing: the share leans a little high.
func (cv *Conversion) Timely(st State) float64 {
	return shrunk(1, cv.timely, cv.timelyStage[st.Stage], cv.timelyPushes[stagePushes{st.Stage, min(st.Pushes, 2)}])
}

// Inflow is the group's learned bookings from deals outside the expected
// pipeline (see Conversion.inflow).
func (cv *Conversion) Inflow(group int64) float64 { return cv.inflow[group] }

// Note says, in a sentence for the user, how much history the method had.
func (cv *Conversion) Note() string {
	if cv.Thin {
		return fmt.Sprintf("thin history: %d deal-periods over %d earlier periods; probabilities lean on the stage settings", cv.Observations, cv.Periods)
	}
	return fmt.Sprintf("learned from %d deal-periods over %d earlier periods, with their bookings from deals outside the pipeline", cv.Observations, cv.Periods)
}

// TimelyNote says what the share of timely wins was learned from.
func (cv *Conversion) TimelyNote() string {
	if cv.timely.n == 0 {
		return "with no won deals in the earlier periods to learn it from (taken as all)"
	}
	return fmt.Sprintf("%.0f%% overall, learned from %.0f won deals of %d earlier periods", 100*cv.timely.won/cv.timely.n, cv.timely.n, cv.Periods)
}

package forecast

import (
	"hash/fnv"
	"math"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/forecast/winprob"
)

// FeatureSchema names the win-probability features, all known at scoring
// time: nothing about a deal's future enters its row.
var FeatureSchema = winprob.Schema{
	Numeric: []string{"log_amount", "age_days", "days_in_stage", "close_pushes", "activities", "activities_14d",
		"days_since_activity", "owner_win_rate", "owner_closed_deals", "stage_probability"},
	Categorical: []string{"stage", "product", "segment", "industry", "source", "deal_type"},
}

// ownerRecord is an owner's closed deals in close order, with running wins,
// so that their win rate before any moment is a binary search away.
type ownerRecord struct {
	closed []time.Time
	wins   []int
}

func (b *Book) ownerRecords() map[int64]*ownerRecord {
	type ev struct {
		at  time.Time
		won bool
	}
	byOwner := map[int64][]ev{}
	for i := range b.Deals {
		d := &b.Deals[i]
		if d.IsClosed && !d.Closed.IsZero() {
			byOwner[d.OwnerID] = append(byOwner[d.OwnerID], ev{d.Closed, d.Won})
		}
	}
	out := make(map[int64]*ownerRecord, len(byOwner))
	for owner, evs := range byOwner {
		sort.Slice(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
		r := &ownerRecord{closed: make([]time.Time, len(evs)), wins: make([]int, len(evs))}
		w := 0
		for i, e := range evs {
			if e.won {
				w++
			}
			r.closed[i], r.wins[i] = e.at, w
		}
		out[owner] = r
	}
	return out
}

// before returns how many of the owner's deals closed before t, and won.
func (r *ownerRecord) before(t time.Time) (closed, won int) {
	if r == nil {
		return 0, 0
	}
	n := sort.Search(len(r.closed), func(i int) bool { return !r.closed[i].Before(t) })
	if n == 0 {
		return 0, 0
	}
	return n, r.wins[n-1]
}

// featurizer builds feature rows; one per book and moment of training.
type featurizer struct {
	b      *Book
	owners map[int64]*ownerRecord
}

func (b *Book) featurizer() *featurizer { return &featurizer{b: b, owners: b.ownerRecords()} }

// row describes deal d in state st at moment t.
func (f *featurizer) row(d *Deal, st State, t time.Time) winprob.Row {
	days := func(a, b time.Time) float64 { return a.Sub(b).Hours() / 24 }
	now := unixDays(t)
	n := sort.SearchFloat64s(d.Touches, now)
	recent := n - sort.SearchFloat64s(d.Touches, now-14)
	since := math.NaN()
	if n > 0 {
		since = now - d.Touches[n-1]
	}
	closed, won := f.owners[d.OwnerID].before(t)
	rate := math.NaN()
	if closed >= 5 {
		rate = float64(won) / float64(closed)
	}
	amount := math.NaN()
	if st.AmountKnown {
		amount = math.Log1p(math.Max(st.Amount, 0))
	}
	return winprob.Row{
		ID:   d.ID,
		Time: t,
		Num: []float64{amount, days(t, d.Created), days(t, st.StageSince), float64(st.Pushes),
			float64(n), float64(recent), since, rate, float64(closed), f.b.Stages[st.Stage].Probability},
		Cat: []string{st.Stage, d.Product, d.Segment, d.Industry, d.Source, d.Type},
		Won: d.Won,
	}
}

// TrainingRows describes every deal closed before asOf at one moment of its
// open life (a fixed fraction of the way from creation to close, drawn from
// its id so that it is the same in every run), labelled won or lost. Row.Time
// is the close date: the moment the label became known, which is what a
// time-ordered holdout splits on.
func (b *Book) TrainingRows(asOf time.Time, cycle time.Duration) []winprob.Row {
	f := b.featurizer()
	var rows []winprob.Row
	for i := range b.Deals {
		d := &b.Deals[i]
		if !d.IsClosed || d.Closed.IsZero() || !d.Closed.Before(asOf) || d.Closed.Before(d.Created) {
			continue
		}
		h := fnv.New32a()
		var buf [8]byte
		for k := range buf {
			buf[k] = byte(d.ID >> (8 * k))
		}
		h.Write(buf[:])
		u := 0.1 + 0.8*float64(h.Sum32())/math.MaxUint32
		at := day(d.Created.Add(time.Duration(u * float64(d.Closed.Sub(d.Created)))))
		if !d.OpenAt(at) {
			at = day(d.Created).AddDate(0, 0, 1) // created and closed within a day
			if !d.OpenAt(at) {
				continue
			}
		}
		r := f.row(d, b.StateAt(d, at, cycle), at)
		r.Time = d.Closed
		rows = append(rows, r)
	}
	return rows
}

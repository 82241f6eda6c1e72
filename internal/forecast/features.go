package forecast

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/learn"
)

// FeatureSchema names the win-probability features, all known at scoring
// time: nothing about a deal's future enters its row.
var FeatureSchema = learn.Schema{
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
func (f *featurizer) row(d *Deal, st State, t time.Time) learn.Row {
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
	return learn.Row{
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
func (b *Book) TrainingRows(asOf time.Time, cycle time.Duration) []learn.Row {
	f := b.featurizer()
	var rows []learn.Row
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

// Factor is one reason for a deal's win probability: in plain words for
// people (Description), with the model's own terms kept for "how this is
// computed" (Feature, Name, Value as the model used it, Contribution to the
// log-odds).
type Factor struct {
	Description  string  `json:"description"` // "126 days since created: lowers it"
	Effect       string  `json:"effect"`      // raises, lowers or none
	Feature      string  `json:"feature"`     // age_days
	Name         string  `json:"name"`        // age_days, or stage = Proposal
	Value        string  `json:"value"`       // the value the model used: "126.439"
	Contribution float64 `json:"contribution"`
	// Capped is set when the deal's value lay outside the range the model
	// learned from and the nearest end of that range was used instead.
	Capped bool `json:"capped,omitempty"`
}

// explain puts a model's factor in words: raw is the deal's row, used the
// row the model scored (raw clamped to the training range).
func explain(f learn.Factor, raw, used learn.Row, currency string) Factor {
	out := Factor{Feature: f.Feature, Name: f.Name, Value: f.Value, Contribution: f.Contribution, Effect: "none"}
	switch {
	case f.Contribution > 0:
		out.Effect = "raises"
	case f.Contribution < 0:
		out.Effect = "lowers"
	}
	words := ""
	if k := slices.Index(FeatureSchema.Numeric, f.Feature); k >= 0 {
		words = numericWords(f.Feature, raw.Num[k], raw.Cat[slices.Index(FeatureSchema.Categorical, "stage")], currency)
		if v, u := raw.Num[k], used.Num[k]; v != u && !math.IsNaN(v) {
			out.Capped = true
			than := "more"
			if u > v {
				than = "less"
			}
			words += fmt.Sprintf(" (%s than any deal it learned from: counted as %s)", than, numericValue(f.Feature, u, currency))
		}
	} else if k := slices.Index(FeatureSchema.Categorical, f.Feature); k >= 0 {
		words = categoryWords(f.Feature, raw.Cat[k])
	}
	if words == "" {
		words = f.Name + " = " + f.Value
	}
	out.Description = words + ": " + map[string]string{"raises": "raises it", "lowers": "lowers it", "none": "no effect"}[out.Effect]
	return out
}

// numericValue shows a numeric feature's value as people count it.
func numericValue(feature string, v float64, currency string) string {
	switch feature {
	case "log_amount":
		return grouped(math.Expm1(v)) + " " + currency
	case "owner_win_rate", "stage_probability":
		return fmt.Sprintf("%.0f%%", v*100)
	}
	return grouped(v)
}

// numericWords describes a deal's value of a numeric feature.
func numericWords(feature string, v float64, stage, currency string) string {
	if math.IsNaN(v) {
		switch feature {
		case "log_amount":
			return "amount not known yet"
		case "days_since_activity":
			return "no activity logged yet"
		case "owner_win_rate":
			return "owner has closed fewer than 5 deals"
		}
		return strings.ReplaceAll(feature, "_", " ") + " not known"
	}
	n := numericValue(feature, v, currency)
	plural := func(one, many string) string {
		if n == "1" {
			return n + " " + one
		}
		return n + " " + many
	}
	switch feature {
	case "log_amount":
		return "amount of " + n
	case "age_days":
		return plural("day", "days") + " since created"
	case "days_in_stage":
		return plural("day", "days") + " in " + stage
	case "close_pushes":
		if n == "0" {
			return "expected close never moved later"
		}
		return "expected close moved later " + plural("time", "times")
	case "activities":
		return plural("activity", "activities") + " logged"
	case "activities_14d":
		return plural("activity", "activities") + " in the last 14 days"
	case "days_since_activity":
		return plural("day", "days") + " since the last activity"
	case "owner_win_rate":
		return "owner wins " + n + " of their closed deals"
	case "owner_closed_deals":
		return "owner has closed " + plural("deal", "deals")
	case "stage_probability":
		return "stage probability " + n
	}
	return ""
}

// categoryWords describes a deal's value of a categorical feature.
func categoryWords(feature, v string) string {
	what := map[string]string{"stage": "stage", "product": "product", "segment": "segment", "industry": "industry",
		"source": "source", "deal_type": "deal type"}[feature]
	if v == "" {
		return "no " + what + " given"
	}
	return what + " " + v
}

// grouped is v rounded to a whole number with thousands separated: 12,500.
func grouped(v float64) string {
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if math.Round(v) < 0 {
		s = "-" + s
	}
	return s
}

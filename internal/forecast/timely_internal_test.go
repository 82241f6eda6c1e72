package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Timely learns, from the deals open at the same point of earlier periods
// and won, how many were won within their period: here every deal whose
// close date had been pushed twice slipped by two months, and every other
// one closed in its month. A slipped deal stays in the next month's
// pipeline (overdue) and is won within the one after, so two of its three
// appearances slipped: a pushed deal's chance of winning within the period
// falls to about a third, while an unpushed one's stays near 1. Without
// history the chance to win is left as it was.
func TestTimelyWinsLearnedFromSlips(t *testing.T) {
	cal := crm.FiscalCalendar{StartMonth: time.January}
	book := &Book{Calendar: cal, Today: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Stages: map[string]Stage{"Proposal": {Name: "Proposal", Order: 1, Probability: 0.5, Open: true},
			"Closed Won": {Name: "Closed Won", Order: 2, Probability: 1}},
		Open: []string{"Proposal"}}
	id := int64(0)
	for m := time.January; m <= time.November; m++ {
		start := time.Date(2025, m, 1, 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 1, 0)
		for k := range 40 {
			id++
			created := start.AddDate(0, -1, 0)
			expected := start.AddDate(0, 0, 20)
			d := Deal{ID: id, Amount: 100, Created: created, IsClosed: true, Won: true, Stage: "Closed Won",
				Changes: []Change{{At: created, Stage: "Proposal", Amount: 100, Expected: expected}}}
			pushed := k%2 == 0
			if pushed {
				// Pushed twice before the month began: it slips again, twice.
				d.Changes = []Change{{At: created, Stage: "Proposal", Amount: 100, Expected: expected.AddDate(0, -2, 0)},
					{At: created.AddDate(0, 0, 5), Stage: "Proposal", Amount: 100, Expected: expected.AddDate(0, -1, 0)},
					{At: created.AddDate(0, 0, 10), Stage: "Proposal", Amount: 100, Expected: expected}}
				d.Closed = end.AddDate(0, 1, 10)
			} else {
				d.Closed = start.AddDate(0, 0, 15)
			}
			d.Expected = expected
			d.Changes = append(d.Changes, Change{At: d.Closed, Stage: "Closed Won", Amount: 100, Expected: d.Closed})
			book.Deals = append(book.Deals, d)
		}
	}
	per, err := cal.ParsePeriod("FY2026-M01")
	if err != nil {
		t.Fatal(err)
	}
	s := book.SliceAt(per.Start, per, 30*24*time.Hour, nil)
	cv := book.LearnConversion(&s, 8, 30*24*time.Hour, nil, func(*Deal) int64 { return 0 })
	if cv.timely.n < 200 {
		t.Fatalf("learned from %v won deals, want the 8 months' 320", cv.timely.n)
	}
	pushed, steady := cv.Timely(State{Stage: "Proposal", Pushes: 2}), cv.Timely(State{Stage: "Proposal"})
	if !(pushed > 0.25 && pushed < 0.45 && steady > 0.9) {
		t.Errorf("timely: pushed twice %.3f, never pushed %.3f; want about a third (leaning towards the stage's share) and above 0.9", pushed, steady)
	}
	// Of every 40 deals of a month: 20 timely, 20 pushed seen three times,
	// won in the third: (20 + 20) / (20 + 60).
	if overall := cv.timely.won / cv.timely.n; math.Abs(overall-0.5) > 0.05 {
		t.Errorf("overall share %.3f, want about 0.5", overall)
	}
	empty := (&Book{Calendar: cal, Today: book.Today, Stages: book.Stages, Open: book.Open})
	es := empty.SliceAt(per.Start, per, 30*24*time.Hour, nil)
	if p := empty.LearnConversion(&es, 8, 30*24*time.Hour, nil, func(*Deal) int64 { return 0 }).Timely(State{Stage: "Proposal"}); p != 1 {
		t.Errorf("with no history: %v, want 1", p)
	}
}

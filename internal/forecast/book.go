// Package forecast predicts bookings: stage-weighted and history-weighted
// pipeline, per-deal win probability, time series of bookings, and the
// sellers' own calls, each measured against what actually happened by
// replaying the stage history (backtests) and by daily snapshots.
//
// The methods work on a Book: the deals a principal may see, with their
// stage history, loaded once into memory. Replaying history as of any past
// day is then a pass over slices, which is what makes backtests and model
// training over a million deals take seconds.
package forecast

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Deal is one opportunity with its stage history, money in the corporate
// currency.
type Deal struct {
	ID       int64
	OwnerID  int64
	TeamID   int64 // the owner's team, 0 when none
	Amount   float64
	Stage    string
	Created  time.Time
	Expected time.Time // expected close date; zero when unknown
	Closed   time.Time // close date; zero while open
	IsClosed bool
	Won      bool
	Segment  string
	Industry string
	Source   string
	Type     string
	Product  string
	Changes  []Change  // stage history, oldest first
	Touches  []float64 // activity times on the deal, as Unix days, ascending
}

// Change is one row of stage history.
type Change struct {
	At       time.Time
	Stage    string
	Amount   float64
	Expected time.Time
}

// Stage is a pipeline stage definition.
type Stage struct {
	Name        string
	Order       int
	Probability float64
	Open        bool
}

// Book is what the forecasting methods read.
type Book struct {
	Deals    []Deal
	Stages   map[string]Stage
	Open     []string // open stages in pipeline order
	Calendar crm.FiscalCalendar
	Today    time.Time // the day the book was loaded, 00:00 UTC
}

// LoadOptions says what to load beyond deals and their history.
type LoadOptions struct {
	Activities bool // activity times per deal, for win-probability features
}

// Load reads the deals p may see, with their history, into a Book.
func Load(ctx context.Context, s *store.Store, p crm.Principal, now time.Time, opt LoadOptions) (*Book, error) {
	if p.Role == crm.RoleViewer {
		p = crm.System // aggregates only: callers never show a viewer deals
	}
	cond, err := s.OwnerCondition(ctx, p, "o.owner_id")
	if err != nil {
		return nil, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	b := &Book{Stages: map[string]Stage{}, Calendar: cal, Today: day(now)}
	stages, err := s.Stages(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(stages, func(i, j int) bool { return stages[i].Position < stages[j].Position })
	for _, st := range stages {
		b.Stages[st.Name] = Stage{Name: st.Name, Order: int(st.Position), Probability: st.Probability, Open: st.Kind == crm.StageOpen}
		if st.Kind == crm.StageOpen {
			b.Open = append(b.Open, st.Name)
		}
	}
	rates, err := s.RateTable(ctx)
	if err != nil {
		return nil, err
	}
	conv := converter{rates: rates, cache: map[rateKey]float64{}}
	db := s.DB()
	rows, err := db.QueryContext(ctx, `SELECT o.id, o.owner_id, COALESCE(u.team_id, 0), CAST(o.amount AS DOUBLE PRECISION), o.currency, o.stage,
			o.created_at, o.expected_close, o.closed_at, o.is_closed, o.is_won,
			COALESCE(a.segment, ''), COALESCE(a.industry, ''), o.source, o.deal_type,
			COALESCE((SELECT MIN(pr.name) FROM line_items li JOIN products pr ON pr.id = li.product_id WHERE li.opportunity_id = o.id), '')
		FROM opportunities o
		LEFT JOIN users u ON u.id = o.owner_id
		LEFT JOIN accounts a ON a.id = o.account_id
		WHERE `+cond+` ORDER BY o.id`)
	if err != nil {
		return nil, fmt.Errorf("forecast: read deals: %w", err)
	}
	intern := map[string]string{}
	in := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	factor := map[int64]float64{} // deal id -> currency factor, for its history
	for rows.Next() {
		var d Deal
		var currency string
		var expected, closed sql.NullTime
		if err := rows.Scan(&d.ID, &d.OwnerID, &d.TeamID, &d.Amount, &currency, &d.Stage, &d.Created, &expected, &closed, &d.IsClosed, &d.Won,
			&d.Segment, &d.Industry, &d.Source, &d.Type, &d.Product); err != nil {
			rows.Close()
			return nil, fmt.Errorf("forecast: read deals: %w", err)
		}
		d.Expected, d.Closed = expected.Time, closed.Time
		d.Stage, d.Segment, d.Industry, d.Source, d.Type, d.Product = in(d.Stage), in(d.Segment), in(d.Industry), in(d.Source), in(d.Type), in(d.Product)
		if currency != rates.Corporate {
			convDay := b.Today
			if d.IsClosed && !d.Closed.IsZero() {
				convDay = d.Closed
			} else if !d.Expected.IsZero() {
				convDay = d.Expected
			}
			f := conv.factor(currency, convDay)
			factor[d.ID] = f
			d.Amount *= f
		}
		b.Deals = append(b.Deals, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("forecast: read deals: %w", err)
	}
	index := make(map[int64]int, len(b.Deals))
	for i := range b.Deals {
		index[b.Deals[i].ID] = i
	}
	if err := b.loadHistory(ctx, db, cond, index, factor, in); err != nil {
		return nil, err
	}
	if opt.Activities {
		if err := b.loadTouches(ctx, db, cond, index); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *Book) loadHistory(ctx context.Context, db *sql.DB, cond string, index map[int64]int, factor map[int64]float64, in func(string) string) error {
	rows, err := db.QueryContext(ctx, `SELECT h.opportunity_id, h.changed_at, h.stage, CAST(h.amount AS DOUBLE PRECISION), h.expected_close
		FROM opportunity_history h JOIN opportunities o ON o.id = h.opportunity_id
		WHERE `+cond+` ORDER BY h.opportunity_id, h.changed_at, h.id`)
	if err != nil {
		return fmt.Errorf("forecast: read stage history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c Change
		var expected sql.NullTime
		if err := rows.Scan(&id, &c.At, &c.Stage, &c.Amount, &expected); err != nil {
			return fmt.Errorf("forecast: read stage history: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		c.Stage, c.Expected = in(c.Stage), expected.Time
		if f, ok := factor[id]; ok {
			c.Amount *= f
		}
		b.Deals[i].Changes = append(b.Deals[i].Changes, c)
	}
	return rows.Err()
}

func (b *Book) loadTouches(ctx context.Context, db *sql.DB, cond string, index map[int64]int) error {
	rows, err := db.QueryContext(ctx, `SELECT a.opportunity_id, a.occurred_at FROM activities a
		JOIN opportunities o ON o.id = a.opportunity_id
		WHERE `+cond+` ORDER BY a.opportunity_id, a.occurred_at`)
	if err != nil {
		return fmt.Errorf("forecast: read activities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("forecast: read activities: %w", err)
		}
		if i, ok := index[id]; ok {
			b.Deals[i].Touches = append(b.Deals[i].Touches, unixDays(at))
		}
	}
	return rows.Err()
}

type rateKey struct {
	currency string
	day      time.Time
}

// converter caches the rate of each (currency, day): deals share few.
type converter struct {
	rates *crm.RateTable
	cache map[rateKey]float64
}

// factor is the rate to the corporate currency; 0 when none is known, which
// leaves the deal's money out rather than counting it in the wrong currency.
func (c converter) factor(currency string, d time.Time) float64 {
	k := rateKey{currency, day(d)}
	if f, ok := c.cache[k]; ok {
		return f
	}
	f := 0.0
	if r, err := c.rates.RateOn(currency, k.day); err == nil {
		f = r.InexactFloat64()
	}
	c.cache[k] = f
	return f
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func unixDays(t time.Time) float64 { return float64(t.Unix()) / 86400 }

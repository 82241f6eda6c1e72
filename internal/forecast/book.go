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
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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
	seq      int64 // history row id: orders changes made at the same time
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
	// Now is the moment the book was loaded: a report of the period under
	// way is as of now, so that it counts today's wins and changes exactly
	// as the KPIs do (see Book.live).
	Now      time.Time
	Currency string // the corporate currency, which every amount is in
	// AggregatesOnly is set for a viewer: the book shows the whole
	// organisation's totals, and no deal of it may be listed.
	AggregatesOnly bool
	visible        func(*Deal) bool // the deals shown; nil for all (see ScopedTo)
	scope          string           // names the deals shown: "all", or the owners' ids
	memo           *memo            // shared by every scoped view of the book
}

// memo keeps what is slow to compute and depends only on the loaded deals:
// the win-probability models trained as of a day (they learn from the whole
// organisation, so every view shares them) and the track records behind a
// report's recommended forecast (per scope). It lives as long as the loaded
// book: the web keeps one per data version, so each is computed once per
// version.
type memo struct {
	mu     sync.Mutex
	models map[time.Time]*once[*WinModel]
	tracks map[trackKey]*once[*Backtest]
}

type once[T any] struct {
	sync.Once
	v    T
	done atomic.Bool
}

func entry[K comparable, V any](mu *sync.Mutex, m map[K]*once[V], k K) *once[V] {
	mu.Lock()
	defer mu.Unlock()
	e := m[k]
	if e == nil {
		e = &once[V]{}
		m[k] = e
	}
	return e
}

// remember returns m[k], computing it with f the first time; concurrent
// callers of one key wait for the first, other keys do not.
func remember[K comparable, V any](mu *sync.Mutex, m map[K]*once[V], k K, f func() V) V {
	e := entry(mu, m, k)
	e.Do(func() { e.v = f(); e.done.Store(true) })
	return e.v
}

// ready returns m[k] if it has been computed; otherwise it starts
// computing it in the background (once) and reports false.
func ready[K comparable, V any](mu *sync.Mutex, m map[K]*once[V], k K, f func() V) (V, bool) {
	e := entry(mu, m, k)
	if e.done.Load() {
		return e.v, true
	}
	go e.Do(func() { e.v = f(); e.done.Store(true) })
	var zero V
	return zero, false
}

// winModelAt is TrainWinModel(t), trained once per loaded book and day.
func (b *Book) winModelAt(t time.Time) *WinModel {
	if b.memo == nil {
		return b.TrainWinModel(t)
	}
	return remember(&b.memo.mu, b.memo.models, day(t), func() *WinModel { return b.TrainWinModel(t) })
}

// LoadOptions says what to load beyond deals and their history.
type LoadOptions struct {
	Activities bool // activity times per deal, for win-probability features
}

// Load reads the whole organisation's deals with their history into a
// Book scoped to what p may see (see ScopedTo).
func Load(ctx context.Context, s *store.Store, p crm.Principal, now time.Time, opt LoadOptions) (*Book, error) {
	b, err := LoadAll(ctx, s, now, opt)
	if err != nil {
		return nil, err
	}
	return b.ScopedTo(ctx, s, p)
}

// ScopedTo is the book as p sees it, sharing b's deals: every amount,
// count, deal and series it reports covers only the deals p may see (a
// rep's own, a manager's team's), while what is learned (conversion rates,
// sales cycles, the win-probability model) comes from the whole
// organisation. Those are weights over stages, ages and segments, nobody's
// deals, and a rep's own history is far too thin to learn from. A viewer
// sees totals only: AggregatesOnly is set and ScoreOpen lists nothing.
func (b *Book) ScopedTo(ctx context.Context, s *store.Store, p crm.Principal) (*Book, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	v := *b
	v.AggregatesOnly = p.Role == crm.RoleViewer
	v.visible, v.scope = nil, "all"
	if all, ids := f.Owners(); !all {
		owners := make(map[int64]bool, len(ids))
		for _, id := range ids {
			owners[id] = true
		}
		v.visible = func(d *Deal) bool { return owners[d.OwnerID] }
		slices.Sort(ids)
		v.scope = fmt.Sprint(ids)
	}
	return &v, nil
}

// shows reports whether the book shows d and keep (when set) lets it through.
func (b *Book) shows(d *Deal, keep func(*Deal) bool) bool {
	return (b.visible == nil || b.visible(d)) && (keep == nil || keep(d))
}

// LoadAll reads every deal of the organisation, with its history, into a
// Book that shows them all. Callers scope it before showing anything.
func LoadAll(ctx context.Context, s *store.Store, now time.Time, opt LoadOptions) (*Book, error) {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	b := &Book{Stages: map[string]Stage{}, Calendar: cal, Today: day(now), Now: now.UTC(), scope: "all",
		memo: &memo{models: map[time.Time]*once[*WinModel]{}, tracks: map[trackKey]*once[*Backtest]{}}}
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
	b.Currency = rates.Corporate
	conv := converter{rates: rates, cache: map[rateKey]float64{}}
	db := s.DB()
	n, err := countRows(ctx, db, `SELECT COUNT(*) FROM opportunities`)
	if err != nil {
		return nil, err
	}
	b.Deals = make([]Deal, 0, n)
	rows, err := db.QueryContext(ctx, `SELECT o.id, o.owner_id, COALESCE(u.team_id, 0), CAST(o.amount AS DOUBLE PRECISION), o.currency, o.stage,
			o.created_at, o.expected_close, o.closed_at, o.is_closed, o.is_won,
			COALESCE(a.segment, ''), COALESCE(a.industry, ''), o.source, o.deal_type,
			COALESCE(lp.product, '')
		FROM opportunities o
		LEFT JOIN users u ON u.id = o.owner_id
		LEFT JOIN accounts a ON a.id = o.account_id
		LEFT JOIN (SELECT li.opportunity_id, MIN(pr.name) AS product FROM line_items li JOIN products pr ON pr.id = li.product_id
			GROUP BY li.opportunity_id) lp ON lp.opportunity_id = o.id
		ORDER BY o.id`)
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
	if err := b.loadHistory(ctx, db, index, factor, in); err != nil {
		return nil, err
	}
	if opt.Activities {
		if err := b.loadTouches(ctx, db, index); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// loadHistory reads every history row into one slice, then hands each deal
// its run of it: one allocation instead of millions of small appends, and
// no sort in the database (each deal's few rows are sorted here).
func (b *Book) loadHistory(ctx context.Context, db *sql.DB, index map[int64]int, factor map[int64]float64, in func(string) string) error {
	rows, err := db.QueryContext(ctx, `SELECT opportunity_id, id, changed_at, stage, CAST(amount AS DOUBLE PRECISION), expected_close
		FROM opportunity_history`)
	if err != nil {
		return fmt.Errorf("forecast: read stage history: %w", err)
	}
	defer rows.Close()
	n, err := countRows(ctx, db, `SELECT COUNT(*) FROM opportunity_history`)
	if err != nil {
		return err
	}
	owner, all := make([]int32, 0, n), make([]Change, 0, n)
	for rows.Next() {
		var id int64
		var c Change
		var expected sql.NullTime
		if err := rows.Scan(&id, &c.seq, &c.At, &c.Stage, &c.Amount, &expected); err != nil {
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
		owner = append(owner, int32(i))
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("forecast: read stage history: %w", err)
	}
	runs := groupBy(len(b.Deals), owner, all)
	for i := range b.Deals {
		ch := runs[i]
		sort.Slice(ch, func(x, y int) bool {
			if !ch[x].At.Equal(ch[y].At) {
				return ch[x].At.Before(ch[y].At)
			}
			return ch[x].seq < ch[y].seq
		})
		b.Deals[i].Changes = ch
	}
	return nil
}

// loadTouches reads the times of the activities logged on deals, as Unix
// days (a float scans much faster than a timestamp).
func (b *Book) loadTouches(ctx context.Context, db *sql.DB, index map[int64]int) error {
	rows, err := db.QueryContext(ctx, `SELECT opportunity_id, CAST(EXTRACT(EPOCH FROM occurred_at) AS DOUBLE PRECISION) / 86400
		FROM activities WHERE opportunity_id IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("forecast: read activities: %w", err)
	}
	defer rows.Close()
	n, err := countRows(ctx, db, `SELECT COUNT(*) FROM activities WHERE opportunity_id IS NOT NULL`)
	if err != nil {
		return err
	}
	owner, all := make([]int32, 0, n), make([]float64, 0, n)
	for rows.Next() {
		var id int64
		var at float64
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("forecast: read activities: %w", err)
		}
		if i, ok := index[id]; ok {
			owner = append(owner, int32(i))
			all = append(all, at)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("forecast: read activities: %w", err)
	}
	runs := groupBy(len(b.Deals), owner, all)
	for i := range b.Deals {
		sort.Float64s(runs[i])
		b.Deals[i].Touches = runs[i]
	}
	return nil
}

// countRows sizes the slices a load fills: growing them by doubling would
// copy hundreds of megabytes at a million deals.
func countRows(ctx context.Context, db *sql.DB, query string) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("forecast: %w", err)
	}
	return n, nil
}

// groupBy splits vals into n runs, vals[k] going to run owner[k], with one
// counting pass and one allocation. Each run's capacity ends at its length,
// so appending to one never writes into the next.
func groupBy[T any](n int, owner []int32, vals []T) [][]T {
	start := make([]int, n+1)
	for _, o := range owner {
		start[o+1]++
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	flat := make([]T, len(vals))
	next := slices.Clone(start[:n])
	for k, o := range owner {
		flat[next[o]] = vals[k]
		next[o]++
	}
	runs := make([][]T, n)
	for i := range runs {
		if start[i] < start[i+1] {
			runs[i] = flat[start[i]:start[i+1]:start[i+1]]
		}
	}
	return runs
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

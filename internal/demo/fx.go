package demo

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"

	"github.com/shopspring/decimal"
)

// Most deals are in US dollars; accounts billed by a European parent deal in
// euros or pounds. Exchange rates move month by month (a mean-reverting walk
// from realistic levels) and are stored from the first of each month.

const (
	curUSD uint8 = iota
	curEUR
	curGBP
	numCurrencies
)

var currencyCodes = [numCurrencies]string{"USD", "EUR", "GBP"}

// fxTable holds the monthly rate (dollars per unit) of each currency.
type fxTable struct {
	first int64 // the first month, as a Unix time of its first day
	y0    int
	m0    time.Month
	rates [numCurrencies][]float64
}

func newFX(seed int64, start, now int64) *fxTable {
	s := utc(start).AddDate(0, -1, 0)
	f := &fxTable{y0: s.Year(), m0: s.Month()}
	f.first = time.Date(f.y0, f.m0, 1, 0, 0, 0, 0, time.UTC).Unix()
	months := f.month(now) + 1
	r := newRNG().seed(seed, streamRates, 0)
	for c, level := range [numCurrencies]float64{1, 1.08, 1.26} {
		f.rates[c] = make([]float64, months)
		x := level
		for m := range months {
			if c != int(curUSD) {
				x += 0.15*(level-x) + level*0.018*r.NormFloat64()
			}
			f.rates[c][m] = math.Round(x*1e4) / 1e4
		}
	}
	return f
}

// month is the index of t's calendar month in the table.
func (f *fxTable) month(t int64) int {
	tm := utc(t)
	return (tm.Year()-f.y0)*12 + int(tm.Month()-f.m0)
}

// rate is the dollar value of one unit of currency c at t.
func (f *fxTable) rate(c uint8, t int64) float64 {
	m := max(0, min(f.month(t), len(f.rates[c])-1))
	return f.rates[c][m]
}

// store writes the rates in one multi-row INSERT inside a bulk session.
// They do not go through Bulk.Load: its DuckDB Appender writes every
// decimal with scale 2, and rates are DECIMAL(18,8). Rates travel as exact
// text, as the store itself writes them.
func (f *fxTable) store(ctx context.Context, s *store.Store) (int64, error) {
	var values []string
	var args []any
	for c := curEUR; c < numCurrencies; c++ {
		for m, x := range f.rates[c] {
			day := time.Date(f.y0, f.m0+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			n := len(args)
			values = append(values, fmt.Sprintf("($%d, $%d, $%d)", n+1, n+2, n+3))
			args = append(args, currencyCodes[c], day, decimal.NewFromFloat(x).Round(4).String())
		}
	}
	err := s.WithBulk(ctx, func(b *store.Bulk) error {
		_, err := b.Exec(ctx, "INSERT INTO exchange_rates (currency, valid_from, rate) VALUES "+strings.Join(values, ", "), args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("demo: exchange rates: %w", err)
	}
	return int64(len(values)), nil
}

package crm

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Currency is an ISO 4217 currency.
type Currency struct {
	Code string // three upper-case letters, e.g. "EUR"
	Name string // display name, e.g. "Euro"
}

// ValidCurrencyCode reports whether code has the ISO 4217 form: three
// upper-case ASCII letters. It does not check that the code is assigned.
func ValidCurrencyCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := range len(code) {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// ExchangeRate says that from the date ValidFrom on, until the currency's
// next rate, one unit of Currency is worth Rate units of the corporate currency.
type ExchangeRate struct {
	Currency  string
	ValidFrom time.Time // a date; converted to UTC and truncated to the day
	Rate      decimal.Decimal
}

// RateTable converts amounts into the corporate currency using dated
// exchange rates. It is immutable and safe for concurrent use.
type RateTable struct {
	Corporate string // ISO 4217 code of the corporate currency

	rates map[string][]ExchangeRate // by currency, sorted by ValidFrom
}

// NewRateTable builds a table for the corporate currency from rates in any
// order. It rejects malformed codes, rates for the corporate currency itself
// (always 1), missing dates, non-positive rates and two rates for the same
// currency on the same day.
func NewRateTable(corporate string, rates []ExchangeRate) (*RateTable, error) {
	if !ValidCurrencyCode(corporate) {
		return nil, fmt.Errorf("%w: corporate currency %q: want three upper-case letters (ISO 4217)", ErrInvalid, corporate)
	}
	type key struct {
		currency string
		day      time.Time
	}
	seen := make(map[key]bool, len(rates))
	byCurrency := make(map[string][]ExchangeRate)
	for i, r := range rates {
		var why string
		switch {
		case !ValidCurrencyCode(r.Currency):
			why = "currency code must be three upper-case letters (ISO 4217)"
		case r.Currency == corporate:
			why = "the corporate currency always has rate 1"
		case r.ValidFrom.IsZero():
			why = "valid-from date is required"
		case r.Rate.LessThan(MinExchangeRate) || r.Rate.GreaterThan(MaxExchangeRate):
			why = fmt.Sprintf("rate %s is outside the valid range %s to %s", r.Rate, MinExchangeRate, MaxExchangeRate)
		}
		r.ValidFrom = utcDay(r.ValidFrom)
		k := key{r.Currency, r.ValidFrom}
		if why == "" && seen[k] {
			why = "duplicate rate for this currency and date"
		}
		if why != "" {
			return nil, fmt.Errorf("%w: exchange rate %d (%q from %s): %s",
				ErrInvalid, i, r.Currency, r.ValidFrom.Format(time.DateOnly), why)
		}
		seen[k] = true
		byCurrency[r.Currency] = append(byCurrency[r.Currency], r)
	}
	for _, rs := range byCurrency {
		slices.SortFunc(rs, func(a, b ExchangeRate) int { return a.ValidFrom.Compare(b.ValidFrom) })
	}
	return &RateTable{Corporate: corporate, rates: byCurrency}, nil
}

// RateOn returns the value of one unit of currency in the corporate currency
// on day: the latest rate valid from day or earlier, or 1 for the corporate
// currency. Missing rates wrap ErrNotFound, malformed codes ErrInvalid.
func (t *RateTable) RateOn(currency string, day time.Time) (decimal.Decimal, error) {
	if currency == t.Corporate {
		return decimal.NewFromInt(1), nil
	}
	rs := t.rates[currency]
	if len(rs) == 0 {
		if !ValidCurrencyCode(currency) {
			return decimal.Decimal{}, fmt.Errorf("%w: currency %q: want three upper-case letters (ISO 4217)", ErrInvalid, currency)
		}
		return decimal.Decimal{}, fmt.Errorf("%w: no exchange rates for currency %s", ErrNotFound, currency)
	}
	d := utcDay(day)
	i := sort.Search(len(rs), func(i int) bool { return rs[i].ValidFrom.After(d) })
	if i == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: no %s exchange rate on %s (first rate is from %s)",
			ErrNotFound, currency, d.Format(time.DateOnly), rs[0].ValidFrom.Format(time.DateOnly))
	}
	return rs[i-1].Rate, nil
}

// Convert converts amount of currency into the corporate currency at the rate
// of day, rounded to 2 decimal places with halves away from zero.
func (t *RateTable) Convert(amount decimal.Decimal, currency string, day time.Time) (decimal.Decimal, error) {
	rate, err := t.RateOn(currency, day)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return amount.Mul(rate).Round(2), nil
}

// utcDay converts t to UTC and truncates it to 00:00 of that day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

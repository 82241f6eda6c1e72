package crm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestValidCurrencyCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"EUR", true},
		{"USD", true},
		{"XAU", true},
		{"eur", false},
		{"Eur", false},
		{"EU", false},
		{"EURO", false},
		{"", false},
		{"E1R", false},
		{"ÉUR", false},
	}
	for _, tt := range tests {
		if got := ValidCurrencyCode(tt.code); got != tt.want {
			t.Errorf("ValidCurrencyCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestNewRateTableInvalid(t *testing.T) {
	ok := ExchangeRate{Currency: "EUR", ValidFrom: day(2024, 1, 1), Rate: dec("1.10")}
	tests := []struct {
		name      string
		corporate string
		rates     []ExchangeRate
		want      string // part of the error message
	}{
		{"lower-case corporate", "usd", nil, `corporate currency "usd"`},
		{"empty corporate", "", nil, "corporate currency"},
		{"bad code", "USD", []ExchangeRate{ok, {Currency: "eur", ValidFrom: day(2024, 1, 1), Rate: dec("1")}}, `exchange rate 1 ("eur"`},
		{"corporate rate", "USD", []ExchangeRate{{Currency: "USD", ValidFrom: day(2024, 1, 1), Rate: dec("1")}}, "corporate currency always has rate 1"},
		{"zero rate", "USD", []ExchangeRate{{Currency: "EUR", ValidFrom: day(2024, 1, 1), Rate: dec("0")}}, "rate 0 is outside the valid range 0.00000001 to 1000000"},
		{"negative rate", "USD", []ExchangeRate{{Currency: "EUR", ValidFrom: day(2024, 1, 1), Rate: dec("-1.1")}}, "rate -1.1 is outside"},
		{"rate above the largest", "USD", []ExchangeRate{{Currency: "EUR", ValidFrom: day(2024, 1, 1), Rate: dec("1000000.01")}}, "rate 1000000.01 is outside"},
		{"missing date", "USD", []ExchangeRate{{Currency: "EUR", Rate: dec("1.1")}}, "valid-from date is required"},
		{"duplicate", "USD", []ExchangeRate{ok, {Currency: "GBP", ValidFrom: day(2024, 1, 1), Rate: dec("1.3")}, ok}, `exchange rate 2 ("EUR" from 2024-01-01): duplicate`},
		{"duplicate day, other time", "USD", []ExchangeRate{ok, {Currency: "EUR", ValidFrom: day(2024, 1, 1).Add(15 * time.Hour), Rate: dec("1.2")}}, "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := NewRateTable(tt.corporate, tt.rates)
			if err == nil {
				t.Fatalf("NewRateTable = %+v, want error", table)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRateTable error = %q, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// testRateTable has USD as corporate currency; its rates are deliberately out of order.
func testRateTable(t *testing.T) *RateTable {
	t.Helper()
	table, err := NewRateTable("USD", []ExchangeRate{
		{Currency: "EUR", ValidFrom: day(2024, 7, 1), Rate: dec("1.08")},
		{Currency: "GBP", ValidFrom: day(2024, 3, 15), Rate: dec("1.27")},
		{Currency: "EUR", ValidFrom: day(2024, 1, 1), Rate: dec("1.10")},
		{Currency: "CHF", ValidFrom: time.Date(2024, 1, 1, 18, 0, 0, 0, time.UTC), Rate: dec("1.125")},
		{Currency: "EUR", ValidFrom: day(2025, 1, 1), Rate: dec("1.04")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return table
}

func TestRateOn(t *testing.T) {
	table := testRateTable(t)
	tests := []struct {
		currency string
		day      time.Time
		want     string // rate, or "" when an error is expected
		wantErr  error
		errHas   []string
	}{
		{"USD", day(2024, 1, 1), "1", nil, nil},
		{"USD", time.Time{}, "1", nil, nil},
		{"EUR", day(2024, 1, 1), "1.10", nil, nil},
		{"EUR", time.Date(2024, 6, 30, 23, 59, 59, 0, time.UTC), "1.10", nil, nil},
		{"EUR", day(2024, 7, 1), "1.08", nil, nil},
		{"EUR", day(2024, 12, 31), "1.08", nil, nil},
		{"EUR", day(2025, 1, 1), "1.04", nil, nil},
		{"EUR", day(2030, 6, 1), "1.04", nil, nil},
		// 01:00 in Berlin on July 1st is still June 30th in UTC.
		{"EUR", time.Date(2024, 7, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "1.10", nil, nil},
		// A rate's time of day is dropped: CHF is valid from the whole of 2024-01-01.
		{"CHF", day(2024, 1, 1), "1.125", nil, nil},
		{"GBP", day(2024, 3, 15), "1.27", nil, nil},
		{"GBP", day(2024, 3, 14), "", ErrNotFound, []string{"GBP", "2024-03-14", "2024-03-15"}},
		{"EUR", day(2023, 12, 31), "", ErrNotFound, []string{"EUR", "2023-12-31", "2024-01-01"}},
		{"JPY", day(2024, 6, 1), "", ErrNotFound, []string{"JPY"}},
		{"eur", day(2024, 6, 1), "", ErrInvalid, []string{`"eur"`}},
		{"", day(2024, 6, 1), "", ErrInvalid, nil},
	}
	for _, tt := range tests {
		got, err := table.RateOn(tt.currency, tt.day)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("RateOn(%q, %s) = %s, %v; want error wrapping %v", tt.currency, tt.day, got, err, tt.wantErr)
				continue
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("RateOn(%q, %s) error %q does not mention %q", tt.currency, tt.day, err, s)
				}
			}
			continue
		}
		if err != nil || !got.Equal(dec(tt.want)) {
			t.Errorf("RateOn(%q, %s) = %s, %v; want %s", tt.currency, tt.day, got, err, tt.want)
		}
	}
}

func TestConvert(t *testing.T) {
	table := testRateTable(t)
	tests := []struct {
		amount   string
		currency string
		day      time.Time
		want     string
		wantErr  error
	}{
		{"100", "EUR", day(2024, 6, 30), "110.00", nil},
		{"100", "EUR", day(2024, 7, 1), "108.00", nil},
		{"0", "EUR", day(2024, 7, 1), "0", nil},
		// Halves round away from zero, not to even: 1.125 → 1.13.
		{"1", "CHF", day(2024, 6, 1), "1.13", nil},
		{"-1", "CHF", day(2024, 6, 1), "-1.13", nil},
		{"0.1", "CHF", day(2024, 6, 1), "0.11", nil}, // 0.1125
		{"3", "CHF", day(2024, 6, 1), "3.38", nil},   // 3.375
		{"1234567890.12", "GBP", day(2024, 6, 1), "1567901220.45", nil},
		// The corporate currency converts at 1 but is still rounded.
		{"12.345", "USD", day(2024, 6, 1), "12.35", nil},
		{"-12.345", "USD", day(2024, 6, 1), "-12.35", nil},
		{"12.3", "USD", day(2024, 6, 1), "12.30", nil},
		{"100", "EUR", day(2023, 6, 1), "", ErrNotFound},
		{"100", "JPY", day(2024, 6, 1), "", ErrNotFound},
	}
	for _, tt := range tests {
		got, err := table.Convert(dec(tt.amount), tt.currency, tt.day)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Convert(%s %s, %s) = %s, %v; want error wrapping %v", tt.amount, tt.currency, tt.day, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(dec(tt.want)) {
			t.Errorf("Convert(%s %s, %s) = %s, %v; want %s", tt.amount, tt.currency, tt.day, got, err, tt.want)
		}
	}
}

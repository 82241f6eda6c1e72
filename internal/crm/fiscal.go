package crm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Grain is the length of a fiscal period.
type Grain int

// Grains, shortest first. The zero Grain is invalid.
const (
	GrainMonth Grain = iota + 1
	GrainQuarter
	GrainYear
)

// String returns "month", "quarter" or "year".
func (g Grain) String() string {
	switch g {
	case GrainMonth:
		return "month"
	case GrainQuarter:
		return "quarter"
	case GrainYear:
		return "year"
	}
	return "Grain(" + strconv.Itoa(int(g)) + ")"
}

// ParseGrain parses "month", "quarter" or "year" (case-insensitive).
func ParseGrain(s string) (Grain, error) {
	switch strings.ToLower(s) {
	case "month":
		return GrainMonth, nil
	case "quarter":
		return GrainQuarter, nil
	case "year":
		return GrainYear, nil
	}
	return 0, fmt.Errorf("%w: grain %q: want month, quarter or year", ErrInvalid, s)
}

// months is the length of a period of grain g. It panics on an invalid grain.
func (g Grain) months() int {
	switch g {
	case GrainMonth:
		return 1
	case GrainQuarter:
		return 3
	case GrainYear:
		return 12
	}
	panic("crm: invalid fiscal grain " + g.String())
}

// FiscalCalendar maps dates to fiscal years, quarters and months.
//
// A fiscal year is named after the calendar year in which it ends
// (Salesforce's default). With StartMonth February, FY2025 runs from
// 2024-02-01 up to (excluding) 2025-02-01, FY2025-Q1 is Feb–Apr 2024 and
// FY2025-M01 is February 2024. With a January start, FY2025 is calendar 2025.
//
// All times are converted to UTC and truncated to their date; period bounds
// are dates at 00:00 UTC. Methods other than Validate and ParsePeriod panic
// on an invalid calendar, so validate configuration when loading it.
type FiscalCalendar struct {
	StartMonth time.Month // first month of the fiscal year; 0 means January
}

// Validate checks that StartMonth is 0 (January) or a month 1..12.
func (c FiscalCalendar) Validate() error {
	if c.StartMonth < 0 || c.StartMonth > time.December {
		return fmt.Errorf("%w: fiscal calendar start month %d: want 1..12", ErrInvalid, int(c.StartMonth))
	}
	return nil
}

// startMonth is StartMonth with the zero value resolved to January.
func (c FiscalCalendar) startMonth() time.Month {
	if err := c.Validate(); err != nil {
		panic("crm: " + err.Error())
	}
	if c.StartMonth == 0 {
		return time.January
	}
	return c.StartMonth
}

// Period is one fiscal year, quarter or month.
type Period struct {
	Grain  Grain
	Year   int       // fiscal year, named after the calendar year it ends in
	Number int       // quarter 1..4 or fiscal month 1..12; 1 for a year
	Start  time.Time // first day, 00:00 UTC
	End    time.Time // day after the last day, 00:00 UTC (exclusive)
}

// String returns the canonical form: "FY2025", "FY2025-Q3" or "FY2025-M07".
func (p Period) String() string {
	switch p.Grain {
	case GrainYear:
		return fmt.Sprintf("FY%04d", p.Year)
	case GrainQuarter:
		return fmt.Sprintf("FY%04d-Q%d", p.Year, p.Number)
	case GrainMonth:
		return fmt.Sprintf("FY%04d-M%02d", p.Year, p.Number)
	}
	return fmt.Sprintf("FY%04d-%s%d", p.Year, p.Grain, p.Number)
}

// period builds period number n (1-based) of grain g in fiscal year fy.
func (c FiscalCalendar) period(g Grain, fy, n int) Period {
	m := g.months()
	s, y := c.startMonth(), fy
	if s != time.January {
		y-- // the year starts in the calendar year before the one it is named after
	}
	start := time.Date(y, s, 1, 0, 0, 0, 0, time.UTC).AddDate(0, (n-1)*m, 0)
	return Period{Grain: g, Year: fy, Number: n, Start: start, End: start.AddDate(0, m, 0)}
}

// PeriodOf returns the period of grain g that contains t's UTC date.
func (c FiscalCalendar) PeriodOf(t time.Time, g Grain) Period {
	t = t.UTC()
	s := c.startMonth()
	fy := t.Year()
	if s != time.January && t.Month() >= s {
		fy++
	}
	month := (int(t.Month()) - int(s) + 12) % 12 // 0-based fiscal month
	return c.period(g, fy, month/g.months()+1)
}

// Next returns the period of the same grain that follows p.
func (c FiscalCalendar) Next(p Period) Period { return c.shift(p, 1) }

// Prev returns the period of the same grain that precedes p.
func (c FiscalCalendar) Prev(p Period) Period { return c.shift(p, -1) }

// SameLastYear returns the period with the same number one fiscal year earlier.
func (c FiscalCalendar) SameLastYear(p Period) Period {
	return c.shift(p, -12/p.Grain.months())
}

// shift moves p by delta periods of its grain, rolling over fiscal years.
// Only p.Grain, p.Year and p.Number are used; bounds are recomputed.
func (c FiscalCalendar) shift(p Period, delta int) Period {
	perYear := 12 / p.Grain.months()
	n := p.Number
	if p.Grain == GrainYear {
		n = 1
	}
	i := p.Year*perYear + n - 1 + delta
	fy, r := i/perYear, i%perYear
	if r < 0 { // floor division for years before 0
		fy, r = fy-1, r+perYear
	}
	return c.period(p.Grain, fy, r+1)
}

// Periods returns, in order, every period of grain g that overlaps the
// half-open interval [from, to). It returns nil when to is not after from.
func (c FiscalCalendar) Periods(from, to time.Time, g Grain) []Period {
	if !from.Before(to) {
		return nil
	}
	var ps []Period
	for p := c.PeriodOf(from, g); p.Start.Before(to); p = c.Next(p) {
		ps = append(ps, p)
	}
	return ps
}

// ParsePeriod parses "FY2025", "FY2025-Q3" or "FY2025-M07" (also lower case,
// and months without the leading zero such as "FY2025-M7").
func (c FiscalCalendar) ParsePeriod(s string) (Period, error) {
	if err := c.Validate(); err != nil {
		return Period{}, err
	}
	fail := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("%w: fiscal period %q: %s (want e.g. FY2025, FY2025-Q3 or FY2025-M07)", ErrInvalid, s, why)
	}
	if len(s) < 2 || foldASCII(s[0]) != 'f' || foldASCII(s[1]) != 'y' {
		return fail(`must start with "FY"`)
	}
	rest := s[2:]
	if len(rest) < 4 || !allASCIIDigits(rest[:4]) || (len(rest) > 4 && rest[4] != '-') {
		return fail("year must have four digits")
	}
	year, _ := strconv.Atoi(rest[:4])
	if len(rest) == 4 {
		return c.period(GrainYear, year, 1), nil
	}
	rest = rest[5:] // after "-"
	if rest == "" {
		return fail(`missing quarter or month after "-"`)
	}
	var g Grain
	var maxDigits, maxNumber int
	switch foldASCII(rest[0]) {
	case 'q':
		g, maxDigits, maxNumber = GrainQuarter, 1, 4
	case 'm':
		g, maxDigits, maxNumber = GrainMonth, 2, 12
	default:
		return fail(`period must be "Q" (quarter) or "M" (month)`)
	}
	digits := rest[1:]
	if digits == "" || len(digits) > maxDigits || !allASCIIDigits(digits) {
		return fail(fmt.Sprintf("%s number must be 1..%d", g, maxNumber))
	}
	n, _ := strconv.Atoi(digits)
	if n < 1 || n > maxNumber {
		return fail(fmt.Sprintf("%s number must be 1..%d", g, maxNumber))
	}
	return c.period(g, year, n), nil
}

// foldASCII lower-cases an ASCII letter and returns other bytes unchanged.
func foldASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// allASCIIDigits reports whether s consists of ASCII digits only.
func allASCIIDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

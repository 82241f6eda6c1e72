package importer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// values turns the text of a CSV cell into typed values. Real exports write
// numbers with thousand separators and currency signs, dates in ISO or US
// order, booleans as true/1/yes/x, and "nothing" as an empty cell or a NULL
// token; each parser accepts those and names what it wanted when it fails.
type values struct {
	layouts      []string       // user date layouts (Go form), tried first
	loc          *time.Location // zone of times written without one
	decimalComma bool           // "1.234,56" instead of "1,234.56"
	nulls        map[string]bool
}

// defaultNulls are the cell values that mean "no value" in typed columns.
// Text columns only treat the empty string (and \N) as empty, since "NULL"
// can be a real name.
var defaultNulls = []string{"", `\N`, "NULL", "null", "Null", "N/A", "n/a", "#N/A", "NaN", "nil", "None"}

func newValues() *values {
	v := &values{loc: time.UTC, nulls: map[string]bool{}}
	for _, n := range defaultNulls {
		v.nulls[n] = true
	}
	return v
}

// isNull reports whether a trimmed cell means "no value" for a typed field.
func (v *values) isNull(s string) bool { return v.nulls[s] }

var errEmpty = errors.New("empty")

// decimal parses money and other exact numbers: "1,234.56", "$1,234.56",
// "(1,234.56)" (negative), "1 234,56" with decimalComma, "1.2E+06", "12%"
// (as 12). Thousand separators must group by three.
func (v *values) decimal(s string) (decimal.Decimal, error) {
	clean, neg, err := v.cleanNumber(s)
	if err != nil {
		return decimal.Decimal{}, err
	}
	d, err := decimal.NewFromString(clean)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("not a number")
	}
	if neg {
		d = d.Neg()
	}
	return d, nil
}

// float parses a number into a float64 (coordinates, probabilities).
func (v *values) float(s string) (float64, error) {
	clean, neg, err := v.cleanNumber(s)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number")
	}
	if neg {
		f = -f
	}
	return f, nil
}

// integer parses a whole number; "1,200" and "1200.0" are fine, "12.5" is not.
func (v *values) integer(s string) (int64, error) {
	clean, neg, err := v.cleanNumber(s)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(clean, 10, 64)
	if err != nil {
		d, derr := decimal.NewFromString(clean)
		if derr != nil {
			return 0, fmt.Errorf("not a whole number")
		}
		if !d.IsInteger() {
			return 0, fmt.Errorf("not a whole number")
		}
		if !d.Abs().LessThan(decimal.New(1, 18)) {
			return 0, fmt.Errorf("too large")
		}
		n = d.IntPart()
	}
	if neg {
		n = -n
	}
	return n, nil
}

// cleanNumber strips currency signs, spaces, percent signs and thousand
// separators, and returns a plain "-?digits(.digits)?(e±digits)?" string.
// A leading minus is returned in the string; parentheses set neg.
func (v *values) cleanNumber(s string) (clean string, neg bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false, errEmpty
	}
	// Fast path: plain numbers, as most machine exports write them.
	if plainNumber(s) {
		if v.decimalComma && strings.IndexByte(s, '.') >= 0 {
			// "1.234" with a decimal comma is one thousand two hundred and thirty-four.
		} else {
			return s, false, nil
		}
	}
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg = true
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	s = strings.TrimSuffix(s, "%")
	s = trimCurrency(s)
	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "−") {
		if !strings.HasPrefix(s, "+") {
			sign = "-"
		}
		_, size := utf8.DecodeRuneInString(s)
		s = strings.TrimSpace(s[size:])
		s = trimCurrency(s) // "-$1,200"
	}
	if s == "" {
		return "", false, fmt.Errorf("not a number")
	}
	dec, thou := byte('.'), ','
	if v.decimalComma {
		dec, thou = ',', '.'
	}
	// Exponent (Excel writes 1.2E+06).
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i > 0 {
		mant, exp = s[:i], s[i+1:]
		if !validExponent(exp) {
			return "", false, fmt.Errorf("not a number")
		}
		exp = "e" + exp
	}
	intPart, frac := mant, ""
	if i := strings.LastIndexByte(mant, dec); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
		if frac == "" || !allDigits(frac) {
			return "", false, fmt.Errorf("not a number")
		}
	}
	digits, ok := ungroup(intPart, thou)
	if !ok {
		return "", false, fmt.Errorf("not a number")
	}
	if digits == "" {
		digits = "0"
	}
	out := sign + digits
	if frac != "" {
		out += "." + frac
	}
	return out + exp, neg, nil
}

func plainNumber(s string) bool {
	i := 0
	if i < len(s) && s[0] == '-' {
		i++
	}
	digits, dots := 0, 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1 && s[len(s)-1] != '.' && s[0] != '.' && !(s[0] == '-' && len(s) > 1 && s[1] == '.')
}

func validExponent(e string) bool {
	if e != "" && (e[0] == '+' || e[0] == '-') {
		e = e[1:]
	}
	return e != "" && len(e) <= 3 && allDigits(e)
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ungroup removes thousand separators (the given one, spaces, no-break
// spaces and apostrophes), checking that they group digits by three.
func ungroup(s string, thou rune) (string, bool) {
	if s == "" {
		return "", true
	}
	isSep := func(r rune) bool {
		return r == thou || r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\''
	}
	var b strings.Builder
	group, groups := 0, 0
	sawSep := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			group++
		case isSep(r):
			if group == 0 || (groups == 0 && group > 3) || (groups > 0 && group != 3) {
				return "", false
			}
			groups++
			group = 0
			sawSep = true
		default:
			return "", false
		}
	}
	if sawSep && group != 3 {
		return "", false
	}
	return b.String(), true
}

// trimCurrency strips a leading or trailing currency sign or ISO code:
// "$1,200", "1.200 €", "USD 1,200", "1,200 EUR".
func trimCurrency(s string) string {
	for _, sym := range []string{"US$", "$", "€", "£", "¥", "₹", "CHF", "R$"} {
		if t, ok := strings.CutPrefix(s, sym); ok {
			return strings.TrimSpace(t)
		}
		if t, ok := strings.CutSuffix(s, sym); ok {
			return strings.TrimSpace(t)
		}
	}
	if len(s) > 4 && crm.ValidCurrencyCode(s[:3]) && (s[3] == ' ' || s[3] >= '0' && s[3] <= '9') {
		return strings.TrimSpace(s[3:])
	}
	if len(s) > 4 && crm.ValidCurrencyCode(s[len(s)-3:]) && s[len(s)-4] == ' ' {
		return strings.TrimSpace(s[:len(s)-3])
	}
	return s
}

// Date and time layouts tried after the fast ISO path, by the shape of the text.
var (
	isoLayouts = []string{
		time.RFC3339Nano, // 2024-03-31T10:20:30.000Z, 2024-03-31T10:20:30+02:00
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z0700",
		"2006-01-02 15:04:05.999999999 -0700",
		"2006-01-02 15:04:05.999999999 MST",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04",
		"2006-01-02 3:04 PM",
		"2006-01-02 3:04:05 PM",
	}
	slashLayouts = []string{ // US order: month first
		"1/2/2006", "1/2/06", "2006/1/2",
		"1/2/2006 15:04", "1/2/2006 15:04:05", "1/2/2006 3:04 PM", "1/2/2006 3:04:05 PM", "1/2/2006 3:04PM",
		"1/2/06 15:04", "1/2/06 3:04 PM", "2006/1/2 15:04:05", "2006/1/2 15:04",
	}
	dashLayouts = []string{"1-2-2006", "1-2-06", "2-Jan-2006", "2-Jan-06", "02-Jan-2006 15:04:05", "2006-1-2"}
	textLayouts = []string{
		"Jan 2, 2006", "January 2, 2006", "Jan 2 2006", "January 2 2006", "2 Jan 2006", "2 January 2006",
		"Mon, Jan 2, 2006", "Monday, January 2, 2006", "Jan 2, 2006 3:04 PM", "Jan 2, 2006, 3:04 PM", "January 2, 2006 3:04 PM",
		"2-Jan-2006", "2-Jan-06", "02-Jan-2006 15:04:05", time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC,
	}
	dotLayouts = []string{"2.1.2006", "2.1.06", "2006.01.02", "2.1.2006 15:04", "2.1.2006 15:04:05"}
)

// timestamp parses a point in time; a bare date is midnight. Times without a
// zone are in v.loc. The result is in UTC.
func (v *values) timestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errEmpty
	}
	if t, ok := fastISODate(s, v.loc); ok {
		return t.UTC(), nil
	}
	for _, l := range v.layouts {
		if t, err := time.ParseInLocation(l, s, v.loc); err == nil {
			return t.UTC(), nil
		}
	}
	var layouts []string
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		layouts = isoLayouts
	case strings.IndexByte(s, '/') >= 0:
		layouts = slashLayouts
	case hasLetter(s):
		layouts = textLayouts
	case strings.IndexByte(s, '.') >= 0:
		layouts = dotLayouts
	case strings.IndexByte(s, '-') >= 0:
		layouts = dashLayouts
	case len(s) == 8 && allDigits(s):
		layouts = []string{"20060102"}
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, v.loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or time (want e.g. 2024-03-31, 2024-03-31T14:05:00Z or 3/31/2024)")
}

// date parses a calendar day. A date-time gives its day in v.loc.
func (v *values) date(s string) (crm.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return crm.Date{}, errEmpty
	}
	if t, ok := fastISODate(s, time.UTC); ok && len(s) == 10 {
		return crm.Date{Time: t}, nil
	}
	t, err := v.timestamp(s)
	if err != nil {
		return crm.Date{}, fmt.Errorf("not a date (want e.g. 2024-03-31 or 3/31/2024)")
	}
	return crm.NewDate(t.In(v.loc)), nil
}

// fastISODate parses "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS(.fff)Z" without
// going through time.Parse, the common case in machine exports.
func fastISODate(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[5:7])
	d, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc), true
	}
	// 2024-03-31T10:20:30.000Z / 2024-03-31T10:20:30Z
	if (len(s) == 20 || len(s) == 24) && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z' {
		hh, ok1 := atoiN(s[11:13])
		mm, ok2 := atoiN(s[14:16])
		ss, ok3 := atoiN(s[17:19])
		ms := 0
		ok4 := true
		if len(s) == 24 {
			if s[19] != '.' {
				return time.Time{}, false
			}
			ms, ok4 = atoiN(s[20:23])
		}
		if !ok1 || !ok2 || !ok3 || !ok4 || hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, false
		}
		return time.Date(y, time.Month(m), d, hh, mm, ss, ms*1e6, time.UTC), true
	}
	return time.Time{}, false
}

func atoiN(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func hasLetter(s string) bool {
	for i := range len(s) {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// boolean parses true/false, yes/no, y/n, 1/0, t/f, x/checked (a ticked box).
func boolean(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "1", "x", "checked", "on", "✓":
		return true, nil
	case "false", "f", "no", "n", "0", "unchecked", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("not true or false")
}

// goLayout turns a date pattern written with tokens (YYYY-MM-DD, DD/MM/YYYY,
// M/D/YY h:mm A, ...) into a Go layout. A layout that already is Go's
// (contains 2006) is returned as it is.
func goLayout(p string) (string, error) {
	if strings.Contains(p, "2006") {
		return p, nil
	}
	tokens := []struct{ tok, gol string }{
		{"YYYY", "2006"}, {"YY", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
		{"DDDD", "Monday"}, {"DDD", "Mon"}, {"DD", "02"}, {"D", "2"}, {"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"},
		{"mm", "04"}, {"m", "4"}, {"ss", "05"}, {"s", "5"}, {"SSS", "000"}, {"A", "PM"}, {"a", "pm"}, {"ZZ", "-0700"}, {"Z", "Z07:00"},
	}
	var b strings.Builder
	found := false
	for i := 0; i < len(p); {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(p[i:], t.tok) {
				b.WriteString(t.gol)
				i += len(t.tok)
				matched = true
				found = found || t.tok[0] == 'Y'
				break
			}
		}
		if !matched {
			c := p[i]
			if c >= '0' && c <= '9' {
				return "", fmt.Errorf("date format %q: digits are not allowed (write YYYY, MM, DD, HH, mm, ss)", p)
			}
			b.WriteByte(c)
			i++
		}
	}
	if !found {
		return "", fmt.Errorf("date format %q has no year (write it with YYYY, MM, DD, HH, mm, ss)", p)
	}
	return b.String(), nil
}

package importer

import (
	"strings"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	v := newValues()
	for _, c := range []struct{ in, want string }{
		{"1234", "1234"},
		{"1234.5", "1234.5"},
		{"-12.25", "-12.25"},
		{"1,234", "1234"},
		{"1,234,567.89", "1234567.89"},
		{"$1,234.50", "1234.5"},
		{"-$1,200", "-1200"},
		{"$ 99", "99"},
		{"USD 1,200.00", "1200"},
		{"1,200 EUR", "1200"},
		{"1 200 000", "1200000"},
		{"1\u00a0200", "1200"},
		{"(1,234.56)", "-1234.56"},
		{"1.2E+06", "1200000"},
		{"45%", "45"},
		{" 7 ", "7"},
		{".5", "0.5"},
		{"+3", "3"},
		{"€1.500", "1.5"},
	} {
		d, err := v.decimal(c.in)
		if err != nil || d.String() != c.want {
			t.Errorf("decimal(%q) = %s, %v; want %s", c.in, d, err, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "12,34", "1,2345", "1.2.3", "12a", "1,,000", "$", "--5", "1e", "5.", "0x10", "1_000", "NaN"} {
		if d, err := v.decimal(bad); err == nil {
			t.Errorf("decimal(%q) = %s, want an error", bad, d)
		}
	}
	eu := newValues()
	eu.decimalComma = true
	for _, c := range []struct{ in, want string }{{"1.234,56", "1234.56"}, {"1234,5", "1234.5"}, {"1.234", "1234"}, {"12", "12"}, {"1 234,5 €", "1234.5"}} {
		if d, err := eu.decimal(c.in); err != nil || d.String() != c.want {
			t.Errorf("decimal comma (%q) = %s, %v; want %s", c.in, d, err, c.want)
		}
	}
}

func TestParseInteger(t *testing.T) {
	v := newValues()
	for _, c := range []struct {
		in   string
		want int64
	}{{"12", 12}, {"1,200", 1200}, {"1200.0", 1200}, {"-3", -3}, {"1.2E+03", 1200}} {
		if n, err := v.integer(c.in); err != nil || n != c.want {
			t.Errorf("integer(%q) = %d, %v; want %d", c.in, n, err, c.want)
		}
	}
	for _, bad := range []string{"12.5", "x", "9999999999999999999999"} {
		if n, err := v.integer(bad); err == nil {
			t.Errorf("integer(%q) = %d, want an error", bad, n)
		}
	}
}

func TestParseDates(t *testing.T) {
	v := newValues()
	utc := func(y int, m time.Month, d, hh, mm, ss int) time.Time {
		return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
	}
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2024-03-31", utc(2024, 3, 31, 0, 0, 0)},
		{"2024-03-31T10:20:30Z", utc(2024, 3, 31, 10, 20, 30)},
		{"2024-03-31T10:20:30.000Z", utc(2024, 3, 31, 10, 20, 30)},
		{"2024-03-31T10:20:30+02:00", utc(2024, 3, 31, 8, 20, 30)},
		{"2024-03-31T10:20:30.000+0000", utc(2024, 3, 31, 10, 20, 30)},
		{"2024-03-31 10:20:30", utc(2024, 3, 31, 10, 20, 30)},
		{"2024-03-31 10:20", utc(2024, 3, 31, 10, 20, 0)},
		{"3/31/2024", utc(2024, 3, 31, 0, 0, 0)},
		{"03/31/2024", utc(2024, 3, 31, 0, 0, 0)},
		{"3/31/24", utc(2024, 3, 31, 0, 0, 0)},
		{"3/31/2024 2:05 PM", utc(2024, 3, 31, 14, 5, 0)},
		{"3/31/2024 14:05", utc(2024, 3, 31, 14, 5, 0)},
		{"2024/03/31", utc(2024, 3, 31, 0, 0, 0)},
		{"Mar 31, 2024", utc(2024, 3, 31, 0, 0, 0)},
		{"March 31, 2024", utc(2024, 3, 31, 0, 0, 0)},
		{"31-Mar-2024", utc(2024, 3, 31, 0, 0, 0)},
		{"20240331", utc(2024, 3, 31, 0, 0, 0)},
		{" 2024-03-31 ", utc(2024, 3, 31, 0, 0, 0)},
	} {
		got, err := v.timestamp(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("timestamp(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "31/31/2024", "2024-02-30", "2024-13-01", "yesterday", "2024-03-31T25:00:00Z", "13/1/2024"} {
		if got, err := v.timestamp(bad); err == nil {
			t.Errorf("timestamp(%q) = %v, want an error", bad, got)
		}
	}
	// A date-time gives its day; user formats come first (day first here).
	d, err := v.date("2024-03-31T23:30:00Z")
	if err != nil || d.String() != "2024-03-31" {
		t.Errorf("date of a date-time: %v %v", d, err)
	}
	eu := newValues()
	l, _ := goLayout("DD/MM/YYYY")
	eu.layouts = []string{l}
	if d, err := eu.date("01/02/2024"); err != nil || d.String() != "2024-02-01" {
		t.Errorf("DD/MM/YYYY: %v %v", d, err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	zoned := newValues()
	zoned.loc = ny
	if got, err := zoned.timestamp("2024-07-01 09:00"); err != nil || !got.Equal(utc(2024, 7, 1, 13, 0, 0)) {
		t.Errorf("time in New York: %v %v", got, err)
	}
}

func TestGoLayout(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"YYYY-MM-DD", "2006-01-02"},
		{"DD/MM/YYYY HH:mm", "02/01/2006 15:04"},
		{"M/D/YY h:mm A", "1/2/06 3:04 PM"},
		{"D MMM YYYY", "2 Jan 2006"},
		{"YYYY-MM-DDTHH:mm:ss.SSSZ", "2006-01-02T15:04:05.000Z07:00"},
		{"2006-01-02", "2006-01-02"},
	} {
		if got, err := goLayout(c.in); err != nil || got != c.want {
			t.Errorf("goLayout(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "nothing", "DD/MM/2024x"} {
		if got, err := goLayout(bad); err == nil {
			t.Errorf("goLayout(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseBoolean(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "yes": true, "Y": true, "x": true, "false": false, "0": false, "No": false, "": false} {
		if got, err := boolean(in); err != nil || got != want {
			t.Errorf("boolean(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := boolean("maybe"); err == nil {
		t.Error("boolean(maybe) accepted")
	}
}

func TestWordings(t *testing.T) {
	for in, want := range map[string]string{"Closed Won": "won", "closedwon": "won", "Won": "won", "Closed Lost": "lost", "Lost": "lost",
		"Negotiation/Review": "open", "Wonderful Stage": "open"} {
		if got := string(guessKind(in)); got != want {
			t.Errorf("guessKind(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"Open - Not Contacted": "new", "Working - Contacted": "working", "Closed - Converted": "converted",
		"Closed - Not Converted": "disqualified", "UNQUALIFIED": "disqualified", "IN_PROGRESS": "working", "Qualified": "qualified", "": "new"} {
		if got := string(leadStatus(in)); got != want {
			t.Errorf("leadStatus(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"New Customer": "new", "Existing Customer - Upgrade": "expansion", "Renewal": "renewal",
		"Existing Business": "expansion", "": "new", "Partner": "new"} {
		if got := string(dealType(in)); got != want {
			t.Errorf("dealType(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"Call": "call", "ListEmail": "email", "Meeting": "meeting", "Demo": "demo", "Task": "task", "LinkedIn": "other"} {
		if got := string(activityKind(in, "task")); got != want {
			t.Errorf("activityKind(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"Best Case": "best_case", "BestCase": "best_case", "Forecast": "commit", "Omitted": "omitted", "closed": "closed"} {
		if got, ok := forecastCategory(in); !ok || string(got) != want {
			t.Errorf("forecastCategory(%q) = %s", in, got)
		}
	}
	if got := domainOf("HTTPS://www.Acme.com/about?x=1"); got != "acme.com" {
		t.Errorf("domainOf: %s", got)
	}
	if got := emailFor("Mei-Mei  Johns", "example.com"); got != "mei-mei.johns@example.com" {
		t.Errorf("emailFor: %s", got)
	}
	if got := (Problem{File: "a.csv", Line: 3, Field: "Amount", Value: "x", Reason: "not an amount"}).String(); got != "a.csv:3: Amount: x: not an amount" {
		t.Errorf("Problem.String: %s", got)
	}
	if !strings.Contains((Problem{File: "a.csv", Reason: "empty"}).String(), "a.csv: empty") {
		t.Error("Problem.String without line")
	}
}

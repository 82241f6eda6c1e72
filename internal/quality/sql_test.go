package quality

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

var fiscalJanuary = crm.FiscalCalendar{StartMonth: time.January}

func TestParseQueries(t *testing.T) {
	src := "-- header: ignored\n" +
		"-- name: one\n-- order: id\n-- a comment: dropped\nSELECT 1\n\n" +
		"-- name: two\r\n-- order: x, id\r\nSELECT 2\r\nFROM t\r\n"
	qs, err := parseQueries(src)
	if err != nil {
		t.Fatal(err)
	}
	if q := qs["one"]; q == nil || q.text != "SELECT 1" || q.order != "id" {
		t.Errorf("one: %+v", q)
	}
	if q := qs["two"]; q == nil || q.text != "SELECT 2\nFROM t" || q.order != "x, id" {
		t.Errorf("two: %+v", q)
	}
	for _, bad := range []string{
		"-- name: a\nSELECT 1\n",     // no order
		"-- name: a\n-- order: id\n", // no body
		"-- name: a\n-- order: id\nSELECT 1\n-- name: a\n-- order: id\nSELECT 2\n", // twice
	} {
		if _, err := parseQueries(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestBind(t *testing.T) {
	q := &namedQuery{name: "q", text: "SELECT ':not_a_param', 'it''s' FROM t WHERE a < :today AND b > :z AND c < :today AND {{scope t.owner_id}} AND d = ':x'"}
	got, args, err := q.bind(store.OwnerFilter{}, map[string]any{"today": "T", "z": 3.0, "unused": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT ':not_a_param', 'it''s' FROM t WHERE a < $1 AND b > $2 AND c < $1 AND (FALSE) AND d = ':x'"
	if got != want || !slices.Equal(args, []any{"T", 3.0}) {
		t.Errorf("bind:\n got  %s %v\n want %s [T 3]", got, args, want)
	}
	for _, text := range []string{"SELECT :missing", "SELECT 'open", "SELECT {{scope x"} {
		if _, _, err := (&namedQuery{name: "bad", text: text}).bind(store.OwnerFilter{}, nil); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

// Every check has its query, every query its check, and every parameter a value.
func TestChecksAndQueriesMatch(t *testing.T) {
	cs, err := loadChecks()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(Options{Now: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC), StaleDays: 30, OutlierZ: 3}, fiscalJanuary)
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.id] {
			t.Errorf("check %s twice", c.id)
		}
		seen[c.id] = true
		if _, _, err := c.query.bind(store.OwnerFilter{}, e.params); err != nil {
			t.Error(err)
		}
		if !strings.Contains(c.fix, " ") || c.title == "" || c.detail == nil {
			t.Errorf("check %s lacks a title, fix or detail", c.id)
		}
	}
	if got := e.params["quarter"]; got != "FY2025-Q1" {
		t.Errorf("quarter %v", got)
	}
	if got := []any{e.params["month1"], e.params["month3"], e.params["year"]}; !slices.Equal(got, []any{"FY2025-M01", "FY2025-M03", "FY2025"}) {
		t.Errorf("periods %v", got)
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0.00"}, {5, "5.00"}, {999.5, "999.50"}, {1000, "1,000.00"}, {1234.5, "1,234.50"}, {1234567.891, "1,234,567.89"}, {-98765.4, "-98,765.40"}} {
		if got := money(tc.v); got != tc.want {
			t.Errorf("money(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v, m float64
		want string
	}{{10000, 1000, "10.0×"}, {100, 1000, "1/10.0 of"}, {5, 0, "far from"}} {
		if got := ratio(tc.v, tc.m); got != tc.want {
			t.Errorf("ratio(%v, %v) = %s, want %s", tc.v, tc.m, got, tc.want)
		}
	}
	a := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		b    time.Time
		want string
	}{{a.Add(23 * time.Hour), "0 days"}, {a.Add(25 * time.Hour), "1 day"}, {a.AddDate(0, 0, 40), "40 days"}, {a.AddDate(0, 0, -3), "3 days"}} {
		if got := days(daysBetween(a, tc.b)); got != tc.want {
			t.Errorf("days to %v = %s, want %s", tc.b, got, tc.want)
		}
	}
}

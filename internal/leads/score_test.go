package leads

import (
	"math"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func mustModel(t *testing.T, doc string) *Model {
	t.Helper()
	m, err := Parse("test.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testLead() *crm.Lead {
	emp := int64(450)
	rev := decimal.RequireFromString("25000000")
	return &crm.Lead{ID: 7, FirstName: "Ada", LastName: "Byron", Email: "ada@gmail.com", Company: "Analytical Engines",
		Title: "VP Sales", Industry: "Software ", Employees: &emp, AnnualRevenue: &rev, Country: "United Kingdom",
		Source: "Web form", Status: crm.LeadNew, CreatedAt: day0,
		CustomFields: crm.CustomFields{"total_visits": "12", "tags": "Will revert after reading the email", "blank": ""}}
}

func ev(id int64, kind, detail string, at time.Time) crm.LeadEvent {
	return crm.LeadEvent{ID: id, LeadID: 7, Kind: kind, Detail: detail, OccurredAt: at}
}

// Each rule type, on a lead that passes or fails it.
func TestFitRuleTypes(t *testing.T) {
	cases := []struct {
		rule string
		want bool
	}{
		{"field: industry\n    equals: software", true}, // case and spaces ignored
		{"field: industry\n    equals: Retail", false},
		{"field: country\n    in: [France, United Kingdom]", true},
		{"field: country\n    in: [France]", false},
		{"field: employees\n    between: [450, 1000]", true}, // bounds included
		{"field: employees\n    between: [100, 449]", false},
		{"field: custom.total_visits\n    between: [10, 20]", true}, // custom text read as a number
		{"field: annual_revenue\n    between: [1000000, 30000000]", true},
		{"field: title\n    contains: sales", true},
		{"field: title\n    contains: marketing", false},
		{"field: custom.tags\n    contains: revert", true},
		{"field: email\n    regex: '@(gmail|yahoo)\\.'", true},
		{"field: email\n    regex: '@example\\.'", false},
		{"field: state\n    missing: true", true},
		{"field: custom.blank\n    missing: true", true}, // empty text counts as missing
		{"field: custom.nothing\n    missing: true", true},
		{"field: industry\n    missing: true", false},
		{"field: industry\n    missing: false", true},
		{"field: email_domain\n    equals: gmail.com", true},
		{"when: employees > 400 and country startsWith \"United\"", true},
		{"when: custom.total_visits >= 13", false},
		{"when: custom.missing_field > 1", false}, // a missing value compares false
		{"when: industry in [\"Retail\"] or title matches \"^VP\"", true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			m := mustModel(t, "name: m\nfit:\n  - "+c.rule+"\n    points: 5\n")
			s := NewSubject(testLead(), nil, nil)
			r := m.Score(&s, day0)
			if got := r.Score == 5; got != c.want {
				t.Fatalf("matched = %v (score %v, lines %+v), want %v", got, r.Score, r.Lines, c.want)
			}
		})
	}
}

func TestFitCauseAndNegativePoints(t *testing.T) {
	m := mustModel(t, `name: m
fit:
  - name: Free mail
    field: email_domain
    in: [gmail.com]
    points: -15
  - name: Big enough
    field: employees
    between: [200, 1000]
    points: 10
`)
	s := NewSubject(testLead(), nil, nil)
	r := m.Score(&s, day0)
	if r.Score != -5 || r.Fit != -5 || len(r.Lines) != 2 {
		t.Fatalf("score %v fit %v lines %+v, want -5 from two lines", r.Score, r.Fit, r.Lines)
	}
	if r.Lines[0].Cause != "email_domain = gmail.com" || r.Lines[1].Cause != "employees = 450" {
		t.Errorf("causes %q, %q", r.Lines[0].Cause, r.Lines[1].Cause)
	}
}

// Half-life decay at exact boundaries: full points at age 0, exactly half
// at one half-life, a quarter at two.
func TestHalfLifeBoundaries(t *testing.T) {
	m := mustModel(t, "name: m\nengagement:\n  - event: webinar\n    points: 10\ndecay:\n  half_life_days: 30\n")
	at := day0.Add(24 * time.Hour)
	s := NewSubject(testLead(), []crm.LeadEvent{ev(1, "webinar", "", at)}, nil)
	for _, c := range []struct {
		age  time.Duration
		want float64
	}{{0, 10}, {30 * 24 * time.Hour, 5}, {60 * 24 * time.Hour, 2.5}, {15 * 24 * time.Hour, 7.07}, {-time.Second, 0}} {
		r := m.Score(&s, at.Add(c.age))
		if r.Score != c.want {
			t.Errorf("age %v: score %v, want %v", c.age, r.Score, c.want)
		}
		if c.want > 0 && (r.Lines[0].RawPoints != 10 || r.Lines[0].Points != c.want) {
			t.Errorf("age %v: line %+v", c.age, r.Lines[0])
		}
	}
}

// Inactivity: no loss a second before N days, the loss at exactly N days,
// and with repeat again at 2N.
func TestInactivityBoundaries(t *testing.T) {
	doc := "name: m\nengagement:\n  - event: email_click\n    points: 4\ndecay:\n  inactivity:\n    days: 30\n    points: -3\n"
	last := day0.Add(48 * time.Hour)
	events := []crm.LeadEvent{ev(1, "email_click", "", day0.Add(time.Hour)), ev(2, "email_click", "", last)}
	n := 30 * 24 * time.Hour
	for _, c := range []struct {
		repeat bool
		asOf   time.Time
		want   float64
	}{
		{false, last.Add(n - time.Second), 8},
		{false, last.Add(n), 5},
		{false, last.Add(3 * n), 5},
		{true, last.Add(2*n - time.Second), 5},
		{true, last.Add(2 * n), 2},
	} {
		d := doc
		if c.repeat {
			d += "    repeat: true\n"
		}
		m := mustModel(t, d)
		s := NewSubject(testLead(), events, nil)
		if r := m.Score(&s, c.asOf); r.Score != c.want {
			t.Errorf("repeat %v as of %v: score %v, want %v (%+v)", c.repeat, c.asOf, r.Score, c.want, r.Lines)
		}
	}
	// A lead that never engaged loses from its creation.
	m := mustModel(t, doc)
	s := NewSubject(testLead(), nil, nil)
	if r := m.Score(&s, day0.Add(n)); r.Score != -3 || r.Lines[0].Part != PartDecay {
		t.Errorf("never engaged: %+v", r)
	}
}

// The cap limits one rule's points per lead per UTC day; the next day starts afresh.
func TestCapPerDay(t *testing.T) {
	m := mustModel(t, "name: m\nengagement:\n  - event: email_open\n    points: 2\n    max_per_day: 5\n")
	var events []crm.LeadEvent
	for i := range 4 { // 4 opens on day 1: 2+2+1 (capped at 5) + 0
		events = append(events, ev(int64(i+1), "email_open", "", day0.Add(time.Duration(i)*time.Hour)))
	}
	events = append(events, ev(9, "email_open", "", day0.Add(24*time.Hour))) // day 2: 2
	s := NewSubject(testLead(), events, nil)
	r := m.Score(&s, day0.Add(48*time.Hour))
	if r.Score != 7 || len(r.Lines) != 4 {
		t.Fatalf("score %v with %d lines, want 7 from 4 lines: %+v", r.Score, len(r.Lines), r.Lines)
	}
	if r.Lines[2].Points != 1 {
		t.Errorf("the capped third open gave %v, want 1", r.Lines[2].Points)
	}
}

func TestOnceOnlyAndEventConditions(t *testing.T) {
	m := mustModel(t, `name: m
engagement:
  - name: Demo request
    event: form_submit
    field: detail
    contains: demo
    points: 30
    once: true
  - event: form_submit
    points: 5
  - event: web_visit
    when: detail startsWith "/pricing"
    points: 4
`)
	events := []crm.LeadEvent{
		ev(1, "form_submit", "Request a demo", day0),
		ev(2, "form_submit", "Book a demo again", day0.Add(time.Hour)),
		ev(3, "web_visit", "/pricing/enterprise", day0.Add(2*time.Hour)),
		ev(4, "web_visit", "/blog", day0.Add(3*time.Hour)),
		ev(5, "email_open", "", day0.Add(4*time.Hour)), // no rule
	}
	s := NewSubject(testLead(), events, nil)
	r := m.Score(&s, day0.Add(24*time.Hour))
	// 30 (first demo) + 5 + 5 (both forms) + 4 (pricing) = 44
	if r.Score != 44 || len(r.Lines) != 4 {
		t.Fatalf("score %v lines %+v, want 44 from 4 lines", r.Score, r.Lines)
	}
	if r.LastEngaged == nil || !r.LastEngaged.Equal(day0.Add(2*time.Hour)) {
		t.Errorf("last engaged %v, want the pricing visit", r.LastEngaged)
	}
	if *r.Lines[0].EventID != 1 || r.Lines[0].Cause != "form_submit (Request a demo) on 2026-03-01 09:00" {
		t.Errorf("first line %+v", r.Lines[0])
	}
}

// The score is always the exact sum of its lines, grades and MQL follow it.
func TestScoreIsSumOfLines(t *testing.T) {
	m := mustModel(t, `name: m
fit:
  - field: employees
    between: [1, 1000]
    points: 3.33
engagement:
  - event: email_open
    points: 1.7
decay:
  half_life_days: 7
grades:
  - {grade: A, min: 10}
  - {grade: B, min: 5}
  - {grade: C, min: 0}
mql: 8
`)
	var events []crm.LeadEvent
	for i := range 40 {
		events = append(events, ev(int64(i), "email_open", "", day0.Add(time.Duration(i*7)*time.Hour)))
	}
	s := NewSubject(testLead(), events, nil)
	for _, asOf := range []time.Time{day0, day0.Add(72 * time.Hour), day0.Add(400 * time.Hour), day0.Add(5000 * time.Hour)} {
		r := m.Score(&s, asOf)
		var sum int64
		for _, l := range r.Lines {
			sum += hundredths(l.Points)
		}
		if math.Abs(float64(sum)/100-r.Score) > 1e-9 {
			t.Errorf("as of %v: score %v, lines sum to %v", asOf, r.Score, float64(sum)/100)
		}
		if r.Score != r.Fit+r.Engagement && math.Abs(r.Score-r.Fit-r.Engagement) > 1e-9 {
			t.Errorf("score %v != fit %v + engagement %v", r.Score, r.Fit, r.Engagement)
		}
		if g := m.GradeOf(r.Score); r.Grade != g || r.MQL != (r.Score >= 8) {
			t.Errorf("score %v: grade %q mql %v", r.Score, r.Grade, r.MQL)
		}
	}
	if g := m.GradeOf(-50); g != "C" {
		t.Errorf("below every grade: %q, want the lowest", g)
	}
}

func TestAppliesTo(t *testing.T) {
	m := mustModel(t, "name: m\napplies_to: employees >= 2000\nfit:\n  - field: industry\n    missing: false\n    points: 1\n")
	s := NewSubject(testLead(), nil, nil)
	if m.Applies(&s) {
		t.Error("a 450-person lead is scored by a model for 2,000 and more")
	}
	emp := int64(2500)
	l := testLead()
	l.Employees = &emp
	s = NewSubject(l, nil, nil)
	if !m.Applies(&s) {
		t.Error("a 2,500-person lead is not scored")
	}
}

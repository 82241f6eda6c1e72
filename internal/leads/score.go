package leads

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/rules"
)

// Parts of a score, as written in the why-log.
const (
	PartFit        = "fit"
	PartEngagement = "engagement"
	PartDecay      = "decay"
)

// Line is one entry of a lead's why-log: a rule gave (or took) points
// because of a field value or an event. Points is what the line counts now;
// RawPoints what the rule gave before decay.
type Line struct {
	Part      string    `json:"part"`
	Rule      string    `json:"rule"`
	Points    float64   `json:"points"`
	RawPoints float64   `json:"raw_points"`
	Cause     string    `json:"cause"`
	EventID   *int64    `json:"event_id,omitempty"`
	At        time.Time `json:"at"`
}

// Result is a lead's score under one model as of a time. Score is exactly
// the sum of Lines (each rounded to hundredths of a point).
type Result struct {
	LeadID      int64      `json:"lead_id"`
	Score       float64    `json:"score"`
	Fit         float64    `json:"fit"`
	Engagement  float64    `json:"engagement"`
	Grade       string     `json:"grade"`
	MQL         bool       `json:"mql"`
	LastEngaged *time.Time `json:"last_engaged_at,omitempty"`
	Lines       []Line     `json:"lines,omitempty"`
}

// Subject is a lead prepared for scoring: its record for the conditions and
// its events in time order.
type Subject struct {
	ID      int64
	Created time.Time
	Record  rules.Record
	Events  []crm.LeadEvent
}

// NewSubject builds the record conditions see from a lead. Custom fields
// that read as numbers become numbers; segments are the names of the
// segments the lead is in.
func NewSubject(l *crm.Lead, events []crm.LeadEvent, segments []string) Subject {
	rec := rules.Record{
		"first_name": l.FirstName, "last_name": l.LastName, "email": l.Email, "email_domain": emailDomain(l.Email),
		"company": l.Company, "title": l.Title, "industry": l.Industry, "country": l.Country,
		"state": l.State, "city": l.City, "source": l.Source, "channel": l.Channel, "status": string(l.Status),
		"created_at": l.CreatedAt,
	}
	if l.Employees != nil {
		rec["employees"] = float64(*l.Employees)
	}
	if l.AnnualRevenue != nil {
		rec["annual_revenue"] = l.AnnualRevenue.InexactFloat64()
	}
	custom := make(map[string]any, len(l.CustomFields))
	for k, v := range l.CustomFields {
		if strings.TrimSpace(v) != "" {
			custom[k] = rules.Value(v)
		}
	}
	rec["custom"] = custom
	if len(segments) > 0 {
		rec["segments"] = segments
	}
	return Subject{ID: l.ID, Created: l.CreatedAt, Record: rec, Events: events}
}

func emailDomain(email string) string {
	if _, d, ok := strings.Cut(email, "@"); ok {
		return strings.ToLower(strings.TrimSpace(d))
	}
	return ""
}

// Applies reports whether the model scores this lead.
func (m *Model) Applies(s *Subject) bool { return m.appliesTo.Match(s.Record) }

// Score works out the lead's score as of asOf (events after it are not yet
// seen). Points are counted in hundredths so the score is the exact sum of
// its lines.
func (m *Model) Score(s *Subject, asOf time.Time) Result {
	res := Result{LeadID: s.ID}
	var total, fit, eng int64
	add := func(l Line) int64 {
		c := hundredths(l.Points)
		l.Points = float64(c) / 100
		res.Lines = append(res.Lines, l)
		total += c
		return c
	}
	for i := range m.fit {
		r := &m.fit[i]
		if r.cond.Match(s.Record) {
			fit += add(Line{Part: PartFit, Rule: r.name, Points: r.points, RawPoints: r.points, Cause: fitCause(r, s.Record), At: s.Created})
		}
	}

	type ruleState struct {
		used    bool
		day     string
		dayUsed float64
	}
	state := make([]ruleState, len(m.engagement))
	last := s.Created
	engaged := false
	evRec := rules.Record{}
	for i := range s.Events {
		e := &s.Events[i]
		if e.OccurredAt.After(asOf) {
			break
		}
		counted := false
		for j := range m.engagement {
			r, st := &m.engagement[j], &state[j]
			if r.event != e.Kind || (r.once && st.used) {
				continue
			}
			evRec["kind"], evRec["detail"], evRec["occurred_at"] = e.Kind, e.Detail, e.OccurredAt
			if !r.cond.Match(evRec) {
				continue
			}
			pts := r.points
			if r.cap > 0 {
				day := e.OccurredAt.UTC().Format(time.DateOnly)
				if day != st.day {
					st.day, st.dayUsed = day, 0
				}
				pts = math.Min(pts, r.cap-st.dayUsed)
				if pts <= 0 {
					continue // the day's cap is reached
				}
				st.dayUsed += pts
			}
			st.used = true
			counted = true
			now := pts
			if h := m.Doc.Decay.HalfLifeDays; h > 0 {
				now = pts * math.Exp2(-days(asOf.Sub(e.OccurredAt))/h)
			}
			id := e.ID
			eng += add(Line{Part: PartEngagement, Rule: r.name, Points: now, RawPoints: pts, Cause: eventCause(e), EventID: &id, At: e.OccurredAt})
		}
		if counted {
			last, engaged = e.OccurredAt, true
		}
	}
	if engaged {
		t := last
		res.LastEngaged = &t
	}
	if in := m.Doc.Decay.Inactivity; in != nil {
		period := time.Duration(in.Days) * 24 * time.Hour
		since := "created"
		if engaged {
			since = "last engaged"
		}
		for k := 1; ; k++ {
			at := last.Add(time.Duration(k) * period)
			if at.After(asOf) {
				break
			}
			eng += add(Line{Part: PartDecay, Rule: fmt.Sprintf("no engagement for %d days", in.Days), Points: in.Points, RawPoints: in.Points,
				Cause: fmt.Sprintf("%s %s; %d days without engagement by %s", since, last.Format(time.DateOnly), k*in.Days, at.Format(time.DateOnly)), At: at})
			if !in.Repeat {
				break
			}
		}
	}
	res.Score, res.Fit, res.Engagement = float64(total)/100, float64(fit)/100, float64(eng)/100
	res.Grade = m.GradeOf(res.Score)
	res.MQL = m.Doc.MQL > 0 && res.Score >= m.Doc.MQL
	return res
}

func hundredths(x float64) int64 { return int64(math.Round(x * 100)) }

func days(d time.Duration) float64 { return d.Hours() / 24 }

// fitCause shows the value the rule looked at.
func fitCause(c *compiledRule, r rules.Record) string {
	field := c.field
	if field == "" {
		return c.cond.Source // an expression: show it
	}
	name, key, _ := strings.Cut(field, ".")
	v, ok := r[name]
	if ok && key != "" {
		m, _ := v.(map[string]any)
		v, ok = m[key]
	}
	if !ok || v == nil || v == "" {
		return field + " is empty"
	}
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%s = %s", field, strconv.FormatFloat(x, 'f', -1, 64))
	case []string:
		return fmt.Sprintf("%s = %s", field, strings.Join(x, ", "))
	case time.Time:
		return fmt.Sprintf("%s = %s", field, x.Format(time.DateOnly))
	}
	return fmt.Sprintf("%s = %v", field, v)
}

func eventCause(e *crm.LeadEvent) string {
	s := e.Kind
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + " on " + e.OccurredAt.UTC().Format("2006-01-02 15:04")
}

// FormatPoints writes points as the why-log counts them, to hundredths and
// without needless decimals: 5, -2.5, 1.25.
func FormatPoints(x float64) string {
	s := strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(x, 'f', 2, 64), "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

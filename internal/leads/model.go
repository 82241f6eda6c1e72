// Package leads scores leads: point models (fit and engagement rules, decay,
// grades) whose every point is a stored line of a "why" log, and the ICP
// segments those rules and routing use. Models are YAML documents, versioned
// in the database when applied.
package leads

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/rules"
)

// ModelDoc is a scoring model as written in YAML (see examples/scoring/).
type ModelDoc struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	// AppliesTo limits the model to some leads (one model per product or
	// region); empty means every lead.
	AppliesTo  string           `yaml:"applies_to" json:"applies_to,omitempty"`
	Fit        []FitRule        `yaml:"fit" json:"fit"`
	Engagement []EngagementRule `yaml:"engagement" json:"engagement"`
	Decay      Decay            `yaml:"decay" json:"decay"`
	Grades     []Grade          `yaml:"grades" json:"grades"`
	// MQL is the score from which a lead is marketing-qualified (0: none).
	MQL float64 `yaml:"mql" json:"mql,omitempty"`
	// Alerts tell a notification channel when a lead, as it or one of its
	// events is written, reaches a grade or becomes marketing-qualified.
	Alerts []AlertDoc `yaml:"alerts" json:"alerts,omitempty"`
}

// AlertDoc is a hot-lead alert: when a lead reaches Grade (or becomes an
// MQL, with MQL true), Channel (docs/notifications.md) is told, once per
// lead and model version.
type AlertDoc struct {
	Channel string `yaml:"channel" json:"channel"`
	Grade   string `yaml:"grade" json:"grade,omitempty"`
	MQL     bool   `yaml:"mql" json:"mql,omitempty"`
	// Event tells of every event of this kind (such as demo_requested) a
	// lead the model scores records, once per event, when it is written
	// within EventWindow of when it happened (an import of last year's
	// events tells nobody).
	Event string `yaml:"event" json:"event,omitempty"`
	// A test or an expression on the event, as in engagement rules (e.g.
	// field: detail, regex: demo): only the events that pass are told.
	rules.Test `yaml:",inline"`
	When       string `yaml:"when" json:"when,omitempty"`
}

// EventWindow is how recent an event must be, when written, to be alerted.
const EventWindow = 24 * time.Hour

// FitRule gives points for what a lead is: a structured test on one field,
// or an expression (when). Points may be negative.
type FitRule struct {
	Name       string `yaml:"name" json:"name"`
	rules.Test `yaml:",inline"`
	When       string  `yaml:"when" json:"when,omitempty"`
	Points     float64 `yaml:"points" json:"points"`
}

// EngagementRule gives points for each event of a kind, optionally only for
// events that pass a test on their own fields (detail, occurred_at).
type EngagementRule struct {
	Name       string `yaml:"name" json:"name"`
	Event      string `yaml:"event" json:"event"`
	rules.Test `yaml:",inline"`
	When       string  `yaml:"when" json:"when,omitempty"`
	Points     float64 `yaml:"points" json:"points"`
	// MaxPerDay caps the points this rule gives one lead in one (UTC) day.
	MaxPerDay float64 `yaml:"max_per_day" json:"max_per_day,omitempty"`
	// Once: only the lead's first such event counts.
	Once bool `yaml:"once" json:"once,omitempty"`
}

// Decay takes engagement points away as they age. HalfLifeDays halves each
// event's points every so many days; Inactivity takes points away once a
// lead has not engaged for a number of days. Either, both or neither.
type Decay struct {
	HalfLifeDays float64     `yaml:"half_life_days" json:"half_life_days,omitempty"`
	Inactivity   *Inactivity `yaml:"inactivity" json:"inactivity,omitempty"`
}

// Inactivity: after Days without engagement the lead loses Points (a
// negative number); with Repeat, again after every further Days.
type Inactivity struct {
	Days   int     `yaml:"days" json:"days"`
	Points float64 `yaml:"points" json:"points"`
	Repeat bool    `yaml:"repeat" json:"repeat,omitempty"`
}

// Grade names the scores from Min up (to the next grade's Min).
type Grade struct {
	Grade string  `yaml:"grade" json:"grade"`
	Min   float64 `yaml:"min" json:"min"`
}

// LeadFields are what fit rules, applies_to and segments may test.
var LeadFields = rules.Fields{
	"first_name": rules.Text, "last_name": rules.Text, "email": rules.Text, "email_domain": rules.Text,
	"company": rules.Text, "title": rules.Text, "industry": rules.Text, "country": rules.Text,
	"state": rules.Text, "city": rules.Text, "source": rules.Text, "channel": rules.Text, "status": rules.Text,
	"employees": rules.Number, "annual_revenue": rules.Number, "created_at": rules.Time,
	"custom": rules.Map, "segments": rules.List,
}

// EventFields are what engagement rules may test about an event.
var EventFields = rules.Fields{"kind": rules.Text, "detail": rules.Text, "occurred_at": rules.Time}

// Model is a validated, compiled scoring model.
type Model struct {
	Doc        ModelDoc
	appliesTo  *rules.Condition
	fit        []compiledRule
	engagement []compiledRule
	alertWhen  []*rules.Condition // by alert: the event test (nil for grade and MQL alerts)
}

type compiledRule struct {
	name   string
	field  string // the field a structured test looks at ("" for an expression)
	event  string // engagement rules: the event kind
	cond   *rules.Condition
	points float64
	cap    float64
	once   bool
}

// maxNameLen bounds names shown in logs and pages.
const maxNameLen = 200

// Parse reads and validates a scoring model; file names it in messages.
// A compiled model is read-only, so the last ones parsed are kept and
// shared: rescoring one lead on every write must not compile the active
// models' expressions again each time.
func Parse(file string, data []byte) (*Model, error) {
	key := file + "\x00" + string(data)
	if m, ok := parsed.get(key); ok {
		return m.(*Model), nil
	}
	m, err := parse(file, data)
	if err == nil {
		parsed.put(key, m)
	}
	return m, err
}

func parse(file string, data []byte) (*Model, error) {
	var doc ModelDoc
	d, err := definition.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	m := compile(d, doc)
	if err := d.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

func compile(d *definition.Doc, doc ModelDoc) *Model {
	doc.Name = strings.TrimSpace(doc.Name)
	d.Require(doc.Name != "", "name", "a model needs a name")
	d.Require(len(doc.Name) <= maxNameLen, "name", fmt.Sprintf("at most %d characters", maxNameLen))
	m := &Model{Doc: doc, appliesTo: rules.Always}
	if doc.AppliesTo != "" {
		if c, err := rules.Compile(doc.AppliesTo, LeadFields); err != nil {
			d.Add("applies_to", "%v", err)
		} else {
			m.appliesTo = c
		}
	}
	d.Require(len(doc.Fit)+len(doc.Engagement) > 0, "fit", "a model needs at least one fit or engagement rule")
	names := map[string]string{}
	for i, r := range doc.Fit {
		path := fmt.Sprintf("fit[%d]", i)
		c := compileCondition(d, path, r.Test, r.When, LeadFields, false)
		name := ruleName(d, path, r.Name, c, names)
		checkPoints(d, path, r.Points)
		if c != nil {
			m.fit = append(m.fit, compiledRule{name: name, field: r.Field, cond: c, points: r.Points})
		}
	}
	for i, r := range doc.Engagement {
		path := fmt.Sprintf("engagement[%d]", i)
		r.Event = strings.TrimSpace(r.Event)
		d.Require(r.Event != "", path+".event", "name the event kind the rule scores, e.g. email_click")
		c := compileCondition(d, path, r.Test, r.When, EventFields, true)
		if c == nil {
			continue
		}
		name := r.Name
		if name == "" {
			name = r.Event
			if c != rules.Always {
				name += ": " + c.Source
			}
		}
		name = ruleName(d, path, name, c, names)
		checkPoints(d, path, r.Points)
		d.Require(r.MaxPerDay >= 0, path+".max_per_day", "must not be negative")
		if r.MaxPerDay > 0 && r.Points > 0 {
			d.Require(r.MaxPerDay >= r.Points, path+".max_per_day", "is below the rule's points: no event could score")
		}
		m.engagement = append(m.engagement, compiledRule{name: name, event: r.Event, cond: c, points: r.Points, cap: r.MaxPerDay, once: r.Once})
	}
	if doc.Decay.HalfLifeDays < 0 || doc.Decay.HalfLifeDays > 3650 {
		d.Add("decay.half_life_days", "must be between 0 (no decay) and 3650")
	}
	if in := doc.Decay.Inactivity; in != nil {
		d.Require(in.Days > 0 && in.Days <= 3650, "decay.inactivity.days", "must be between 1 and 3650")
		d.Require(in.Points < 0, "decay.inactivity.points", "must be negative: the points a lead loses")
	}
	seen := map[string]bool{}
	for i, g := range doc.Grades {
		path := fmt.Sprintf("grades[%d]", i)
		g.Grade = strings.TrimSpace(g.Grade)
		d.Require(g.Grade != "" && len(g.Grade) <= 20, path+".grade", "a grade needs a short name, e.g. A")
		d.Require(!seen[g.Grade], path+".grade", fmt.Sprintf("grade %q is named twice", g.Grade))
		seen[g.Grade] = true
		if i > 0 && g.Min >= doc.Grades[i-1].Min {
			d.Add(path+".min", "grades go from the highest to the lowest: %v is not below %v", g.Min, doc.Grades[i-1].Min)
		}
	}
	d.Require(doc.MQL >= 0, "mql", "must not be negative")
	for i, a := range doc.Alerts {
		path := fmt.Sprintf("alerts[%d]", i)
		d.Require(strings.TrimSpace(a.Channel) != "", path+".channel", "name the notification channel to tell")
		kinds := 0
		for _, set := range []bool{a.Grade != "", a.MQL, a.Event != ""} {
			if set {
				kinds++
			}
		}
		d.Require(kinds == 1, path, "give one of grade:, mql: true or event:")
		if a.Grade != "" {
			d.Require(seen[a.Grade], path+".grade", fmt.Sprintf("%q is not one of the model's grades", a.Grade))
		}
		d.Require(!a.MQL || doc.MQL > 0, path+".mql", "the model has no mql threshold")
		var c *rules.Condition
		if a.Event != "" {
			c = compileCondition(d, path, a.Test, a.When, EventFields, true)
		} else {
			d.Require(a.Test.IsZero() && a.When == "", path, "a test on the event needs event:")
		}
		m.alertWhen = append(m.alertWhen, c)
	}
	return m
}

// compileCondition compiles a rule's structured test or expression (one of
// them, or neither for an engagement rule, which then scores every event of
// its kind).
func compileCondition(d *definition.Doc, path string, t rules.Test, when string, fields rules.Fields, optional bool) *rules.Condition {
	switch {
	case !t.IsZero() && when != "":
		d.Add(path+".when", "give either a field test or an expression (when), not both")
	case when != "":
		c, err := rules.Compile(when, fields)
		if err != nil {
			d.Add(path+".when", "%v", err)
			return nil
		}
		return c
	case !t.IsZero():
		c, err := t.Compile(fields)
		if err != nil {
			key := "field"
			if fe, ok := err.(*rules.FieldError); ok {
				key, err = fe.Key, fmt.Errorf("%s", fe.Reason)
			}
			d.Add(path+"."+key, "%v", err)
			return nil
		}
		return c
	case optional:
		return rules.Always
	default:
		d.Add(path, "a fit rule needs a field test (field: with %s) or an expression (when:)", strings.Join(rules.Operators, ", "))
	}
	return nil
}

func ruleName(d *definition.Doc, path, name string, c *rules.Condition, names map[string]string) string {
	name = strings.TrimSpace(name)
	if name == "" && c != nil {
		name = c.Source
	}
	if len(name) > maxNameLen {
		d.Add(path+".name", "at most %d characters", maxNameLen)
	}
	if other, dup := names[name]; dup && name != "" {
		d.Add(path+".name", "%q is also the name of %s: rule names must differ so the why-log is clear", name, other)
	}
	names[name] = path
	return name
}

func checkPoints(d *definition.Doc, path string, p float64) {
	if p == 0 || p < -1000 || p > 1000 {
		d.Add(path+".points", "must be between -1000 and 1000 and not 0")
	}
}

// GradeOf names the grade of a score: the first whose minimum it reaches,
// else the lowest.
func (m *Model) GradeOf(score float64) string {
	for _, g := range m.Doc.Grades {
		if score >= g.Min {
			return g.Grade
		}
	}
	if n := len(m.Doc.Grades); n > 0 {
		return m.Doc.Grades[n-1].Grade
	}
	return ""
}

// EventKinds lists the event kinds the model scores.
func (m *Model) EventKinds() []string {
	var kinds []string
	for _, r := range m.engagement {
		if !slices.Contains(kinds, r.event) {
			kinds = append(kinds, r.event)
		}
	}
	for _, a := range m.Doc.Alerts {
		if a.Event != "" && !slices.Contains(kinds, a.Event) {
			kinds = append(kinds, a.Event)
		}
	}
	return kinds
}

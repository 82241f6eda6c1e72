// Package routing assigns leads to reps: rules in order (first match wins)
// send a lead to a pool of reps, chosen by round robin, weighted round
// robin, fewest open leads or a named owner, skipping reps who are
// inactive, away, outside their working hours or over a cap, with a lead
// that matches an existing account going to that account's owner first.
// Every decision says which rule matched, whom it considered, whom it
// skipped and why. It is its own package, beside internal/leads, because it
// reads scores and segments but owns its own state (turn orders, caps) and
// will serve leads from any source, not only scored ones.
//
// The engine is pure: Route takes the lead, the reps' availability and the
// pools' state, and returns a decision and the state after it, so the
// caller persists both in one transaction.
package routing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/rules"
)

// Methods of choosing a rep in a pool.
const (
	RoundRobin  = "round_robin"
	Weighted    = "weighted"
	LeastLoaded = "least_loaded"
	Owner       = "owner"
)

var methods = []string{RoundRobin, Weighted, LeastLoaded, Owner}

// Doc is a routing rule set as written in YAML (see examples/routing/).
type Doc struct {
	Name string `yaml:"name"`
	// QueueOwner (an email) gets the leads nobody available can take; the
	// decision says so, so they are never left unassigned silently.
	QueueOwner string `yaml:"queue_owner"`
	// MatchAccounts sends a lead whose email domain or company matches an
	// account to the account's owner before any rule (default true).
	MatchAccounts *bool     `yaml:"match_accounts"`
	FreeMail      []string  `yaml:"free_mail"` // domains never matched to an account (default: common ones)
	Pools         []PoolDoc `yaml:"pools"`
	Rules         []RuleDoc `yaml:"rules"`
}

// PoolDoc is a group of reps and how one is chosen.
type PoolDoc struct {
	Name    string      `yaml:"name"`
	Method  string      `yaml:"method"`
	Members []MemberDoc `yaml:"members"`
	// Owner (an email) takes every lead of an owner pool.
	Owner        string `yaml:"owner"`
	Caps         Caps   `yaml:"caps"`
	WorkingHours *Hours `yaml:"working_hours"`
	Overflow     string `yaml:"overflow"` // another pool, "queue" or "manager" (default queue)
}

// MemberDoc is a rep of a pool: an email, or every rep of a team.
type MemberDoc struct {
	Email  string  `yaml:"email"`
	Team   string  `yaml:"team"`
	Weight float64 `yaml:"weight"` // weighted pools: relative share, e.g. 200, 100, 100 (default 100)
}

// Caps bound how many leads a rep takes; 0 is no cap.
type Caps struct {
	PerHour   int `yaml:"per_hour"`
	PerDay    int `yaml:"per_day"`
	PerWeek   int `yaml:"per_week"`
	OpenLeads int `yaml:"open_leads"`
}

// Hours are the hours a rep takes leads, in the rep's own time zone.
type Hours struct {
	From string   `yaml:"from"` // "09:00"
	To   string   `yaml:"to"`   // "18:00"
	Days []string `yaml:"days"` // mon..sun; default mon-fri
}

// RuleDoc sends the leads that pass its tests to a pool. A rule without
// tests matches every lead: the default, last.
type RuleDoc struct {
	Name  string              `yaml:"name"`
	Match []leads.SegmentTest `yaml:"match"`
	Pool  string              `yaml:"pool"`
	// Alert names a notification channel (docs/notifications.md) told of
	// every lead this rule routes: hot leads, say.
	Alert string `yaml:"alert"`
	// SLA is how soon the lead must first be answered.
	SLA *SLADoc `yaml:"sla"`
}

// SLADoc is a response-time target: the owner answers within Within (a
// duration such as 5m or 1h) of the assignment, or the breach is recorded
// and, with Alert, a channel is told.
type SLADoc struct {
	Within string `yaml:"within"`
	Alert  string `yaml:"alert"`
	// WorkingHours counts Within (and EscalateAfter, WarnBefore) in the
	// working hours of the rule's pool, in the owner's time zone: a lead
	// in at 17:55 with 1h to answer is due at 09:55 the next working day.
	WorkingHours bool `yaml:"working_hours"`
	// WarnBefore tells Alert this long before the due time that the lead
	// is about to breach, while it can still be answered.
	WarnBefore string `yaml:"warn_before"`
	// EscalateAfter (from the assignment, longer than Within) hands a lead
	// still unanswered to the next available rep of the rule's pool.
	EscalateAfter string `yaml:"escalate_after"`
}

// Fields are what routing rules test: the lead's fields and segments, its
// score, grade and MQL under the general scoring model, and the fields of
// the account it matched (account.industry, account.segment, ...).
var Fields = func() rules.Fields {
	f := rules.Fields{"score": rules.Number, "grade": rules.Text, "mql": rules.Bool, "account": rules.Map}
	for k, v := range leads.LeadFields {
		f[k] = v
	}
	return f
}()

// Set is a validated, compiled rule set.
type Set struct {
	Doc      Doc
	pools    map[string]*pool
	rules    []rule
	freeMail map[string]bool
}

type pool struct {
	doc      PoolDoc
	from, to int // working hours, minutes after midnight
	days     [7]bool
}

type rule struct {
	name       string
	conds      []*rules.Condition
	pool       string
	alert      string
	slaIn      time.Duration // 0: no SLA
	slaAlert   string
	escalate   time.Duration // 0: none
	warnBefore time.Duration // 0: no warning
	slaWorking bool          // count in the pool's working hours
}

var defaultFreeMail = []string{"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
	"aol.com", "icloud.com", "me.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "yandex.ru", "qq.com", "163.com"}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Parse reads and validates a rule set; file names it in messages.
func Parse(file string, data []byte) (*Set, error) {
	var doc Doc
	d, err := definition.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	set := &Set{Doc: doc, pools: map[string]*pool{}, freeMail: map[string]bool{}}
	d.Require(strings.TrimSpace(doc.Name) != "", "name", "a rule set needs a name")
	d.Require(strings.Contains(doc.QueueOwner, "@"), "queue_owner", "name the user (an email) who gets the leads nobody available can take")
	free := doc.FreeMail
	if free == nil {
		free = defaultFreeMail
	}
	for _, f := range free {
		set.freeMail[strings.ToLower(strings.TrimSpace(f))] = true
	}
	for i, p := range doc.Pools {
		path := fmt.Sprintf("pools[%d]", i)
		p.Name = strings.TrimSpace(p.Name)
		if p.Name == "" {
			d.Add(path+".name", "a pool needs a name")
			continue
		}
		if _, dup := set.pools[p.Name]; dup {
			d.Add(path+".name", "pool %q is defined twice", p.Name)
		}
		if p.Method == "" {
			p.Method = RoundRobin
		}
		if !slices.Contains(methods, p.Method) {
			d.Add(path+".method", "%q is not a method (known: %s)", p.Method, strings.Join(methods, ", "))
		}
		if p.Method == Owner {
			d.Require(strings.Contains(p.Owner, "@"), path+".owner", "an owner pool names its owner (an email)")
		} else {
			d.Require(len(p.Members) > 0, path+".members", "a pool needs members (email: or team:)")
		}
		for j, m := range p.Members {
			mp := fmt.Sprintf("%s.members[%d]", path, j)
			d.Require((m.Email == "") != (m.Team == ""), mp, "give either email: or team:")
			d.Require(m.Weight >= 0 && m.Weight <= 10000, mp+".weight", "must be between 0 and 10000")
			if m.Weight > 0 && p.Method != Weighted {
				d.Add(mp+".weight", "weights apply to weighted pools only (method: weighted)")
			}
		}
		c := p.Caps
		d.Require(c.PerHour >= 0 && c.PerDay >= 0 && c.PerWeek >= 0 && c.OpenLeads >= 0, path+".caps", "caps must not be negative")
		pl := &pool{doc: p}
		if h := p.WorkingHours; h != nil {
			var ok bool
			if pl.from, ok = clock(h.From); !ok {
				d.Add(path+".working_hours.from", "%q is not a time like 09:00", h.From)
			}
			if pl.to, ok = clock(h.To); !ok || pl.to <= pl.from {
				d.Add(path+".working_hours.to", "%q is not a time like 18:00 after from", h.To)
			}
			days := h.Days
			if days == nil {
				days = []string{"mon", "tue", "wed", "thu", "fri"}
			}
			for _, day := range days {
				k := slices.Index(dayNames, strings.ToLower(day))
				if k < 0 {
					d.Add(path+".working_hours.days", "%q is not a day (mon, tue, ...)", day)
					continue
				}
				pl.days[k] = true
			}
			d.Require(slices.Contains(pl.days[:], true), path+".working_hours.days", "name at least one working day")
		}
		set.pools[p.Name] = pl
	}
	for i, p := range doc.Pools {
		if o := p.Overflow; o != "" && o != "queue" && o != "manager" {
			if _, ok := set.pools[o]; !ok || o == p.Name {
				d.Add(fmt.Sprintf("pools[%d].overflow", i), "%q is not another pool, queue or manager", o)
			}
		}
	}
	d.Require(len(doc.Rules) > 0, "rules", "a rule set needs rules")
	for i, r := range doc.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if _, ok := set.pools[r.Pool]; !ok {
			d.Add(path+".pool", "%q is not a pool of this rule set", r.Pool)
		}
		rl := rule{name: strings.TrimSpace(r.Name), pool: r.Pool, alert: strings.TrimSpace(r.Alert)}
		if r.SLA != nil {
			within, err := time.ParseDuration(strings.TrimSpace(r.SLA.Within))
			if err != nil || within < time.Minute || within > 30*24*time.Hour {
				d.Add(path+".sla.within", "%q is not a time from 1m to 720h, such as 5m or 1h", r.SLA.Within)
			}
			rl.slaIn, rl.slaAlert = within, strings.TrimSpace(r.SLA.Alert)
			if e := strings.TrimSpace(r.SLA.EscalateAfter); e != "" {
				after, err := time.ParseDuration(e)
				if err != nil || after <= within || after > 60*24*time.Hour {
					d.Add(path+".sla.escalate_after", "%q is not a time longer than within, such as 30m or 2h", e)
				}
				rl.escalate = after
			}
			if w := strings.TrimSpace(r.SLA.WarnBefore); w != "" {
				before, err := time.ParseDuration(w)
				if err != nil || before <= 0 || before >= within {
					d.Add(path+".sla.warn_before", "%q is not a time shorter than within, such as 2m or 10m", w)
				}
				rl.warnBefore = before
				d.Require(rl.slaAlert != "", path+".sla.alert", "warn_before needs a channel to warn")
			}
			if rl.slaWorking = r.SLA.WorkingHours; rl.slaWorking {
				if p, ok := set.pools[r.Pool]; ok && p.doc.WorkingHours == nil {
					d.Add(path+".sla.working_hours", "pool %s has no working_hours to count in", r.Pool)
				}
			}
		}
		if rl.name == "" {
			rl.name = fmt.Sprintf("rule %d", i+1)
		}
		for j, t := range r.Match {
			tp := fmt.Sprintf("%s.match[%d]", path, j)
			c, err := compileTest(t, tp)
			if err != nil {
				d.Add(err.path, "%s", err.reason)
				continue
			}
			rl.conds = append(rl.conds, c)
		}
		if len(r.Match) == 0 && i != len(doc.Rules)-1 {
			d.Add(path+".match", "a rule without tests matches every lead: it must be the last (the default)")
		}
		set.rules = append(set.rules, rl)
	}
	if n := len(doc.Rules); n > 0 && len(doc.Rules[n-1].Match) > 0 {
		d.Add(fmt.Sprintf("rules[%d]", n-1), "the last rule must have no tests: the default that catches every other lead")
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

type testError struct{ path, reason string }

func compileTest(t leads.SegmentTest, path string) (*rules.Condition, *testError) {
	switch {
	case t.When != "" && !t.Test.IsZero():
		return nil, &testError{path + ".when", "give either a field test or an expression (when), not both"}
	case t.When != "":
		c, err := rules.Compile(t.When, Fields)
		if err != nil {
			return nil, &testError{path + ".when", err.Error()}
		}
		return c, nil
	default:
		c, err := t.Test.Compile(Fields)
		if err != nil {
			key := "field"
			if fe, ok := err.(*rules.FieldError); ok {
				return nil, &testError{path + "." + fe.Key, fe.Reason}
			}
			return nil, &testError{path + "." + key, err.Error()}
		}
		return c, nil
	}
}

// clock reads "09:30" as minutes after midnight.
func clock(s string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

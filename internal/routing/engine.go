package routing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/rules"
)

// Rep is a user as routing sees them.
type Rep struct {
	ID        int64
	Email     string
	Active    bool
	Team      string
	ManagerID *int64
	TimeZone  *time.Location // nil: UTC
	Away      []Period       // out of office
}

// Period is a stretch of time, From included, To excluded.
type Period struct{ From, To time.Time }

// Load is what a rep holds: open leads, and when they were given leads
// (the last week is enough for every cap).
type Load struct {
	Open     int
	Assigned []time.Time
}

// Account is an existing customer or prospect a lead may belong to.
type Account struct {
	ID      int64
	Name    string
	Domain  string
	OwnerID *int64
	Fields  map[string]any // what rules see as account.*
}

// Org is everything a decision depends on besides the lead: reps, teams,
// accounts and loads. Route updates Loads with each lead it assigns, so
// the leads of one batch see each other.
type Org struct {
	Reps     map[int64]*Rep
	Teams    map[string][]int64 // team name: its reps, in a stable order
	Accounts []Account
	Loads    map[int64]*Load
	// Exclude are reps who may not take the lead being routed (the owner
	// it is escalated away from).
	Exclude  map[int64]bool
	byEmail  map[string]*Rep
	byDomain map[string]*Account
	byName   map[string]*Account
}

func (o *Org) index() {
	if o.byEmail != nil {
		return
	}
	o.byEmail, o.byDomain, o.byName = map[string]*Rep{}, map[string]*Account{}, map[string]*Account{}
	for _, r := range o.Reps {
		o.byEmail[strings.ToLower(r.Email)] = r
	}
	for i := range o.Accounts {
		a := &o.Accounts[i]
		if d := strings.ToLower(strings.TrimSpace(a.Domain)); d != "" {
			o.byDomain[d] = a
		}
		if n := normName(a.Name); n != "" {
			o.byName[n] = a
		}
	}
	if o.Loads == nil {
		o.Loads = map[int64]*Load{}
	}
}

func normName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// PoolState is a pool's turn order, kept between leads (and restarts): the
// next member for round robin, the running weights for weighted pools.
type PoolState struct {
	Next    int               `json:"next"`
	Current map[int64]float64 `json:"current,omitempty"`
}

// State is every pool's turn order, by pool name.
type State map[string]*PoolState

// Candidate is a rep a decision looked at, and why they were passed over.
type Candidate struct {
	RepID   int64  `json:"rep_id"`
	Email   string `json:"email"`
	Pool    string `json:"pool"`
	Skipped string `json:"skipped,omitempty"`
}

// Decision is where a lead goes and why.
type Decision struct {
	OwnerID   int64  `json:"owner_id"`
	Owner     string `json:"owner"`
	Rule      string `json:"rule,omitempty"`
	Pool      string `json:"pool,omitempty"`
	Method    string `json:"method,omitempty"`
	AccountID *int64 `json:"account_id,omitempty"`
	Queue     bool   `json:"queue"` // nobody available: the queue owner took it
	Reason    string `json:"reason"`
	Alert     string `json:"alert,omitempty"` // the channel told of it
	// SLADue is when the owner must first answer (the rule's SLA), and
	// SLAAlert the channel told if they do not.
	SLADue      *time.Time `json:"sla_due,omitempty"`
	SLAAlert    string     `json:"sla_alert,omitempty"`
	SLAEscalate *time.Time `json:"sla_escalate,omitempty"` // when an unanswered lead goes to the next rep
	SLAWarn     *time.Time `json:"sla_warn,omitempty"`     // when SLAAlert is told the lead is about to breach
	// Considered are the reps passed over (with why) and the one chosen;
	// Examined counts every rep looked at, the available ones not chosen
	// included.
	Considered []Candidate `json:"considered,omitempty"`
	Examined   int         `json:"examined,omitempty"`
}

// Route decides where a lead goes at now. lead is what rules test (see
// Fields); email and company are matched to accounts. It advances st and
// org.Loads for the rep it chooses.
func (set *Set) Route(lead rules.Record, email, company string, org *Org, st State, now time.Time) (dec Decision, err error) {
	org.index()
	if acc := set.matchAccount(email, company, org); acc != nil {
		lead["account"] = acc.Fields
		id := acc.ID
		dec.AccountID = &id
		if acc.OwnerID != nil {
			if r := org.Reps[*acc.OwnerID]; r != nil && r.Active {
				dec.OwnerID, dec.Owner = r.ID, r.Email
				dec.Reason = fmt.Sprintf("matches account %q: its owner %s", acc.Name, r.Email)
				org.assign(r.ID, now)
				return dec, nil
			}
		}
	}
	for i := range set.rules {
		rl := &set.rules[i]
		if !matchAll(rl.conds, lead) {
			continue
		}
		dec.Rule, dec.Alert = rl.name, rl.alert
		// Once the owner is known (the named result, whichever return).
		defer func() { set.setSLA(&dec, rl, org, now) }()
		visited := map[string]bool{}
		var path []string // pools that had nobody available
		for name := rl.pool; name != ""; {
			if visited[name] {
				break
			}
			visited[name] = true
			p := set.pools[name]
			dec.Pool, dec.Method = name, p.doc.Method
			r, considered, n := set.choose(p, org, st, now)
			dec.Considered = append(dec.Considered, considered...)
			dec.Examined += n
			if r != nil {
				dec.OwnerID, dec.Owner = r.ID, r.Email
				dec.Reason = fmt.Sprintf("rule %q: pool %s by %s", rl.name, name, strings.ReplaceAll(p.doc.Method, "_", " "))
				if len(path) > 0 {
					dec.Reason += " (nobody available in " + strings.Join(path, ", then ") + ")"
				}
				org.assign(r.ID, now)
				return dec, nil
			}
			path = append(path, name)
			switch o := p.doc.Overflow; o {
			case "", "queue":
				name = ""
			case "manager":
				if m := managerOf(p, org); m != nil {
					dec.OwnerID, dec.Owner = m.ID, m.Email
					dec.Reason = fmt.Sprintf("rule %q: nobody in pool %s was available; their manager %s", rl.name, name, m.Email)
					org.assign(m.ID, now)
					return dec, nil
				}
				name = ""
			default:
				name = o
			}
		}
		break
	}
	q := org.byEmail[strings.ToLower(set.Doc.QueueOwner)]
	if q == nil || !q.Active {
		return dec, fmt.Errorf("routing: nobody could take the lead and the queue owner %s is not an active user", set.Doc.QueueOwner)
	}
	dec.OwnerID, dec.Owner, dec.Queue = q.ID, q.Email, true
	if dec.Rule == "" {
		dec.Reason = "no rule matched: the queue owner " + q.Email
	} else {
		dec.Reason = fmt.Sprintf("rule %q: nobody in pool %s was available: the queue owner %s", dec.Rule, dec.Pool, q.Email)
	}
	org.assign(q.ID, now)
	return dec, nil
}

// setSLA gives a decision its rule's response times, once its owner is
// known: counted in the rule's pool's working hours in the owner's time
// zone when the rule says so, else on the clock.
func (set *Set) setSLA(dec *Decision, rl *rule, org *Org, now time.Time) {
	if rl.slaIn == 0 {
		return
	}
	at := func(d time.Duration) *time.Time {
		t := now.Add(d)
		if rl.slaWorking {
			loc := time.UTC
			if r := org.Reps[dec.OwnerID]; r != nil && r.TimeZone != nil {
				loc = r.TimeZone
			}
			t = set.pools[rl.pool].addWorking(now, d, loc)
		}
		return &t
	}
	dec.SLADue, dec.SLAAlert = at(rl.slaIn), rl.slaAlert
	if rl.escalate > 0 {
		dec.SLAEscalate = at(rl.escalate)
	}
	if rl.warnBefore > 0 {
		dec.SLAWarn = at(rl.slaIn - rl.warnBefore)
	}
}

// addWorking is the time d of the pool's working hours after start, in
// loc: outside the hours and on days off the clock stands still.
func (p *pool) addWorking(start time.Time, d time.Duration, loc *time.Location) time.Time {
	t := start.In(loc)
	for range 4000 { // years of days; Parse refuses hours with no working day
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		open := day.Add(time.Duration(p.from) * time.Minute)
		shut := day.Add(time.Duration(p.to) * time.Minute)
		if p.days[day.Weekday()] && t.Before(shut) {
			if t.Before(open) {
				t = open
			}
			left := shut.Sub(t)
			if d <= left {
				return t.Add(d).UTC()
			}
			d -= left
		}
		t = day.AddDate(0, 0, 1)
	}
	return t.UTC()
}

func matchAll(conds []*rules.Condition, r rules.Record) bool {
	for _, c := range conds {
		if !c.Match(r) {
			return false
		}
	}
	return true
}

func (set *Set) matchAccount(email, company string, org *Org) *Account {
	if set.Doc.MatchAccounts != nil && !*set.Doc.MatchAccounts {
		return nil
	}
	if _, d, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@"); ok && d != "" && !set.freeMail[d] {
		if a := org.byDomain[d]; a != nil {
			return a
		}
	}
	if n := normName(company); n != "" {
		return org.byName[n]
	}
	return nil
}

func (o *Org) assign(id int64, now time.Time) {
	l := o.load(id)
	l.Open++
	l.add(now)
}

// add keeps Assigned in time order (it almost always grows at the end), so
// that counting for a cap stops at the start of the week.
func (l *Load) add(t time.Time) {
	i := len(l.Assigned)
	for i > 0 && l.Assigned[i-1].After(t) {
		i--
	}
	l.Assigned = slices.Insert(l.Assigned, i, t)
}

// members lists a pool's reps in a stable order, teams expanded.
func (set *Set) members(p *pool, org *Org) ([]*Rep, []float64) {
	var reps []*Rep
	var weights []float64
	seen := map[int64]bool{}
	add := func(r *Rep, w float64) {
		if r != nil && !seen[r.ID] {
			seen[r.ID] = true
			reps, weights = append(reps, r), append(weights, w)
		}
	}
	if p.doc.Method == Owner {
		add(org.byEmail[strings.ToLower(p.doc.Owner)], 1)
		return reps, weights
	}
	for _, m := range p.doc.Members {
		w := m.Weight
		if w == 0 {
			w = 100
		}
		if m.Email != "" {
			add(org.byEmail[strings.ToLower(m.Email)], w)
			continue
		}
		for _, id := range org.Teams[m.Team] {
			add(org.Reps[id], w)
		}
	}
	return reps, weights
}

// skip says why a rep cannot take a lead now ("" when they can).
func (p *pool) skip(r *Rep, org *Org, now time.Time) string {
	if !r.Active {
		return "inactive"
	}
	if org.Exclude[r.ID] {
		return "did not answer in time"
	}
	for _, a := range r.Away {
		if !now.Before(a.From) && now.Before(a.To) {
			return "out of office until " + a.To.Format("2006-01-02")
		}
	}
	loc := r.TimeZone
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	if p.doc.WorkingHours != nil {
		m := local.Hour()*60 + local.Minute()
		if !p.days[local.Weekday()] || m < p.from || m >= p.to {
			return fmt.Sprintf("outside working hours (%s %s)", local.Format("Mon 15:04"), loc)
		}
	}
	c := p.doc.Caps
	l := org.Loads[r.ID]
	if l == nil {
		return ""
	}
	if c.OpenLeads > 0 && l.Open >= c.OpenLeads {
		return fmt.Sprintf("at the cap of %d open leads", c.OpenLeads)
	}
	if c.PerHour == 0 && c.PerDay == 0 && c.PerWeek == 0 {
		return ""
	}
	hour := local.Truncate(time.Hour)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	week := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // Monday
	var h, d, w int
	for i := len(l.Assigned) - 1; i >= 0; i-- {
		t := l.Assigned[i]
		if t.After(now) {
			continue
		}
		if t.Before(week) {
			break // in time order: the rest is older still
		}
		w++
		if !t.Before(day) {
			d++
		}
		if !t.Before(hour) {
			h++
		}
	}
	switch {
	case c.PerHour > 0 && h >= c.PerHour:
		return fmt.Sprintf("at the cap of %d leads this hour", c.PerHour)
	case c.PerDay > 0 && d >= c.PerDay:
		return fmt.Sprintf("at the cap of %d leads today", c.PerDay)
	case c.PerWeek > 0 && w >= c.PerWeek:
		return fmt.Sprintf("at the cap of %d leads this week", c.PerWeek)
	}
	return ""
}

// choose picks a pool's rep by its method, advancing the pool's state.
func (set *Set) choose(p *pool, org *Org, st State, now time.Time) (*Rep, []Candidate, int) {
	reps, weights := set.members(p, org)
	ps := st[p.doc.Name]
	if ps == nil {
		ps = &PoolState{}
		st[p.doc.Name] = ps
	}
	n := len(reps)
	considered := make([]Candidate, n)
	ok := make([]bool, n)
	for i, r := range reps {
		why := p.skip(r, org, now)
		considered[i] = Candidate{RepID: r.ID, Email: r.Email, Pool: p.doc.Name, Skipped: why}
		ok[i] = why == ""
	}
	if n == 0 {
		return nil, considered, 0
	}
	pick := -1
	switch p.doc.Method {
	case Owner:
		if ok[0] {
			pick = 0
		}
	case RoundRobin:
		for k := range n {
			if i := (ps.Next + k) % n; ok[i] {
				pick = i
				break
			}
		}
		if pick >= 0 {
			ps.Next = (pick + 1) % n
		}
	case LeastLoaded:
		// Fewest open leads; among equals, the next in turn, so ties rotate.
		best := -1
		for k := range n {
			i := (ps.Next + k) % n
			if !ok[i] {
				continue
			}
			if best < 0 || org.open(reps[i].ID) < org.open(reps[best].ID) {
				best = i
			}
		}
		if pick = best; pick >= 0 {
			ps.Next = (pick + 1) % n
		}
	case Weighted:
		// Smooth weighted round robin: every available rep gains its weight,
		// the highest is chosen and loses the total. Over any run of leads
		// the shares follow the weights exactly (200/100/100 over 60 leads:
		// 30, 15, 15), spread out rather than in bursts.
		if ps.Current == nil {
			ps.Current = map[int64]float64{}
		}
		var total float64
		for i, r := range reps {
			if !ok[i] {
				continue
			}
			ps.Current[r.ID] += weights[i]
			total += weights[i]
			if pick < 0 || ps.Current[r.ID] > ps.Current[reps[pick].ID] {
				pick = i
			}
		}
		if pick >= 0 {
			ps.Current[reps[pick].ID] -= total
		}
	}
	// The log keeps who was passed over and why, and who got it; the reps
	// who were available and not chosen are only counted (a pool of a
	// hundred reps would otherwise log a hundred names a lead).
	kept := considered[:0]
	for i, c := range considered {
		if c.Skipped != "" || i == pick {
			kept = append(kept, c)
		}
	}
	if pick < 0 {
		return nil, kept, n
	}
	return reps[pick], kept, n
}

func (o *Org) open(id int64) int {
	if l := o.Loads[id]; l != nil {
		return l.Open
	}
	return 0
}

// managerOf is the manager of the pool's first member who has one.
func managerOf(p *pool, org *Org) *Rep {
	for _, m := range p.doc.Members {
		var ids []int64
		if m.Email != "" {
			if r := org.byEmail[strings.ToLower(m.Email)]; r != nil {
				ids = []int64{r.ID}
			}
		} else {
			ids = org.Teams[m.Team]
		}
		for _, id := range ids {
			if r := org.Reps[id]; r != nil && r.ManagerID != nil {
				if mgr := org.Reps[*r.ManagerID]; mgr != nil && mgr.Active {
					return mgr
				}
			}
		}
	}
	return nil
}

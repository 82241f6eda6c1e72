package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"github.com/quarterdeck/quarterdeck/examples/scoring"
	"github.com/quarterdeck/quarterdeck/examples/segments"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
	"time"
)

// Leads come in through marketing sources and channels. About a quarter
// convert: each lead-sourced deal (inbound, event, webinar) has the lead it
// came from, created days before it, answered fast and engaged. The other
// leads are worked, qualified, disqualified or still waiting, depending on
// their age. Response times are realistic: a few within five minutes, a
// median of hours, and leads arriving at night or at a weekend wait for the
// next working morning.

type leadSource struct {
	source, channel string
	event           int    // kind of the engagement event that created it (-1: none)
	detail          string // that event's detail
	weight          float64
}

const (
	evEmailOpen = iota
	evEmailClick
	evWebVisit
	evFormSubmit
	evContent
	evWebinar
	evEvent
	evReply
	numEventKinds
)

var eventKindBox = boxAll([]string{"email_open", "email_click", "web_visit", "form_submit", "content_download", "webinar", "event", "reply"})

// The weights are of the leads that do not convert; they are set so that
// conversion differs believably by source (partner referrals and trials
// convert best, content downloads and trade-show scans worst, purchased
// lists almost never).
var leadSources = []leadSource{
	{"Web form", "Organic search", evFormSubmit, "Contact sales form", 124},
	{"Web form", "Paid search", evFormSubmit, "Contact sales form", 145},
	{"Free trial", "Organic search", evFormSubmit, "Free trial signup", 44},
	{"Content download", "Paid social", evContent, "Ebook: The revenue operations playbook", 198},
	{"Content download", "Organic social", evContent, "Report: State of sales forecasting", 80},
	{"Chat", "Direct", evWebVisit, "Chat: pricing question", 41},
	{"Webinar", "Email", evWebinar, "Webinar: Forecasts your board believes", 160},
	{"Trade show", "Events", evEvent, "Booth visit: RevOps Summit", 364},
	{"Partner referral", "Partner", evFormSubmit, "Partner referral form", 100},
	{"Purchased list", "Outbound", -1, "", 120},
}

// Sources of the leads behind inbound deals (the first six), event and webinar deals.
var (
	inboundLeadSource = newWeights(18, 14, 8, 12, 6, 6)
	unconvertedSource = newWeights(leadSourceWeights()...)
	leadSegmentMix    = newWeights(0.7, 0.25, 0.05)
	leadSourceBox     = leadSourceField(func(s leadSource) string { return s.source })
	leadChannelBox    = leadSourceField(func(s leadSource) string { return s.channel })
	leadDetailBox     = leadSourceField(func(s leadSource) string { return s.detail })
	leadStatusBox     = boxAll([]crm.LeadStatus{crm.LeadNew, crm.LeadWorking, crm.LeadQualified, crm.LeadDisqualified, crm.LeadConverted})
	webPages          = boxAll([]string{"/pricing", "/product", "/customers", "/blog/pipeline-coverage", "/integrations", "/demo", "/product/forecasting", "/blog/quota-setting"})
	emailDetails      = boxAll([]string{"Newsletter", "Nurture: week 1", "Nurture: week 2", "Product update", "Case study: Summitpoint Health"})
	disqualifyWhy     = []string{"No budget", "Student or job seeker", "Competitor", "Bad contact data", "Not a fit", "Too small"}
)

func leadSourceWeights() []float64 {
	w := make([]float64, len(leadSources))
	for i, s := range leadSources {
		w[i] = s.weight
	}
	return w
}

func leadSourceField(f func(leadSource) string) []any {
	out := make([]any, len(leadSources))
	for i, s := range leadSources {
		out[i] = f(s)
	}
	return out
}

const (
	lsNew = iota
	lsWorking
	lsQualified
	lsDisqualified
	lsConverted
)

// leadStub is a lead worked out in full; the chunk sorts its leads by
// creation time before giving them ids.
type leadStub struct {
	key       uint64 // seeds its events and activities
	created   int64
	first     string
	last      string
	email     string
	company   string
	title     string
	industry  int
	employees int64
	state     string
	city      string
	src       int
	status    int
	owner     int   // index into org.reps; -1: not assigned yet
	resp      int64 // first response; 0: none
	converted int64 // 0: not converted
	oppID     int64
	end       int64 // end of its engagement (conversion, disqualification or today)
	custom    string
	id        int64
}

// convertedLead is the lead behind lead-sourced deal p.
func (g *gen) convertedLead(r *rng, p *oppPlan, l *leadStub) {
	acc := &g.accts[p.acc]
	// The lead is the account's first contact, before the account existed in the CRM.
	r.seed(g.cfg.Seed, streamContact, uint64(acc.contactStart))
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	r.seed(g.cfg.Seed, streamLead, uint64(p.i)<<1)
	*l = leadStub{key: uint64(p.i) << 1, owner: p.owner, status: lsConverted, converted: p.created, oppID: p.id, first: first, last: last}
	age := max(2*hour, min(120*day, int64(r.logNormal(10, 0.9)*float64(day))))
	l.created = p.created - age
	switch p.src {
	case srcEvent:
		l.src = 7
	case srcWebinar:
		l.src = 6
	case srcPartner:
		l.src = 8
	default:
		l.src = r.pick(inboundLeadSource)
	}
	var domain string
	l.company, domain = g.accountName(p.acc)
	l.email = emailLocal(l.first, l.last) + "@" + domain
	l.title = leadTitles[r.IntN(len(leadTitles))]
	l.industry = int(acc.industry)
	l.employees = acc.employees
	c := &g.geo.counties[acc.county]
	l.state, l.city = c.state, c.name
	l.resp = min(p.created, responseTime(r, l.created, true))
	l.end = p.created
	l.custom = campaign(g, l)
}

// unconvertedLead is lead j of the leads that did not (yet) become deals.
func (g *gen) unconvertedLead(r *rng, j int, l *leadStub, buf []int) []int {
	r.seed(g.cfg.Seed, streamLead, uint64(j)<<1|1)
	*l = leadStub{key: uint64(j)<<1 | 1, owner: -1}
	l.created = g.tl.at((float64(j) + r.Float64()) / float64(g.nLeads))
	if r.chance(0.3) { // forms are filled in at night and at weekends too
		l.created = max(g.start, dayStart(l.created)+int64(r.between(0, 12.9)*float64(hour)))
	}
	l.src = r.pick(unconvertedSource)
	l.first, l.last = firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	l.industry = r.IntN(len(industries))
	var domain string
	l.company, domain = companyName(l.industry, r.IntN(20_000))
	if r.chance(0.15) { // personal addresses are common on web forms
		domain = []string{"gmail.example", "outlook.example", "yahoo.example"}[r.IntN(3)]
	}
	l.email = emailLocal(l.first, l.last) + "@" + domain
	l.title = leadTitles[r.IntN(len(leadTitles))]
	seg := segment(r.pick(leadSegmentMix))
	switch seg {
	case segSMB:
		l.employees = int64(math.Round(math.Exp(r.between(math.Log(2), math.Log(199)))))
	case segMid:
		l.employees = int64(math.Round(math.Exp(r.between(math.Log(200), math.Log(1999)))))
	default:
		l.employees = int64(math.Round(math.Exp(r.between(math.Log(2000), math.Log(30000)))))
	}
	ci := g.geo.sample(r.Float64())
	c := &g.geo.counties[ci]
	l.state, l.city = c.state, c.name
	// Routing: a rep of a team covering the lead's region and size.
	cover := g.org.coverage[c.region][seg]
	buf = g.org.activeReps(cover[r.IntN(len(cover))], l.created, buf)
	if len(buf) > 0 {
		l.owner = buf[r.IntN(len(buf))]
	}
	age := g.now - l.created
	var mix weights
	switch {
	case age < 3*day:
		mix = statusFresh
	case age < 30*day:
		mix = statusRecent
	default:
		mix = statusOld
	}
	l.status = r.pick(mix)
	if l.owner < 0 {
		l.status = lsNew
	}
	if l.status != lsNew {
		l.resp = responseTime(r, l.created, false)
		if l.resp > g.now {
			l.status, l.resp = lsNew, 0
		}
	}
	switch l.status {
	case lsNew:
		l.end = min(g.now, l.created+14*day)
	case lsDisqualified:
		l.end = min(g.now, l.resp+int64(r.between(2, 40)*float64(day)))
	default:
		l.end = g.now
	}
	l.custom = campaign(g, l)
	if l.status == lsDisqualified { // beside the campaign, not instead of it
		why := `"disqualify_reason":"` + disqualifyWhy[r.IntN(len(disqualifyWhy))] + `"`
		if l.custom == "" {
			l.custom = "{" + why + "}"
		} else {
			l.custom = strings.TrimSuffix(l.custom, "}") + "," + why + "}"
		}
	}
	return buf
}

var (
	statusFresh  = newWeights(0.45, 0.5, 0.05, 0, 0)
	statusRecent = newWeights(0.1, 0.45, 0.15, 0.3, 0)
	statusOld    = newWeights(0.06, 0.06, 0.04, 0.84, 0)
)

// campaign names the paid campaign a lead came from, if any (as custom fields).
func campaign(g *gen, l *leadStub) string {
	ch := leadSources[l.src].channel
	if !strings.HasPrefix(ch, "Paid") {
		return ""
	}
	q := g.cal.PeriodOf(utc(l.created), crm.GrainQuarter)
	return `{"campaign":"` + q.String() + " " + strings.ToLower(ch) + `"}`
}

// responseTime is when a sales rep first answers a lead created at t.
// Leads that became deals were answered faster: speed wins deals.
func responseTime(r *rng, t int64, fast bool) int64 {
	var mins float64
	switch {
	case fast && r.chance(0.35), !fast && r.chance(0.12):
		mins = r.between(0.5, 5)
	case fast:
		mins = r.logNormal(40, 1.2)
	default:
		mins = r.logNormal(180, 1.5)
	}
	mins = min(mins, 10*24*60)
	return workTime(t+int64(mins*60), int64(r.IntN(90))*60)
}

var leadColumns = []string{"id", "first_name", "last_name", "email", "company", "title", "industry", "employees", "annual_revenue",
	"country", "state", "city", "source", "channel", "status", "owner_id", "created_at", "first_response_at", "converted_at",
	"converted_opportunity_id", "custom_fields"}

var eventColumns = []string{"id", "lead_id", "kind", "occurred_at", "detail"}

// emitLeads sorts the chunk's leads by creation, numbers them and writes
// them with their engagement events and sales activities.
func (g *gen) emitLeads(r *rng, c int, leads []leadStub, out *chunkOut) {
	slices.SortFunc(leads, func(a, b leadStub) int {
		if a.created != b.created {
			return cmpInt(a.created, b.created)
		}
		return cmpInt(int64(a.key), int64(b.key))
	})
	for k := range leads {
		l := &leads[k]
		l.id = g.leadBase + int64(c)*g.leadCap + int64(k)
		idBox := any(l.id)
		var owner, resp, conv, oppID any
		if l.owner >= 0 {
			owner = g.org.reps[l.owner].idBox
		}
		if l.resp != 0 {
			resp = utc(l.resp)
		}
		if l.converted != 0 {
			conv, oppID = utc(l.converted), l.oppID
		}
		custom := any("{}")
		if l.custom != "" {
			custom = l.custom
		}
		rev := int64(float64(l.employees)*industries[l.industry].revPer/1000) * 1000
		out.rows[tLeads] = append(out.rows[tLeads], idBox, l.first, l.last, l.email, l.company, l.title, industries[l.industry].name,
			l.employees, decimal.New(rev, 0), "US", l.state, l.city, leadSourceBox[l.src], leadChannelBox[l.src],
			leadStatusBox[l.status], owner, utc(l.created), resp, conv, oppID, custom)
		if m := g.fx.month(l.created); m >= 0 && m < len(out.leadsMonth) {
			out.leadsMonth[m]++
		}

		// Engagement: visits before the form, the event that created the
		// lead, then opens, clicks, visits and replies while it is worked.
		r.seed(g.cfg.Seed, streamLead, l.key|1<<62)
		ev := out.rows[tEvents]
		// Leads that convert engage more, but not always and not only
		// they: a model should find the signal, not read the outcome.
		pre, post := 0, 0
		switch l.status {
		case lsConverted:
			post = r.IntN(3)
			if r.chance(0.55) {
				pre = 1 + r.IntN(2)
			}
		case lsWorking, lsQualified:
			post = r.IntN(3)
		default:
			if r.chance(0.35) {
				post = 1 + r.IntN(2)
			}
		}
		if l.status != lsConverted && r.chance(0.3) {
			pre = 1
		}
		for range pre {
			t := l.created - int64(r.between(0.1, 30)*float64(day))
			ev = append(ev, nil, idBox, eventKindBox[evWebVisit], utc(t), webPages[r.IntN(len(webPages))])
		}
		if e := leadSources[l.src].event; e >= 0 {
			ev = append(ev, nil, idBox, eventKindBox[e], utc(l.created), leadDetailBox[l.src])
		}
		for range post {
			t := l.created + int64(r.Float64()*float64(max(l.end-l.created, hour)))
			if t > g.now {
				continue
			}
			switch k := r.IntN(10); {
			case k < 4:
				ev = append(ev, nil, idBox, eventKindBox[evEmailOpen], utc(t), emailDetails[r.IntN(len(emailDetails))])
			case k < 6:
				ev = append(ev, nil, idBox, eventKindBox[evEmailClick], utc(t), emailDetails[r.IntN(len(emailDetails))])
			case k < 9:
				ev = append(ev, nil, idBox, eventKindBox[evWebVisit], utc(t), webPages[r.IntN(len(webPages))])
			default:
				ev = append(ev, nil, idBox, eventKindBox[evReply], utc(t), "Replied to outreach")
			}
		}
		out.rows[tEvents] = ev
		g.leadActivities(r, l, idBox, out)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ApplyScoring saves the shipped ICP segments and applies the shipped
// scoring models the demo uses, so every lead has its segments, a score and
// a why-log from the start. It returns the leads scored by the first model.
func ApplyScoring(ctx context.Context, s *store.Store, now time.Time) (int64, error) {
	files, err := fs.Glob(segments.Files, "*.yaml")
	if err != nil {
		return 0, err
	}
	for _, name := range files {
		data, err := segments.Files.ReadFile(name)
		if err != nil {
			return 0, err
		}
		if _, err := leads.SaveSegment(ctx, s, crm.System, name, data, now); err != nil {
			return 0, fmt.Errorf("demo segment %s: %w", name, err)
		}
	}
	var first int64
	for i, name := range scoring.Demo {
		data, err := scoring.Files.ReadFile(name)
		if err != nil {
			return 0, err
		}
		v, err := leads.Apply(ctx, s, crm.System, name, data, now)
		if err != nil {
			return 0, fmt.Errorf("demo scoring model %s: %w", name, err)
		}
		if i == 0 {
			first = v.Leads
		}
	}
	return first, nil
}

// PredictiveExclude are the demo's lead fields that record the outcome
// rather than predict it: a rep writes disqualify_reason when disqualifying
// the lead, as X Education's sales team fills in Tags after contact.
var PredictiveExclude = []string{"custom.disqualify_reason"}

// predictiveMaxLeads bounds the demos whose predictive model is trained
// at once: training reads every lead into memory and fits twice, about
// two seconds per 6,000 leads on two cores.
const predictiveMaxLeads = 50_000

// TrainPredictive trains the predictive model on the demo's decided leads,
// without PredictiveExclude, so every lead has a chance to convert from the
// start. It returns the leads given one: none when the demo is too big to
// train within its minute (train it later with quarterdeck leads
// predictive train) or has too few decided leads.
func TrainPredictive(ctx context.Context, s *store.Store, now time.Time) (int64, error) {
	var n int64
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM leads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("demo predictive model: %w", err)
	}
	if n > predictiveMaxLeads {
		return 0, nil
	}
	run, err := leads.TrainPredictive(ctx, s, crm.System, leads.PredictiveOptions{Exclude: PredictiveExclude}, now)
	var few *leads.TooFewLeadsError
	if errors.As(err, &few) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("demo predictive model: %w", err)
	}
	return int64(run.Scored), nil
}

// ApplyRouting applies a routing rule set shaped like
// examples/routing/demo.yaml, built from the demo's own teams (their names
// depend on the seed and the size): enterprise-sized and grade A leads to
// the enterprise teams by fewest open leads, small companies to the SMB
// teams weighted 200/100/100..., the rest round robin over the mid-market
// teams in working hours, and the ops analyst as the queue owner; grade A
// leads are to be answered within 15 minutes, the others within 4 hours.
func ApplyRouting(ctx context.Context, s *store.Store, now time.Time) error {
	var ops string
	if err := s.DB().QueryRowContext(ctx, `SELECT email FROM users WHERE role = 'ops' AND active ORDER BY id LIMIT 1`).Scan(&ops); err != nil {
		return fmt.Errorf("demo routing: the ops analyst: %w", err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT DISTINCT t.name FROM teams t JOIN users u ON u.team_id = t.id AND u.role = 'rep' AND u.active ORDER BY t.name`)
	if err != nil {
		return fmt.Errorf("demo routing: teams: %w", err)
	}
	defer rows.Close()
	pools := map[string][]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		for _, seg := range []string{"Enterprise", "Mid-market", "SMB"} {
			if strings.Contains(name, seg) {
				pools[seg] = append(pools[seg], name)
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(pools["Enterprise"]) == 0 || len(pools["Mid-market"]) == 0 || len(pools["SMB"]) == 0 {
		return fmt.Errorf("demo routing: the demo has no teams for every segment: %v", pools)
	}
	members := func(teams []string, weighted bool) string {
		var b strings.Builder
		for i, t := range teams {
			w := ""
			if weighted {
				w = ", weight: 100"
				if i == 0 {
					w = ", weight: 200"
				}
			}
			fmt.Fprintf(&b, "\n      - {team: %q%s}", t, w)
		}
		return b.String()
	}
	doc := fmt.Sprintf(`name: demo
queue_owner: %s
pools:
  - name: enterprise
    method: least_loaded
    members:%s
    caps: {per_day: 15}
    overflow: inbound
  - name: inbound
    method: round_robin
    members:%s
    caps: {per_hour: 4, open_leads: 200}
    working_hours: {from: "07:00", to: "19:00"}
    overflow: weighted-smb
  - name: weighted-smb
    method: weighted
    members:%s
    overflow: manager
rules:
  - name: Enterprise-sized
    match: [{field: employees, between: [2000, 10000000]}]
    pool: enterprise
  - name: Grade A
    match: [{when: 'grade == "A"'}]
    pool: enterprise
    alert: sales-alerts
    sla: {within: 15m, warn_before: 5m, alert: sales-alerts}
  - name: Small companies
    match: [{field: employees, between: [0, 199]}]
    pool: weighted-smb
    sla: {within: 24h}
  - name: Everyone else
    pool: inbound
    sla: {within: 4h, working_hours: true, alert: sales-alerts}
`, ops, members(pools["Enterprise"], false), members(pools["Mid-market"], false), members(pools["SMB"], true))
	if _, err := routing.Apply(ctx, s, crm.System, "demo.yaml", []byte(doc), now); err != nil {
		return fmt.Errorf("demo routing rule set: %w", err)
	}
	return routeRecent(ctx, s, now)
}

// RoutedDays is how far back the demo routes its inbound leads through the
// rule set (at the time each came in), so that the assignment log, the
// fairness audit and the SLA board have two weeks to show.
const RoutedDays = 14

func routeRecent(ctx context.Context, s *store.Store, now time.Time) error {
	rows, err := s.DB().QueryContext(ctx, `SELECT id, created_at FROM leads WHERE created_at >= $1 AND created_at <= $2
		AND converted_opportunity_id IS NULL ORDER BY created_at, id`, now.AddDate(0, 0, -RoutedDays), now)
	if err != nil {
		return fmt.Errorf("demo routing: recent leads: %w", err)
	}
	var ids []int64
	var at []time.Time
	for rows.Next() {
		var id int64
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return err
		}
		ids, at = append(ids, id), append(at, t.UTC())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		j := min(i+batch, len(ids))
		if _, err := routing.AssignAt(ctx, s, crm.System, ids[i:j], at[i:j]); err != nil {
			return fmt.Errorf("demo routing: %w", err)
		}
	}
	// The breaches of those two weeks, as serve's minute check would have
	// found them: the SLA board and the notification log have them at once.
	if _, err := routing.CheckSLA(ctx, s, now); err != nil {
		return fmt.Errorf("demo routing: %w", err)
	}
	return nil
}

package demo

import (
	"math"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// How a deal is made up, in order:
//
//  1. When: opportunity i of n is created at quantile (i+u)/n of the
//     timeline, so ids follow creation time and volume grows over the years.
//  2. Where: an account that existed by then (bigger ones more often); the
//     deal is new business unless the account is already a customer, then
//     mostly renewal or expansion.
//  3. Who: the account's owner if employed and ramped, else a teammate
//     employed at the time, weighted by ramp and skill.
//  4. What: products and quantities by segment and type, at the segment's
//     discount, in the account's currency; that is the amount.
//  5. How it goes: from its entry stage the deal advances or is lost at each
//     stage with believable conversion rates (higher for renewals and
//     expansions, better reps and referrals; lower while a rep ramps up).
//     Time in stage follows the segment's cycle length. Closes bunch up in
//     the last weeks of a quarter. The rep's expected close date is
//     optimistic, so most deals slip: each push is a history row.
//  6. What is known today: events after Config.Now are cut off; a deal whose
//     close lies in the future is open in the stage it has reached.

const (
	stProspecting = iota
	stQualification
	stProposal
	stNegotiation
	stWon
	stLost
	numStages
)

var (
	stageNames = [numStages]string{"Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"}
	stageKinds = [numStages]crm.StageKind{crm.StageOpen, crm.StageOpen, crm.StageOpen, crm.StageOpen, crm.StageWon, crm.StageLost}
	stageBox   = boxAll(stageNames[:])
	// Median days from creation to a won close, by segment.
	cycleMedian = [numSegments]float64{30, 70, 150}
	// Share of the cycle spent in each open stage.
	stageShare = [4]float64{0.18, 0.24, 0.30, 0.28}
	// Chance to move on from each open stage (the last one: to win), by deal type.
	advance = [3][4]float64{
		{0.55, 0.58, 0.62, 0.68}, // new business
		{0.80, 0.72, 0.78, 0.82}, // expansion
		{0.90, 0.90, 0.90, 0.92}, // renewal
	}
	segmentAdvance = [numSegments]float64{1.03, 1.0, 0.96}
)

const (
	fcPipeline = iota
	fcBestCase
	fcCommit
	fcClosed
	fcOmitted
)

var fcBox = boxAll([]string{string(crm.ForecastPipeline), string(crm.ForecastBestCase), string(crm.ForecastCommit), string(crm.ForecastClosed), string(crm.ForecastOmitted)})

var stageFC = [numStages]int8{fcPipeline, fcPipeline, fcBestCase, fcCommit, fcClosed, fcOmitted}

const (
	srcInbound = iota
	srcOutbound
	srcPartner
	srcReferral
	srcEvent
	srcWebinar
	srcCustomer
	numSources
)

var (
	sourceNames   = [numSources]string{"Inbound", "Outbound", "Partner", "Referral", "Event", "Webinar", "Existing customer"}
	sourceBox     = boxAll(sourceNames[:])
	newDealSource = newWeights(0.28, 0.34, 0.10, 0.10, 0.12, 0.06, 0)
	sourceAdvance = [numSources]float64{1.0, 0.94, 1.04, 1.08, 0.98, 0.97, 1.0}
	dealTypes     = [3]crm.DealType{crm.DealNew, crm.DealExpansion, crm.DealRenewal}
	dealTypeBox   = boxAll([]string{string(crm.DealNew), string(crm.DealExpansion), string(crm.DealRenewal)})
	currencyBox   = boxAll(currencyCodes[:])
)

// Why deals are lost, by the stage they were lost in (and for renewals).
var lossReasons = [5]choice[string]{
	newChoice([]string{"No response", "Not a fit", "No budget", "Bad timing"}, 35, 25, 20, 20),
	newChoice([]string{"No budget", "Not a fit", "No decision", "Bad timing", "Chose a competitor"}, 25, 20, 20, 15, 20),
	newChoice([]string{"Price", "Chose a competitor", "No decision", "Missing feature"}, 30, 30, 20, 20),
	newChoice([]string{"Price", "Chose a competitor", "No decision", "Legal or procurement"}, 35, 30, 20, 15),
	newChoice([]string{"Budget cuts", "Chose a competitor", "Company acquired", "Low usage"}, 35, 30, 10, 25),
}

func boxAll[S ~string](ss []S) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

type stageEntry struct {
	t     int64
	stage int8
}

type push struct {
	t    int64
	est  int64 // new expected close (a date at midnight)
	down bool  // the rep also lowers the forecast category from commit
}

// oppPlan is one deal, worked out in full before any row is written. Workers
// reuse one per goroutine.
type oppPlan struct {
	i         int
	id        int64
	idBox     any
	created   int64
	acc       int
	seg       segment
	typ       int // index into dealTypes
	src       int
	cur       uint8
	owner     int   // rep at creation
	heir      int   // rep who takes over when owner leaves before the deal ends
	handover  int64 // when the heir takes over (math.MaxInt64: never)
	lines     []line
	quote     int64 // cents: the sum of the lines
	estimate  int64 // cents: the first guess before a proposal
	proposal  int64 // cents: the proposal before negotiation
	fcAt      [4]int8
	entries   []stageEntry // creation and every stage reached, then the close
	pushes    []push
	est0      int64
	closeT    int64 // when it closes (or would: may be after now)
	won, lost bool
	lostAt    int
	neglected bool
	lead      bool // created from a converted lead
}

func (p *oppPlan) ownerAt(t int64) int {
	if t >= p.handover {
		return p.heir
	}
	return p.owner
}

// open reports whether the deal is still open today.
func (p *oppPlan) open(now int64) bool { return p.closeT > now }

// end is the last moment of the deal known today.
func (p *oppPlan) end(now int64) int64 { return min(p.closeT, now) }

// stageAt is the stage the deal was in at t (t within the deal).
func (p *oppPlan) stageAt(t int64) int {
	s := int(p.entries[0].stage)
	for _, e := range p.entries[1:] {
		if e.t > t {
			break
		}
		s = int(e.stage)
	}
	return s
}

// planOpp works out deal i.
func (g *gen) planOpp(r *rng, i int, p *oppPlan) {
	r.seed(g.cfg.Seed, streamOpp, uint64(i))
	p.i = i
	p.id = g.oppBase + int64(i)
	p.idBox = p.id
	p.created = g.tl.at((float64(i) + r.Float64()) / float64(g.nOpps))
	p.acc = g.accountAt(p.created, r.Float64())
	acc := &g.accts[p.acc]
	p.seg = acc.seg
	p.cur = acc.currency
	p.typ, p.src = 0, srcCustomer
	if acc.customerFrom <= p.created {
		switch u := r.Float64(); {
		case u < 0.45:
			p.typ = 2
		case u < 0.87:
			p.typ = 1
		}
	}
	if p.typ == 0 {
		p.src = r.pick(newDealSource)
	}
	p.lead = p.typ == 0 && (p.src == srcInbound || p.src == srcEvent || p.src == srcWebinar || p.src == srcPartner)

	// Owner.
	p.owner = g.ownerFor(r, acc, p.created)
	rep := &g.org.reps[p.owner]
	repFactor := math.Pow(rep.skill*(0.7+0.3*rep.ramp(p.created)), 0.25)

	// Products and amount.
	usdTo := 1 / g.fx.rate(p.cur, p.created)
	p.lines = chooseLines(r, p.seg, dealTypes[p.typ], p.created < g.start+365*day, usdTo, p.lines)
	p.quote = 0
	for _, l := range p.lines {
		p.quote += l.qty * l.unit
	}
	p.estimate = max(100_000, int64(math.Round(float64(p.quote)*r.between(0.85, 1.25)/100_000))*100_000)
	p.proposal = int64(math.Round(float64(p.quote)*(1+r.between(0, 0.12))/10_000)) * 10_000
	p.fcAt = [4]int8{fcPipeline, fcPipeline, fcBestCase, fcCommit}
	if r.chance(0.2) {
		p.fcAt[stProposal] = fcCommit
	}
	if r.chance(0.1) {
		p.fcAt[stNegotiation] = fcBestCase
	}

	// Entry stage and cycle.
	entry := stProspecting
	median := cycleMedian[p.seg]
	switch p.typ {
	case 1:
		entry, median = stQualification, median*0.65
	case 2:
		entry, median = stProposal, 40+10*float64(p.seg)
		if r.chance(0.3) {
			entry = stNegotiation
		}
	default:
		switch p.src {
		case srcPartner, srcReferral:
			entry = stQualification
		case srcInbound, srcEvent, srcWebinar:
			if r.chance(0.7) {
				entry = stQualification
			}
		}
	}
	total := r.logNormal(median, 0.45)
	var norm float64
	for s := entry; s < 4; s++ {
		norm += stageShare[s]
	}
	var dur [4]int64
	for s := entry; s < 4; s++ {
		dur[s] = int64(total * stageShare[s] / norm * r.logNormal(1, 0.3) * float64(day))
	}

	// Walk the stages.
	p.entries = append(p.entries[:0], stageEntry{p.created, int8(entry)})
	p.won, p.lost = false, false
	t := p.created
	for s := entry; ; {
		pa := min(0.97, advance[p.typ][s]*segmentAdvance[p.seg]*sourceAdvance[p.src]*repFactor)
		if r.chance(pa) {
			t = workMoment(r, t+dur[s], t)
			next := s + 1
			if s == stQualification && r.chance(0.04) {
				next = stNegotiation // straight to negotiation: skips the formal proposal
			}
			if next == stWon {
				p.won = true
				break
			}
			p.entries = append(p.entries, stageEntry{t, int8(next)})
			s = next
			continue
		}
		f := r.between(0.4, 1.8)
		if r.chance(0.1) {
			f = r.between(2.5, 5) // stalled for months, then given up
		}
		t = workMoment(r, t+int64(float64(dur[s])*f), t)
		p.lost, p.lostAt = true, s
		break
	}
	p.closeT = g.closeTime(r, t, p.entries[len(p.entries)-1].t, p.won)

	// The rep's expected close: optimistic, often the end of a month; when
	// the deal is not closed by then it is pushed (unless the rep neglects it).
	p.est0 = dayStart(p.created + int64(median*r.between(0.5, 0.95)*float64(day)))
	if r.chance(0.6) {
		p.est0 = monthEnd(p.est0)
	}
	p.neglected = r.chance(0.12)
	p.pushes = p.pushes[:0]
	est, last := p.est0, p.created
	closeDay := dayStart(p.closeT)
	for k := 0; k < 5 && !p.neglected && est < closeDay; k++ {
		tp := workMoment(r, est-int64(r.between(0, 5)*float64(day)), last+hour)
		if tp >= p.closeT {
			break
		}
		var next int64
		switch u := r.Float64(); {
		case u < 0.4:
			next = monthEnd(monthEnd(est) + day)
		case u < 0.75: // to the end of the quarter, or of the next one if that is where it was
			if next = g.quarterEnd(est); next < est+14*day {
				next = g.quarterEnd(next + day)
			}
		default:
			next = dayStart(est + int64(r.between(14, 45)*float64(day)))
		}
		next = max(next, dayStart(tp)+7*day)
		p.pushes = append(p.pushes, push{t: tp, est: next, down: r.chance(0.5)})
		est, last = next, tp
	}

	// An owner who leaves before the deal ends hands it to the account's owner.
	p.heir, p.handover = p.owner, math.MaxInt64
	if lv := g.org.reps[p.owner].leave; lv < p.end(g.now) {
		p.heir, p.handover = int(acc.owner), lv
	}
}

// ownerFor picks the rep of a deal on acc created at t.
func (g *gen) ownerFor(r *rng, acc *account, t int64) int {
	o := int(acc.owner)
	rep := &g.org.reps[o]
	if rep.activeAt(t) && r.chance(rep.ramp(t)) {
		return o
	}
	var cand [24]int
	var w [24]float64
	n := 0
	var sum float64
	for _, ri := range g.org.teams[acc.team].reps {
		if n == len(cand) {
			break
		}
		if x := g.org.reps[ri].ramp(t) * g.org.reps[ri].skill; x > 0 {
			cand[n], w[n] = ri, x
			sum += x
			n++
		}
	}
	if n == 0 {
		return o
	}
	u := r.Float64() * sum
	for k := range n {
		if u < w[k] {
			return cand[k]
		}
		u -= w[k]
	}
	return cand[n-1]
}

// closeTime turns the natural end of a deal into its close: many deals are
// signed (or cleaned out) in the last weeks of a quarter, and rarely at a
// weekend. The close is after the last stage change.
func (g *gen) closeTime(r *rng, t, lastEntry int64, won bool) int64 {
	d := dayStart(t)
	qe := g.quarterEnd(d)
	pull := 0.3
	if won {
		pull = 0.5
	}
	switch {
	case qe-d <= 30*day && r.chance(pull):
		if nd := qe - int64(r.ExpFloat64()*2.5)*day; nd > d {
			d = nd
		}
	case won && d-g.quarterStart(d) < 10*day && r.chance(0.3):
		// Pulled into the quarter that just ended, with a discount.
		if nd := g.quarterStart(d) - day - int64(r.ExpFloat64()*1.5)*day; nd > dayStart(lastEntry) {
			d = nd
		}
	}
	d = weekdayOn(d, dayStart(lastEntry))
	ct := d + workStart + int64(r.IntN(9*60))*60
	if ct <= lastEntry {
		ct = lastEntry + 30*60
	}
	return ct
}

// monthEnd is the last day (midnight) of d's month.
func monthEnd(d int64) int64 {
	tm := utc(d)
	return time.Date(tm.Year(), tm.Month()+1, 1, 0, 0, 0, 0, time.UTC).Unix() - day
}

var opportunityColumns = []string{"id", "name", "account_id", "owner_id", "amount", "currency", "stage", "forecast_category",
	"deal_type", "source", "created_at", "expected_close", "closed_at", "is_closed", "is_won", "loss_reason", "updated_at"}

var historyColumns = []string{"id", "opportunity_id", "changed_at", "stage", "amount", "expected_close", "forecast_category", "changed_by"}

var lineItemColumns = []string{"id", "opportunity_id", "product_id", "quantity", "unit_price", "total_price"}

// emitOpp writes the deal, its history as known today and its line items.
func (g *gen) emitOpp(r *rng, p *oppPlan, out *chunkOut) {
	now := g.now
	// History: stage entries and pushes merged in time order, each a full
	// snapshot of the fields that changed, as the store records them.
	stage := int(p.entries[0].stage)
	est := p.est0
	fc := p.fcAt[stage]
	amount := p.amountAt(stage)
	hist := out.rows[tHistory]
	snap := func(t int64) {
		hist = append(hist, nil, p.idBox, utc(t), stageBox[stage], money(amount), utc(est), fcBox[fc], g.org.reps[p.ownerAt(t)].idBox)
	}
	snap(p.created)
	last := p.created
	ei, pi := 1, 0
	for {
		nextE, nextP := int64(math.MaxInt64), int64(math.MaxInt64)
		if ei < len(p.entries) {
			nextE = p.entries[ei].t
		}
		if pi < len(p.pushes) {
			nextP = p.pushes[pi].t
		}
		t := min(nextE, nextP)
		if t > now || t == math.MaxInt64 {
			break
		}
		if nextE <= nextP {
			stage = int(p.entries[ei].stage)
			fc = p.fcAt[stage]
			amount = p.amountAt(stage)
			ei++
		} else {
			est = p.pushes[pi].est
			if fc == fcCommit && p.pushes[pi].down {
				fc = fcBestCase
			}
			pi++
		}
		snap(t)
		last = t
	}
	closed := !p.open(now)
	var closedAt, lossReason any = nil, ""
	if closed {
		stage = stLost
		if p.won {
			stage = stWon
			amount = p.quote
		}
		fc = stageFC[stage]
		est = dayStart(p.closeT)
		snap(p.closeT)
		last = p.closeT
		closedAt = utc(est)
		if p.lost {
			lr := min(p.lostAt, 3)
			if p.typ == 2 {
				lr = 4
			}
			lossReason = lossReasons[lr].draw(r)
		}
	}
	out.rows[tHistory] = hist

	accName, _ := g.accountName(p.acc)
	name := accName + " - "
	switch p.typ {
	case 2:
		name += "Renewal " + utc(p.est0).Format("2006")
	case 1:
		name += products[p.lines[0].product].name + " expansion"
	default:
		name += products[p.lines[0].product].name
	}
	owner := p.ownerAt(p.end(now))
	out.rows[tOpps] = append(out.rows[tOpps], p.idBox, name, g.accBase+int64(p.acc), g.org.reps[owner].idBox, money(amount),
		currencyBox[p.cur], stageBox[stage], fcBox[fc], dealTypeBox[p.typ], sourceBox[p.src], utc(p.created), utc(est), closedAt,
		closed, closed && p.won, lossReason, utc(last))
	for _, l := range p.lines {
		out.rows[tLines] = append(out.rows[tLines], nil, p.idBox, g.productBox[l.product], decimal.NewFromInt(l.qty), money(l.unit), money(l.qty*l.unit))
	}

	// Aggregates for quotas and costs: bookings in dollars by rep and
	// quarter, and by month.
	if closed && p.won {
		usd := int64(float64(p.quote) / 100 * g.fx.rate(p.cur, p.closeT))
		if q := g.quarterIdx(p.closeT); q >= 0 {
			out.wonRep[owner*len(g.quarters)+q] += usd
		}
		if m := g.fx.month(p.closeT); m >= 0 && m < len(out.wonMonth) {
			out.wonMonth[m] += usd
		}
	}
}

// amountAt is the amount on the deal while it is in stage s.
func (p *oppPlan) amountAt(s int) int64 {
	switch {
	case s <= stQualification:
		return p.estimate
	case s == stProposal:
		return p.proposal
	}
	return p.quote
}

// money turns cents into an exact decimal.
func money(cents int64) decimal.Decimal { return decimal.New(cents, -2) }

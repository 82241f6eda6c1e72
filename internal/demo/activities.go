package demo

import (
	"math"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Activities: calls, emails, meetings, demos and tasks on deals (about two
// thirds of them; more on deals that are won, on bigger deals and on longer
// ones; few on neglected ones), on leads (the first response and the
// follow-ups) and the reps' internal work (team meetings, training, admin),
// which is not selling time. The count is exactly Config.Activities: the
// internal work fills up what deals and leads leave.

var activityColumns = []string{"id", "kind", "subject", "owner_id", "account_id", "contact_id", "lead_id", "opportunity_id",
	"occurred_at", "duration_minutes", "direction", "outcome", "captured"}

const (
	akCall = iota
	akEmail
	akMeeting
	akDemo
	akTask
	akOther
	numActivityKinds
)

var (
	activityKindBox = boxAll([]crm.ActivityKind{crm.ActivityCall, crm.ActivityEmail, crm.ActivityMeeting, crm.ActivityDemo, crm.ActivityTask, crm.ActivityOther})
	directionBox    = boxAll([]crm.Direction{crm.DirectionNone, crm.DirectionInbound, crm.DirectionOutbound})
	// Kind of activity on a deal by stage.
	kindByStage = [4]weights{
		newWeights(0.42, 0.42, 0.06, 0, 0.10),
		newWeights(0.28, 0.32, 0.25, 0.05, 0.10),
		newWeights(0.18, 0.32, 0.18, 0.22, 0.10),
		newWeights(0.27, 0.40, 0.23, 0, 0.10),
	}
	// Subjects by kind and stage, two variants each.
	dealSubjects = [5][4][2]any{
		akCall:    {{"Cold call", "Intro call"}, {"Discovery call", "Qualification call"}, {"Proposal follow-up call", "Pricing call"}, {"Negotiation call", "Closing call"}},
		akEmail:   {{"Introduction", "Following up on my call"}, {"Recap and next steps", "Requested information"}, {"Proposal sent", "Proposal questions"}, {"Contract redlines", "Order form"}},
		akMeeting: {{"Intro meeting", "Coffee meeting"}, {"Discovery meeting", "Requirements workshop"}, {"Proposal review", "Business case review"}, {"Negotiation meeting", "Executive alignment"}},
		akDemo:    {{"Product demo", "Product demo"}, {"Product demo", "Technical deep dive"}, {"Tailored demo", "Technical deep dive"}, {"Security review", "Final demo"}},
		akTask:    {{"Research account", "Follow up"}, {"Send case study", "Update opportunity"}, {"Prepare proposal", "Follow up on proposal"}, {"Send contract", "Chase signature"}},
	}
	callOutcomes    = choice[any]{values: boxAll([]string{"connected", "voicemail", "no answer", "wrong number"}), w: newWeights(38, 40, 20, 2)}
	meetingOutcomes = choice[any]{values: boxAll([]string{"held", "no-show", "rescheduled"}), w: newWeights(86, 8, 6)}
	demoOutcomes    = choice[any]{values: boxAll([]string{"completed", "no-show"}), w: newWeights(90, 10)}
	boxConnected    = any("connected")
	boxSent         = any("sent")
	boxReceived     = any("received")
	boxCompleted    = any("completed")
	leadSubjects    = boxAll([]string{"First touch", "Lead follow-up", "Qualification call", "Sharing resources"})
	internalWork    = []struct {
		kind     int
		subject  any
		min, max int64
	}{
		{akOther, "Team meeting", 30, 60}, {akOther, "Pipeline review with manager", 30, 45}, {akOther, "Forecast call", 30, 60},
		{akOther, "Sales training", 45, 120}, {akOther, "1:1 with manager", 30, 30}, {akTask, "Update CRM", 10, 30},
		{akTask, "Prepare account plan", 20, 60}, {akTask, "Expense report", 10, 20}, {akOther, "Internal product briefing", 30, 60},
	}
	internalMix = newWeights(14, 10, 8, 6, 8, 20, 8, 6, 4)
)

// oppActivityWeight is how busy a deal is relative to others.
func (g *gen) oppActivityWeight(p *oppPlan) float64 {
	w := [numSegments]float64{0.8, 1.0, 1.5}[p.seg]
	switch {
	case p.open(g.now):
	case p.won:
		w *= 1.8
	default:
		w *= 0.7
	}
	days := float64(p.end(g.now)-p.created) / float64(day)
	w *= math.Sqrt(max(0.3, min(8, days/30)))
	if p.neglected {
		w *= 0.35
	}
	return w
}

// oppActivities writes the activities of deal p.
func (g *gen) oppActivities(r *rng, p *oppPlan, out *chunkOut) {
	r.seed(g.cfg.Seed, streamOpp, uint64(p.i)|1<<62)
	n := int(g.oppActScale*g.oppActivityWeight(p) + r.Float64())
	if n == 0 {
		return
	}
	end := p.end(g.now)
	window := max(end-p.created, hour)
	acc := &g.accts[p.acc]
	accBox := any(g.accBase + int64(p.acc))
	var contacts [16]any
	rows := out.rows[tActivities]
	for range n {
		t := min(end, p.created+int64(math.Pow(r.Float64(), 0.8)*float64(window)))
		if wt := workMoment(r, t, p.created); wt <= end {
			t = wt
		}
		stage := p.stageAt(t)
		kind := r.pick(kindByStage[stage])
		var contact any
		if acc.contacts > 0 && kind != akTask {
			k := r.IntN(int(acc.contacts))
			if contacts[k] == nil {
				contacts[k] = g.contactBase + acc.contactStart + int64(k)
			}
			contact = contacts[k]
		}
		dur, dir, outcome, captured := activityDetails(r, kind)
		rows = append(rows, nil, activityKindBox[kind], dealSubjects[kind][stage][r.IntN(2)], g.org.reps[p.ownerAt(t)].idBox,
			accBox, contact, nil, p.idBox, utc(t), dur, dir, outcome, captured)
	}
	out.rows[tActivities] = rows
}

// activityDetails draws duration, direction, outcome and whether the
// activity was captured automatically (email and calendar sync, dialer).
func activityDetails(r *rng, kind int) (dur int64, dir, outcome any, captured bool) {
	dir = directionBox[0]
	switch kind {
	case akCall:
		captured = r.chance(0.35)
		if r.chance(0.78) {
			dir = directionBox[2]
			outcome = callOutcomes.draw(r)
			if outcome == boxConnected {
				dur = int64(max(2, min(60, r.logNormal(9, 0.6))))
			} else {
				dur = 1
			}
		} else {
			dir, outcome = directionBox[1], boxConnected
			dur = int64(max(2, min(60, r.logNormal(12, 0.6))))
		}
	case akEmail:
		captured = r.chance(0.8)
		dur = int64(3 + r.IntN(6))
		dir, outcome = directionBox[2], boxSent
		if r.chance(0.35) {
			dir, outcome = directionBox[1], boxReceived
		}
	case akMeeting:
		captured = r.chance(0.7)
		dur = [...]int64{30, 30, 30, 45, 45, 60, 60, 60, 90}[r.IntN(9)]
		outcome = meetingOutcomes.draw(r)
	case akDemo:
		captured = r.chance(0.7)
		dur = [...]int64{45, 60, 60, 90}[r.IntN(4)]
		outcome = demoOutcomes.draw(r)
	default:
		dur = int64(5 + r.IntN(26))
		outcome = boxCompleted
	}
	return dur, dir, outcome, captured
}

// leadActivities writes the first response to lead l and the follow-ups.
func (g *gen) leadActivities(r *rng, l *leadStub, idBox any, out *chunkOut) {
	if l.resp == 0 || l.owner < 0 {
		return
	}
	owner := g.org.reps[l.owner].idBox
	rows := out.rows[tActivities]
	add := func(t int64, subject any) {
		kind := akCall
		if r.chance(0.45) {
			kind = akEmail
		}
		dur, _, outcome, captured := activityDetails(r, kind)
		if kind == akCall && outcome == boxConnected {
			dur = max(dur, 5)
		}
		rows = append(rows, nil, activityKindBox[kind], subject, owner, nil, nil, idBox, nil, utc(t), dur, directionBox[2], outcome, captured)
	}
	add(l.resp, leadSubjects[0])
	base := 0.0
	switch l.status {
	case lsConverted, lsWorking:
		base = float64(1 + r.IntN(3))
	case lsQualified:
		base = float64(2 + r.IntN(3))
	case lsDisqualified:
		base = float64(r.IntN(3))
	}
	follow := int(base*g.leadActScale + r.Float64())
	span := max(l.end-l.resp, hour)
	for range follow {
		t := l.resp + int64(r.Float64()*float64(span))
		if wt := workMoment(r, t, l.resp); wt <= l.end {
			t = wt
		}
		if t > g.now {
			continue
		}
		add(t, leadSubjects[1+r.IntN(3)])
	}
	out.rows[tActivities] = rows
}

// internalActivity writes one piece of internal work at about t into rows.
func (g *gen) internalActivity(r *rng, t int64, rows []any) []any {
	w := internalWork[r.pick(internalMix)]
	owner := -1
	for range 16 {
		k := r.IntN(len(g.org.reps))
		if g.org.reps[k].activeAt(t) {
			owner = k
			break
		}
	}
	if owner < 0 {
		owner = int(g.accts[0].owner)
	}
	dur := w.min + int64(r.IntN(int(w.max-w.min)+1))
	return append(rows, nil, activityKindBox[w.kind], w.subject, g.org.reps[owner].idBox, nil, nil, nil, nil, utc(t), dur,
		directionBox[0], boxCompleted, w.kind == akOther && r.chance(0.6))
}

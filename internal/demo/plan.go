package demo

import (
	"math"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Quotas and costs are made after the deals, from what the deals booked,
// the way a sales ops team sets them: a rep's quarterly quota is last
// year's bookings per fully ramped rep in the segment, plus 5%, times
// the rep's share of the quarter at full productivity (ramp, hire and
// leaving dates). Reps are over-assigned by 10% against their manager's
// team quota; regions and the whole organisation add up their teams.
// Costs per fiscal month: salaries of the people employed, commissions on
// bookings, and marketing spend per lead plus programmes and events.

var quotaColumns = []string{"id", "user_id", "team_id", "period", "amount", "currency"}

var costColumns = []string{"id", "period", "category", "amount", "currency", "note"}

// planQuarters lists the fiscal quarters that get quotas: from the one the
// history starts in to the one after today.
func (g *gen) planQuarters() {
	g.quarters = g.quarters[:0]
	for p := g.cal.PeriodOf(utc(g.start), crm.GrainQuarter); ; p = g.cal.Next(p) {
		g.quarters = append(g.quarters, p)
		if !p.Start.Before(utc(g.now)) {
			break
		}
	}
}

// quarterIdx is the index in g.quarters of the quarter containing t, or -1.
func (g *gen) quarterIdx(t int64) int {
	tm := utc(t)
	i := sort.Search(len(g.quarters), func(i int) bool { return g.quarters[i].End.After(tm) })
	if i == len(g.quarters) || g.quarters[i].Start.After(tm) {
		return -1
	}
	return i
}

// quarterEnd is the last day (midnight) of the fiscal quarter containing d.
func (g *gen) quarterEnd(d int64) int64 {
	_, end := g.quarterBounds(d)
	return end - day
}

// quarterStart is the first day of the fiscal quarter containing d.
func (g *gen) quarterStart(d int64) int64 {
	start, _ := g.quarterBounds(d)
	return start
}

// quarterBounds returns the start and end (exclusive) of the fiscal quarter
// containing t, from a table of the quarters around the history.
func (g *gen) quarterBounds(t int64) (int64, int64) {
	b := g.qBounds
	if len(b) < 2 || t < b[0] || t >= b[len(b)-1] {
		p := g.cal.PeriodOf(utc(t), crm.GrainQuarter)
		return p.Start.Unix(), p.End.Unix()
	}
	i := sort.Search(len(b), func(i int) bool { return b[i] > t })
	return b[i-1], b[i]
}

// planQuarterBounds fills the table of quarter bounds: from two years
// before the history to five years after today.
func (g *gen) planQuarterBounds() {
	g.qBounds = g.qBounds[:0]
	p := g.cal.PeriodOf(utc(g.tl.start).AddDate(-2, 0, 0), crm.GrainQuarter)
	end := utc(g.now).AddDate(5, 0, 0)
	g.qBounds = append(g.qBounds, p.Start.Unix())
	for ; p.Start.Before(end); p = g.cal.Next(p) {
		g.qBounds = append(g.qBounds, p.End.Unix())
	}
}

// fte is a rep's productive share of a period: employed and ramped.
func fte(p *person, from, to time.Time) float64 {
	var sum float64
	n := 0
	for t := from.Unix() + 12*hour; t < to.Unix(); t += 7 * day {
		sum += p.ramp(t)
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// quotaRows makes every quota from the bookings by rep and quarter.
func (g *gen) quotaRows(won []int64) []any {
	nq := len(g.quarters)
	now := utc(g.now)
	ftes := make([][]float64, len(g.org.reps))
	for ri := range g.org.reps {
		ftes[ri] = make([]float64, nq)
		for q, p := range g.quarters {
			ftes[ri][q] = fte(&g.org.reps[ri], p.Start, p.End)
		}
	}
	// Bookings per fully ramped rep in each quarter that is over: the mean
	// of the segment (total over total) blended with the median rep, as
	// deal sizes are skewed and a quota should be reachable by a typical rep.
	var perFTE [numSegments][]float64
	for s := range perFTE {
		perFTE[s] = make([]float64, nq)
		for q, p := range g.quarters {
			perFTE[s][q] = math.NaN()
			if p.End.After(now) {
				continue
			}
			var sum, fsum float64
			var each []float64
			for ri := range g.org.reps {
				if int(g.org.teams[g.org.reps[ri].team].segs[0]) != s || ftes[ri][q] == 0 {
					continue
				}
				sum += float64(won[ri*nq+q])
				fsum += ftes[ri][q]
				if ftes[ri][q] >= 0.5 {
					each = append(each, float64(won[ri*nq+q])/ftes[ri][q])
				}
			}
			if fsum >= 0.5 && len(each) > 0 {
				sort.Float64s(each)
				perFTE[s][q] = 0.5*sum/fsum + 0.5*each[len(each)/2]
			}
		}
	}
	// The plan for a quarter: the average of the (up to) four quarters
	// before it, plus 5% growth; the first quarter uses its own result.
	plan := func(s, q int) float64 {
		var sum float64
		n := 0
		for k := q - 1; k >= 0 && k >= q-4; k-- {
			if !math.IsNaN(perFTE[s][k]) {
				sum += perFTE[s][k]
				n++
			}
		}
		if n == 0 {
			for k := q; k < nq; k++ {
				if !math.IsNaN(perFTE[s][k]) {
					return perFTE[s][k]
				}
			}
			return 0
		}
		return sum / float64(n) * 1.05
	}
	var rows []any
	teamSum := make([][]int64, len(g.org.teams))
	for ti := range g.org.teams {
		teamSum[ti] = make([]int64, nq)
	}
	for q, p := range g.quarters {
		period := p.String()
		for ri := range g.org.reps {
			rep := &g.org.reps[ri]
			if ftes[ri][q] < 0.02 {
				continue
			}
			seg := g.org.teams[rep.team].segs[0]
			amt := int64(math.Round(plan(int(seg), q)*1.1*ftes[ri][q]/1000)) * 1000
			if amt <= 0 {
				continue
			}
			teamSum[rep.team][q] += amt
			rows = append(rows, nil, rep.idBox, nil, period, money(amt*100), "USD")
		}
	}
	regionSum := make([][]int64, len(regions))
	for reg := range regionSum {
		regionSum[reg] = make([]int64, nq)
	}
	total := make([]int64, nq)
	for q, p := range g.quarters {
		period := p.String()
		for ti := range g.org.teams {
			t := &g.org.teams[ti]
			amt := int64(math.Round(float64(teamSum[ti][q])/1.1/1000)) * 1000
			if amt <= 0 {
				continue
			}
			regionSum[t.region][q] += amt
			rows = append(rows, nil, nil, t.id, period, money(amt*100), "USD")
		}
		for reg := range regions {
			if amt := regionSum[reg][q]; amt > 0 {
				total[q] += amt
				rows = append(rows, nil, nil, g.org.regionIDs[reg], period, money(amt*100), "USD")
			}
		}
		if total[q] > 0 {
			rows = append(rows, nil, nil, g.org.rootID, period, money(total[q]*100), "USD")
		}
	}
	return rows
}

// costRows makes sales and marketing costs per fiscal month, from the
// month the history starts in to the current one.
func (g *gen) costRows(wonMonth, leadsMonth []int64) []any {
	r := newRNG().seed(g.cfg.Seed, streamChunk, 1<<40)
	loaded := [numSegments]float64{11_000, 14_000, 18_000} // monthly salary, benefits, travel of a rep
	// Big demos have far more deals per rep than a real team could work;
	// each rep then stands for several, so that cost per deal stays real.
	scale := max(1, float64(g.nOpps)/float64(len(g.org.reps))/90)
	var rows []any
	first := utc(g.start)
	for m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(utc(g.now)); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		elapsed := 1.0
		if end.After(utc(g.now)) {
			elapsed = float64(g.now-m.Unix()) / float64(end.Unix()-m.Unix())
		}
		mid := m.Unix() + 15*day
		var sales float64
		for ri := range g.org.reps {
			rep := &g.org.reps[ri]
			if rep.activeAt(mid) {
				sales += loaded[g.org.teams[rep.team].segs[0]]
			}
		}
		sales += float64(len(g.org.teams))*17_000 + float64(len(regions))*22_000 + 30_000 + 2*12_000
		sales *= elapsed * scale
		mi := g.fx.month(m.Unix())
		if mi >= 0 && mi < len(wonMonth) {
			sales += 0.09 * float64(wonMonth[mi]) // commissions
		}
		var leads int64
		if mi >= 0 && mi < len(leadsMonth) {
			leads = leadsMonth[mi]
		}
		growth := math.Pow(1.3, float64(m.Unix()-g.start)/float64(365*day))
		marketing := float64(leads)*r.between(220, 320) + 40_000*growth*elapsed*scale
		if m.Month() == time.March || m.Month() == time.October {
			marketing += 120_000 * growth * elapsed * scale // the big trade shows
		}
		period := g.cal.PeriodOf(m, crm.GrainMonth).String()
		rows = append(rows, nil, period, string(crm.CostSales), money(int64(math.Round(sales))*100), "USD", "Salaries, commissions and travel",
			nil, period, string(crm.CostMarketing), money(int64(math.Round(marketing))*100), "USD", "Campaigns, events and tools")
	}
	return rows
}

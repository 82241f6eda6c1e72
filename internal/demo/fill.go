package demo

import (
	"context"
	"fmt"
	"sync"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Upper bounds per record, for reserving ids before the rows exist.
const (
	maxHistoryPerOpp = 1 + 4 + 5 + 1 // creation, stages, pushes, close
	maxLinesPerOpp   = 6
	maxEventsPerLead = 5
)

// fill makes and loads the big tables.
func (g *gen) fill(ctx context.Context, counts map[string]int64) error {
	// Reserve every id up front, so that ids do not depend on timing.
	nq := int64(len(g.quarters))
	sizes := [numTables]int64{
		tAccounts:   int64(g.nAccounts),
		tContacts:   g.nContacts,
		tOpps:       int64(g.nOpps),
		tLeads:      int64(g.nChunks) * g.leadCap,
		tHistory:    int64(g.nOpps) * maxHistoryPerOpp,
		tLines:      int64(g.nOpps) * maxLinesPerOpp,
		tEvents:     int64(g.nChunks) * g.leadCap * maxEventsPerLead,
		tActivities: int64(g.cfg.Activities),
		tQuotas:     (int64(len(g.org.reps)+len(g.org.teams)+len(regions)) + 1) * nq,
		tCosts:      2 * (3*nq + 3),
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	var first int64
	if err := g.s.WithBulk(ctx, func(b *store.Bulk) error {
		var err error
		first, err = b.AllocIDs(ctx, int(total))
		return err
	}); err != nil {
		return fmt.Errorf("demo: reserve ids: %w", err)
	}
	var base [numTables]int64
	next := first
	for t, n := range sizes {
		base[t] = next
		next += n
	}
	g.accBase, g.contactBase, g.oppBase, g.leadBase = base[tAccounts], base[tContacts], base[tOpps], base[tLeads]
	// The sequencer numbers these tables' rows itself.
	nextID := base

	// One loader per table; activities, the biggest, get two loaders
	// appending in parallel when there are many.
	var loads [numTables]*load
	for t := range loads {
		loads[t] = &load{table: t, ch: make(chan []any, 2), pool: &g.pools[t]}
	}
	actLoads := []*load{loads[tActivities]}
	if g.cfg.Activities >= 1_000_000 {
		actLoads = append(actLoads, &load{table: tActivities, ch: make(chan []any, 2), pool: &g.pools[tActivities]})
	}
	ls := newLoaders(ctx, g.s)
	for t, l := range loads {
		switch t {
		case tActivities:
			for _, al := range actLoads {
				ls.start(al)
			}
		case tQuotas:
			ls.start(loads[tQuotas], loads[tCosts])
		case tCosts:
		default:
			ls.start(l)
		}
	}

	var wg sync.WaitGroup
	// Accounts and their contacts, alongside the deals.
	wg.Go(func() {
		r := newRNG()
		defer close(loads[tAccounts].ch)
		defer close(loads[tContacts].ch)
		const batch = 4096
		wa := len(accountColumns)
		for a0 := 0; a0 < g.nAccounts; a0 += batch {
			a1 := min(g.nAccounts, a0+batch)
			rows := g.buffer(tAccounts, (a1-a0)*wa)[:(a1-a0)*wa]
			contacts := g.buffer(tContacts, (a1-a0)*4*len(contactColumns))
			for a := a0; a < a1; a++ {
				g.accountRow(r, a, rows[(a-a0)*wa:(a-a0+1)*wa])
				contacts = g.contactRows(r, a, contacts)
			}
			if ls.send(loads[tAccounts], rows) != nil || ls.send(loads[tContacts], contacts) != nil {
				return
			}
		}
	})

	// Deals and everything hanging off them.
	wg.Go(func() {
		nw := workers()
		type workerState struct {
			r     *rng
			plan  oppPlan
			leads []leadStub
			buf   []int
		}
		ws := make([]*workerState, nw)
		for i := range ws {
			ws[i] = &workerState{r: newRNG()}
		}
		won := make([]int64, len(g.org.reps)*len(g.quarters))
		months := g.fx.month(g.now) + 1
		wonMonth, leadsMonth := make([]int64, months), make([]int64, months)
		acts := int64(0)
		limit := int64(g.cfg.Activities)
		number := func(t int, rows []any) {
			w := len(tableColumns[t])
			for k := 0; k < len(rows); k += w {
				rows[k] = nextID[t]
				nextID[t]++
			}
		}
		sendActs := func(c int, rows []any) error {
			w := len(activityColumns)
			if room := (limit - acts) * int64(w); int64(len(rows)) > room {
				rows = rows[:room]
			}
			acts += int64(len(rows) / w)
			number(tActivities, rows)
			return ls.send(actLoads[c%len(actLoads)], rows)
		}
		err := inOrder(ls.ctx, g.nChunks, nw, func(w, c int) *chunkOut {
			st := ws[w]
			out := g.newChunkOut(months)
			st.leads, st.buf = g.makeChunk(st.r, c, &st.plan, st.leads, st.buf, out)
			return out
		}, func(c int, out *chunkOut) error {
			for _, t := range []int{tHistory, tLines, tEvents} {
				number(t, out.rows[t])
			}
			for k, v := range out.wonRep {
				won[k] += v
			}
			for m := range months {
				wonMonth[m] += out.wonMonth[m]
				leadsMonth[m] += out.leadsMonth[m]
			}
			for _, t := range []int{tOpps, tHistory, tLines, tLeads, tEvents} {
				if err := ls.send(loads[t], out.rows[t]); err != nil {
					return err
				}
			}
			if err := sendActs(c, out.rows[tActivities]); err != nil {
				return err
			}
			g.progress("opportunities", int64(min(g.nOpps, (c+1)*chunkSize)), int64(g.nOpps))
			return nil
		})
		if err != nil {
			return
		}
		// Internal work fills the activity budget up to the exact count.
		r := newRNG()
		for k := 0; acts < limit; k++ {
			n := min(limit-acts, 8192)
			rows := make([]any, 0, n*int64(len(activityColumns)))
			for range n {
				r.seed(g.cfg.Seed, streamTopUp, uint64(acts)+uint64(len(rows)/len(activityColumns)))
				rows = g.internalActivity(r, g.tl.at(r.Float64()), rows)
			}
			if sendActs(k, rows) != nil {
				return
			}
		}
		for _, t := range []int{tOpps, tHistory, tLines, tLeads, tEvents} {
			close(loads[t].ch)
		}
		for _, l := range actLoads {
			close(l.ch)
		}
		quotas := g.quotaRows(won)
		number(tQuotas, quotas)
		costs := g.costRows(wonMonth, leadsMonth)
		number(tCosts, costs)
		if ls.send(loads[tQuotas], quotas) == nil && ls.send(loads[tCosts], costs) == nil {
			close(loads[tQuotas].ch)
			close(loads[tCosts].ch)
		}
	})
	wg.Wait()
	if err := ls.wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("demo: %w", context.Cause(ctx))
		}
		return err
	}
	for t, l := range loads {
		counts[tableNames[t]] += l.loaded.Load()
	}
	if len(actLoads) > 1 {
		counts["activities"] += actLoads[1].loaded.Load()
	}
	return nil
}

func (g *gen) newChunkOut(months int) *chunkOut {
	return &chunkOut{wonMonth: make([]int64, months), leadsMonth: make([]int64, months),
		wonRep: make([]int64, len(g.org.reps)*len(g.quarters))}
}

// makeChunk makes deals [c×chunkSize, (c+1)×chunkSize) with everything that
// hangs off them, the leads created over the same weeks, and a share of the
// internal activities.
func (g *gen) makeChunk(r *rng, c int, p *oppPlan, leads []leadStub, buf []int, out *chunkOut) ([]leadStub, []int) {
	i0, i1 := c*chunkSize, min(g.nOpps, (c+1)*chunkSize)
	n := i1 - i0
	out.rows[tOpps] = g.buffer(tOpps, n*len(opportunityColumns))
	out.rows[tHistory] = g.buffer(tHistory, n*4*len(historyColumns))
	out.rows[tLines] = g.buffer(tLines, n*2*len(lineItemColumns))
	out.rows[tLeads] = g.buffer(tLeads, n*2*len(leadColumns))
	out.rows[tEvents] = g.buffer(tEvents, n*5*len(eventColumns))
	out.rows[tActivities] = g.buffer(tActivities, int(float64(n)*float64(g.cfg.Activities)/float64(g.nOpps)*1.1)*len(activityColumns))
	leads = leads[:0]
	for i := i0; i < i1; i++ {
		g.planOpp(r, i, p)
		g.emitOpp(r, p, out)
		g.oppActivities(r, p, out)
		if p.lead {
			leads = append(leads, leadStub{})
			g.convertedLead(r, p, &leads[len(leads)-1])
		}
	}
	j0 := int(int64(g.nLeads) * int64(i0) / int64(g.nOpps))
	j1 := int(int64(g.nLeads) * int64(i1) / int64(g.nOpps))
	for j := j0; j < j1; j++ {
		leads = append(leads, leadStub{})
		buf = g.unconvertedLead(r, j, &leads[len(leads)-1], buf)
	}
	g.emitLeads(r, c, leads, out)
	k0 := g.internalTotal * int64(i0) / int64(g.nOpps)
	k1 := g.internalTotal * int64(i1) / int64(g.nOpps)
	q0, q1 := float64(i0)/float64(g.nOpps), float64(i1)/float64(g.nOpps)
	r.seed(g.cfg.Seed, streamChunk, uint64(c))
	for k := k0; k < k1; k++ {
		t := g.tl.at(q0 + (q1-q0)*r.Float64())
		out.rows[tActivities] = g.internalActivity(r, t, out.rows[tActivities])
	}
	return leads, buf
}

// buffer returns an empty row buffer for table t, reused if one is free.
func (g *gen) buffer(t, capacity int) []any {
	if b, ok := g.pools[t].Get().(*[]any); ok && cap(*b) >= capacity {
		return (*b)[:0]
	}
	return make([]any, 0, capacity)
}

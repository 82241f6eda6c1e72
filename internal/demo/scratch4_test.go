package demo

import (
	"context"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// Pure generation cost, no loading.
func BenchmarkScratchChunks(b *testing.B) {
	s := storetest.OpenDuckDB(b)
	g := &gen{cfg: Config{Seed: 1, Opportunities: 200_000, Activities: 2_000_000, Now: testNow}, s: s, nOpps: 200_000}
	ctx := context.Background()
	if err := g.checkReference(ctx); err != nil {
		b.Fatal(err)
	}
	g.now = testNow.Unix()
	g.start = g.cal.PeriodOf(testNow.AddDate(-3, 0, 0), 2).Start.Unix()
	g.tl = newTimeline(dayStart(g.start-182*day), g.now, 0.35)
	g.planQuarters()
	g.planQuarterBounds()
	g.geo, _ = loadGeography()
	g.fx = newFX(1, g.tl.start, g.now)
	g.org = planOrg(1, g.nOpps, g.start, g.now)
	for i := range g.org.reps {
		g.org.reps[i].idBox = int64(i)
	}
	g.nAccounts = g.nOpps / 6
	g.nLeads = g.nOpps
	g.planAccounts()
	g.calibrate()
	months := g.fx.month(g.now) + 1
	r := newRNG()
	var p oppPlan
	var leads []leadStub
	var buf []int
	b.ResetTimer()
	for b.Loop() {
		for c := range g.nChunks {
			out := g.newChunkOut(months)
			leads, buf = g.makeChunk(r, c, &p, leads, buf, out)
			for t := range out.rows {
				if out.rows[t] != nil {
					clear(out.rows[t])
					g.pools[t].Put(&out.rows[t])
				}
			}
		}
	}
}

package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Performer is one rep's numbers for the performer comparison.
type Performer struct {
	UserID                int64            `json:"user_id"`
	Name                  string           `json:"name"`
	Quota                 *decimal.Decimal `json:"quota"`
	Attainment            *float64         `json:"attainment"`
	WonAmount             decimal.Decimal  `json:"won_amount"`
	WonCount              int64            `json:"won_count"`
	WinRate               *float64         `json:"win_rate"`
	AvgDealSize           *decimal.Decimal `json:"average_deal_size"`
	AvgCycleDays          *float64         `json:"average_sales_cycle_days"`
	SellingShare          *float64         `json:"selling_share"`
	MeetingsPerWeek       *float64         `json:"meetings_per_week"`
	MedianResponseMinutes *float64         `json:"median_response_minutes"`
	ActivityMix           map[string]int64 `json:"activity_mix"`
}

// Performers ranks the reps of the selection (users with the rep role, and
// anyone carrying a quota for the period) by quota attainment, among those
// with a quota, or by won amount when nobody has one, and returns the top
// and the bottom quartile (a quarter of the reps, rounded up; the bottom
// never overlaps the top), best first in both.
func Performers(ctx context.Context, s *store.Store, p crm.Principal, f Filter) (top, bottom []Performer, err error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, nil, err
	}
	d, err := sel.dimension(ctx, s, "rep")
	if err != nil {
		return nil, nil, err
	}
	sl, err := sel.compute(ctx, s, d)
	if err != nil {
		return nil, nil, err
	}
	var all []Performer
	anyQuota := false
	for _, x := range sl {
		id, err := strconv.ParseInt(x.Key, 10, 64)
		if err != nil {
			continue // records without an owner
		}
		u, ok := sel.users[id]
		k := x.KPIs
		if !ok || (u.role != crm.RoleRep && k.Quota == nil) {
			continue
		}
		pf := Performer{UserID: id, Name: u.name, Quota: k.Quota, Attainment: k.QuotaAttainment, WonAmount: k.WonAmount,
			WonCount: k.WonCount, WinRate: k.WinRate, AvgDealSize: k.AverageDealSize, AvgCycleDays: k.AverageSalesCycleDays}
		if t := k.TimeSpentSelling; t != nil {
			pf.SellingShare = t.Share
			pf.ActivityMix = t.Activities
			var meetings int64
			for kind, n := range t.Activities {
				if meeting(kind) {
					meetings += n
				}
			}
			if t.Days > 0 {
				pf.MeetingsPerWeek = ptr(float64(meetings) / (float64(t.Days) / 7))
			}
		}
		if l := k.LeadResponse; l != nil {
			pf.MedianResponseMinutes = l.MedianMinutes
		}
		anyQuota = anyQuota || k.Quota != nil
		all = append(all, pf)
	}
	if anyQuota {
		all = slices.DeleteFunc(all, func(p Performer) bool { return p.Attainment == nil })
	}
	slices.SortFunc(all, func(a, b Performer) int {
		if anyQuota {
			if c := cmp.Compare(*b.Attainment, *a.Attainment); c != 0 {
				return c
			}
		}
		return cmp.Or(b.WonAmount.Cmp(a.WonAmount), cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
	})
	q := (len(all) + 3) / 4
	nb := min(q, len(all)-q)
	return all[:q], all[len(all)-nb:], nil
}

// RepAttainment is one quota-carrying rep's attainment for the period.
type RepAttainment struct {
	UserID     int64           `json:"user_id"`
	Name       string          `json:"name"`
	Quota      decimal.Decimal `json:"quota"`
	WonAmount  decimal.Decimal `json:"won_amount"`
	Attainment float64         `json:"attainment"`
}

// Attainment lists the quota-carrying users of the selection with their
// attainment for the filter's period, highest first (for the attainment
// distribution). It is empty for all time and under filters other than
// rep, team and region (quotas are per person, not per product or segment).
func Attainment(ctx context.Context, s *store.Store, p crm.Principal, f Filter) ([]RepAttainment, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	return sel.attainmentList(ctx, s)
}

func (sel *selection) attainmentList(ctx context.Context, s *store.Store) ([]RepAttainment, error) {
	out := []RepAttainment{}
	if sel.period == nil || !sel.f.ownerOnly() {
		return out, nil
	}
	quotas, _, err := sel.quotas(ctx, s)
	if err != nil {
		return nil, err
	}
	if len(quotas) == 0 {
		return out, nil
	}
	won := sel.wonByOwnerTotal
	if won == nil {
		won = map[int64]decimal.Decimal{}
		if err := sel.wonByOwner(ctx, s, totalDimension(), func(string) *raw {
			return &raw{wonBy: won}
		}); err != nil {
			return nil, fmt.Errorf("kpi: attainment: %w", err)
		}
		sel.wonByOwnerTotal = won
	}
	for uid, q := range quotas {
		if !q.IsPositive() {
			continue
		}
		a, _ := won[uid].Div(q).Float64()
		out = append(out, RepAttainment{UserID: uid, Name: sel.users[uid].name, Quota: q, WonAmount: won[uid].Round(2), Attainment: a})
	}
	slices.SortFunc(out, func(a, b RepAttainment) int {
		return cmp.Or(cmp.Compare(b.Attainment, a.Attainment), cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
	})
	return out, nil
}

// Overview is everything the overview dashboard shows for one filter.
type Overview struct {
	KPIs                  KPIs            `json:"kpis"`
	Trend                 []Point         `json:"trend"`
	PipelineByStage       []PipelineBar   `json:"pipeline_by_stage"`
	PipelineByClosePeriod []PipelineBar   `json:"pipeline_by_close_period"`
	Funnel                []FunnelStage   `json:"funnel"`
	Attainment            []RepAttainment `json:"attainment"`
}

// OverviewOptions shape the overview's charts.
type OverviewOptions struct {
	TrendGrain      crm.Grain // default month
	TrendPeriods    int       // default 12
	PipelineGrain   crm.Grain // default month
	PipelinePeriods int       // default 6
}

// ComputeOverview computes the overview in one go: the filter is resolved
// once, and the charts' queries run beside the KPIs'.
func ComputeOverview(ctx context.Context, s *store.Store, p crm.Principal, f Filter, o OverviewOptions) (Overview, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return Overview{}, err
	}
	ov, _, err := sel.overview(ctx, s, p, f, o, nil)
	return ov, err
}

// Dashboard is the overview dashboard: the overview and its drill-down
// tables by team and by rep.
type Dashboard struct {
	Overview Overview `json:"overview"`
	ByTeam   []Slice  `json:"by_team"`
	ByRep    []Slice  `json:"by_rep"` // nil for a role that sees aggregates only
}

// ComputeDashboard is ComputeOverview, ComputeBy(team) and, for a role that
// may see one person's figures, ComputeBy(rep), with the same numbers, in
// one go: the filter is resolved once, and the deals, activities and leads
// are read once for the total and both drill-downs (counts and money per
// owner, added up into each slice; medians and averages by queries that
// group by all three at once, so that they stay each slice's own).
func ComputeDashboard(ctx context.Context, s *store.Store, p crm.Principal, f Filter, o OverviewOptions) (Dashboard, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return Dashboard{}, err
	}
	var dims []*dimension
	for _, name := range []string{"team", "rep"} {
		if name == "rep" && !sel.individuals {
			continue
		}
		d, err := sel.dimension(ctx, s, name)
		if err != nil {
			return Dashboard{}, err
		}
		dims = append(dims, d)
	}
	ov, by, err := sel.overview(ctx, s, p, f, o, dims)
	if err != nil {
		return Dashboard{}, err
	}
	db := Dashboard{Overview: ov, ByTeam: by[0]}
	if len(by) > 1 {
		db.ByRep = by[1]
	}
	return db, nil
}

// overview computes the overview and, in the same pass as its KPIs, the
// slices of each of dims (dimensions that follow the owner).
func (sel *selection) overview(ctx context.Context, s *store.Store, p crm.Principal, f Filter, o OverviewOptions, dims []*dimension) (Overview, [][]Slice, error) {
	if o.TrendGrain == 0 {
		o.TrendGrain = crm.GrainMonth
	}
	if o.TrendPeriods == 0 {
		o.TrendPeriods = 12
	}
	if o.PipelineGrain == 0 {
		o.PipelineGrain = crm.GrainMonth
	}
	if o.PipelinePeriods == 0 {
		o.PipelinePeriods = 6
	}
	// The charts' queries are independent of the KPIs' and only read the
	// selection, so they run beside them, each on its own connection (and
	// the KPIs read their activities and leads beside their deals). On
	// PostgreSQL, which runs most of these queries on one core, that is
	// most of the gain; DuckDB spreads each query over both cores already,
	// but not all of the time: side by side the dashboard took 7-10 % less
	// time at 1,000,000 deals (docs/kpis.md, Speed). The attainment list
	// reuses the KPIs' quotas and won amounts.
	var ov Overview
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() { ov.Trend, errs[0] = sel.trend(ctx, s, o.TrendGrain, o.TrendPeriods) })
	wg.Go(func() {
		if ov.PipelineByStage, errs[1] = sel.pipelineByStage(ctx, s); errs[1] == nil {
			ov.PipelineByClosePeriod, errs[1] = sel.pipelineByClose(ctx, s, o.PipelineGrain, o.PipelinePeriods)
		}
	})
	wg.Go(func() { ov.Funnel, errs[2] = sel.funnel(ctx, s) })
	all, err := sel.computeAll(ctx, s, append([]*dimension{totalDimension()}, dims...))
	if err == nil {
		ov.KPIs = all[0][0].KPIs
		ov.Attainment, err = sel.attainmentList(ctx, s)
	}
	if err == nil {
		ov.KPIs.ForecastAccuracy, err = sel.forecastAccuracy(ctx, s, p, f, ov.KPIs)
	}
	errs[3] = err
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Overview{}, nil, err
	}
	return ov, all[1:], nil
}

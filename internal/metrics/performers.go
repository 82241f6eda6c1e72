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
// once, and on PostgreSQL the charts' queries run concurrently with the KPIs'.
func ComputeOverview(ctx context.Context, s *store.Store, p crm.Principal, f Filter, o OverviewOptions) (Overview, error) {
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
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return Overview{}, err
	}
	// The charts' queries are independent of the KPIs' and only read the
	// selection. DuckDB spreads each query over every core already, and
	// running them side by side only adds contention (13 % slower on 2
	// vCPUs), so there they run one after the other; PostgreSQL runs most of
	// them on one core, so there they run beside the KPIs' queries, each on
	// its own connection. The attainment list reuses the KPIs' quotas and
	// won amounts.
	var ov Overview
	var wg sync.WaitGroup
	errs := make([]error, 4)
	run := func(fn func()) {
		if s.Engine() == "duckdb" {
			fn()
		} else {
			wg.Go(fn)
		}
	}
	run(func() { ov.Trend, errs[0] = sel.trend(ctx, s, o.TrendGrain, o.TrendPeriods) })
	run(func() {
		if ov.PipelineByStage, errs[1] = sel.pipelineByStage(ctx, s); errs[1] == nil {
			ov.PipelineByClosePeriod, errs[1] = sel.pipelineByClose(ctx, s, o.PipelineGrain, o.PipelinePeriods)
		}
	})
	run(func() { ov.Funnel, errs[2] = sel.funnel(ctx, s) })
	total, err := sel.compute(ctx, s, totalDimension())
	if err == nil {
		ov.KPIs = total[0].KPIs
		ov.Attainment, err = sel.attainmentList(ctx, s)
	}
	if err == nil {
		ov.KPIs.ForecastAccuracy, err = sel.forecastAccuracy(ctx, s, p, f, ov.KPIs)
	}
	errs[3] = err
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Overview{}, err
	}
	return ov, nil
}

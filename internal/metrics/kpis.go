// Package metrics computes the sales KPIs of the glossary in
// docs/kpis.md, the funnel, performer comparison and chart series, over the
// store's data and within the principal's visibility. Every number is
// aggregated in the database by set-based SQL (queries.sql), a handful of
// queries per report whatever the number of deals.
package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// KPIs are the glossary's KPIs over one selection. Money is in the
// corporate currency, as a decimal string in JSON. Ratios are fractions.
// A pointer is null when the KPI is undefined (nothing to divide by) or
// does not apply to the filter (see docs/kpis.md).
type KPIs struct {
	Period      string    `json:"period"`       // canonical fiscal period, or "all"
	PeriodStart *crm.Date `json:"period_start"` // first day (null for all time)
	PeriodEnd   *crm.Date `json:"period_end"`   // last day (null for all time)
	Currency    string    `json:"currency"`     // the corporate currency

	WonAmount decimal.Decimal `json:"won_amount"`
	WonCount  int64           `json:"won_count"`
	LostCount int64           `json:"lost_count"`
	OpenCount int64           `json:"open_count"`
	WinRate   *float64        `json:"win_rate"`

	CohortCount     int64    `json:"cohort_count"`
	CohortWonCount  int64    `json:"cohort_won_count"`
	CohortCloseRate *float64 `json:"cohort_close_rate"`

	AverageDealSize       *decimal.Decimal `json:"average_deal_size"`
	AverageSalesCycleDays *float64         `json:"average_sales_cycle_days"`
	MedianSalesCycleDays  *float64         `json:"median_sales_cycle_days"`
	AverageLostCycleDays  *float64         `json:"average_lost_cycle_days"`
	MedianLostCycleDays   *float64         `json:"median_lost_cycle_days"`

	Quota               *decimal.Decimal `json:"quota"`
	QuotaAttainment     *float64         `json:"quota_attainment"`
	QuotaCarryingReps   int64            `json:"quota_carrying_reps"`
	RepsAtQuota         int64            `json:"reps_at_quota"`
	QuotaAttainmentRate *float64         `json:"quota_attainment_rate"`

	OpenPipeline     decimal.Decimal  `json:"open_pipeline"`
	WeightedPipeline decimal.Decimal  `json:"weighted_pipeline"`
	PipelineCoverage *float64         `json:"pipeline_coverage"`
	PipelineVelocity *decimal.Decimal `json:"pipeline_velocity"`

	LeadResponse      *LeadResponse     `json:"lead_response"`
	LeadConversion    *LeadConversion   `json:"lead_conversion"`
	TimeSpentSelling  *TimeSpentSelling `json:"time_spent_selling"`
	MeetingsPerSeller *float64          `json:"meetings_per_seller"`

	NewCustomers            *int64           `json:"new_customers"`
	Costs                   *decimal.Decimal `json:"costs"`
	CustomerAcquisitionCost *decimal.Decimal `json:"customer_acquisition_cost"`

	SalesGrowth *SalesGrowth `json:"sales_growth"`

	ForecastAccuracy *ForecastAccuracy `json:"forecast_accuracy"`

	// UnconvertedAmounts counts the amounts (deals, quotas, costs) left out
	// of the money above because their currency had no rate on their day.
	UnconvertedAmounts int64 `json:"unconverted_amounts"`
}

// ForecastAccuracy compares the forecast recorded in the first daily
// snapshot taken within an ended period with the amount won in it.
type ForecastAccuracy struct {
	Method      string   `json:"method"`
	SnapshotDay crm.Date `json:"snapshot_day"`
	Forecast    float64  `json:"forecast"`
	Actual      float64  `json:"actual"`
	ErrorPct    float64  `json:"error_pct"`     // (actual − forecast) ÷ actual × 100: positive = under-forecast
	AbsErrorPct float64  `json:"abs_error_pct"` // its absolute value
}

// AccuracyMethod is the forecasting method the KPI measures: the
// history-weighted pipeline, the default forecast (see docs/forecasting.md).
const AccuracyMethod = "history_weighted"

// LeadResponse is the time from a lead's creation to the first sales
// activity on it, over leads created in the period.
type LeadResponse struct {
	Leads          int64    `json:"leads"`
	Responded      int64    `json:"responded"`
	MedianMinutes  *float64 `json:"median_minutes"`
	Within5Minutes *float64 `json:"within_5_minutes"` // share of all leads
	Within1Hour    *float64 `json:"within_1_hour"`    // share of all leads
}

// LeadConversion follows the leads created in the period.
type LeadConversion struct {
	Leads                  int64    `json:"leads"`
	Qualified              int64    `json:"qualified"`
	Opportunities          int64    `json:"opportunities"`
	Won                    int64    `json:"won"`
	LeadToQualified        *float64 `json:"lead_to_qualified"`
	QualifiedToOpportunity *float64 `json:"qualified_to_opportunity"`
	OpportunityToWon       *float64 `json:"opportunity_to_won"`
	LeadToWon              *float64 `json:"lead_to_won"`
	Demos                  int64    `json:"demos"`
	Sales                  int64    `json:"sales"`
	LeadToDemo             *float64 `json:"lead_to_demo"`
	DemoToSale             *float64 `json:"demo_to_sale"`
}

// TimeSpentSelling is the logged activity of the period.
type TimeSpentSelling struct {
	Share                   *float64         `json:"share"` // selling minutes ÷ all logged minutes
	SellingMinutes          int64            `json:"selling_minutes"`
	OtherMinutes            int64            `json:"other_minutes"`
	Sellers                 int64            `json:"sellers"` // owners of at least one selling activity
	Days                    int64            `json:"days"`    // elapsed days of the period
	CallsPerSellerPerDay    *float64         `json:"calls_per_seller_per_day"`
	EmailsPerSellerPerDay   *float64         `json:"emails_per_seller_per_day"`
	MeetingsPerSellerPerDay *float64         `json:"meetings_per_seller_per_day"`
	Activities              map[string]int64 `json:"activities"` // count by kind
}

// SalesGrowth compares the won amount with earlier periods.
type SalesGrowth struct {
	PreviousPeriod       string          `json:"previous_period"`
	PreviousWonAmount    decimal.Decimal `json:"previous_won_amount"`
	VsPreviousPeriod     *float64        `json:"vs_previous_period"`
	SamePeriodLastYear   string          `json:"same_period_last_year"`
	LastYearWonAmount    decimal.Decimal `json:"last_year_won_amount"`
	VsSamePeriodLastYear *float64        `json:"vs_same_period_last_year"`
}

// Slice is the KPIs of one value of a dimension.
type Slice struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	KPIs  KPIs   `json:"kpis"`
}

// Compute returns the KPIs of the deals, leads and activities the principal
// may see that pass the filter.
func Compute(ctx context.Context, s *store.Store, p crm.Principal, f Filter) (KPIs, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return KPIs{}, err
	}
	out, err := sel.compute(ctx, s, totalDimension())
	if err != nil {
		return KPIs{}, err
	}
	k := out[0].KPIs
	if k.ForecastAccuracy, err = sel.forecastAccuracy(ctx, s, p, f, k); err != nil {
		return KPIs{}, err
	}
	return k, nil
}

// ComputeBy returns the KPIs per value of a dimension (see Dimensions),
// largest won amount first. Additive KPIs (counts and money) of the slices
// add up to Compute's, except by product when deals have several products
// (such a deal is in each product's slice).
func ComputeBy(ctx context.Context, s *store.Store, p crm.Principal, f Filter, dim string) ([]Slice, error) {
	sel, err := resolve(ctx, s, p, f)
	if err != nil {
		return nil, err
	}
	d, err := sel.dimension(ctx, s, dim)
	if err != nil {
		return nil, err
	}
	return sel.compute(ctx, s, d)
}

// oppFacts is one row of the opp-facts query.
type oppFacts struct {
	wonCount, wonConverted, lostCount, openCount int64
	wonAmount, openAmount, weighted              decimal.Decimal
	cohort, cohortWon                            int64
	avgCycle, medCycle, avgLost, medLost         *float64
	prevWon, lyWon                               decimal.Decimal
	unconverted                                  int64
}

type actCell struct {
	count, minutes int64
}

// raw is what the queries return for one slice.
type raw struct {
	opp   oppFacts
	wonBy map[int64]decimal.Decimal // won in the period by owner
	acts  map[int64]map[string]actCell
	first *timeRange
	lead  *leadFacts
}

type leadFacts struct {
	leads, responded                   int64
	median                             *float64
	in5, in60                          int64
	qualified, opps, won, demos, sales int64
}

func (sel *selection) compute(ctx context.Context, s *store.Store, d *dimension) ([]Slice, error) {
	out, err := sel.computeAll(ctx, s, []*dimension{d})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// computeAll computes the slices of each of ds. With one dimension, each
// query groups by its key. With several, which must all follow the owner
// (the total, rep, team, region), the data is read once for all of them:
// the deals' counts and money and the activities per owner, added up in
// Go into every dimension's slices (sums of exact decimals and counts: the
// same numbers), and what does not add up, the cycles' averages and
// medians and the leads' facts (a median response time), by one query
// grouping by every dimension at once (GROUPING SETS), so that each
// slice's medians are still its own. The won amounts per owner, which
// quota attainment needs, come with the deals.
func (sel *selection) computeAll(ctx context.Context, s *store.Store, ds []*dimension) ([][]Slice, error) {
	multi := len(ds) > 1
	if multi {
		for _, d := range ds {
			if !d.people {
				return nil, fmt.Errorf("metrics: slicing by %q in one pass with other dimensions: it does not follow the owner", d.name)
			}
		}
	}
	bys := make([]map[string]*raw, len(ds))
	gets := make([]func(string) *raw, len(ds))
	for i, d := range ds {
		by := map[string]*raw{}
		bys[i] = by
		gets[i] = func(k string) *raw {
			r := by[k]
			if r == nil {
				r = &raw{wonBy: map[int64]decimal.Decimal{}, acts: map[int64]map[string]actCell{}}
				by[k] = r
			}
			return r
		}
		if d.name == "" {
			gets[i]("")
		}
	}
	// Which facts apply to which dimension's slices.
	quotasApply := make([]bool, len(ds))
	actsApply := make([]bool, len(ds))
	leadsApply := make([]bool, len(ds))
	anyQuotas, anyActs := false, false
	var leadDims []int
	for i, d := range ds {
		quotasApply[i] = sel.period != nil && d.people && sel.f.ownerOnly()
		actsApply[i] = sel.f.applies(entActivity) && d.keys[entActivity].expr != ""
		leadsApply[i] = sel.f.applies(entLead) && d.keys[entLead].expr != ""
		anyQuotas, anyActs = anyQuotas || quotasApply[i], anyActs || actsApply[i]
		if leadsApply[i] {
			leadDims = append(leadDims, i)
		}
	}
	// The activities and the leads are read beside the deals, each on a
	// connection of its own: the engines keep both cores busier that way
	// (see docs/kpis.md, Speed). Their rows go into the slices afterwards.
	var wg sync.WaitGroup
	var actRows []actRow
	var leadRows []leadRow
	var actErr, leadErr error
	if anyActs {
		d := ds[0]
		if multi {
			d = totalDimension() // per owner and kind, rolled up below
		}
		wg.Go(func() { actRows, actErr = sel.activities(ctx, s, d) })
	}
	lds := make([]*dimension, len(leadDims))
	for j, i := range leadDims {
		lds[j] = ds[i]
	}
	if len(lds) > 0 {
		wg.Go(func() { leadRows, leadErr = sel.leads(ctx, s, lds) })
	}
	var quotas map[int64]decimal.Decimal
	var newCustomers *int64
	var costs *decimal.Decimal
	unconvertedExtra := int64(0)
	err := func() error {
		if multi {
			// The deals per owner, added up into every slice, and the cycles
			// (averages and medians) of every slice, which do not add up.
			byOwner, err := sel.oppFactsByOwner(ctx, s)
			if err != nil {
				return err
			}
			won := make(map[int64]decimal.Decimal, len(byOwner))
			for owner, o := range byOwner {
				won[owner] = o.wonAmount
				for i, d := range ds {
					gets[i](sel.ownerKey(d, owner)).opp.add(o)
				}
			}
			if sel.period != nil && sel.f.ownerOnly() {
				sel.wonByOwnerTotal = won // what won-by-owner reads: the won deals of the period
			}
			for _, by := range bys {
				for _, r := range by {
					r.opp.weighted = r.opp.weighted.Round(2) // as opp-facts rounds its sum
				}
			}
			if err := sel.cycles(ctx, s, ds, gets); err != nil {
				return err
			}
		} else if err := sel.oppFacts(ctx, s, ds[0], gets[0]); err != nil {
			return err
		}
		if anyQuotas {
			if !multi { // with several, sel.wonByOwnerTotal came with the deals per owner
				d, get := ds[0], gets[0]
				if err := sel.wonByOwner(ctx, s, d, get); err != nil {
					return err
				}
				if d.name == "" {
					sel.wonByOwnerTotal = get("").wonBy
				}
			}
			var unconv int64
			var err error
			if quotas, unconv, err = sel.quotas(ctx, s); err != nil {
				return err
			}
			unconvertedExtra += unconv
			for i, d := range ds {
				if quotasApply[i] {
					for uid := range quotas {
						gets[i](d.userKey(sel.users[uid]))
					}
				}
			}
		}
		// Acquisition cost: organisation-wide costs over organisation-wide new
		// customers, so only for the whole organisation, unsliced.
		if slices.ContainsFunc(ds, func(d *dimension) bool { return d.name == "" }) && sel.seesAll && sel.f.ownerOnly() && !sel.f.peopleFiltered() {
			q := render("new-customers", nil, sel.timeParams(nil))
			var n int64
			if err := s.DB().QueryRowContext(ctx, q.sql, q.args...).Scan(&n); err != nil {
				return fmt.Errorf("kpi: new customers: %w", err)
			}
			c, unconv, found, err := sel.costs(ctx, s)
			if err != nil {
				return err
			}
			unconvertedExtra += unconv
			newCustomers = &n
			if found {
				costs = &c
			}
		}
		return nil
	}()
	wg.Wait()
	if err := errors.Join(err, actErr, leadErr); err != nil {
		return nil, err
	}
	for _, a := range actRows {
		if !multi {
			gets[0](a.k).addActivity(a.owner, a.kind, a.c, a.tr)
			continue
		}
		for i, d := range ds {
			if actsApply[i] {
				gets[i](sel.ownerKey(d, a.owner)).addActivity(a.owner, a.kind, a.c, a.tr)
			}
		}
	}
	for _, l := range leadRows {
		gets[leadDims[l.set]](l.k).lead = &l.facts
	}

	all := make([][]Slice, len(ds))
	for i, d := range ds {
		out := make([]Slice, 0, len(bys[i]))
		for k, r := range bys[i] {
			key, label := d.public(k)
			kp := sel.assemble(r, actsApply[i], leadsApply[i])
			if quotasApply[i] {
				if multi {
					r.wonBy = sel.wonByOwnerTotal
				}
				sel.attainment(&kp, r, quotas, func(uid int64) bool { return d.userKey(sel.users[uid]) == k })
			}
			if d.name == "" {
				kp.UnconvertedAmounts += unconvertedExtra
				if newCustomers != nil {
					kp.NewCustomers, kp.Costs = newCustomers, costs
					if costs != nil && *newCustomers > 0 {
						v := costs.Div(decimal.NewFromInt(*newCustomers)).Round(2)
						kp.CustomerAcquisitionCost = &v
					}
				}
			}
			out = append(out, Slice{Key: key, Label: label, KPIs: kp})
		}
		slices.SortFunc(out, func(a, b Slice) int {
			if c := b.KPIs.WonAmount.Cmp(a.KPIs.WonAmount); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.Key, b.Key))
		})
		all[i] = out
	}
	return all, nil
}

// parts are the template parts of a query over ent sliced by d.
func (sel *selection) parts(d *dimension, ent entity) (map[string]string, map[string]any) {
	return sel.partsAll([]*dimension{d}, ent, false)
}

// partsAll are the template parts of a query over ent sliced by every
// dimension of ds in one pass (see queries.sql); with one dimension, the
// query groups by its key alone. late (the leads query, several dimensions
// that follow the owner): the query's first step keeps the owner, and the
// keys are joined on at its end ({{late_keys}}, {{late_join}}).
func (sel *selection) partsAll(ds []*dimension, ent entity, late bool) (map[string]string, map[string]any) {
	where, params, _ := sel.where(ent)
	parts := map[string]string{"where": where, "late_keys": "", "late_join": "",
		"rates": queries["rates"], "converted": queries["converted"], "open_in_period": sel.openInPeriod()}
	if len(ds) == 1 {
		k := ds[0].keys[ent]
		parts["key"], parts["join"] = k.expr, k.join
		parts["keys"], parts["key_cols"], parts["set_key"], parts["group"] = k.expr+" AS k", "l.k", "0, k", "k"
		return parts, sel.timeParams(params)
	}
	var keys, joins, sets, setCase, keyCase []string
	for i, d := range ds {
		k := d.keys[ent]
		c := "k" + strconv.Itoa(i)
		keys = append(keys, k.expr+" AS "+c)
		if k.join != "" {
			joins = append(joins, k.join)
		}
		sets = append(sets, "("+c+")")
		if i < len(ds)-1 {
			setCase = append(setCase, fmt.Sprintf("WHEN GROUPING(%s) = 0 THEN %d", c, i))
			keyCase = append(keyCase, fmt.Sprintf("WHEN GROUPING(%s) = 0 THEN %s", c, c))
		}
	}
	last := len(ds) - 1
	parts["group"] = "GROUPING SETS (" + strings.Join(sets, ", ") + ")"
	parts["set_key"] = fmt.Sprintf("CASE %s ELSE %d END, CASE %s ELSE k%d END",
		strings.Join(setCase, " "), last, strings.Join(keyCase, " "), last)
	if late {
		owner := ownerColumns[ent]
		parts["keys"], parts["key_cols"], parts["join"] = owner, owner, ""
		parts["late_keys"], parts["late_join"] = strings.Join(keys, ", ")+",", strings.Join(joins, "\n")
		return parts, sel.timeParams(params)
	}
	parts["keys"], parts["join"] = strings.Join(keys, ", "), strings.Join(joins, "\n")
	return parts, sel.timeParams(params)
}

// openInPeriod selects open deals expected to close in the period (all of
// them for all time).
func (sel *selection) openInPeriod() string {
	if sel.period == nil {
		return "TRUE"
	}
	return "o.expected_close >= CAST(:from AS DATE) AND o.expected_close < CAST(:to AS DATE)"
}

// oppParts are the template parts and params of the deals' facts of d.
//
// {{relevant}} narrows the deals to those some fact counts: open and
// expected in the period, closed in it, won in the previous period or the
// same period last year, created in it. A slice exists, though, for every
// owner, team, ... with a deal open or closed since the same period last
// year or created in the period ({{with_slice}}, the deals a slice's row
// was always computed over), even when all its facts are zero; so only the
// total, whose one slice always exists, and the per-owner facts, which
// read the owners of {{with_slice}} on their own, are computed over the
// narrower set.
func (sel *selection) oppParts(d *dimension) (map[string]string, map[string]any) {
	parts, params := sel.parts(d, entOpp)
	parts["opp_base"] = queries["opp-base"]
	parts["relevant"], parts["with_slice"] = "TRUE", "TRUE"
	prev, ly := sel.from, sel.from
	prevTo, lyTo := sel.from, sel.from
	if sel.period != nil {
		pp, lp := sel.cal.Prev(*sel.period), sel.cal.SameLastYear(*sel.period)
		prev, prevTo, ly, lyTo = pp.Start, pp.End, lp.Start, lp.End
		parts["with_slice"] = "NOT o.is_closed OR (o.closed_at >= CAST(:ly_from AS DATE) AND o.closed_at < CAST(:to AS DATE))" +
			" OR (o.created_at >= CAST(:from_ts AS TIMESTAMP) AND o.created_at < CAST(:to_ts AS TIMESTAMP))"
		parts["relevant"] = parts["with_slice"]
		if d.name == "" {
			parts["relevant"] = "(NOT o.is_closed AND " + sel.openInPeriod() + ")" +
				" OR (o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE))" +
				" OR (o.is_won AND o.closed_at >= CAST(:prev_from AS DATE) AND o.closed_at < CAST(:prev_to AS DATE))" +
				" OR (o.is_won AND o.closed_at >= CAST(:ly_from AS DATE) AND o.closed_at < CAST(:ly_to AS DATE))" +
				" OR (o.created_at >= CAST(:from_ts AS TIMESTAMP) AND o.created_at < CAST(:to_ts AS TIMESTAMP))"
		}
	}
	params["prev_from"], params["prev_to"], params["ly_from"], params["ly_to"] = prev, prevTo, ly, lyTo
	return parts, params
}

// oppFacts reads the deals' facts per slice of d.
func (sel *selection) oppFacts(ctx context.Context, s *store.Store, d *dimension, get func(string) *raw) error {
	parts, params := sel.oppParts(d)
	q := render("opp-facts", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("kpi: deals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var o oppFacts
		if err := rows.Scan(&k, &o.wonCount, scanMoney(&o.wonAmount), &o.wonConverted, &o.lostCount, &o.openCount,
			scanMoney(&o.openAmount), scanMoney(&o.weighted), &o.cohort, &o.cohortWon,
			nullFloat{&o.avgCycle}, nullFloat{&o.medCycle}, nullFloat{&o.avgLost}, nullFloat{&o.medLost},
			scanMoney(&o.prevWon), scanMoney(&o.lyWon), &o.unconverted); err != nil {
			return fmt.Errorf("kpi: deals: %w", err)
		}
		get(k).opp = o
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("kpi: deals: %w", err)
	}
	return nil
}

// oppFactsByOwner reads the additive deals' facts (counts and money) per
// owner, with a row of zeros for each owner with no deal that counts but
// deals that make a slice (see oppParts); the weighted pipeline is not
// rounded yet.
func (sel *selection) oppFactsByOwner(ctx context.Context, s *store.Store) (map[int64]oppFacts, error) {
	parts, params := sel.oppParts(totalDimension())
	q := render("opp-facts-by-owner", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: deals: %w", err)
	}
	defer rows.Close()
	out := map[int64]oppFacts{}
	for rows.Next() {
		var owner int64
		var o oppFacts
		if err := rows.Scan(&owner, &o.wonCount, scanMoney(&o.wonAmount), &o.wonConverted, &o.lostCount, &o.openCount,
			scanMoney(&o.openAmount), scanMoney(&o.weighted), &o.cohort, &o.cohortWon,
			scanMoney(&o.prevWon), scanMoney(&o.lyWon), &o.unconverted); err != nil {
			return nil, fmt.Errorf("kpi: deals: %w", err)
		}
		sum := out[owner] // an owner may come twice: with facts, and with zeros
		sum.add(o)
		out[owner] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi: deals: %w", err)
	}
	return out, nil
}

// add adds the additive facts of o (counts and money, not the cycles).
func (f *oppFacts) add(o oppFacts) {
	f.wonCount += o.wonCount
	f.wonConverted += o.wonConverted
	f.lostCount += o.lostCount
	f.openCount += o.openCount
	f.wonAmount = f.wonAmount.Add(o.wonAmount)
	f.openAmount = f.openAmount.Add(o.openAmount)
	f.weighted = f.weighted.Add(o.weighted)
	f.cohort += o.cohort
	f.cohortWon += o.cohortWon
	f.prevWon = f.prevWon.Add(o.prevWon)
	f.lyWon = f.lyWon.Add(o.lyWon)
	f.unconverted += o.unconverted
}

// cycles reads the sales and lost cycles (averages and medians) of every
// slice of ds, in one query.
func (sel *selection) cycles(ctx context.Context, s *store.Store, ds []*dimension, gets []func(string) *raw) error {
	parts, params := sel.partsAll(ds, entOpp, false)
	q := render("opp-cycles", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("kpi: cycles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var set int
		var k string
		var avg, med, avgLost, medLost *float64
		if err := rows.Scan(&set, &k, nullFloat{&avg}, nullFloat{&med}, nullFloat{&avgLost}, nullFloat{&medLost}); err != nil {
			return fmt.Errorf("kpi: cycles: %w", err)
		}
		o := &gets[set](k).opp
		o.avgCycle, o.medCycle, o.avgLost, o.medLost = avg, med, avgLost, medLost
	}
	return rows.Err()
}

func (sel *selection) wonByOwner(ctx context.Context, s *store.Store, d *dimension, get func(string) *raw) error {
	parts, params := sel.parts(d, entOpp)
	q := render("won-by-owner", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("kpi: won by owner: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var owner, unconv int64
		var won decimal.Decimal
		if err := rows.Scan(&k, &owner, scanMoney(&won), &unconv); err != nil {
			return fmt.Errorf("kpi: won by owner: %w", err)
		}
		get(k).wonBy[owner] = won
	}
	return rows.Err()
}

// actRow is one slice's activities of one owner and kind.
type actRow struct {
	k     string
	owner int64
	kind  string
	c     actCell
	tr    timeRange
}

// activities reads the activities of the period per slice of d, owner and
// kind.
func (sel *selection) activities(ctx context.Context, s *store.Store, d *dimension) ([]actRow, error) {
	parts, params := sel.parts(d, entActivity)
	q := render("activities", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: activities: %w", err)
	}
	defer rows.Close()
	var out []actRow
	for rows.Next() {
		var a actRow
		if err := rows.Scan(&a.k, &a.owner, &a.kind, &a.c.count, &a.c.minutes, &a.tr.first, &a.tr.last); err != nil {
			return nil, fmt.Errorf("kpi: activities: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// addActivity adds one owner's activities of one kind to the slice.
func (r *raw) addActivity(owner int64, kind string, c actCell, tr timeRange) {
	if r.acts[owner] == nil {
		r.acts[owner] = map[string]actCell{}
	}
	r.acts[owner][kind] = c
	if r.first == nil {
		r.first = &tr
	} else {
		r.first.widen(tr)
	}
}

// leadRow is the leads' facts of one slice of the set-th dimension.
type leadRow struct {
	set   int
	k     string
	facts leadFacts
}

// leads reads the leads' facts of every slice of ds, in one query.
func (sel *selection) leads(ctx context.Context, s *store.Store, ds []*dimension) ([]leadRow, error) {
	parts, params := sel.partsAll(ds, entLead, true)
	parts["deal_scope"] = sel.visibleCond("o.owner_id")
	q := render("leads", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("kpi: leads: %w", err)
	}
	defer rows.Close()
	var out []leadRow
	for rows.Next() {
		var r leadRow
		l := &r.facts
		if err := rows.Scan(&r.set, &r.k, &l.leads, &l.responded, nullFloat{&l.median}, &l.in5, &l.in60,
			&l.qualified, &l.opps, &l.won, &l.demos, &l.sales); err != nil {
			return nil, fmt.Errorf("kpi: leads: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ratio is a ÷ b, or nil when b is zero.
func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func ptr[T any](v T) *T { return &v }

// growth is (now − before) ÷ before, nil when before is zero.
func growth(now, before decimal.Decimal) *float64 {
	if before.IsZero() {
		return nil
	}
	v, _ := now.Sub(before).Div(before).Float64()
	return &v
}

// assemble turns one slice's query results into KPIs.
func (sel *selection) assemble(r *raw, acts, leads bool) KPIs {
	o := r.opp
	k := KPIs{Period: sel.periodName(), Currency: sel.corp,
		WonAmount: o.wonAmount.Round(2), WonCount: o.wonCount, LostCount: o.lostCount, OpenCount: o.openCount,
		WinRate:     ratio(o.wonCount, o.wonCount+o.lostCount),
		CohortCount: o.cohort, CohortWonCount: o.cohortWon, CohortCloseRate: ratio(o.cohortWon, o.cohort),
		AverageSalesCycleDays: o.avgCycle, MedianSalesCycleDays: o.medCycle,
		AverageLostCycleDays: o.avgLost, MedianLostCycleDays: o.medLost,
		OpenPipeline: o.openAmount.Round(2), WeightedPipeline: o.weighted.Round(2),
		UnconvertedAmounts: o.unconverted,
	}
	if sel.period != nil {
		start := crm.NewDate(sel.period.Start)
		end := crm.NewDate(sel.period.End.AddDate(0, 0, -1))
		k.PeriodStart, k.PeriodEnd = &start, &end
		prev, ly := sel.cal.Prev(*sel.period), sel.cal.SameLastYear(*sel.period)
		k.SalesGrowth = &SalesGrowth{
			PreviousPeriod: prev.String(), PreviousWonAmount: o.prevWon.Round(2), VsPreviousPeriod: growth(o.wonAmount, o.prevWon),
			SamePeriodLastYear: ly.String(), LastYearWonAmount: o.lyWon.Round(2), VsSamePeriodLastYear: growth(o.wonAmount, o.lyWon),
		}
	}
	if o.wonConverted > 0 {
		v := o.wonAmount.Div(decimal.NewFromInt(o.wonConverted)).Round(2)
		k.AverageDealSize = &v
	}
	// Velocity: open deals × average deal size × win rate ÷ average cycle.
	if k.AverageDealSize != nil && k.WinRate != nil && o.avgCycle != nil && *o.avgCycle > 0 {
		v := k.AverageDealSize.Mul(decimal.NewFromInt(o.openCount)).
			Mul(decimal.NewFromFloat(*k.WinRate)).Div(decimal.NewFromFloat(*o.avgCycle)).Round(2)
		k.PipelineVelocity = &v
	}
	if acts {
		sel.assembleActivities(&k, r)
	}
	if leads {
		l := r.lead
		if l == nil {
			l = &leadFacts{}
		}
		k.LeadResponse = &LeadResponse{Leads: l.leads, Responded: l.responded, MedianMinutes: l.median,
			Within5Minutes: ratio(l.in5, l.leads), Within1Hour: ratio(l.in60, l.leads)}
		k.LeadConversion = &LeadConversion{Leads: l.leads, Qualified: l.qualified, Opportunities: l.opps, Won: l.won,
			LeadToQualified: ratio(l.qualified, l.leads), QualifiedToOpportunity: ratio(l.opps, l.qualified),
			OpportunityToWon: ratio(l.won, l.opps), LeadToWon: ratio(l.won, l.leads),
			Demos: l.demos, Sales: l.sales, LeadToDemo: ratio(l.demos, l.leads), DemoToSale: ratio(l.sales, l.demos)}
	}
	return k
}

// sellingKinds are the activity kinds that count as selling.
func selling(kind string) bool { return crm.ActivityKind(kind).Selling() }

func meeting(kind string) bool {
	return kind == string(crm.ActivityMeeting) || kind == string(crm.ActivityDemo)
}

func (sel *selection) assembleActivities(k *KPIs, r *raw) {
	t := &TimeSpentSelling{Activities: map[string]int64{}}
	var calls, emails, meetings int64
	for _, kinds := range r.acts {
		isSeller := false
		for kind, c := range kinds {
			t.Activities[kind] += c.count
			if selling(kind) {
				t.SellingMinutes += c.minutes
				isSeller = true
			} else {
				t.OtherMinutes += c.minutes
			}
			switch {
			case kind == string(crm.ActivityCall):
				calls += c.count
			case kind == string(crm.ActivityEmail):
				emails += c.count
			}
			if meeting(kind) {
				meetings += c.count
			}
		}
		if isSeller {
			t.Sellers++
		}
	}
	t.Share = ratio(t.SellingMinutes, t.SellingMinutes+t.OtherMinutes)
	t.Days = sel.elapsedDays(r.first)
	perSellerDay := func(n int64) *float64 { return ratio(n, t.Sellers*t.Days) }
	t.CallsPerSellerPerDay, t.EmailsPerSellerPerDay, t.MeetingsPerSellerPerDay = perSellerDay(calls), perSellerDay(emails), perSellerDay(meetings)
	k.TimeSpentSelling = t
	k.MeetingsPerSeller = ratio(meetings, t.Sellers)
}

// attainment fills the quota KPIs of a slice from its owners' won amounts
// and the quotas of its quota-carrying users (those in the slice).
func (sel *selection) attainment(k *KPIs, r *raw, quotas map[int64]decimal.Decimal, inSlice func(int64) bool) {
	total, won := decimal.Zero, decimal.Zero
	for uid, q := range quotas {
		if !inSlice(uid) || !q.IsPositive() {
			continue
		}
		w := r.wonBy[uid]
		total, won = total.Add(q), won.Add(w)
		k.QuotaCarryingReps++
		if w.GreaterThanOrEqual(q) {
			k.RepsAtQuota++
		}
	}
	if k.QuotaCarryingReps == 0 {
		return
	}
	k.Quota = ptr(total)
	a, _ := won.Div(total).Float64()
	k.QuotaAttainment = &a
	k.QuotaAttainmentRate = ratio(k.RepsAtQuota, k.QuotaCarryingReps)
	if remaining := total.Sub(won); remaining.IsPositive() {
		c, _ := k.OpenPipeline.Div(remaining).Float64()
		k.PipelineCoverage = &c
	}
}

// forecastAccuracy is nil but for an ended period without other filters
// (snapshots are kept per owner only), when a snapshot was taken within the
// period and something was won (else the error is undefined).
func (sel *selection) forecastAccuracy(ctx context.Context, s *store.Store, p crm.Principal, f Filter, k KPIs) (*ForecastAccuracy, error) {
	if f.Period == "" || (f != Filter{Period: f.Period, AsOf: f.AsOf}) || sel.to.After(sel.today) {
		return nil, nil
	}
	snaps, err := s.ForecastSnapshots(ctx, p, k.Period)
	if err != nil {
		return nil, err
	}
	actual := k.WonAmount.InexactFloat64()
	for _, sn := range snaps { // oldest first
		if sn.Method != AccuracyMethod || sn.TakenOn.Before(k.PeriodStart.Time) {
			continue
		}
		if actual == 0 {
			return nil, nil
		}
		e := (actual - sn.Forecast) / actual * 100
		r2 := func(v float64) float64 { return math.Round(v*100) / 100 }
		return &ForecastAccuracy{Method: sn.Method, SnapshotDay: sn.TakenOn, Forecast: r2(sn.Forecast), Actual: actual, ErrorPct: r2(e), AbsErrorPct: r2(math.Abs(e))}, nil
	}
	return nil, nil
}

// Package metrics computes the sales KPIs of the glossary in
// docs/kpis.md, the funnel, performer comparison and chart series, over the
// store's data and within the principal's visibility. Every number is
// aggregated in the database by set-based SQL (queries.sql), a handful of
// queries per report whatever the number of deals.
package metrics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

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
	by := map[string]*raw{}
	get := func(k string) *raw {
		r := by[k]
		if r == nil {
			r = &raw{wonBy: map[int64]decimal.Decimal{}, acts: map[int64]map[string]actCell{}}
			by[k] = r
		}
		return r
	}
	unconvertedExtra := int64(0)
	if d.name == "" {
		get("")
	}
	if err := sel.oppFacts(ctx, s, d, get); err != nil {
		return nil, err
	}
	quotasApply := sel.period != nil && d.people && sel.f.ownerOnly()
	var quotas map[int64]decimal.Decimal
	if quotasApply {
		if err := sel.wonByOwner(ctx, s, d, get); err != nil {
			return nil, err
		}
		if d.name == "" {
			sel.wonByOwnerTotal = get("").wonBy
		}
		var unconv int64
		var err error
		if quotas, unconv, err = sel.quotas(ctx, s); err != nil {
			return nil, err
		}
		unconvertedExtra += unconv
		for uid := range quotas {
			get(d.userKey(sel.users[uid]))
		}
	}
	actsApply := sel.f.applies(entActivity) && d.keys[entActivity].expr != ""
	if actsApply {
		if err := sel.activities(ctx, s, d, get); err != nil {
			return nil, err
		}
	}
	leadsApply := sel.f.applies(entLead) && d.keys[entLead].expr != ""
	if leadsApply {
		if err := sel.leads(ctx, s, d, get); err != nil {
			return nil, err
		}
	}
	// Acquisition cost: organisation-wide costs over organisation-wide new
	// customers, so only for the whole organisation, unsliced.
	var newCustomers *int64
	var costs *decimal.Decimal
	if d.name == "" && sel.seesAll && sel.f.ownerOnly() && !sel.f.peopleFiltered() {
		q := render("new-customers", nil, sel.timeParams(nil))
		var n int64
		if err := s.DB().QueryRowContext(ctx, q.sql, q.args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("kpi: new customers: %w", err)
		}
		c, unconv, found, err := sel.costs(ctx, s)
		if err != nil {
			return nil, err
		}
		unconvertedExtra += unconv
		newCustomers = &n
		if found {
			costs = &c
		}
	}

	out := make([]Slice, 0, len(by))
	for k, r := range by {
		key, label := d.public(k)
		kp := sel.assemble(r, actsApply, leadsApply)
		if quotasApply {
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
	return out, nil
}

// parts are the template parts of a query over ent sliced by d.
func (sel *selection) parts(d *dimension, ent entity) (map[string]string, map[string]any) {
	where, params, _ := sel.where(ent)
	k := d.keys[ent]
	parts := map[string]string{"key": k.expr, "join": k.join, "where": where,
		"rates": queries["rates"], "converted": queries["converted"], "open_in_period": sel.openInPeriod()}
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

func (sel *selection) oppFacts(ctx context.Context, s *store.Store, d *dimension, get func(string) *raw) error {
	parts, params := sel.parts(d, entOpp)
	parts["relevant"] = "TRUE"
	prev, ly := sel.from, sel.from
	prevTo, lyTo := sel.from, sel.from
	if sel.period != nil {
		pp, lp := sel.cal.Prev(*sel.period), sel.cal.SameLastYear(*sel.period)
		prev, prevTo, ly, lyTo = pp.Start, pp.End, lp.Start, lp.End
		parts["relevant"] = "NOT o.is_closed OR (o.closed_at >= CAST(:ly_from AS DATE) AND o.closed_at < CAST(:to AS DATE))" +
			" OR (o.created_at >= CAST(:from_ts AS TIMESTAMP) AND o.created_at < CAST(:to_ts AS TIMESTAMP))"
	}
	params["prev_from"], params["prev_to"], params["ly_from"], params["ly_to"] = prev, prevTo, ly, lyTo
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

func (sel *selection) activities(ctx context.Context, s *store.Store, d *dimension, get func(string) *raw) error {
	parts, params := sel.parts(d, entActivity)
	q := render("activities", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("kpi: activities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, kind string
		var owner int64
		var c actCell
		var tr timeRange
		if err := rows.Scan(&k, &owner, &kind, &c.count, &c.minutes, &tr.first, &tr.last); err != nil {
			return fmt.Errorf("kpi: activities: %w", err)
		}
		r := get(k)
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
	return rows.Err()
}

func (sel *selection) leads(ctx context.Context, s *store.Store, d *dimension, get func(string) *raw) error {
	parts, params := sel.parts(d, entLead)
	q := render("leads", parts, params)
	rows, err := s.DB().QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("kpi: leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var l leadFacts
		if err := rows.Scan(&k, &l.leads, &l.responded, nullFloat{&l.median}, &l.in5, &l.in60,
			&l.qualified, &l.opps, &l.won, &l.demos, &l.sales); err != nil {
			return fmt.Errorf("kpi: leads: %w", err)
		}
		get(k).lead = &l
	}
	return rows.Err()
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

package forecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Query asks for the forecast of one period as a principal sees it.
type Query struct {
	Period string // FY2026-Q1 and the like; default the current quarter
	// AsOf is the day the forecast is made on, at its start: what was
	// known then. Default the book's day, or, for a period that had ended
	// by then, its first day: the forecast of a closed period is what the
	// methods said when it began, beside its actual. Never after the book's
	// day, nor on or after the period's end (the forecast would be the
	// actual).
	AsOf    time.Time
	TeamID  int64  // only this team's deals (the owner's team, with teams below it)
	By      string // "", "team" or "rep": also report each group
	WinProb bool   // train and apply the win-probability model
	// NoWait: a track record not computed yet for this book is computed
	// in the background and left out of this report (TrackRecordPending
	// says so), so that a page is never held up by a backtest, which takes
	// about a minute at a million deals. The CLI waits.
	NoWait bool
}

// Report is a period's forecast with the submitted calls beside it, and
// the answer to "will we hit the number?": the quota against what is won
// and expected, the forecast to go by, and the same point of earlier
// periods. Every amount is in Currency.
type Report struct {
	PeriodForecast
	Currency string `json:"currency"` // the corporate currency
	Target   Target `json:"target"`
	// Recommended is the forecast of the method with the best track record;
	// absent (and a note says why) without enough earlier periods.
	Recommended *Recommendation `json:"recommended,omitempty"`
	// TrackRecord is the backtest behind Recommended: every method's
	// forecasts of the latest periods of the same grain that had ended by
	// AsOf, each made as many days into its period as this one.
	TrackRecord *Backtest `json:"track_record,omitempty"`
	// TrackRecordPending: the track record is being computed (Query.NoWait);
	// ask again shortly for it and the recommendation.
	TrackRecordPending bool        `json:"track_record_pending,omitempty"`
	ToDate             []ToDate    `json:"period_to_date"` // the previous period, and the same period last year
	CallRollup         *CallRollup `json:"call_rollup,omitempty"`
	Groups             []Group     `json:"groups,omitempty"`
	Calls              []CallLine  `json:"calls"`
	Model              *WinModel   `json:"win_model,omitempty"`
	Leads              *LeadDemand `json:"leads,omitempty"` // the whole scope's leads; not with a team filter
}

// Target is the period's number for the selection (the team filter within
// what the principal may see) as of the forecast's day.
//
// The figures are the KPIs' (docs/kpis.md), so that the forecast and the
// dashboard agree on them: as of today they are the quota, attainment and
// pipeline coverage of `quarterdeck kpi` for the period and team.
type Target struct {
	// Quota is the sum of the quotas for the period of the quota-carrying
	// users in the selection, by the KPIs' quota rule; null when nobody in
	// it carries one.
	Quota         *float64 `json:"quota"`
	QuotaCarriers int      `json:"quota_carriers"`
	// Won is what counts against the quota: the quota carriers' bookings in
	// the period before the forecast's day (deals of people without a quota
	// do not count, as in the attainment KPI; with no quota, everyone's).
	Won        float64  `json:"won_to_date"`
	Gap        *float64 `json:"gap_to_quota"` // quota − won; negative once the quota is beaten
	Attainment *float64 `json:"attainment"`   // won ÷ quota
	// OpenPipeline is the open deals of the selection whose expected close
	// falls in the period (PeriodForecast.OpenInPeriod); Coverage is it ÷
	// the gap, null when nothing remains to cover.
	OpenPipeline float64  `json:"open_pipeline"`
	Coverage     *float64 `json:"pipeline_coverage"`
	// ActualAttainment is the quota carriers' actual ÷ quota, once the
	// period has ended.
	ActualAttainment *float64 `json:"actual_attainment,omitempty"`
}

// Recommendation is the forecast to go by: that of the method with the
// lowest MAPE over the track record, among those measured on the most
// periods (at least MinTrackPeriods), with that record.
type Recommendation struct {
	Estimate
	VsQuota *float64 `json:"vs_quota"` // forecast ÷ quota
	MAPE    float64  `json:"mape"`
	Bias    float64  `json:"bias_pct"` // mean signed error: positive = it under-forecast
	Periods int      `json:"periods"`  // periods the record is over
	Why     string   `json:"why"`      // the record in a sentence
}

// MinTrackPeriods is the fewest earlier periods a method must have been
// measured on to be recommended.
const MinTrackPeriods = 2

// ToDate is what was won by the same day of an earlier period: as many
// months and days into it as the forecast's day is into this one (the 15th
// of a quarter's second month: the 15th of the earlier quarter's second
// month), or its end when it is shorter.
type ToDate struct {
	Compare string   `json:"compare"` // previous_period or same_period_last_year
	Period  string   `json:"period"`
	AsOf    crm.Date `json:"as_of"`       // won before this day
	Won     float64  `json:"won_to_date"` // by then
	Total   float64  `json:"won_total"`   // in the whole period
	Change  *float64 `json:"change"`      // this period's won to date vs Won, as a fraction; null when Won is 0
}

// CallRollup sums the latest calls of the reps in the selection. A call has
// no currency of its own: commit, best case and pipeline are entered in the
// corporate currency, so the sums are in it as they stand.
type CallRollup struct {
	Currency        string   `json:"currency"`
	Reps            int      `json:"reps"`
	Commit          float64  `json:"commit"`
	BestCase        float64  `json:"best_case"`
	Pipeline        float64  `json:"pipeline"`
	CommitVsQuota   *float64 `json:"commit_vs_quota"` // ÷ quota
	BestCaseVsQuota *float64 `json:"best_case_vs_quota"`
	PipelineVsQuota *float64 `json:"pipeline_vs_quota"`
}

// Group is the forecast of one team's or rep's deals.
type Group struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	PeriodForecast
}

// CallLine is one user's latest forecast call for the period; for a
// manager, with the roll-up of their direct reports' latest commits.
type CallLine struct {
	UserID    int64                   `json:"user_id"`
	Name      string                  `json:"name"`
	Role      crm.Role                `json:"role"`
	Team      string                  `json:"team"` // the user's team: tells two people of one name apart
	ManagerID *int64                  `json:"manager_id"`
	Latest    *crm.ForecastSubmission `json:"latest"`
	Rollup    *float64                `json:"rollup_commit"`
	Versions  int64                   `json:"versions"`
}

// period resolves q.Period, or the current quarter.
func (b *Book) period(q Query) (crm.Period, error) {
	if q.Period == "" {
		return b.Calendar.PeriodOf(b.Today, crm.GrainQuarter), nil
	}
	p, err := b.Calendar.ParsePeriod(q.Period)
	if err != nil {
		return crm.Period{}, crm.Invalid("forecast", "period", err.Error())
	}
	return p, nil
}

// live is the instant of a report as of today: the moment the book was
// loaded (today's wins and changes included, as in the KPIs), or the start
// of the book's day when it is replayed as of another day (snapshots).
func (b *Book) live() time.Time {
	if !b.Now.IsZero() && day(b.Now).Equal(b.Today) {
		return b.Now
	}
	return b.Today
}

// asOf resolves q.AsOf for the period (see Query.AsOf).
func (b *Book) asOf(q Query, per crm.Period) (time.Time, error) {
	if q.AsOf.IsZero() {
		if !per.End.After(b.Today) {
			return per.Start, nil
		}
		return b.live(), nil
	}
	t := day(q.AsOf)
	if t.After(b.Today) {
		return t, crm.Invalid("forecast", "as_of", fmt.Sprintf("%s is after today, %s: a forecast knows only what has happened", crm.NewDate(t), crm.NewDate(b.Today)))
	}
	if !t.Before(per.End) {
		return t, crm.Invalid("forecast", "as_of", fmt.Sprintf("%s ended before %s: the forecast would be the actual; give a day before %s", per, crm.NewDate(t), crm.NewDate(per.End)))
	}
	return t, nil
}

// Report runs the methods for q over the book and adds the calls p may
// see, the quota, the recommended forecast and the period-to-date
// comparisons. model is the win-probability model trained as of the book's
// day, or nil (then q.WinProb trains one); a forecast as of an earlier day
// uses one trained as of that day, as it would have been.
func (b *Book) Report(ctx context.Context, s *store.Store, p crm.Principal, q Query, model *WinModel) (*Report, error) {
	per, err := b.period(q)
	if err != nil {
		return nil, err
	}
	asOf, err := b.asOf(q, per)
	if err != nil {
		return nil, err
	}
	if q.By != "" && q.By != "team" && q.By != "rep" {
		return nil, crm.Invalid("forecast", "by", fmt.Sprintf("%q is not team or rep", q.By))
	}
	// The store's visibility rules for filters: a team outside p's scope
	// is not found, like one that does not exist; figures by rep are not
	// for a role that sees aggregates only.
	of, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if q.By == "rep" {
		if err := of.CheckIndividuals("forecast by rep"); err != nil {
			return nil, err
		}
	}
	dir, err := loadDirectory(ctx, s)
	if err != nil {
		return nil, err
	}
	var keep func(*Deal) bool
	var under map[int64]bool // the team filter's teams; nil for all
	if q.TeamID != 0 {
		if _, ok := dir.teams[q.TeamID]; !ok || !of.Team(q.TeamID) {
			return nil, fmt.Errorf("team %d: %w", q.TeamID, crm.ErrNotFound)
		}
		under = dir.subtree(q.TeamID)
		keep = func(d *Deal) bool { return under[d.TeamID] }
	}
	if (q.WinProb || model != nil) && (model == nil || !model.TrainedAt.Equal(day(asOf))) {
		model = b.winModelAt(day(asOf))
	}
	r := Request{Period: per, AsOf: asOf, Keep: keep, Model: model, Series: true}
	out := &Report{PeriodForecast: b.Forecast(r), Currency: b.Currency, Model: model, Calls: []CallLine{}}
	if q.By != "" {
		group, name := func(d *Deal) int64 { return d.TeamID }, dir.teams
		if q.By == "rep" {
			group, name = func(d *Deal) int64 { return d.OwnerID }, dir.names
		}
		r.Series = false // one model per small group is noise; the whole has it
		for id, pf := range b.ForecastBy(r, group) {
			out.Groups = append(out.Groups, Group{ID: id, Name: name[id], PeriodForecast: *pf})
		}
		sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Name < out.Groups[j].Name })
	}
	if q.TeamID == 0 {
		leadsAsOf := q.AsOf
		if leadsAsOf.IsZero() {
			leadsAsOf = b.Today
		}
		out.Leads, err = ForecastLeads(ctx, s, p, per, leadsAsOf)
		if errors.Is(err, crm.ErrInvalid) {
			out.Notes = append(out.Notes, "leads: "+err.Error())
		} else if err != nil {
			return nil, err
		}
	}
	quotas, err := metrics.Attainment(ctx, s, p, metrics.Filter{Period: per.String(), TeamID: q.TeamID})
	if err != nil {
		return nil, err
	}
	if p.Role != crm.RoleViewer { // viewers read aggregates: no one's call
		if err := b.addCalls(ctx, s, p, out, per, asOf, dir, under); err != nil {
			return nil, err
		}
	}
	out.Target = b.target(&out.PeriodForecast, per, asOf, keep, quotas)
	if c := out.CallRollup; c != nil {
		quota := out.Target.Quota
		c.CommitVsQuota, c.BestCaseVsQuota, c.PipelineVsQuota = share(c.Commit, quota), share(c.BestCase, quota), share(c.Pipeline, quota)
	}
	out.TrackRecord = b.trackRecord(per, asOf, q.TeamID, keep, model != nil, q.NoWait)
	var why string
	switch {
	case out.TrackRecord == nil:
		out.TrackRecordPending = true
		out.Notes = append(out.Notes, "recommended: the methods' track record is being computed; reload in a minute to see the recommended forecast")
	default:
		if out.Recommended, why = recommend(&out.PeriodForecast, out.TrackRecord); out.Recommended != nil {
			out.Recommended.VsQuota = share(out.Recommended.Forecast, out.Target.Quota)
		} else {
			out.Notes = append(out.Notes, "recommended: "+why)
		}
	}
	out.ToDate = b.toDate(per, asOf, keep, out.Won)
	return out, nil
}

// addCalls adds the calls p may see as they stood at the start of asOf
// (all of them when asOf is the book's day), and the reps' roll-up of those
// in the team filter (under, nil for all).
func (b *Book) addCalls(ctx context.Context, s *store.Store, p crm.Principal, out *Report, per crm.Period, asOf time.Time, dir *directory, under map[int64]bool) error {
	subs, err := s.ForecastSubmissions(ctx, p, per.String(), false)
	if err != nil {
		return err
	}
	latest := map[int64]*crm.ForecastSubmission{}
	versions := map[int64]int64{}
	for i := range subs {
		if asOf.Before(b.Today) && !subs[i].SubmittedAt.Before(asOf) {
			continue // submitted after the forecast's day
		}
		latest[subs[i].UserID] = &subs[i]
		versions[subs[i].UserID]++
	}
	roll := &CallRollup{Currency: b.Currency}
	for id, sub := range latest {
		u := dir.users[id]
		line := CallLine{UserID: id, Name: u.Name, Role: u.Role, Team: dir.teams[u.TeamID], ManagerID: u.ManagerID, Latest: sub, Versions: versions[id]}
		if u.Role == crm.RoleRep && (under == nil || under[u.TeamID]) {
			roll.Reps++
			roll.Commit += sub.Commit.InexactFloat64()
			roll.BestCase += sub.BestCase.InexactFloat64()
			roll.Pipeline += sub.Pipeline.InexactFloat64()
		}
		if sub.RollupCommit != nil {
			v := sub.RollupCommit.InexactFloat64()
			line.Rollup = &v
		}
		out.Calls = append(out.Calls, line)
	}
	sort.Slice(out.Calls, func(i, j int) bool { return out.Calls[i].Name < out.Calls[j].Name })
	if roll.Reps > 0 {
		roll.Commit, roll.BestCase, roll.Pipeline = round2(roll.Commit), round2(roll.BestCase), round2(roll.Pipeline)
		out.CallRollup = roll
		e := estimate(MethodCommit)
		e.Forecast = roll.Commit
		e.Note = fmt.Sprintf("sum of %d reps' latest commits, entered in %s (the corporate currency)", roll.Reps, b.Currency)
		out.Estimates = append(out.Estimates, e)
	}
	return nil
}

// target is the period's number for the deals keep lets through, quotas
// being the selection's quota carriers.
func (b *Book) target(pf *PeriodForecast, per crm.Period, asOf time.Time, keep func(*Deal) bool, quotas []metrics.RepAttainment) Target {
	t := Target{QuotaCarriers: len(quotas), Won: pf.Won, OpenPipeline: pf.OpenInPeriod}
	if len(quotas) == 0 {
		return t
	}
	sum, carriers := decimal.Zero, map[int64]bool{}
	for _, q := range quotas {
		sum = sum.Add(q.Quota)
		carriers[q.UserID] = true
	}
	won, actual := 0.0, 0.0
	for i := range b.Deals {
		if d := &b.Deals[i]; carriers[d.OwnerID] && b.shows(d, keep) && d.WonIn(per.Start, per.End) {
			actual += d.Amount
			if d.Closed.Before(asOf) {
				won += d.Amount
			}
		}
	}
	quota := sum.InexactFloat64()
	gap := round2(quota - won)
	t.Quota, t.Won, t.Gap = &quota, round2(won), &gap
	t.Attainment = share(won, t.Quota)
	if gap > 0 {
		c := t.OpenPipeline / gap
		t.Coverage = &c
	}
	if pf.Actual != nil {
		t.ActualAttainment = share(actual, t.Quota)
	}
	return t
}

// share is v ÷ of, nil without a positive of.
func share(v float64, of *float64) *float64 {
	if of == nil || *of <= 0 {
		return nil
	}
	r := v / *of
	return &r
}

// monthDays is the number of days of the month of t.
func monthDays(t time.Time) int {
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// trackKey names a track record: the scope, the team filter, and the
// backtest's options.
type trackKey struct {
	scope       string
	team        int64
	grain       crm.Grain
	daysIn      int
	asOf, today time.Time
	winProb     bool
}

// trackRecord is the backtest behind a forecast of per as of asOf (the
// latest periods of its grain that had ended by asOf, each forecast as many
// days into it), computed once per loaded book. With noWait it is nil
// until a background computation has it.
func (b *Book) trackRecord(per crm.Period, asOf time.Time, team int64, keep func(*Deal) bool, winProb, noWait bool) *Backtest {
	k := trackKey{scope: b.scope, team: team, grain: per.Grain, daysIn: int(math.Round(asOf.Sub(per.Start).Hours() / 24)), asOf: asOf, today: b.Today, winProb: winProb}
	run := func() *Backtest {
		bt := b.RunBacktest(BacktestOptions{Grain: k.grain, DaysIn: k.daysIn, AsOf: asOf, WinProb: winProb, Keep: keep})
		bt.Models = nil // the models' holdout tables are the model page's
		return &bt
	}
	switch {
	case b.memo == nil:
		return run()
	case noWait:
		bt, _ := ready(&b.memo.mu, b.memo.tracks, k, run)
		return bt
	}
	return remember(&b.memo.mu, b.memo.tracks, k, run)
}

// recommend picks the forecast to go by from bt's summary, or says why
// there is none.
func recommend(pf *PeriodForecast, bt *Backtest) (*Recommendation, string) {
	most := 0
	for _, s := range bt.Summary {
		if s.Team == "" && s.MAPE != nil {
			most = max(most, s.Periods)
		}
	}
	if most < MinTrackPeriods {
		return nil, fmt.Sprintf("no method has been measured on %d earlier %ss yet", MinTrackPeriods, bt.Grain)
	}
	var best *BacktestSummary
	for i, s := range bt.Summary {
		if _, ran := pf.Estimate(s.Method); !ran || s.Team != "" || s.MAPE == nil || s.Periods != most {
			continue
		}
		if best == nil || *s.MAPE < *best.MAPE || (*s.MAPE == *best.MAPE && s.Method < best.Method) {
			best = &bt.Summary[i]
		}
	}
	if best == nil {
		return nil, "none of the methods with a track record could forecast this period"
	}
	e, _ := pf.Estimate(best.Method)
	rec := &Recommendation{Estimate: e, MAPE: *best.MAPE, Bias: *best.Bias, Periods: best.Periods}
	when := "on its first day"
	switch {
	case bt.DaysIn > 0:
		when = fmt.Sprintf("%d days into it", bt.DaysIn)
	case bt.DaysIn < 0:
		when = fmt.Sprintf("%d days before it began", -bt.DaysIn)
	}
	lean := "neither over nor under on average"
	switch {
	case rec.Bias > 0:
		lean = fmt.Sprintf("under-forecasting by %.1f%% on average", rec.Bias)
	case rec.Bias < 0:
		lean = fmt.Sprintf("over-forecasting by %.1f%% on average", -rec.Bias)
	}
	rec.Why = fmt.Sprintf("%s had the smallest error over the last %d %ss, each forecast %s: %.1f%% off on average (MAPE), %s",
		e.Label, rec.Periods, bt.Grain, when, rec.MAPE, lean)
	return rec, ""
}

// toDate compares what was won before asOf in per with what was won by the
// same day of the previous period and of the same period last year.
func (b *Book) toDate(per crm.Period, asOf time.Time, keep func(*Deal) bool, won float64) []ToDate {
	months, days := 0, 0 // asOf is per.Start + months + days (periods start on the 1st)
	if asOf.After(per.Start) {
		months = (asOf.Year()-per.Start.Year())*12 + int(asOf.Month()-per.Start.Month())
		days = asOf.Day() - 1
	}
	var out []ToDate
	for _, c := range []struct {
		name string
		p    crm.Period
	}{{"previous_period", b.Calendar.Prev(per)}, {"same_period_last_year", b.Calendar.SameLastYear(per)}} {
		cut := c.p.Start.AddDate(0, months, 0)
		cut = cut.AddDate(0, 0, min(days, monthDays(cut)-1))
		if cut.After(c.p.End) {
			cut = c.p.End
		}
		t := ToDate{Compare: c.name, Period: c.p.String(), AsOf: crm.NewDate(cut)}
		for i := range b.Deals {
			d := &b.Deals[i]
			if b.shows(d, keep) && d.WonIn(c.p.Start, c.p.End) {
				t.Total += d.Amount
				if d.Closed.Before(cut) {
					t.Won += d.Amount
				}
			}
		}
		t.Won, t.Total = round2(t.Won), round2(t.Total)
		if t.Won > 0 {
			ch := (won - t.Won) / t.Won
			t.Change = &ch
		}
		out = append(out, t)
	}
	return out
}

type userInfo struct {
	Name      string
	Role      crm.Role
	ManagerID *int64
	TeamID    int64
}

// directory is who is who: names for groups and calls.
type directory struct {
	users   map[int64]userInfo
	names   map[int64]string
	teams   map[int64]string
	parents map[int64]int64
}

func loadDirectory(ctx context.Context, s *store.Store) (*directory, error) {
	d := &directory{users: map[int64]userInfo{}, names: map[int64]string{}, teams: map[int64]string{}, parents: map[int64]int64{}}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, name, role, manager_id, COALESCE(team_id, 0) FROM users`)
	if err != nil {
		return nil, fmt.Errorf("forecast: read users: %w", err)
	}
	for rows.Next() {
		var id int64
		var u userInfo
		if err := rows.Scan(&id, &u.Name, &u.Role, &u.ManagerID, &u.TeamID); err != nil {
			rows.Close()
			return nil, err
		}
		d.users[id], d.names[id] = u, u.Name
	}
	rows.Close()
	rows, err = s.DB().QueryContext(ctx, `SELECT id, name, COALESCE(parent_id, 0) FROM teams`)
	if err != nil {
		return nil, fmt.Errorf("forecast: read teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent int64
		var name string
		if err := rows.Scan(&id, &name, &parent); err != nil {
			return nil, err
		}
		d.teams[id], d.parents[id] = name, parent
	}
	return d, rows.Err()
}

// subtree is the team with every team below it.
func (d *directory) subtree(root int64) map[int64]bool {
	out := map[int64]bool{}
	for id := range d.teams {
		for t, hops := id, 0; t != 0 && hops <= len(d.teams); t, hops = d.parents[t], hops+1 {
			if t == root {
				out[id] = true
				break
			}
		}
	}
	return out
}

// TeamNames maps team ids to names, for backtests by team.
func TeamNames(ctx context.Context, s *store.Store) (map[int64]string, error) {
	d, err := loadDirectory(ctx, s)
	if err != nil {
		return nil, err
	}
	return d.teams, nil
}

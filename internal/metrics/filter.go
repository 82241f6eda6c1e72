package metrics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// Filter selects the deals, leads and activities a report is about. Filters
// combine (AND). The principal's visibility always applies on top.
type Filter struct {
	// Period is a fiscal period ("FY2025", "FY2025-Q3", "FY2025-M07");
	// empty means all time.
	Period string `json:"period,omitempty"`
	// RepID keeps the records owned by one user.
	RepID int64 `json:"rep_id,omitempty"`
	// TeamID keeps the records owned by the members of a team or of any
	// team below it.
	TeamID int64 `json:"team_id,omitempty"`
	// Region keeps the records owned by users whose team (or the nearest
	// team above it that names a region) is in this region.
	Region string `json:"region,omitempty"`
	// Product keeps deals with a line item of a product of this name or
	// family.
	Product string `json:"product,omitempty"`
	// Segment and Industry keep deals (and activities) of accounts of this
	// segment or industry; Industry also keeps leads of that industry.
	Segment  string `json:"segment,omitempty"`
	Industry string `json:"industry,omitempty"`
	// Source keeps deals and leads of this lead source.
	Source string `json:"source,omitempty"`
	// Type keeps deals of this type: new, expansion or renewal.
	Type string `json:"type,omitempty"`
	// AsOf is "now" for open deals (conversion day of deals without an
	// expected close, the current period of pipeline charts, elapsed days).
	// Zero means the current time.
	AsOf time.Time `json:"-"`
}

// Dimensions lists what ComputeBy slices by.
var Dimensions = []string{"rep", "team", "region", "product", "segment", "industry", "source", "type"}

// entity is one kind of record the KPIs are computed over.
type entity int

const (
	entOpp entity = iota
	entActivity
	entLead
)

// peopleFiltered reports whether f narrows the owners (rep, team, region).
func (f Filter) peopleFiltered() bool { return f.RepID != 0 || f.TeamID != 0 || f.Region != "" }

// ownerOnly reports whether f filters by owner (and period) only, so that
// owner-level facts (quotas, costs) still describe the selection.
func (f Filter) ownerOnly() bool {
	return f.Product == "" && f.Segment == "" && f.Industry == "" && f.Source == "" && f.Type == ""
}

// applies reports whether every filter set in f can be applied to ent.
// KPIs over an entity that a filter cannot narrow are left out (null).
func (f Filter) applies(ent entity) bool {
	switch ent {
	case entActivity: // activities have an owner and an account, not a source, type or product
		return f.Source == "" && f.Type == "" && f.Product == ""
	case entLead: // leads have an owner, a source and an industry of their own
		return f.Segment == "" && f.Type == "" && f.Product == ""
	}
	return true
}

type userRow struct {
	id     int64
	name   string
	role   crm.Role
	teamID *int64
}

type teamRow struct {
	id       int64
	name     string
	parentID *int64
	region   string
}

// selection is a Filter resolved against the organisation and the principal.
type selection struct {
	f      Filter
	cal    crm.FiscalCalendar
	corp   string
	now    time.Time
	today  time.Time         // now's date, 00:00 UTC
	period *crm.Period       // nil: all time
	from   time.Time         // period bounds, [from, to)
	to     time.Time         //
	users  map[int64]userRow // every user visible to the principal
	teams  map[int64]teamRow
	// allOwners: no restriction on owners at all (the whole organisation);
	// else owners lists the owners in the selection.
	allOwners bool
	owners    []int64
	ownerSet  map[int64]bool
	seesAll   bool // the principal sees the whole organisation
	// individuals: the principal may see one person's figures (not the
	// viewer, who sees aggregates only).
	individuals bool
	rates       *crm.RateTable

	// Computed once per selection and shared by the reports of an overview.
	quotaCache       map[int64]decimal.Decimal
	quotaUnconverted int64
	wonByOwnerTotal  map[int64]decimal.Decimal // won in the period per owner, unsliced
}

// allTime bounds: wide enough for any date either engine stores.
var (
	beginning = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	ending    = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func resolve(ctx context.Context, s *store.Store, p crm.Principal, f Filter) (*selection, error) {
	of, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	sel := &selection{f: f, cal: crm.FiscalCalendar{StartMonth: time.Month(st.FiscalYearStartMonth)}, corp: st.CorporateCurrency,
		from: beginning, to: ending, seesAll: of.All(), individuals: of.Individuals()}
	if err := sel.cal.Validate(); err != nil {
		return nil, err
	}
	sel.now = f.AsOf
	if sel.now.IsZero() {
		sel.now = time.Now()
	}
	sel.now = sel.now.UTC()
	sel.today = crm.NewDate(sel.now).Time
	if f.Period != "" {
		per, err := sel.cal.ParsePeriod(strings.TrimSpace(f.Period))
		if err != nil {
			return nil, err
		}
		sel.period = &per
		sel.from, sel.to = per.Start, per.End
	}
	if f.Type != "" && !crm.DealType(f.Type).Valid() {
		return nil, crm.Invalid("filter", "type", fmt.Sprintf("%q: want new, expansion or renewal", f.Type))
	}

	sel.users = map[int64]userRow{}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, name, role, team_id FROM users WHERE `+of.Condition("id"))
	if err != nil {
		return nil, fmt.Errorf("kpi: read users: %w", err)
	}
	for rows.Next() {
		var u userRow
		if err := rows.Scan(&u.id, &u.name, &u.role, &u.teamID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("kpi: read users: %w", err)
		}
		sel.users[u.id] = u
	}
	rows.Close()
	sel.teams = map[int64]teamRow{}
	rows, err = s.DB().QueryContext(ctx, `SELECT id, name, parent_id, region FROM teams`)
	if err != nil {
		return nil, fmt.Errorf("kpi: read teams: %w", err)
	}
	for rows.Next() {
		var t teamRow
		if err := rows.Scan(&t.id, &t.name, &t.parentID, &t.region); err != nil {
			rows.Close()
			return nil, fmt.Errorf("kpi: read teams: %w", err)
		}
		sel.teams[t.id] = t
	}
	rows.Close()

	sel.allOwners = of.All() && !f.peopleFiltered()
	if !sel.allOwners {
		if f.RepID != 0 {
			if err := of.CheckIndividuals("rep filter"); err != nil {
				return nil, err
			}
			if _, ok := sel.users[f.RepID]; !ok {
				return nil, fmt.Errorf("rep %d: %w", f.RepID, crm.ErrNotFound)
			}
		}
		var sub map[int64]bool
		if f.TeamID != 0 {
			if _, ok := sel.teams[f.TeamID]; !ok || !of.Team(f.TeamID) {
				return nil, fmt.Errorf("team %d: %w", f.TeamID, crm.ErrNotFound)
			}
			sub = sel.subtree(f.TeamID)
		}
		sel.ownerSet = map[int64]bool{}
		for id, u := range sel.users {
			switch {
			case f.RepID != 0 && id != f.RepID:
			case sub != nil && (u.teamID == nil || !sub[*u.teamID]):
			case f.Region != "" && sel.regionOf(u) != f.Region:
			default:
				sel.owners = append(sel.owners, id)
				sel.ownerSet[id] = true
			}
		}
		slices.Sort(sel.owners)
	}
	if sel.rates, err = s.RateTable(ctx); err != nil {
		return nil, err
	}
	return sel, nil
}

// subtree is the team and every team below it.
func (sel *selection) subtree(root int64) map[int64]bool {
	in := map[int64]bool{root: true}
	for changed := true; changed; {
		changed = false
		for id, t := range sel.teams {
			if !in[id] && t.parentID != nil && in[*t.parentID] {
				in[id] = true
				changed = true
			}
		}
	}
	return in
}

// regionOf is the region of the user's team, or of the nearest team above
// it that names one; "" when none does.
func (sel *selection) regionOf(u userRow) string {
	id := u.teamID
	for range len(sel.teams) + 1 {
		if id == nil {
			return ""
		}
		t, ok := sel.teams[*id]
		if !ok {
			return ""
		}
		if t.region != "" {
			return t.region
		}
		id = t.parentID
	}
	return ""
}

// ownerCond limits column to the selection's owners. Ids are integers
// formatted here, so inlining them is safe.
func (sel *selection) ownerCond(column string) string {
	if sel.allOwners {
		return "TRUE"
	}
	return inList(column, sel.owners)
}

// inList is "column IN (ids...)", FALSE when there are none; ids are
// numbers, safe to inline.
func inList(column string, ids []int64) string {
	if len(ids) == 0 {
		return "FALSE"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return column + " IN (" + strings.Join(parts, ",") + ")"
}

// visibleCond restricts column to the owners the principal may see, whatever
// the filter: for joins from the selected records to others (a lead's deal).
func (sel *selection) visibleCond(column string) string {
	if sel.seesAll {
		return "TRUE"
	}
	return inList(column, slices.Sorted(maps.Keys(sel.users)))
}

// where is the condition selecting ent's rows (alias o, act or l) for the
// filter, with its params. It reports false when a filter cannot apply.
func (sel *selection) where(ent entity) (string, map[string]any, bool) {
	f := sel.f
	if !f.applies(ent) {
		return "", nil, false
	}
	params := map[string]any{}
	var conds []string
	add := func(cond, param string, v any) {
		conds = append(conds, cond)
		params[param] = v
	}
	switch ent {
	case entOpp:
		conds = append(conds, sel.ownerCond("o.owner_id"))
		if f.Source != "" {
			add("o.source = :f_source", "f_source", f.Source)
		}
		if f.Type != "" {
			add("o.deal_type = :f_type", "f_type", f.Type)
		}
		if f.Segment != "" {
			add("o.account_id IN (SELECT id FROM accounts WHERE segment = :f_segment)", "f_segment", f.Segment)
		}
		if f.Industry != "" {
			add("o.account_id IN (SELECT id FROM accounts WHERE industry = :f_industry)", "f_industry", f.Industry)
		}
		if f.Product != "" {
			add(`o.id IN (SELECT li.opportunity_id FROM line_items li JOIN products pr ON pr.id = li.product_id
				WHERE pr.name = :f_product OR pr.family = :f_product)`, "f_product", f.Product)
		}
	case entActivity:
		conds = append(conds, sel.ownerCond("act.owner_id"))
		if f.Segment != "" {
			add("act.account_id IN (SELECT id FROM accounts WHERE segment = :f_segment)", "f_segment", f.Segment)
		}
		if f.Industry != "" {
			add("act.account_id IN (SELECT id FROM accounts WHERE industry = :f_industry)", "f_industry", f.Industry)
		}
	case entLead:
		conds = append(conds, sel.ownerCond("l.owner_id"))
		if f.Source != "" {
			add("l.source = :f_source", "f_source", f.Source)
		}
		if f.Industry != "" {
			add("l.industry = :f_industry", "f_industry", f.Industry)
		}
	}
	return strings.Join(conds, " AND "), params, true
}

// periodName is the canonical period, or "all".
func (sel *selection) periodName() string {
	if sel.period == nil {
		return "all"
	}
	return sel.period.String()
}

// timeParams are the period bounds every query may use.
func (sel *selection) timeParams(params map[string]any) map[string]any {
	if params == nil {
		params = map[string]any{}
	}
	params["from"] = sel.from
	params["to"] = sel.to
	params["from_ts"] = sel.from
	params["to_ts"] = sel.to
	params["today"] = sel.today
	params["corp"] = sel.corp
	return params
}

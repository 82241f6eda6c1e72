package forecast

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Query asks for the forecast of one period as a principal sees it.
type Query struct {
	Period  string    // FY2026-Q1 and the like; default the current quarter
	AsOf    time.Time // default the book's day
	TeamID  int64     // only this team's deals (the owner's team, with teams below it)
	By      string    // "", "team" or "rep": also report each group
	WinProb bool      // train and apply the win-probability model
}

// Report is a period's forecast with the submitted calls beside it.
type Report struct {
	PeriodForecast
	Groups []Group     `json:"groups,omitempty"`
	Calls  []CallLine  `json:"calls"`
	Model  *WinModel   `json:"win_model,omitempty"`
	Leads  *LeadDemand `json:"leads,omitempty"` // the whole scope's leads; not with a team filter
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

// Report runs the methods for q over the book and adds the calls p may
// see. model may be nil (then q.WinProb trains one).
func (b *Book) Report(ctx context.Context, s *store.Store, p crm.Principal, q Query, model *WinModel) (*Report, error) {
	per, err := b.period(q)
	if err != nil {
		return nil, err
	}
	if q.By != "" && q.By != "team" && q.By != "rep" {
		return nil, crm.Invalid("forecast", "by", fmt.Sprintf("%q is not team or rep", q.By))
	}
	dir, err := loadDirectory(ctx, s)
	if err != nil {
		return nil, err
	}
	var keep func(*Deal) bool
	var under map[int64]bool // the team filter's teams; nil for all
	if q.TeamID != 0 {
		if _, ok := dir.teams[q.TeamID]; !ok {
			return nil, crm.Invalid("forecast", "team_id", fmt.Sprintf("no team %d", q.TeamID))
		}
		under = dir.subtree(q.TeamID)
		keep = func(d *Deal) bool { return under[d.TeamID] }
	}
	if q.WinProb && model == nil {
		model = b.TrainWinModel(b.Today)
	}
	r := Request{Period: per, AsOf: q.AsOf, Keep: keep, Model: model, Series: true}
	out := &Report{PeriodForecast: b.Forecast(r), Model: model, Calls: []CallLine{}}
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
		asOf := q.AsOf
		if asOf.IsZero() {
			asOf = b.Today
		}
		out.Leads, err = ForecastLeads(ctx, s, p, per, asOf)
		if errors.Is(err, crm.ErrInvalid) {
			out.Notes = append(out.Notes, "leads: "+err.Error())
		} else if err != nil {
			return nil, err
		}
	}
	if p.Role == crm.RoleViewer {
		return out, nil // viewers read aggregates: no one's call
	}
	subs, err := s.ForecastSubmissions(ctx, p, per.String(), false)
	if err != nil {
		return nil, err
	}
	latest := map[int64]*crm.ForecastSubmission{}
	versions := map[int64]int64{}
	for i := range subs {
		latest[subs[i].UserID] = &subs[i]
		versions[subs[i].UserID]++
	}
	repCommit, anyRep := 0.0, false
	for id, sub := range latest {
		u := dir.users[id]
		line := CallLine{UserID: id, Name: u.Name, Role: u.Role, ManagerID: u.ManagerID, Latest: sub, Versions: versions[id]}
		if u.Role == crm.RoleRep && (under == nil || under[u.TeamID]) {
			repCommit += sub.Commit.InexactFloat64()
			anyRep = true
		}
		if sub.RollupCommit != nil {
			v := sub.RollupCommit.InexactFloat64()
			line.Rollup = &v
		}
		out.Calls = append(out.Calls, line)
	}
	sort.Slice(out.Calls, func(i, j int) bool { return out.Calls[i].Name < out.Calls[j].Name })
	if anyRep {
		out.Estimates = append(out.Estimates, Estimate{Method: MethodCommit, Forecast: round2(repCommit), Note: "sum of the reps' latest commits"})
	}
	return out, nil
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

package routing

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// LoadOrg reads what routing needs from the store: the sellers (reps and
// managers) with their teams and managers, the accounts with their owners,
// and every seller's open leads and the leads given to them in the last
// week. Only ops and admin route for the whole organisation.
func LoadOrg(ctx context.Context, s *store.Store, p crm.Principal, now time.Time) (*Org, error) {
	return loadOrg(ctx, s, p, now, orgNeeds{accounts: true, open: true, since: now.AddDate(0, 0, -8)})
}

// LoadOrgFor reads only what v's rules look at: accounts when it matches
// leads to them, open leads when a pool is least-loaded or capped by open
// leads, recent assignments as far back as its caps count (a week and a
// day covers a weekly cap in any time zone). What a burst of new leads
// reloads now and then stays as small as the rules allow.
func LoadOrgFor(ctx context.Context, s *store.Store, p crm.Principal, v *Version, now time.Time) (*Org, error) {
	set := v.set
	n := orgNeeds{accounts: set.Doc.MatchAccounts == nil || *set.Doc.MatchAccounts}
	var back time.Duration
	for _, pl := range set.pools {
		c := pl.doc.Caps
		n.open = n.open || pl.doc.Method == LeastLoaded || c.OpenLeads > 0
		switch {
		case c.PerWeek > 0:
			back = max(back, 8*24*time.Hour)
		case c.PerDay > 0:
			back = max(back, 2*24*time.Hour)
		case c.PerHour > 0:
			back = max(back, 2*time.Hour)
		}
	}
	if back > 0 {
		n.since = now.Add(-back)
	}
	return loadOrg(ctx, s, p, now, n)
}

// orgNeeds says what of the organisation to read; a zero since reads no
// assignments.
type orgNeeds struct {
	accounts, open bool
	since          time.Time
}

func loadOrg(ctx context.Context, s *store.Store, p crm.Principal, now time.Time, need orgNeeds) (*Org, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	db := s.DB()
	o := &Org{Reps: map[int64]*Rep{}, Teams: map[string][]int64{}, Loads: map[int64]*Load{}}
	rows, err := db.QueryContext(ctx, `SELECT u.id, u.email, u.active, u.role, u.manager_id, COALESCE(t.name, '') FROM users u
		LEFT JOIN teams t ON t.id = u.team_id ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("routing: users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := &Rep{}
		var role string
		var mgr sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Email, &r.Active, &role, &mgr, &r.Team); err != nil {
			return nil, err
		}
		if mgr.Valid {
			r.ManagerID = &mgr.Int64
		}
		o.Reps[r.ID] = r
		if r.Team != "" && crm.Role(role) == crm.RoleRep {
			o.Teams[r.Team] = append(o.Teams[r.Team], r.ID)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	avail, err := availabilities(ctx, s)
	if err != nil {
		return nil, err
	}
	for id, a := range avail {
		r := o.Reps[id]
		if r == nil {
			continue
		}
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			r.TimeZone = loc
		}
		for _, w := range a.Away {
			r.Away = append(r.Away, Period{From: w.From, To: w.To})
		}
	}
	if need.accounts {
		if err := o.readAccounts(ctx, db); err != nil {
			return nil, err
		}
	}
	if need.open {
		if err := o.readOpen(ctx, db); err != nil {
			return nil, err
		}
	}
	if !need.since.IsZero() {
		if err := o.readAssigned(ctx, db, need.since); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *Org) readAccounts(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT id, name, domain, owner_id, industry, segment, country, employees FROM accounts`)
	if err != nil {
		return fmt.Errorf("routing: accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Account
		var owner, emp sql.NullInt64
		var industry, segment, country string
		if err := rows.Scan(&a.ID, &a.Name, &a.Domain, &owner, &industry, &segment, &country, &emp); err != nil {
			return err
		}
		if owner.Valid {
			a.OwnerID = &owner.Int64
		}
		a.Fields = map[string]any{"name": a.Name, "industry": industry, "segment": segment, "country": country}
		if emp.Valid {
			a.Fields["employees"] = float64(emp.Int64)
		}
		o.Accounts = append(o.Accounts, a)
	}
	return rows.Err()
}

func (o *Org) readOpen(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT owner_id, COUNT(*) FROM leads WHERE owner_id IS NOT NULL AND status IN ('new', 'working', 'qualified') GROUP BY owner_id`)
	if err != nil {
		return fmt.Errorf("routing: open leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner int64
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			return err
		}
		o.load(owner).Open = n
	}
	return rows.Err()
}

func (o *Org) readAssigned(ctx context.Context, db *sql.DB, since time.Time) error {
	rows, err := db.QueryContext(ctx, `SELECT owner_id, assigned_at FROM lead_assignments WHERE assigned_at >= $1 ORDER BY assigned_at`, since)
	if err != nil {
		return fmt.Errorf("routing: recent assignments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner int64
		var at time.Time
		if err := rows.Scan(&owner, &at); err != nil {
			return err
		}
		o.load(owner).add(at)
	}
	return rows.Err()
}

func (o *Org) load(id int64) *Load {
	l := o.Loads[id]
	if l == nil {
		l = &Load{}
		o.Loads[id] = l
	}
	return l
}

// DryRun shows where each lead would go, in order, as if they arrived now
// one after the other, without assigning anything: each lead's rules see its
// segments and its score under the general model.
func DryRun(ctx context.Context, s *store.Store, p crm.Principal, set *Set, ls []crm.Lead, now time.Time) ([]Decision, error) {
	org, err := LoadOrg(ctx, s, p, now)
	if err != nil {
		return nil, err
	}
	rc, err := leads.NewScorer(ctx, s)
	if err != nil {
		return nil, err
	}
	st := State{}
	out := make([]Decision, len(ls))
	for i := range ls {
		l := &ls[i]
		if l.CreatedAt.IsZero() {
			l.CreatedAt = now
		}
		if out[i], err = set.Route(rc.Record(l, nil, now), l.Email, l.Company, org, st, now); err != nil {
			return nil, fmt.Errorf("lead %d of the file: %w", i+1, err)
		}
	}
	return out, nil
}

// ReadLeads reads a CSV of leads whose header names lead fields
// (first_name, last_name, email, company, title, industry, employees,
// annual_revenue, country, state, city, source, channel); any other column
// is a custom field. Errors name the line and column.
func ReadLeads(name string, r io.Reader) ([]crm.Lead, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header: %w", name, err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	var out []crm.Lead
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		l := crm.Lead{Status: crm.LeadNew}
		for j, v := range rec {
			if j >= len(header) {
				return nil, crm.Invalid(fmt.Sprintf("%s line %d", name, line), "columns", fmt.Sprintf("%d values for %d columns", len(rec), len(header)))
			}
			v = strings.TrimSpace(v)
			if err := setLeadField(&l, header[j], v); err != nil {
				return nil, crm.Invalid(fmt.Sprintf("%s line %d", name, line), header[j], err.Error())
			}
		}
		out = append(out, l)
	}
}

func setLeadField(l *crm.Lead, col, v string) error {
	text := map[string]*string{"first_name": &l.FirstName, "last_name": &l.LastName, "email": &l.Email, "company": &l.Company,
		"title": &l.Title, "industry": &l.Industry, "country": &l.Country, "state": &l.State, "city": &l.City,
		"source": &l.Source, "channel": &l.Channel}
	if p, ok := text[col]; ok {
		*p = v
		return nil
	}
	switch col {
	case "employees":
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a number of employees", v)
		}
		l.Employees = &n
	case "annual_revenue":
		if v == "" {
			return nil
		}
		d, err := decimal.NewFromString(v)
		if err != nil {
			return fmt.Errorf("%q is not an amount", v)
		}
		l.AnnualRevenue = &d
	default:
		if v != "" {
			if l.CustomFields == nil {
				l.CustomFields = crm.CustomFields{}
			}
			l.CustomFields[col] = v
		}
	}
	return nil
}

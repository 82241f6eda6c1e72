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
	arows, err := db.QueryContext(ctx, `SELECT id, name, domain, owner_id, industry, segment, country, employees FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("routing: accounts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Account
		var owner, emp sql.NullInt64
		var industry, segment, country string
		if err := arows.Scan(&a.ID, &a.Name, &a.Domain, &owner, &industry, &segment, &country, &emp); err != nil {
			return nil, err
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
	if err := arows.Err(); err != nil {
		return nil, err
	}
	lrows, err := db.QueryContext(ctx, `SELECT owner_id, COUNT(*) FROM leads WHERE owner_id IS NOT NULL AND status IN ('new', 'working', 'qualified') GROUP BY owner_id`)
	if err != nil {
		return nil, fmt.Errorf("routing: open leads: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var owner int64
		var n int
		if err := lrows.Scan(&owner, &n); err != nil {
			return nil, err
		}
		o.load(owner).Open = n
	}
	if err := lrows.Err(); err != nil {
		return nil, err
	}
	// A week and a day of assignments covers every cap in any time zone.
	arows2, err := db.QueryContext(ctx, `SELECT owner_id, assigned_at FROM lead_assignments WHERE assigned_at >= $1`, now.AddDate(0, 0, -8))
	if err != nil {
		return nil, fmt.Errorf("routing: recent assignments: %w", err)
	}
	defer arows2.Close()
	for arows2.Next() {
		var owner int64
		var at time.Time
		if err := arows2.Scan(&owner, &at); err != nil {
			return nil, err
		}
		l := o.load(owner)
		l.Assigned = append(l.Assigned, at)
	}
	return o, arows2.Err()
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
	rc, err := leads.NewRecorder(ctx, s)
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

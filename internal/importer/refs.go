package importer

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// References to the small tables (users, teams, accounts, products, stages,
// currencies) are resolved through maps held in memory, loaded once at the
// start of the import and kept up to date as rows are accepted. References
// to the big tables (opportunities, contacts, leads) are resolved in SQL
// against a staging table (see write.go), so memory stays bounded.

// keyIndex maps a normalised key to an id; ambiguous keys map to -1.
type keyIndex map[string]int64

const ambiguous = -1

func (k keyIndex) add(key string, id int64) {
	if key == "" {
		return
	}
	if old, ok := k[key]; ok && old != id {
		k[key] = ambiguous
		return
	}
	k[key] = id
}

// normName is how names are compared: case and repeated spaces ignored.
func normName(s string) string {
	s = strings.TrimSpace(s)
	for i := range len(s) {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c == ' ' && i+1 < len(s) && s[i+1] == ' ' || c == '\t' || c >= 0x80 {
			return strings.ToLower(strings.Join(strings.Fields(s), " "))
		}
	}
	return s
}

type userRec struct {
	crm.User
	isNew bool
}

type refs struct {
	users     map[int64]*userRec
	userEmail keyIndex
	userName  keyIndex
	userExt   keyIndex // source ids of users seen in this import (Salesforce User.Id)

	teams    map[int64]*teamRec
	teamName keyIndex

	accountExt, accountName keyIndex
	productExt, productName keyIndex
	productPrice            map[int64]decimal.Decimal

	stages      map[string]*crm.Stage // by lower-case name
	stageExact  map[string]*crm.Stage // by name as written in files (a cache)
	maxStagePos int64

	currencies map[string]bool
	corporate  string
}

type teamRec struct {
	crm.Team
	isNew bool
}

func loadRefs(ctx context.Context, b *store.Bulk, source string) (*refs, error) {
	r := &refs{users: map[int64]*userRec{}, userEmail: keyIndex{}, userName: keyIndex{}, userExt: keyIndex{},
		teams: map[int64]*teamRec{}, teamName: keyIndex{}, accountExt: keyIndex{}, accountName: keyIndex{},
		productExt: keyIndex{}, productName: keyIndex{}, productPrice: map[int64]decimal.Decimal{},
		stages: map[string]*crm.Stage{}, currencies: map[string]bool{}}
	q := func(query string, scan func(rows *sql.Rows) error) error {
		rows, err := b.Query(ctx, query)
		if err != nil {
			return fmt.Errorf("import: read existing data: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("import: read existing data: %w", err)
			}
		}
		return rows.Err()
	}
	err := q(`SELECT id, email, name, role, manager_id, team_id, hire_date, active, created_at FROM users`, func(rows *sql.Rows) error {
		u := &userRec{}
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.ManagerID, &u.TeamID, &u.HireDate, &u.Active, &u.CreatedAt); err != nil {
			return err
		}
		r.addUser(u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := b.Query(ctx, `SELECT external_id, user_id FROM user_external_ids WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("import: read existing data: %w", err)
	}
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("import: read existing data: %w", err)
		}
		if r.users[id] != nil {
			r.userExt[ext] = id
		}
	}
	rows.Close()
	err = q(`SELECT id, name, parent_id, region, manager_id FROM teams`, func(rows *sql.Rows) error {
		t := &teamRec{}
		if err := rows.Scan(&t.ID, &t.Name, &t.ParentID, &t.Region, &t.ManagerID); err != nil {
			return err
		}
		r.teams[t.ID] = t
		r.teamName.add(normName(t.Name), t.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT id, external_id, name FROM accounts`, func(rows *sql.Rows) error {
		var id int64
		var ext sql.NullString
		var name string
		if err := rows.Scan(&id, &ext, &name); err != nil {
			return err
		}
		r.accountExt.add(ext.String, id)
		r.accountName.add(normName(name), id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT id, external_id, name, CAST(list_price AS VARCHAR) FROM products`, func(rows *sql.Rows) error {
		var id int64
		var ext sql.NullString
		var name, price string
		if err := rows.Scan(&id, &ext, &name, &price); err != nil {
			return err
		}
		r.productExt.add(ext.String, id)
		r.productName.add(normName(name), id)
		r.productPrice[id], _ = decimal.NewFromString(price)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT name, stage_order, probability, kind, forecast_category FROM stages`, func(rows *sql.Rows) error {
		st := &crm.Stage{}
		if err := rows.Scan(&st.Name, &st.Position, &st.Probability, &st.Kind, &st.ForecastCategory); err != nil {
			return err
		}
		r.stages[strings.ToLower(st.Name)] = st
		r.maxStagePos = max(r.maxStagePos, st.Position)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT code FROM currencies`, func(rows *sql.Rows) error {
		var c string
		err := rows.Scan(&c)
		r.currencies[c] = true
		return err
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT value FROM settings WHERE key = 'corporate_currency'`, func(rows *sql.Rows) error { return rows.Scan(&r.corporate) })
	if err != nil {
		return nil, err
	}
	if r.corporate == "" {
		r.corporate = "USD"
	}
	return r, nil
}

// stage finds a stage by name, ignoring case.
func (r *refs) stage(name string) *crm.Stage {
	if st, ok := r.stageExact[name]; ok {
		return st
	}
	st := r.stages[strings.ToLower(name)]
	if st != nil && len(r.stageExact) < 1000 {
		if r.stageExact == nil {
			r.stageExact = map[string]*crm.Stage{}
		}
		r.stageExact[name] = st
	}
	return st
}

func (r *refs) addUser(u *userRec) {
	r.users[u.ID] = u
	r.userEmail.add(strings.ToLower(u.Email), u.ID)
	r.userName.add(normName(u.Name), u.ID)
}

// lookupUser finds a user by the given match (email, name, external_id);
// "" tries the source ids of this import, then email, then name.
func (r *refs) lookupUser(key, match string) int64 {
	switch match {
	case "email":
		return r.userEmail[strings.ToLower(key)]
	case "name":
		return r.userName[normName(key)]
	case "external_id":
		return r.userExt[key]
	}
	if id, ok := r.userExt[key]; ok {
		return id
	}
	if strings.Contains(key, "@") {
		if id, ok := r.userEmail[strings.ToLower(key)]; ok {
			return id
		}
	}
	return r.userName[normName(key)]
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// emailFor builds an address for a person known only by name.
func emailFor(name, domain string) string {
	parts := strings.Fields(strings.ToLower(name))
	for i, p := range parts {
		parts[i] = strings.Trim(nonSlug.ReplaceAllString(p, "-"), "-")
	}
	local := strings.Trim(strings.Join(parts, "."), ".")
	local = strings.ReplaceAll(local, "..", ".")
	if local == "" {
		local = "user"
	}
	return local + "@" + domain
}

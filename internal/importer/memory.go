package importer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// The small tables (accounts, products, users, teams) are read whole, their
// rows matched against the maps of stored records (by external id, name or
// email), self-references (parent account, manager) resolved once the whole
// file is known, and then written through staging like the big ones.

var (
	accountCols = []string{"id", "external_id", "name", "domain", "industry", "employees", "annual_revenue", "country", "state", "city",
		"postal_code", "latitude", "longitude", "owner_id", "parent_id", "segment", "created_at"}
	productCols = []string{"id", "external_id", "name", "family", "list_price", "currency", "active"}
	teamCols    = []string{"id", "name", "parent_id", "region", "manager_id"}
	userCols    = []string{"id", "email", "name", "role", "manager_id", "team_id", "hire_date", "active", "created_at"}

	accountSpec = &streamSpec{entity: entAccount, table: "accounts", cols: accountCols, extra: []string{"line", "is_new"}, keyed: true,
		update: []updCol{{col: "name", fields: []int{acName}}, {col: "domain", fields: []int{acDomain}}, {col: "industry", fields: []int{acIndustry}},
			{col: "employees", fields: []int{acEmployees}}, {col: "annual_revenue", fields: []int{acAnnualRevenue}}, {col: "country", fields: []int{acCountry}},
			{col: "state", fields: []int{acState}}, {col: "city", fields: []int{acCity}}, {col: "postal_code", fields: []int{acPostalCode}},
			{col: "latitude", fields: []int{acLatitude, acLongitude}}, {col: "longitude", fields: []int{acLatitude, acLongitude}},
			{col: "owner_id", fields: []int{acOwner}}, {col: "parent_id", fields: []int{acParent}}, {col: "segment", fields: []int{acSegment}},
			{col: "created_at", fields: []int{acCreatedAt}, expr: keepCreated}}}
	productSpec = &streamSpec{entity: entProduct, table: "products", cols: productCols, extra: []string{"line", "is_new"}, keyed: true,
		update: []updCol{{col: "name", fields: []int{prName}}, {col: "family", fields: []int{prFamily}}, {col: "list_price", fields: []int{prListPrice}},
			{col: "currency", fields: []int{prCurrency}}, {col: "active", fields: []int{prActive}}}}
	teamSpec = &streamSpec{entity: entTeam, table: "teams", cols: teamCols, extra: []string{"line", "is_new"},
		update: []updCol{{col: "parent_id"}, {col: "region"}, {col: "manager_id"}}}
	userSpec = &streamSpec{entity: entUser, table: "users", cols: userCols, extra: []string{"line", "is_new"},
		update: []updCol{{col: "name"}, {col: "role"}, {col: "manager_id"}, {col: "team_id"}, {col: "hire_date"}}}
)

type keyedRow struct {
	row []any
}

// pendingParent is an account row whose parent is resolved once the whole
// file is known (a parent may come after its children).
type pendingParent struct {
	id, line int64
	key      string
}

// loadKeyed imports a file of accounts or products: rows stream to staging
// with their ids known from the in-memory keys; only the keys (and the rows
// that name a parent) are held.
func (rn *runner) loadKeyed(p *filePlan) error {
	spec, extIdx, byExt, byName := productSpec, prExternalID, rn.refs.productExt, rn.refs.productName
	if p.entity == entAccount {
		spec, extIdx, byExt, byName = accountSpec, acExternalID, rn.refs.accountExt, rn.refs.accountName
	}
	nameIdx := p.entity.field("name")
	if err := rn.createStaging(spec.table, spec.cols, spec.extra); err != nil {
		return err
	}
	seen := map[string]int{}
	var parents []pendingParent
	var accepted int64
	rows := func(yield func([]any, error) bool) {
		err := rn.eachRecord(p, func(rec record) error {
			c := &rowCtx{rn: rn, p: p, rec: rec.fields, line: rec.line}
			var row []any
			parentKey := ""
			if p.entity == entAccount {
				row, parentKey = convAccount(c)
			} else {
				row = convProduct(c)
			}
			keyField := nameIdx
			var key string
			var id int64
			switch p.key {
			case "external_id":
				keyField = extIdx
				if ext, ok := row[1].(string); ok {
					key, id = ext, byExt[ext]
				}
			case "name":
				key = normName(row[2].(string))
				id = byName[key]
			}
			if key != "" {
				if first, dup := seen[key]; dup {
					c.fail(keyField, key, fmt.Sprintf("appears again in the file (first on line %d)", first))
				} else {
					seen[key] = rec.line
				}
			}
			if id == ambiguous {
				c.fail(keyField, key, "several stored "+p.entity.plural+" have this name")
			}
			if c.bad {
				rn.res.Rejected++
				return nil
			}
			isNew := id == 0
			if isNew {
				var err error
				if id, err = rn.newID(); err != nil {
					return err
				}
			}
			row[0] = id
			row[len(spec.cols)], row[len(spec.cols)+1] = int64(rec.line), isNew
			if ext, ok := row[1].(string); ok {
				byExt.add(ext, id)
			}
			byName.add(normName(row[2].(string)), id)
			if p.entity == entProduct {
				rn.refs.productPrice[id] = row[4].(decimal.Decimal)
			}
			if parentKey != "" {
				parents = append(parents, pendingParent{id: id, line: int64(rec.line), key: parentKey})
			}
			accepted++
			if !yield(row, nil) {
				return errStopIterator
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopIterator) {
			yield(nil, err)
		}
	}
	if _, err := rn.b.Load(rn.ctx, stagingTable, append(slices.Clone(spec.cols), spec.extra...), rows); err != nil {
		return fmt.Errorf("import: %s: %w", p.name, err)
	}
	if len(parents) > 0 {
		rejected, err := rn.resolveParents(p, parents)
		if err != nil {
			return err
		}
		accepted -= rejected
	}
	inserted, updated, err := rn.upsertStaged(p, spec, false, p.key != "none")
	if err != nil {
		return err
	}
	rn.written(spec.table, accepted, inserted, updated)
	return rn.dropStaging()
}

// resolveParents sets the staged accounts' parents once every account of
// the file is known; a row whose parent is unknown is rejected (or the
// parent created with CreateMissing).
func (rn *runner) resolveParents(p *filePlan, parents []pendingParent) (rejected int64, err error) {
	byName := p.cols[acParent].match == "name"
	var sets, drops [][]any
	for _, pp := range parents {
		var id int64
		if byName {
			id = rn.refs.accountName[normName(pp.key)]
		} else {
			id = rn.refs.accountExt[pp.key]
		}
		c := &rowCtx{rn: rn, p: p, line: int(pp.line)}
		switch {
		case id == ambiguous:
			c.fail(acParent, pp.key, "several accounts have this name")
		case id == 0 && c.createMissing(acParent):
			id = rn.stubAccount(pp.key, byName)
		case id == 0:
			c.fail(acParent, pp.key, "no account with this "+matchWord(p.cols[acParent].match, "account"))
		case id == pp.id:
			c.fail(acParent, pp.key, "an account cannot be its own parent")
		}
		if c.bad {
			drops = append(drops, []any{pp.line})
			continue
		}
		sets = append(sets, []any{pp.id, id})
	}
	const tmp = "qd_import_parents"
	run := func(query string) error {
		if _, err := rn.b.Exec(rn.ctx, query); err != nil {
			return fmt.Errorf("import: %s: %w", p.name, err)
		}
		return nil
	}
	if len(sets) > 0 {
		if err := run(`CREATE TEMPORARY TABLE ` + tmp + ` (id BIGINT, parent_id BIGINT)`); err != nil {
			return 0, err
		}
		if err := rn.insertRows(tmp, []string{"id", "parent_id"}, sets); err != nil {
			return 0, err
		}
		if err := run(`UPDATE ` + stagingTable + ` SET parent_id = t.parent_id FROM ` + tmp + ` t WHERE ` + stagingTable + `.id = t.id`); err != nil {
			return 0, err
		}
		if err := run(`DROP TABLE ` + tmp); err != nil {
			return 0, err
		}
	}
	if len(drops) > 0 {
		if err := run(`CREATE TEMPORARY TABLE ` + tmp + ` (line BIGINT)`); err != nil {
			return 0, err
		}
		if err := rn.insertRows(tmp, []string{"line"}, drops); err != nil {
			return 0, err
		}
		// The rejected accounts no longer resolve references.
		rows, err := rn.b.Query(rn.ctx, `SELECT s.id, s.external_id, s.name FROM `+stagingTable+` s JOIN `+tmp+` t ON t.line = s.line`)
		if err != nil {
			return 0, fmt.Errorf("import: %s: %w", p.name, err)
		}
		for rows.Next() {
			var id int64
			var ext *string
			var name string
			if err := rows.Scan(&id, &ext, &name); err != nil {
				rows.Close()
				return 0, fmt.Errorf("import: %s: %w", p.name, err)
			}
			if ext != nil && rn.refs.accountExt[*ext] == id {
				delete(rn.refs.accountExt, *ext)
			}
			if rn.refs.accountName[normName(name)] == id {
				delete(rn.refs.accountName, normName(name))
			}
		}
		rows.Close()
		if err := run(`DELETE FROM ` + stagingTable + ` WHERE line IN (SELECT line FROM ` + tmp + `)`); err != nil {
			return 0, err
		}
		if err := run(`DROP TABLE ` + tmp); err != nil {
			return 0, err
		}
		rn.res.Rejected += int64(len(drops))
	}
	return int64(len(drops)), nil
}

func convAccount(c *rowCtx) (row []any, parentKey string) {
	v := crm.Account{ExternalID: c.ext(acExternalID), Name: c.str(acName), Domain: domainOf(c.str(acDomain)), Industry: c.str(acIndustry),
		Country: c.str(acCountry), State: c.str(acState), City: c.str(acCity), PostalCode: c.str(acPostalCode),
		Segment: c.str(acSegment), OwnerID: c.user(acOwner), CreatedAt: c.createdAt(acCreatedAt)}
	employees, revenue := c.optInt(acEmployees), c.optMoney(acAnnualRevenue)
	if n, ok := employees.(int64); ok {
		v.Employees = &n
	}
	if d, ok := revenue.(decimal.Decimal); ok {
		v.AnnualRevenue = &d
	}
	lat, lon := c.optFloat(acLatitude), c.optFloat(acLongitude)
	if f, ok := lat.(float64); ok {
		v.Latitude = &f
	}
	if f, ok := lon.(float64); ok {
		v.Longitude = &f
	}
	parentKey, _ = c.refKey(acParent)
	c.validation(v.Validate())
	row = []any{int64(0), strOrNil(v.ExternalID), v.Name, v.Domain, v.Industry, employees, revenue, v.Country, v.State, v.City,
		v.PostalCode, lat, lon, ptrOrNil(v.OwnerID), nil, v.Segment, v.CreatedAt, nil, nil}
	return row, parentKey
}

// domainOf reduces a website to its domain: "https://www.Acme.com/about" → "acme.com".
func domainOf(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
	}
	s = strings.TrimPrefix(s, "www.")
	return strings.TrimSuffix(s, ".")
}

func convProduct(c *rowCtx) []any {
	v := crm.Product{ExternalID: c.ext(prExternalID), Name: c.str(prName), Family: c.str(prFamily), Currency: c.currency(prCurrency), Active: true}
	v.ListPrice, _ = c.money(prListPrice)
	if !c.p.mapped(prListPrice) && v.ExternalID != nil {
		if price, ok := c.rn.src.listPrices[*v.ExternalID]; ok {
			v.ListPrice = price
		}
	}
	if b, ok := c.boolean(prActive); ok {
		v.Active = b
	}
	c.validation(v.Validate())
	return []any{int64(0), strOrNil(v.ExternalID), v.Name, v.Family, v.ListPrice, v.Currency, v.Active, nil, nil}
}

// stubAccount creates an account for an unknown reference.
func (rn *runner) stubAccount(key string, byName bool) int64 {
	id, err := rn.newID()
	if err != nil {
		return 0
	}
	name, ext := key, any(key)
	if byName {
		ext = nil
		rn.refs.accountName.add(normName(key), id)
	} else {
		name = "Unknown account " + key
		rn.refs.accountExt.add(key, id)
	}
	rn.stubAccounts = append(rn.stubAccounts, []any{id, ext, name, "", "", nil, nil, "", "", "", "", nil, nil, nil, nil, "", rn.now})
	rn.res.Created["accounts"]++
	return id
}

// noAccount is the "(no account)" account of deals that name none, when missing
// records may be created.
func (rn *runner) noAccount() int64 {
	const name = "(no account)"
	if id := rn.refs.accountName[normName(name)]; id > 0 {
		return id
	}
	return rn.stubAccount(name, true)
}

// stubProduct creates a product for an unknown reference (list price 0).
func (rn *runner) stubProduct(key string, byName bool) int64 {
	id, err := rn.newID()
	if err != nil {
		return 0
	}
	name, ext := key, any(key)
	if byName {
		ext = nil
		rn.refs.productName.add(normName(key), id)
	} else {
		name = "Unknown product " + key
		rn.refs.productExt.add(key, id)
	}
	rn.refs.productPrice[id] = decimal.Zero
	rn.stubProducts = append(rn.stubProducts, []any{id, ext, name, "", decimal.Zero, rn.refs.corporate, true})
	rn.res.Created["products"]++
	return id
}

// stubUser creates a user for a reference no stored user has: named after
// the key, with the key as email when it is one.
func (rn *runner) stubUser(key, match string, role crm.Role) *userRec {
	return rn.newUser(key, match, role, "import.invalid")
}

func (rn *runner) newUser(key, match string, role crm.Role, domain string) *userRec {
	name, email := key, ""
	switch {
	case strings.Contains(key, "@") && match != "name" && match != "external_id":
		email = strings.ToLower(key)
		name = strings.Split(key, "@")[0]
	case match == "external_id" || (match == "" && looksLikeID(key)):
		name = "Unknown user " + key
		email = emailFor("user "+key, domain)
	default:
		email = emailFor(key, domain)
	}
	if id, ok := rn.refs.userEmail[email]; ok && id > 0 {
		u := rn.refs.users[id]
		if match == "external_id" {
			rn.setUserExt(key, id)
		}
		return u
	}
	id, _ := rn.newID()
	u := &userRec{User: crm.User{ID: id, Email: email, Name: name, Role: role, Active: true, CreatedAt: rn.now}, isNew: true}
	rn.refs.addUser(u)
	if match == "external_id" || (match == "" && looksLikeID(key)) {
		rn.setUserExt(key, id)
	}
	rn.dirtyUser(u)
	rn.res.Created["users"]++
	return u
}

func looksLikeID(s string) bool {
	_, ok := sfID18(s)
	return ok && !strings.Contains(s, " ")
}

func (rn *runner) dirtyUser(u *userRec) {
	if !slices.Contains(rn.stubUsers, u) {
		rn.stubUsers = append(rn.stubUsers, u)
	}
}

func (rn *runner) dirtyTeam(t *teamRec) {
	if !slices.Contains(rn.newTeams, t) {
		rn.newTeams = append(rn.newTeams, t)
	}
}

// ensureTeam finds a team by name or creates it; an existing team with no
// parent, region or manager gets the ones given.
func (rn *runner) ensureTeam(name string, parent *teamRec, region string, manager *int64) *teamRec {
	if id := rn.refs.teamName[normName(name)]; id > 0 {
		t := rn.refs.teams[id]
		if t.ParentID == nil && parent != nil && parent.ID != t.ID {
			t.ParentID = &parent.ID
			rn.dirtyTeam(t)
		}
		if t.Region == "" && region != "" {
			t.Region = region
			rn.dirtyTeam(t)
		}
		if t.ManagerID == nil && manager != nil {
			t.ManagerID = manager
			rn.dirtyTeam(t)
		}
		return t
	}
	id, _ := rn.newID()
	t := &teamRec{Team: crm.Team{ID: id, Name: name, Region: region, ManagerID: manager}, isNew: true}
	if parent != nil {
		t.ParentID = &parent.ID
	}
	rn.refs.teams[id] = t
	rn.refs.teamName.add(normName(name), id)
	rn.dirtyTeam(t)
	rn.res.Created["teams"]++
	return t
}

func (rn *runner) writeTeams(teams []*teamRec) error {
	rows := make([]*keyedRow, len(teams))
	for i, t := range teams {
		rows[i] = &keyedRow{row: []any{t.ID, t.Name, ptrOrNil(t.ParentID), t.Region, ptrOrNil(t.ManagerID), int64(0), t.isNew}}
		t.isNew = false
	}
	return rn.writeInternal(teamSpec, rows)
}

func (rn *runner) writeUsers(users []*userRec) error {
	rows := make([]*keyedRow, len(users))
	for i, u := range users {
		rows[i] = &keyedRow{row: []any{u.ID, u.Email, u.Name, string(u.Role), ptrOrNil(u.ManagerID), ptrOrNil(u.TeamID),
			dateOrNil(u.HireDate), u.Active, u.CreatedAt, int64(0), u.isNew}}
		u.isNew = false
	}
	return rn.writeInternal(userSpec, rows)
}

// writeInternal writes users or teams the import created or changed.
func (rn *runner) writeInternal(spec *streamSpec, rows []*keyedRow) error {
	if err := rn.createStaging(spec.table, spec.cols, spec.extra); err != nil {
		return err
	}
	_, err := rn.b.Load(rn.ctx, stagingTable, append(slices.Clone(spec.cols), spec.extra...), func(yield func([]any, error) bool) {
		for _, r := range rows {
			if !yield(r.row, nil) {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("import: write %s: %w", spec.table, err)
	}
	p := &filePlan{name: spec.table, entity: spec.entity}
	if _, _, err := rn.upsertStaged(p, spec, false, true); err != nil {
		return err
	}
	return rn.dropStaging()
}

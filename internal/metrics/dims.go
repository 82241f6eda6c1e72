package metrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// keyExpr is how one entity's rows get their slice key: an SQL expression
// (VARCHAR) and the join it needs.
type keyExpr struct{ expr, join string }

// dimension is a way to slice the KPIs.
type dimension struct {
	name string
	// people: the key follows the owner (rep, team, region), so quotas
	// apply to slices.
	people bool
	keys   map[entity]keyExpr // an entity missing here cannot be sliced this way
	// userKey is the slice of a user's records (people dimensions).
	userKey func(u userRow) string
	// public turns a key from SQL into the Slice's Key and Label.
	public func(key string) (string, string)
}

// ownerColumns are the owner columns of each entity's rows in the queries.
var ownerColumns = map[entity]string{entOpp: "o.owner_id", entActivity: "act.owner_id", entLead: "l.owner_id"}

// totalDimension is no slicing at all: one slice with key "".
func totalDimension() *dimension {
	k := keyExpr{expr: "''"}
	return &dimension{name: "", people: true,
		keys:    map[entity]keyExpr{entOpp: k, entActivity: k, entLead: k},
		userKey: func(userRow) string { return "" },
		public:  func(string) (string, string) { return "", "total" },
	}
}

func (sel *selection) dimension(ctx context.Context, s *store.Store, name string) (*dimension, error) {
	if name == "rep" && !sel.individuals {
		return nil, fmt.Errorf("figures by rep: a role that sees aggregates only sees no one person's figures: %w", crm.ErrForbidden)
	}
	owners := ownerColumns
	// byUser maps each visible user to a key (digits only, safe to inline).
	// Its alias is the dimension's own, so that one query can slice by
	// several dimensions (computeAll).
	alias := "dk_" + name
	byUser := func(key func(u userRow) string) map[entity]keyExpr {
		ids := make([]int64, 0, len(sel.users))
		for id := range sel.users {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var rows []string
		for _, id := range ids {
			if k := key(sel.users[id]); k != "" {
				rows = append(rows, fmt.Sprintf("(%d, '%s')", id, k))
			}
		}
		table := "(SELECT CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS VARCHAR) AS k WHERE FALSE) " + alias
		if len(rows) > 0 {
			table = "(VALUES " + strings.Join(rows, ", ") + ") AS " + alias + "(user_id, k)"
		}
		m := map[entity]keyExpr{}
		for ent, col := range owners {
			m[ent] = keyExpr{expr: "COALESCE(" + alias + ".k, '')", join: "LEFT JOIN " + table + " ON " + alias + ".user_id = " + col}
		}
		return m
	}
	plain := func(key string) (string, string) {
		if key == "" {
			return "", "(none)"
		}
		return key, key
	}
	d := &dimension{name: name, public: plain}
	switch name {
	case "rep":
		d.people = true
		d.userKey = func(u userRow) string { return strconv.FormatInt(u.id, 10) }
		d.keys = map[entity]keyExpr{}
		for ent, col := range owners {
			d.keys[ent] = keyExpr{expr: "COALESCE(CAST(" + col + " AS VARCHAR), '')"}
		}
		d.public = func(key string) (string, string) {
			id, _ := strconv.ParseInt(key, 10, 64)
			if u, ok := sel.users[id]; ok {
				return key, u.name
			}
			if key == "" {
				return "", "(no owner)"
			}
			return key, "user " + key
		}
	case "team":
		d.people = true
		d.userKey = func(u userRow) string {
			if u.teamID == nil {
				return ""
			}
			return strconv.FormatInt(*u.teamID, 10)
		}
		d.keys = byUser(d.userKey)
		d.public = func(key string) (string, string) {
			id, _ := strconv.ParseInt(key, 10, 64)
			if t, ok := sel.teams[id]; ok {
				return key, t.name
			}
			return "", "(no team)"
		}
	case "region":
		var names []string
		index := map[string]int{}
		for _, u := range sel.users {
			if r := sel.regionOf(u); r != "" {
				if _, ok := index[r]; !ok {
					index[r] = 0
					names = append(names, r)
				}
			}
		}
		slices.Sort(names)
		for i, n := range names {
			index[n] = i + 1
		}
		d.people = true
		d.userKey = func(u userRow) string {
			if r := sel.regionOf(u); r != "" {
				return strconv.Itoa(index[r])
			}
			return ""
		}
		d.keys = byUser(d.userKey)
		d.public = func(key string) (string, string) {
			i, _ := strconv.Atoi(key)
			if i >= 1 && i <= len(names) {
				return names[i-1], names[i-1]
			}
			return "", "(no region)"
		}
	case "product":
		d.keys = map[entity]keyExpr{entOpp: {
			expr: "COALESCE(CAST(dli.product_id AS VARCHAR), '')",
			join: "LEFT JOIN (SELECT DISTINCT opportunity_id, product_id FROM line_items) dli ON dli.opportunity_id = o.id"}}
		names := map[string]string{}
		rows, err := s.DB().QueryContext(ctx, `SELECT id, name FROM products`)
		if err != nil {
			return nil, fmt.Errorf("kpi: read products: %w", err)
		}
		for rows.Next() {
			var id int64
			var n string
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("kpi: read products: %w", err)
			}
			names[strconv.FormatInt(id, 10)] = n
		}
		rows.Close()
		d.public = func(key string) (string, string) {
			if n, ok := names[key]; ok {
				return n, n
			}
			return "", "(no product)"
		}
	case "segment", "industry":
		d.keys = map[entity]keyExpr{
			entOpp:      {expr: "COALESCE(da." + name + ", '')", join: "LEFT JOIN accounts da ON da.id = o.account_id"},
			entActivity: {expr: "COALESCE(da." + name + ", '')", join: "LEFT JOIN accounts da ON da.id = act.account_id"},
		}
		if name == "industry" {
			d.keys[entLead] = keyExpr{expr: "l.industry"}
		}
	case "source":
		d.keys = map[entity]keyExpr{entOpp: {expr: "o.source"}, entLead: {expr: "l.source"}}
	case "type":
		d.keys = map[entity]keyExpr{entOpp: {expr: "o.deal_type"}}
	default:
		return nil, crm.Invalid("kpi", "by", fmt.Sprintf("%q: want one of %s", name, strings.Join(Dimensions, ", ")))
	}
	return d, nil
}

// ownerKey is the slice of d (a dimension that follows the owner) holding
// the records of owner, as the dimension's SQL key gives it.
func (sel *selection) ownerKey(d *dimension, owner int64) string {
	if d.name == "rep" {
		return strconv.FormatInt(owner, 10)
	}
	u, ok := sel.users[owner]
	if !ok {
		return "" // not a visible user: no team, no region
	}
	return d.userKey(u)
}

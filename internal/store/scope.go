package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// scope is what one principal may see: everything, or the records owned by
// a set of users (and, for team-level records, a set of teams).
type scope struct {
	all   bool
	users []int64 // owners whose records are visible
	teams []int64 // teams whose team-level records are visible
}

// scopeOf works out visibility from the role and the organisation:
// ops and admin see all; a manager sees the teams they manage with every team
// below them, plus everyone who reports to them directly or indirectly, plus
// themselves; a rep sees themselves; a viewer sees no records (aggregates only).
func (s *Store) scopeOf(ctx context.Context, p crm.Principal) (scope, error) {
	switch p.Role {
	case crm.RoleAdmin, crm.RoleOps:
		return scope{all: true}, nil
	case crm.RoleRep:
		return scope{users: []int64{p.UserID}}, nil
	case crm.RoleManager:
		return s.managerScope(ctx, p.UserID)
	default:
		return scope{}, nil
	}
}

func (s *Store) managerScope(ctx context.Context, manager int64) (scope, error) {
	type node struct{ parent, manager *int64 }
	teams := map[int64]node{}
	rows, err := s.db.QueryContext(ctx, `SELECT id, parent_id, manager_id FROM teams`)
	if err != nil {
		return scope{}, fmt.Errorf("read teams: %w", err)
	}
	for rows.Next() {
		var id int64
		var n node
		if err := rows.Scan(&id, &n.parent, &n.manager); err != nil {
			rows.Close()
			return scope{}, err
		}
		teams[id] = n
	}
	rows.Close()

	// A team is visible if it, or any team above it, is managed by the manager.
	managed := func(id int64) bool {
		for seen := 0; seen <= len(teams); seen++ {
			n, ok := teams[id]
			if !ok {
				return false
			}
			if n.manager != nil && *n.manager == manager {
				return true
			}
			if n.parent == nil {
				return false
			}
			id = *n.parent
		}
		return false // a cycle in the hierarchy: see nothing rather than loop
	}
	var sc scope
	for id := range teams {
		if managed(id) {
			sc.teams = append(sc.teams, id)
		}
	}

	type person struct{ team, manager *int64 }
	people := map[int64]person{}
	rows, err = s.db.QueryContext(ctx, `SELECT id, team_id, manager_id FROM users`)
	if err != nil {
		return scope{}, fmt.Errorf("read users: %w", err)
	}
	for rows.Next() {
		var id int64
		var pr person
		if err := rows.Scan(&id, &pr.team, &pr.manager); err != nil {
			rows.Close()
			return scope{}, err
		}
		people[id] = pr
	}
	rows.Close()
	reportsTo := func(id int64) bool {
		for seen := 0; seen <= len(people); seen++ {
			pr, ok := people[id]
			if !ok || pr.manager == nil {
				return false
			}
			if *pr.manager == manager {
				return true
			}
			id = *pr.manager
		}
		return false
	}
	for id, pr := range people {
		if id == manager || reportsTo(id) || (pr.team != nil && slices.Contains(sc.teams, *pr.team)) {
			sc.users = append(sc.users, id)
		}
	}
	slices.Sort(sc.users)
	slices.Sort(sc.teams)
	return sc, nil
}

// hasUser reports whether records owned by id are visible.
func (sc scope) hasUser(id int64) bool { return sc.all || slices.Contains(sc.users, id) }

// ownerPredicate is the SQL condition limiting column to the visible owners.
// Ids are integers formatted here, never user text, so inlining them is safe.
func (sc scope) ownerPredicate(column string) string {
	if sc.all {
		return "TRUE"
	}
	return inList(column, sc.users)
}

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

// TeamTree is a team and every team below it (a cycle in the hierarchy
// ends the walk rather than looping).
func (s *Store) TeamTree(ctx context.Context, root int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `WITH RECURSIVE tree(id) AS (
		SELECT id FROM teams WHERE id = $1
		UNION SELECT t.id FROM teams t JOIN tree ON t.parent_id = tree.id)
		SELECT id FROM tree ORDER BY id`, root)
	if err != nil {
		return nil, fmt.Errorf("teams under %d: %w", root, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// OwnerFilter is one principal's visibility as SQL conditions on owner
// columns, for packages that run their own read-only aggregate SQL through
// DB() (data quality, analytics). It follows scopeOf, with one difference
// that belongs to aggregates: a viewer, who reads no records, gets the whole
// organisation, as in Summary. Callers must not show a viewer records, nor
// any figure of one person: Individuals says whether they may.
type OwnerFilter struct {
	sc             scope
	aggregatesOnly bool
}

// OwnerFilter works out p's visibility once; use Condition for each column.
// An unknown role is ErrForbidden.
func (s *Store) OwnerFilter(ctx context.Context, p crm.Principal) (OwnerFilter, error) {
	if !p.Role.Valid() {
		return OwnerFilter{}, crm.ErrForbidden
	}
	if p.Role == crm.RoleViewer {
		return OwnerFilter{sc: scope{all: true}, aggregatesOnly: true}, nil
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return OwnerFilter{}, err
	}
	return OwnerFilter{sc: sc}, nil
}

// Individuals reports whether the principal may see figures of one person
// (a rep's won amount, attainment, calls). The viewer ("aggregates only")
// sees the organisation, its regions and its teams, never one person.
func (f OwnerFilter) Individuals() bool { return !f.aggregatesOnly }

// CheckIndividuals is ErrForbidden unless the principal may see figures of
// one person; what is refused is named in the error.
func (f OwnerFilter) CheckIndividuals(what string) error {
	if f.aggregatesOnly {
		return fmt.Errorf("%s: figures of one person are not for a role that sees aggregates only: %w", what, crm.ErrForbidden)
	}
	return nil
}

// Team reports whether the principal may filter by team id: every team for
// roles that see all and for the viewer (team totals are aggregates); the
// teams they manage and those below for a manager; none for a rep, who sees
// only their own records.
func (f OwnerFilter) Team(id int64) bool {
	return f.sc.all || slices.Contains(f.sc.teams, id)
}

// All reports whether the filter lets every record through.
func (f OwnerFilter) All() bool { return f.sc.all }

// Condition is the SQL condition limiting column (an expression written in
// code, never user input) to the visible owners: "TRUE" for the whole
// organisation, else "column IN (...)", or "FALSE" when nobody is visible.
// A NULL owner is visible only with the whole organisation.
func (f OwnerFilter) Condition(column string) string { return f.sc.ownerPredicate(column) }

// OwnerCondition is OwnerFilter followed by Condition, for a single column.
func (s *Store) OwnerCondition(ctx context.Context, p crm.Principal, column string) (string, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return "", err
	}
	return f.Condition(column), nil
}

// Owners lists the users whose records the filter lets through; all is
// true (and the list empty) for the whole organisation.
func (f OwnerFilter) Owners() (all bool, ids []int64) { return f.sc.all, slices.Clone(f.sc.users) }

// VisibleTeams lists the teams p may filter by (see OwnerFilter.Team), by name.
func (s *Store) VisibleTeams(ctx context.Context, p crm.Principal) ([]crm.Team, error) {
	of, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	all, err := queryAll[crm.Team](ctx, s.db, "teams", "TRUE ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		if of.Team(t.ID) {
			out = append(out, t)
		}
	}
	return out, nil
}

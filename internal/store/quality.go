package store

import (
	"context"
	"slices"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// OwnerFilter is one principal's visibility as SQL conditions on owner
// columns, for packages that run their own read-only aggregate SQL through
// DB() (data quality, analytics). It follows scopeOf, with one difference
// that belongs to aggregates: a viewer, who reads no records, gets the whole
// organisation, as in Summary. Callers must not show a viewer records.
type OwnerFilter struct {
	sc scope
}

// OwnerFilter works out p's visibility once; use Condition for each column.
// An unknown role is ErrForbidden.
func (s *Store) OwnerFilter(ctx context.Context, p crm.Principal) (OwnerFilter, error) {
	if !p.Role.Valid() {
		return OwnerFilter{}, crm.ErrForbidden
	}
	if p.Role == crm.RoleViewer {
		return OwnerFilter{sc: scope{all: true}}, nil
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return OwnerFilter{}, err
	}
	return OwnerFilter{sc: sc}, nil
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

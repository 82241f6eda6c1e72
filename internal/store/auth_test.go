package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// A resolved token is kept for a moment, but deactivating its user or
// changing their role counts at once: the next request is refused or sees
// the new role.
func TestTokenFollowsUserChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := storetest.NewOrg(t, s)
		tok, err := s.NewAPIToken(ctx, crm.System, o.RepA1.ID)
		storetest.Must(t, err)
		for range 3 {
			if u, err := s.UserByToken(ctx, tok); err != nil || u.ID != o.RepA1.ID || u.Role != crm.RoleRep {
				t.Fatalf("token: %+v %v", u, err)
			}
		}
		_, err = s.Users.Update(ctx, crm.System, o.RepA1.ID, func(u *crm.User) error { u.Role = crm.RoleManager; return nil })
		storetest.Must(t, err)
		if u, err := s.UserByToken(ctx, tok); err != nil || u.Role != crm.RoleManager {
			t.Errorf("after a role change: %+v %v", u, err)
		}
		_, err = s.Users.Update(ctx, crm.System, o.RepA1.ID, func(u *crm.User) error { u.Active = false; return nil })
		storetest.Must(t, err)
		if u, err := s.UserByToken(ctx, tok); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("a deactivated user's token still works: %+v %v", u, err)
		}
		if _, err := s.UserByToken(ctx, tok+"x"); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("a wrong token: %v", err)
		}
	})
}

package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// newUserJSON is a user as created through the API, with an optional first password.
type newUserJSON struct {
	crm.User
	Password string `json:"password"`
}

func (srv *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	in := newUserJSON{User: crm.User{Active: true}}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	u := in.User
	if err := srv.store.CreateUser(r.Context(), authOf(r).principal(), &u, in.Password); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

// tokenRequest asks for a token: what it is for and how long it lasts.
type tokenRequest struct {
	Name        string `json:"name"`
	ExpiresDays int    `json:"expires_days"` // 0: the default, 90 days
}

// tokenOwner is whose tokens a request manages: the caller's under
// /api/me/tokens, a user's under /api/users/{id}/tokens (admins; the store
// refuses the rest).
func tokenOwner(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return authOf(r).user.ID, nil
	}
	return pathID(r)
}

// handleNewToken creates a named token that expires; it is shown once.
func (srv *Server) handleNewToken(w http.ResponseWriter, r *http.Request) {
	user, err := tokenOwner(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	in := tokenRequest{Name: "api"}
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &in); err != nil {
			srv.writeError(w, r, err)
			return
		}
	}
	if in.ExpiresDays < 0 || in.ExpiresDays > int(store.MaxTokenTTL.Hours()/24) {
		srv.writeError(w, r, crm.Invalid("token", "expires_days", fmt.Sprintf("must be 1 to %d", int(store.MaxTokenTTL.Hours()/24))))
		return
	}
	tok, info, err := srv.store.CreateAPIToken(r.Context(), authOf(r).principal(), user, in.Name, time.Duration(in.ExpiresDays)*24*time.Hour)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Token string `json:"token"`
		store.APIToken
	}{tok, info})
}

func (srv *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	user, err := tokenOwner(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	list, err := srv.store.APITokens(r.Context(), authOf(r).principal(), user)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (srv *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	user, err := tokenOwner(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if err := srv.store.RevokeAPIToken(r.Context(), authOf(r).principal(), user, r.PathValue("token")); err != nil {
		srv.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleEndSessions logs the caller (or, for admins, a user) out of every browser.
func (srv *Server) handleEndSessions(w http.ResponseWriter, r *http.Request) {
	user, err := tokenOwner(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	n, err := srv.store.EndAllSessions(r.Context(), authOf(r).principal(), user)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"ended": n})
}

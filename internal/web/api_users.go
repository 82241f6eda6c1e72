package web

import (
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/crm"
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

// handleNewToken gives the caller a new API token for themselves.
func (srv *Server) handleNewToken(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	tok, err := srv.store.NewAPIToken(r.Context(), a.principal(), a.user.ID)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": tok})
}

package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// handleAccountPage is GET /account: the caller's API tokens (create, see
// when each was last used, revoke) and logging out everywhere.
func (srv *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	srv.renderAccount(w, r, http.StatusOK, map[string]any{})
}

func (srv *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	a := authOf(r)
	list, err := srv.store.APITokens(r.Context(), a.principal(), a.user.ID)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	now := time.Now()
	when := func(t *time.Time, none string) export.Cell {
		if t == nil {
			return export.TextCell(none)
		}
		return export.TextCell(t.UTC().Format("2006-01-02 15:04"))
	}
	t := export.Table{ID: "tokens", Title: "API tokens", Columns: []export.Column{
		{Key: "name", Label: "Name"}, {Key: "id", Label: "Id"}, {Key: "created", Label: "Created (UTC)"},
		{Key: "expires", Label: "Expires (UTC)"}, {Key: "used", Label: "Last used (UTC)"}, {Key: "status", Label: "Status"}}}
	var active []store.APIToken
	for _, tk := range list {
		status := "active"
		switch {
		case tk.RevokedAt != nil:
			status = "revoked " + tk.RevokedAt.UTC().Format("2006-01-02")
		case tk.ExpiresAt != nil && !tk.ExpiresAt.After(now):
			status = "expired"
		default:
			active = append(active, tk)
		}
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(tk.Name), export.TextCell(tk.ID), when(&tk.CreatedAt, ""),
			when(tk.ExpiresAt, "never (made before tokens expired)"), when(tk.LastUsedAt, "never"), export.TextCell(status)})
	}
	var ts tables
	ts.add(t, tableOpts{})
	if srv.serveExport(w, r, "tokens", ts) {
		return
	}
	data["T"] = ts.views(r)
	data["Active"] = active
	data["MaxDays"] = int(store.MaxTokenTTL.Hours() / 24)
	srv.render(w, r, status, "account", data)
}

// handleAccountPost is POST /account: create or revoke a token, or log out
// everywhere, by the form's action.
func (srv *Server) handleAccountPost(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	p := a.principal()
	switch r.PostFormValue("action") {
	case "create":
		days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("expires_days")))
		if err != nil || days < 1 || days > int(store.MaxTokenTTL.Hours()/24) {
			srv.renderAccount(w, r, http.StatusBadRequest, map[string]any{"Error": fmt.Sprintf("Expires in: give a number of days from 1 to %d.", int(store.MaxTokenTTL.Hours()/24))})
			return
		}
		tok, info, err := srv.store.CreateAPIToken(r.Context(), p, a.user.ID, r.PostFormValue("name"), time.Duration(days)*24*time.Hour)
		if err != nil {
			srv.renderAccount(w, r, http.StatusBadRequest, map[string]any{"Error": formError(err)})
			return
		}
		srv.renderAccount(w, r, http.StatusOK, map[string]any{"NewToken": tok, "NewName": info.Name})
	case "revoke":
		if err := srv.store.RevokeAPIToken(r.Context(), p, a.user.ID, r.PostFormValue("token")); err != nil {
			srv.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	case "logout_everywhere":
		if _, err := srv.store.EndAllSessions(r.Context(), p, a.user.ID); err != nil {
			srv.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		srv.pageError(w, r, invalidParam("action", "want create, revoke or logout_everywhere"))
	}
}

// formError is a refusal as a sentence for a form.
func formError(err error) string {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			parts[i] = f.Field + ": " + f.Reason
		}
		return strings.Join(parts, "; ") + "."
	}
	return err.Error()
}

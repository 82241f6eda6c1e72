package web

import (
	"errors"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

func (srv *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if a := authOf(r); a != nil && a.session != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	srv.render(w, r, http.StatusOK, "login", map[string]any{})
}

func (srv *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	u, err := srv.store.Authenticate(r.Context(), email, password)
	if err != nil {
		if !errors.Is(err, store.ErrBadCredentials) {
			srv.log.Error("login", "err", err)
		}
		srv.log.Warn("failed login", "email", email, "remote", r.RemoteAddr)
		srv.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Error": "Wrong email or password.", "Email": email})
		return
	}
	sess, err := srv.store.NewSession(r.Context(), u.ID, srv.cfg.SessionTTL)
	if err != nil {
		srv.log.Error("new session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: srv.secureCookie(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (srv *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := srv.store.EndSession(r.Context(), authOf(r).session.Token); err != nil {
		srv.log.Error("logout", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: srv.secureCookie(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

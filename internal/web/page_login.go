package web

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"

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
	addr := srv.clientAddr(r)
	u, err := srv.store.Login(r.Context(), email, password, addr)
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		srv.log.Warn("failed login", "email", email, "remote", addr, "reason", "throttled", "retry_after_s", int(throttled.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		srv.render(w, r, http.StatusTooManyRequests, "login", map[string]any{"Error": "Too many failed logins. " + throttled.Error() + ".", "Email": email})
		return
	case err != nil:
		reason := "bad credentials"
		if !errors.Is(err, store.ErrBadCredentials) {
			srv.log.Error("login", "err", err)
			reason = "error"
		}
		srv.log.Warn("failed login", "email", email, "remote", addr, "reason", reason)
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

// clientAddr is the address login failures are counted against: the peer,
// or what the trusted proxy's header says.
func (srv *Server) clientAddr(r *http.Request) string {
	if h := srv.cfg.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			parts := strings.Split(v, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (srv *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := srv.store.EndSession(r.Context(), authOf(r).session.Token); err != nil {
		srv.log.Error("logout", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: srv.secureCookie(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

const sessionCookie = "qd_session"

type ctxKey int

const (
	authKey ctxKey = iota + 1
	requestIDKey
	callerKey // *caller: where authenticate leaves the user for the access log
)

// caller is filled in by authenticate for the access log, which wraps it and
// so never sees the request that carries the user.
type caller struct{ info *authInfo }

// requestID is the id logRequests gave the request: on every log line, in the
// X-Request-Id header and on error pages, so a user's report finds its line.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// authInfo is who made the request and how.
type authInfo struct {
	user    crm.User
	session *store.Session // nil for bearer-token requests
}

func (a *authInfo) principal() crm.Principal {
	return crm.Principal{UserID: a.user.ID, Role: a.user.Role}
}

func authOf(r *http.Request) *authInfo {
	a, _ := r.Context().Value(authKey).(*authInfo)
	return a
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests writes one structured line per request, and turns a panic into a 500.
func (srv *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		who := &caller{}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(context.WithValue(ctx, callerKey, who))
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				srv.log.Error("panic", "method", r.Method, "path", r.URL.Path, "request_id", id, "panic", v)
				http.Error(rec, "internal error (request "+id+")", http.StatusInternalServerError)
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds(), "request_id", id}
			if a := who.info; a != nil {
				attrs = append(attrs, "user", a.user.ID, "role", string(a.user.Role))
			}
			srv.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slogAttrs(attrs)...)
		}()
		next.ServeHTTP(rec, r)
	})
}

func slogAttrs(kv []any) []slog.Attr {
	out := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, slog.Any(kv[i].(string), kv[i+1]))
	}
	return out
}

// securityHeaders forbids framing, sniffing and any script or style not ours.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves a bearer token or a session cookie. It does not
// refuse anonymous requests: requireAPI and requirePage do.
func (srv *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var info *authInfo
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				srv.writeError(w, r, store.ErrBadCredentials)
				return
			}
			u, err := srv.store.UserByToken(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				if !errors.Is(err, store.ErrBadCredentials) {
					srv.log.Error("token check", "err", err)
				}
				srv.writeError(w, r, store.ErrBadCredentials)
				return
			}
			info = &authInfo{user: *u}
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if sess, err := srv.store.SessionByToken(r.Context(), c.Value); err == nil {
				info = &authInfo{user: sess.User, session: sess}
			}
		}
		if info != nil {
			r = r.WithContext(context.WithValue(r.Context(), authKey, info))
			if who, ok := r.Context().Value(callerKey).(*caller); ok {
				who.info = info
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireAPI refuses anonymous API calls with 401, and state-changing calls
// made with a session cookie unless they carry the session's CSRF token.
func (srv *Server) requireAPI(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := authOf(r)
		if a == nil {
			srv.writeError(w, r, store.ErrBadCredentials)
			return
		}
		if a.session != nil && !safeMethod(r.Method) && !store.CSRFValid(a.session.CSRFToken, r.Header.Get("X-CSRF-Token")) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "missing or wrong X-CSRF-Token header"})
			return
		}
		h(w, r)
	}
}

// requirePage sends anonymous visitors to the login page, and checks the
// form's CSRF token on every state-changing page request.
func (srv *Server) requirePage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := authOf(r)
		if a == nil || a.session == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) && !store.CSRFValid(a.session.CSRFToken, r.PostFormValue("csrf_token")) {
			srv.render(w, r, http.StatusForbidden, "error", map[string]any{"Status": http.StatusForbidden, "Title": "Form expired",
				"Message": "Your form expired or came from another site. Go back, reload the page and try again."})
			return
		}
		if !mayUse(a.user.Role, r.URL.Path) {
			srv.pageError(w, r, crm.ErrForbidden)
			return
		}
		h(w, r)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// secureCookie decides the cookie's Secure flag (see Config.SecureCookies).
func (srv *Server) secureCookie(r *http.Request) bool {
	switch srv.cfg.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// refuseBadText answers 400 to a request whose path, query parameters or
// form fields are not valid UTF-8 or hold a NUL byte: no handler has to
// think of it, and no such text reaches the database (PostgreSQL refuses
// both, which would otherwise be a 500).
func (srv *Server) refuseBadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		field := ""
		if !cleanText(r.URL.Path) {
			field = "path"
		}
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			field = "query"
		}
		if field == "" {
			field = badValue(query)
		}
		// Forms are the pages'; the API reads JSON whatever the Content-Type
		// says (curl -d labels JSON as a form), so its body is left unread.
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if field == "" && !api && r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if err := r.ParseForm(); err != nil {
				field = "form"
			} else {
				field = badValue(r.PostForm)
			}
		}
		if field == "" {
			next.ServeHTTP(w, r)
			return
		}
		err = crm.Invalid("request", field, "is not valid text (malformed encoding, invalid UTF-8 or a NUL byte)")
		if api {
			srv.writeError(w, r, err)
		} else {
			srv.pageError(w, r, err)
		}
	})
}

// badValue is the first parameter whose name or value is not clean text.
func badValue(vs url.Values) string {
	for _, k := range slices.Sorted(maps.Keys(vs)) {
		if !cleanText(k) {
			return "parameter name"
		}
		for _, v := range vs[k] {
			if !cleanText(v) && k == "" {
				return "parameter name" // the value of a parameter without a name
			} else if !cleanText(v) {
				return k
			}
		}
	}
	return ""
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

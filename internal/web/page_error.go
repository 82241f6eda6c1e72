package web

import (
	"errors"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// invalidParam is a refused query parameter.
func invalidParam(name, reason string) error { return crm.Invalid("query", name, reason) }

// pageError shows an error as a styled page with the request id a user can
// quote: a bad parameter is 400, something the role may not use 403,
// anything missing or outside the user's scope 404 (the same page, so a
// scope is not revealed), and the rest 500, logged.
func (srv *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, title, msg := http.StatusInternalServerError, "Something went wrong",
		"Quarterdeck could not show this page. The error is logged; quote the request id below to your administrator."
	var ve *crm.ValidationError
	var refusal *crm.Refusal
	switch {
	case errors.As(err, &ve):
		status, title, msg = http.StatusBadRequest, "This link has a problem", ve.Error()
	case errors.As(err, &refusal):
		srv.logRefusal(r, err)
		status, title, msg = http.StatusForbidden, "Not for your role", refusal.Reason+"."
	case errors.Is(err, crm.ErrConflict):
		status, title, msg = http.StatusConflict, "Not done", conflictText(err)+"."
	case errors.Is(err, crm.ErrInvalid):
		status, title, msg = http.StatusBadRequest, "This link has a problem", err.Error()
	case errors.Is(err, crm.ErrNotFound):
		srv.logRefusal(r, err)
		status, title, msg = http.StatusNotFound, "Not found", "There is nothing here that you may see. The link may be wrong, or the record is outside what your role shows."
	case errors.Is(err, crm.ErrForbidden):
		srv.logRefusal(r, err)
		status, title, msg = http.StatusForbidden, "Not for your role", "Your role may not use this page. Ask an administrator if you need it."
	default:
		srv.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
	}
	srv.render(w, r, status, "error", map[string]any{"Status": status, "Title": title, "Message": msg})
}

// handleNotFound answers every path no route claims.
func (srv *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	srv.pageError(w, r, crm.ErrNotFound)
}

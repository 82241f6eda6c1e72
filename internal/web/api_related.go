package web

import (
	"context"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Records that hang off a parent: an opportunity's history and line items, a lead's events.

// childList answers GET /api/{parents}/{id}/{children} with {"items": [...]}.
func childList[T any](srv *Server, list func(ctx context.Context, p crm.Principal, parentID int64) ([]T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		items, err := list(r.Context(), authOf(r).principal(), id)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	}
}

// childAdd answers POST /api/{parents}/{id}/{children}: setParent ties the
// decoded child to the parent in the path, whatever the body said.
func childAdd[T any](srv *Server, setParent func(v *T, parentID int64), add func(ctx context.Context, p crm.Principal, v *T) error, after ...written[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		v := new(T)
		if err := decodeInto(body, v); err != nil {
			srv.writeError(w, r, err)
			return
		}
		setParent(v, id)
		if err := add(r.Context(), authOf(r).principal(), v); err != nil {
			srv.writeError(w, r, err)
			return
		}
		for _, fn := range after {
			fn(r, v)
		}
		writeJSON(w, http.StatusCreated, v)
	}
}

func (srv *Server) childRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/opportunities/{id}/history", srv.requireAPI(childList(srv, srv.store.History)))
	m.HandleFunc("GET /api/opportunities/{id}/line-items", srv.requireAPI(childList(srv, srv.store.LineItems)))
	m.HandleFunc("POST /api/opportunities/{id}/line-items", srv.requireAPI(childAdd(srv,
		func(li *crm.LineItem, id int64) { li.OpportunityID = id }, srv.store.AddLineItem)))
	m.HandleFunc("GET /api/leads/{id}/events", srv.requireAPI(childList(srv, srv.store.LeadEvents)))
	m.HandleFunc("POST /api/leads/{id}/events", srv.requireAPI(childAdd(srv,
		func(e *crm.LeadEvent, id int64) { e.LeadID = id }, srv.store.AddLeadEvent,
		func(r *http.Request, e *crm.LeadEvent) { srv.rescoreAfterEvent(r, e.LeadID) })))
}

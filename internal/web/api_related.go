package web

import (
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Records that hang off a parent: an opportunity's history and line items, a lead's events.

func (srv *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	h, err := srv.store.History(r.Context(), authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
}

func (srv *Server) handleLineItems(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	items, err := srv.store.LineItems(r.Context(), authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (srv *Server) handleAddLineItem(w http.ResponseWriter, r *http.Request) {
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
	var li crm.LineItem
	if err := decodeInto(body, &li); err != nil {
		srv.writeError(w, r, err)
		return
	}
	li.OpportunityID = id
	if err := srv.store.AddLineItem(r.Context(), authOf(r).principal(), &li); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, li)
}

func (srv *Server) handleLeadEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	ev, err := srv.store.LeadEvents(r.Context(), authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ev})
}

func (srv *Server) handleAddLeadEvent(w http.ResponseWriter, r *http.Request) {
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
	var ev crm.LeadEvent
	if err := decodeInto(body, &ev); err != nil {
		srv.writeError(w, r, err)
		return
	}
	ev.LeadID = id
	if err := srv.store.AddLeadEvent(r.Context(), authOf(r).principal(), &ev); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ev)
}

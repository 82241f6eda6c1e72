package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// auditLimit is how many of the latest entries the audit page reads; the
// table pages through them, and ?entity= and ?entity_id= narrow them.
const auditLimit = store.MaxPageSize

// handleAuditPage is GET /audit: who changed what, for ops and admins.
func (srv *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "entity" && k != "entity_id" && !tableParam(k) {
			srv.pageError(w, r, invalidParam(k, "unknown parameter (known: entity, entity_id)"))
			return
		}
	}
	var id int64
	if v := q.Get("entity_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			srv.pageError(w, r, invalidParam("entity_id", fmt.Sprintf("%q is not a record id", v)))
			return
		}
		id = n
	}
	p := authOf(r).principal()
	entries, err := srv.store.AuditLog(r.Context(), p, q.Get("entity"), id, auditLimit)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	users, err := srv.store.Users.List(r.Context(), p, store.ListQuery{Limit: store.MaxPageSize})
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, u := range users.Items {
		names[u.ID] = u.Name
	}
	t := export.Table{ID: "audit", Title: "Audit log", Columns: []export.Column{
		{Key: "at", Label: "When (UTC)"}, {Key: "who", Label: "Who"}, {Key: "action", Label: "Action"},
		{Key: "entity", Label: "Record"}, {Key: "changes", Label: "Changes"}}}
	for _, e := range entries {
		who := "system"
		if e.ActorID != nil {
			who = names[*e.ActorID]
			if who == "" {
				who = fmt.Sprintf("user %d", *e.ActorID)
			}
		}
		rec := export.TextCell(fmt.Sprintf("%s %d", e.Entity, e.EntityID))
		rec.Link = fmt.Sprintf("/audit?entity=%s&entity_id=%d", e.Entity, e.EntityID)
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(e.At.UTC().Format("2006-01-02 15:04:05")), export.TextCell(who),
			export.TextCell(e.Action), rec, export.TextCell(auditChanges([]byte(e.Before), []byte(e.After)))})
	}
	var ts tables
	ts.add(t, tableOpts{PageSize: 50})
	if srv.serveExport(w, r, "audit", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "audit", map[string]any{"T": ts.views(r), "Entity": q.Get("entity"), "EntityID": id, "Limit": auditLimit, "Count": len(entries)})
}

// auditChanges writes what changed between two JSON objects, field by
// field: "amount: 100 → 250; stage: Proposal → Negotiation". A creation
// lists the new values, a deletion the old ones.
func auditChanges(before, after []byte) string {
	var b, a map[string]any
	json.Unmarshal(before, &b)
	json.Unmarshal(after, &a)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		if k != "updated_at" && k != "created_at" {
			sorted = append(sorted, k)
		}
	}
	slices.Sort(sorted)
	var parts []string
	for _, k := range sorted {
		bv, inB := b[k]
		av, inA := a[k]
		switch {
		case inB && inA && fmt.Sprint(bv) == fmt.Sprint(av):
		case !inB || b == nil:
			parts = append(parts, fmt.Sprintf("%s: %s", k, auditValue(av)))
		case !inA || a == nil:
			parts = append(parts, fmt.Sprintf("%s: was %s", k, auditValue(bv)))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s → %s", k, auditValue(bv), auditValue(av)))
		}
	}
	return strings.Join(parts, "; ")
}

func auditValue(v any) string {
	if v == nil {
		return "–"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

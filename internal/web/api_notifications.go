package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
)

// The notification delivery log, for ops and admins:
//   GET /api/notifications                one row per notification, newest first (channel, event, state, limit)
//   GET /api/notifications/{id}/attempts  a notification's delivery attempts, oldest first
//   GET /notifications                    the page (page_notifications.go)

func (srv *Server) notificationRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/notifications", srv.requireAPI(srv.handleNotificationsAPI))
	m.HandleFunc("GET /api/notifications/{id}/attempts", srv.requireAPI(srv.handleNotificationAttemptsAPI))
	m.HandleFunc("GET /notifications", srv.requirePage(srv.handleNotificationsPage))
}

// notificationQuery reads the log's filters; the page also takes job and
// its table's parameters. The values themselves are checked by notify.
func notificationQuery(v url.Values, page bool) (notify.Query, error) {
	var q notify.Query
	known := "channel, event, state, limit"
	if page {
		known += ", job"
	}
	probs := crm.NewProblems("query")
	for _, k := range slices.Sorted(maps.Keys(v)) {
		switch {
		case k == "channel", k == "event", k == "state", k == "limit", page && k == "job":
			probs.Require(len(v[k]) == 1, k, "give it once")
		case page && tableParam(k):
		default:
			probs.Add(k, "unknown parameter (known: %s)", known)
		}
	}
	q.Channel, q.Event, q.State = v.Get("channel"), v.Get("event"), v.Get("state")
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		probs.Require(err == nil && n >= 1 && n <= notify.MaxLimit, "limit", fmt.Sprintf("must be a whole number from 1 to %d", notify.MaxLimit))
		q.Limit = n
	}
	return q, probs.Err()
}

func (srv *Server) handleNotificationsAPI(w http.ResponseWriter, r *http.Request) {
	q, err := notificationQuery(r.URL.Query(), false)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	list, err := notify.Notifications(r.Context(), srv.store, authOf(r).principal(), q)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []notify.Notification{} // "items": [] rather than null
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (srv *Server) handleNotificationAttemptsAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if q := r.URL.Query(); len(q) > 0 {
		srv.writeError(w, r, invalidParam(slices.Sorted(maps.Keys(q))[0], "unknown parameter: attempts take none"))
		return
	}
	log, err := notify.Attempts(r.Context(), srv.store, authOf(r).principal(), id)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if log == nil {
		log = []notify.Attempt{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "items": log})
}

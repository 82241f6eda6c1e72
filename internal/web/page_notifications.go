package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
)

// The view is declared here rather than in pages.go's list so that the
// notification log is one self-contained module; loadPages reads views
// only when a server is built, after every init.
const stampLayout = "2006-01-02 15:04:05"

// handleNotificationsPage is GET /notifications: every notification with
// where its delivery stands, filtered by channel, event and state, and with
// ?job=ID the attempts of one of them.
func (srv *Server) handleNotificationsPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := notificationQuery(v, true)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var job int64
	if s := v.Get("job"); s != "" {
		if job, err = strconv.ParseInt(s, 10, 64); err != nil || job <= 0 {
			srv.pageError(w, r, invalidParam("job", fmt.Sprintf("%q is not a notification id", s)))
			return
		}
	}
	if q.Limit == 0 {
		q.Limit = notify.MaxLimit // the table pages through them
	}
	p := authOf(r).principal()
	list, err := notify.Notifications(r.Context(), srv.store, p, q)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	var ts tables
	ts.add(notificationTable(list, q), tableOpts{PageSize: 50})
	var picked *notify.Notification
	if job != 0 {
		attempts, err := notify.Attempts(r.Context(), srv.store, p, job)
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		// Read on its own: the filters may hide the notification whose
		// attempts were asked for.
		one, err := notify.Notifications(r.Context(), srv.store, p, notify.Query{JobID: job})
		if err != nil {
			srv.pageError(w, r, err)
			return
		}
		if len(one) == 1 {
			picked = &one[0]
		}
		ts.add(attemptTable(job, attempts), tableOpts{PageSize: 50})
	}
	if srv.serveExport(w, r, "notifications", ts) {
		return
	}
	all := r.URL.Query()
	all.Set("export", "all")
	all.Set("format", "xlsx")
	srv.render(w, r, http.StatusOK, "notifications", map[string]any{"T": ts.views(r), "Q": q, "States": notify.States,
		"Job": picked, "Count": len(list), "Capped": len(list) == q.Limit, "ExportAll": "?" + all.Encode(),
		"Back": "/notifications" + filterString(q, 0), "JSON": "/api/notifications" + filterString(q, 0)})
}

// filterString is the query string of the filters, with job when not 0.
func filterString(q notify.Query, job int64) string {
	keep := url.Values{}
	for k, val := range map[string]string{"channel": q.Channel, "event": q.Event, "state": q.State} {
		if val != "" {
			keep.Set(k, val)
		}
	}
	if job != 0 {
		keep.Set("job", strconv.FormatInt(job, 10))
	}
	if len(keep) == 0 {
		return ""
	}
	return "?" + keep.Encode()
}

// notificationTable lists the notifications; each id opens its attempts
// under the same filters.
func notificationTable(list []notify.Notification, q notify.Query) export.Table {
	t := export.Table{ID: "notifications", Title: "Notifications", Columns: []export.Column{
		{Key: "id", Label: "ID", Kind: export.Count}, {Key: "created", Label: "Queued (UTC)"}, {Key: "channel", Label: "Channel"},
		{Key: "event", Label: "Event"}, {Key: "title", Label: "Notification"}, {Key: "dedupe_key", Label: "Dedupe key"},
		{Key: "state", Label: "State"}, {Key: "attempts", Label: "Attempts", Kind: export.Count},
		{Key: "outcome", Label: "Last outcome"}, {Key: "status", Label: "Status", Kind: export.Count},
		{Key: "error", Label: "Last error"}, {Key: "next", Label: "Next try (UTC)"}}}
	for _, n := range list {
		id := idCell(n.JobID)
		id.Link = "/notifications" + filterString(q, n.JobID) + "#attempts-block"
		title := export.TextCell(n.Title)
		if n.Title == "" {
			title = export.TextCell(n.Event)
		}
		title.Link = n.Link
		state := export.TextCell(n.State)
		switch {
		case n.State == jobs.Done:
			state.Tone = "good"
		case n.State == jobs.Failed || n.State == jobs.Dead:
			state.Tone = "bad"
		case n.Attempts > 0:
			state.Tone = "warn" // waiting for a retry
		}
		next := export.TextCell("")
		if n.NextRunAt != nil {
			next = stampCell(*n.NextRunAt)
		}
		t.Rows = append(t.Rows, []export.Cell{id, stampCell(n.CreatedAt), export.TextCell(n.Channel), export.TextCell(n.Event),
			title, export.TextCell(n.DedupeKey), state, export.CountCell(int64(n.Attempts)), outcomeCell(n.LastOutcome),
			statusCell(n.LastStatus), export.TextCell(n.LastError), next})
	}
	return t
}

func attemptTable(job int64, attempts []notify.Attempt) export.Table {
	t := export.Table{ID: "attempts", Title: fmt.Sprintf("Attempts of notification %d", job), Columns: []export.Column{
		{Key: "attempt", Label: "Attempt", Kind: export.Count}, {Key: "at", Label: "When (UTC)"}, {Key: "outcome", Label: "Outcome"},
		{Key: "status", Label: "Status", Kind: export.Count}, {Key: "error", Label: "Error"},
		{Key: "duration", Label: "Duration (ms)", Kind: export.Number}}}
	for _, a := range attempts {
		ms := a.DurationMS
		t.Rows = append(t.Rows, []export.Cell{export.CountCell(int64(a.Attempt)), stampCell(a.At), outcomeCell(a.Outcome),
			statusCell(a.StatusCode), export.TextCell(a.Error), export.NumberCell(&ms, strconv.FormatFloat(ms, 'f', 1, 64))})
	}
	return t
}

// idCell is a record id: a number that sorts as one, without digit groups.
func idCell(id int64) export.Cell {
	s := strconv.FormatInt(id, 10)
	return export.Cell{Display: s, Raw: s, Num: float64(id), IsNum: true}
}

func stampCell(t time.Time) export.Cell { return export.TextCell(t.UTC().Format(stampLayout)) }

// statusCell is an HTTP status or SMTP reply code; 0 (no answer) is empty.
func statusCell(code int) export.Cell {
	if code == 0 {
		return export.Cell{Display: "–"}
	}
	return idCell(int64(code))
}

func outcomeCell(outcome string) export.Cell {
	c := export.TextCell(outcome)
	switch outcome {
	case notify.Delivered:
		c.Tone = "good"
	case notify.Retry, notify.Interrupted:
		c.Tone = "warn"
	case notify.Refused, notify.GaveUp:
		c.Tone = "bad"
	}
	return c
}

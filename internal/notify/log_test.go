package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// scripted is a real local receiver answering each request with the next
// status of its script (the last one from then on).
func scripted(t *testing.T, statuses ...int) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		status := statuses[min(n, len(statuses)-1)]
		n++
		mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3600") // keeps its job queued for the test's whole run
		}
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, s *store.Store, channel, event, key string) int64 {
	t.Helper()
	id, created, err := notify.Send(context.Background(), s, notify.Message{Channel: channel, Event: event, DedupeKey: key,
		Title: event + " " + key, Text: "text", Link: "/leads/" + key})
	if err != nil || !created {
		t.Fatalf("send %s %s %s: %d %v %v", channel, event, key, id, created, err)
	}
	return id
}

// The log as sales ops reads it: a webhook delivered on its second attempt,
// a Slack message waiting for its retry, a message to a channel nobody
// configured refused, and one not attempted yet; filtered by channel, event
// and state, and refused to everyone but ops and admins.
func TestNotificationLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hooks := scripted(t, http.StatusInternalServerError, http.StatusOK)
		slack := scripted(t, http.StatusTooManyRequests)
		// MaxBackoff is long so that the 429's Retry-After holds; the 500 is
		// retried after the millisecond Backoff.
		w := jobs.NewWorker(s, jobs.Options{Poll: 5 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: time.Hour,
			MaxAttempts: 5, Log: slog.New(slog.DiscardHandler)})
		err := notify.Register(w, s, []notify.Channel{
			{Name: "crm-hooks", Type: notify.Webhook, URL: hooks.URL, Secret: "s3cret"},
			{Name: "sales_alerts", Type: notify.Slack, URL: slack.URL},
		}, notify.Options{Timeout: 2 * time.Second, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		routed := send(t, s, "crm-hooks", "lead.routed", "1")
		hot := send(t, s, "sales_alerts", "lead.hot", "2")
		breach := send(t, s, "gone", "lead.sla_breach", "3")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if _, err := w.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			j, err := jobs.Get(ctx, s, routed)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == jobs.Done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the retried webhook is %s after %d attempts", j.State, j.Attempts)
			}
		}
		// Sent after the worker stopped: never attempted. Its channel's name
		// starts like another's, which a channel filter must tell apart.
		later := send(t, s, "sales_alerts:eu", "lead.hot", "4")
		start := time.Now()

		ops := crm.Principal{UserID: 1, Role: crm.RoleOps}
		all, err := notify.Notifications(ctx, s, ops, notify.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(all); got != fmt.Sprint([]int64{later, breach, hot, routed}) {
			t.Fatalf("the log lists jobs %s, want %v newest first", got, []int64{later, breach, hot, routed})
		}
		byID := map[int64]notify.Notification{}
		for _, n := range all {
			byID[n.JobID] = n
		}
		rows := []struct {
			id                           int64
			channel, event, state        string
			attempts                     int
			outcome                      string
			status                       int
			errorHas                     string
			queued, attempted, nextLater bool
		}{
			{routed, "crm-hooks", "lead.routed", jobs.Done, 2, notify.Delivered, 200, "", false, true, false},
			{hot, "sales_alerts", "lead.hot", jobs.Queued, 1, notify.Retry, 429, "429 Too Many Requests", true, true, true},
			{breach, "gone", "lead.sla_breach", jobs.Failed, 1, notify.Refused, 0, `no notification channel "gone"`, false, true, false},
			{later, "sales_alerts:eu", "lead.hot", jobs.Queued, 0, "", 0, "", true, false, false},
		}
		for _, want := range rows {
			t.Run(fmt.Sprintf("job %s %s", want.channel, want.event), func(t *testing.T) {
				n := byID[want.id]
				if n.Channel != want.channel || n.Event != want.event || n.State != want.state || n.Attempts != want.attempts ||
					n.LastOutcome != want.outcome || n.LastStatus != want.status {
					t.Errorf("row %+v, want %s %s %s after %d attempts, last %s %d", n, want.channel, want.event, want.state, want.attempts, want.outcome, want.status)
				}
				if (want.errorHas == "") != (n.LastError == "") || !strings.Contains(n.LastError, want.errorHas) {
					t.Errorf("last error %q, want %q", n.LastError, want.errorHas)
				}
				if !strings.HasPrefix(n.Title, want.event) || !strings.HasPrefix(n.Link, "/leads/") || n.DedupeKey == "" {
					t.Errorf("the message's title %q, link %q, dedupe key %q", n.Title, n.Link, n.DedupeKey)
				}
				if (n.NextRunAt != nil) != want.queued {
					t.Errorf("next run %v, want one only while queued", n.NextRunAt)
				}
				if want.nextLater && !n.NextRunAt.After(start.Add(30*time.Minute)) {
					t.Errorf("next run %v, want the receiver's Retry-After of an hour", n.NextRunAt)
				}
				if (n.LastAttemptAt != nil) != want.attempted {
					t.Errorf("last attempt at %v, attempted %v", n.LastAttemptAt, want.attempted)
				}
				if n.CreatedAt.IsZero() || n.CreatedAt.After(time.Now()) {
					t.Errorf("created at %v", n.CreatedAt)
				}
			})
		}

		filters := []struct {
			name string
			q    notify.Query
			want []int64
		}{
			{"a channel, not one whose name only starts like it", notify.Query{Channel: "sales_alerts"}, []int64{hot}},
			{"the newest of a channel past a look-alike", notify.Query{Channel: "sales_alerts", Limit: 1}, []int64{hot}},
			{"the channel with the colon", notify.Query{Channel: "sales_alerts:eu"}, []int64{later}},
			{"an event", notify.Query{Event: "lead.hot"}, []int64{later, hot}},
			{"an event with an underscore", notify.Query{Event: "lead.sla_breach"}, []int64{breach}},
			{"a channel and an event", notify.Query{Channel: "crm-hooks", Event: "lead.routed"}, []int64{routed}},
			{"a channel and another's event", notify.Query{Channel: "crm-hooks", Event: "lead.hot"}, nil},
			{"queued: not attempted or waiting for a retry", notify.Query{State: jobs.Queued}, []int64{later, hot}},
			{"done", notify.Query{State: jobs.Done}, []int64{routed}},
			{"failed", notify.Query{State: jobs.Failed}, []int64{breach}},
			{"a state and an event", notify.Query{State: jobs.Queued, Event: "lead.routed"}, nil},
			{"one job", notify.Query{JobID: hot}, []int64{hot}},
			{"a limit", notify.Query{Limit: 2}, []int64{later, breach}},
			{"a wildcard is not one", notify.Query{Channel: "%"}, nil},
		}
		for _, f := range filters {
			t.Run(f.name, func(t *testing.T) {
				got, err := notify.Notifications(ctx, s, ops, f.q)
				if err != nil {
					t.Fatal(err)
				}
				if ids(got) != fmt.Sprint(f.want) {
					t.Errorf("%+v: jobs %s, want %v", f.q, ids(got), f.want)
				}
			})
		}

		attempts, err := notify.Attempts(ctx, s, ops, routed)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range attempts {
			got = append(got, fmt.Sprintf("%d:%d %s", a.Attempt, a.StatusCode, a.Outcome))
			if a.JobID != routed || a.Channel != "crm-hooks" || a.Event != "lead.routed" || a.DurationMS <= 0 || a.At.IsZero() {
				t.Errorf("attempt %+v", a)
			}
		}
		if strings.Join(got, ", ") != "1:500 retry, 2:200 delivered" {
			t.Errorf("attempts of the retried webhook, oldest first: %s", strings.Join(got, ", "))
		}
		if !strings.Contains(attempts[0].Error, "500 Internal Server Error") || attempts[1].Error != "" {
			t.Errorf("errors of the attempts: %q, %q", attempts[0].Error, attempts[1].Error)
		}
		if a, err := notify.Attempts(ctx, s, ops, later); err != nil || len(a) != 0 {
			t.Errorf("attempts of a notification not tried yet: %v %v", a, err)
		}
		if _, err := notify.Attempts(ctx, s, ops, later+1000); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("attempts of no such notification: %v, want ErrNotFound", err)
		}

		// The unrestricted reader used by code and tests filters the same way.
		for _, c := range []struct {
			q    notify.Query
			want string
		}{
			{notify.Query{State: jobs.Done}, "2:200 delivered, 1:500 retry"},
			{notify.Query{Event: "lead.hot"}, "1:429 retry"},
			{notify.Query{Channel: "gone"}, "1:0 failed"},
		} {
			log, err := notify.Deliveries(ctx, s, c.q)
			var got []string
			for _, a := range log {
				got = append(got, fmt.Sprintf("%d:%d %s", a.Attempt, a.StatusCode, a.Outcome))
			}
			if err != nil || strings.Join(got, ", ") != c.want {
				t.Errorf("Deliveries(%+v) = %s, %v; want %s", c.q, strings.Join(got, ", "), err, c.want)
			}
		}
	})
}

func ids(ns []notify.Notification) string {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.JobID
	}
	return fmt.Sprint(out)
}

// Only ops and admins read the log; a bad filter is refused by its field.
func TestNotificationLogRefusals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		id := send(t, s, "sales", "lead.hot", "1")
		for _, role := range crm.Roles {
			t.Run(string(role), func(t *testing.T) {
				p := crm.Principal{UserID: 7, Role: role}
				list, err := notify.Notifications(ctx, s, p, notify.Query{})
				_, aerr := notify.Attempts(ctx, s, p, id)
				if role.SeesAll() {
					if err != nil || len(list) != 1 || aerr != nil {
						t.Errorf("%s: %d rows, %v; attempts: %v", role, len(list), err, aerr)
					}
					return
				}
				if !errors.Is(err, crm.ErrForbidden) || !errors.Is(aerr, crm.ErrForbidden) || list != nil {
					t.Errorf("%s: %d rows, %v; attempts: %v; want ErrForbidden", role, len(list), err, aerr)
				}
			})
		}
		ops := crm.Principal{Role: crm.RoleAdmin}
		// A job of another kind is not a notification.
		other, _, err := jobs.Enqueue(ctx, s, jobs.Job{Kind: "other", Payload: `{"channel": "sales", "event": "lead.hot"}`})
		storetest.Must(t, err)
		if _, err := notify.Attempts(ctx, s, ops, other); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("attempts of a job of another kind: %v, want ErrNotFound", err)
		}
		if list, err := notify.Notifications(ctx, s, ops, notify.Query{}); err != nil || ids(list) != fmt.Sprint([]int64{id}) {
			t.Errorf("the log lists %s, %v; want only the notification %d", ids(list), err, id)
		}
		for _, c := range []struct {
			q     notify.Query
			field string
		}{
			{notify.Query{State: "pending"}, "state"},
			{notify.Query{State: "Queued"}, "state"},
			{notify.Query{Limit: -1}, "limit"},
			{notify.Query{Limit: notify.MaxLimit + 1}, "limit"},
			{notify.Query{JobID: -3}, "job_id"},
		} {
			_, err := notify.Notifications(ctx, s, ops, c.q)
			_, derr := notify.Deliveries(ctx, s, c.q)
			for _, e := range []error{err, derr} {
				var ve *crm.ValidationError
				if !errors.As(e, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != c.field {
					t.Errorf("%+v: %v, want a validation error of %s", c.q, e, c.field)
				}
			}
		}
		if list, err := notify.Notifications(ctx, s, ops, notify.Query{Limit: notify.MaxLimit}); err != nil || len(list) != 1 {
			t.Errorf("the largest limit: %d rows, %v", len(list), err)
		}
	})
}

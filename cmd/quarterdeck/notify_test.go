package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// notify log lists a refused delivery and a queued one, filters them, shows
// the refused one's attempt, and refuses a rep and a bad state by name.
func TestNotifyLog(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		var refused, queued int64
		withStore(t, dsn, func(s *store.Store) {
			ctx := context.Background()
			var err error
			refused, _, err = notify.Send(ctx, s, notify.Message{Channel: "gone", Event: "lead.sla_breach", DedupeKey: "assignment:1:sla", Title: "SLA breached"})
			storetest.Must(t, err)
			// No channel is configured: the worker refuses the delivery at once.
			w := jobs.NewWorker(s, jobs.Options{Log: slog.New(slog.DiscardHandler)})
			storetest.Must(t, notify.Register(w, s, nil, notify.Options{Log: slog.New(slog.DiscardHandler)}))
			if _, err := w.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			queued, _, err = notify.Send(ctx, s, notify.Message{Channel: "sales", Event: "lead.routed", DedupeKey: "assignment:2", Title: "New lead for Ann"})
			storetest.Must(t, err)
			storetest.Must(t, s.Users.Create(ctx, crm.System, &crm.User{Email: "rep@example.com", Name: "Rep", Role: crm.RoleRep, Active: true}))
		})

		lines := strings.Split(strings.TrimSpace(mustRun(t, nil, "notify", "log", "--database", dsn).stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], fmt.Sprint(queued, " ")) ||
			!strings.Contains(lines[1], "queued") || !strings.Contains(lines[2], "failed") || !strings.Contains(lines[2], `no notification channel "gone"`) {
			t.Errorf("notify log printed\n%s", strings.Join(lines, "\n"))
		}
		for _, c := range []struct {
			args []string
			want []int64
		}{
			{[]string{"--state", "failed"}, []int64{refused}},
			{[]string{"--channel", "sales"}, []int64{queued}},
			{[]string{"--event", "lead.sla_breach", "--limit", "5"}, []int64{refused}},
			{[]string{"--limit", "1"}, []int64{queued}},
			{[]string{"--state", "dead"}, nil},
		} {
			var got []notify.Notification
			out := mustRun(t, nil, append([]string{"notify", "log", "--json", "--database", dsn}, c.args...)...).stdout
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %q: %v", c.args, out, err)
			}
			var ids []int64
			for _, n := range got {
				ids = append(ids, n.JobID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(c.want) {
				t.Errorf("notify log %v: jobs %v, want %v", c.args, ids, c.want)
			}
		}
		out := mustRun(t, nil, "notify", "log", "--job", fmt.Sprint(refused), "--database", dsn).stdout
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], "failed") {
			t.Errorf("notify log --job printed\n%s", out)
		}
		for _, c := range []struct {
			args []string
			says string
		}{
			{[]string{"--state", "pending"}, "state:"},
			{[]string{"--limit", "1001"}, "limit:"},
			{[]string{"--job", "1", "--state", "done"}, "job:"},
			{[]string{"--as", "rep@example.com"}, "forbidden"},
			{[]string{"--job", "999999"}, "not found"},
		} {
			r := runCLI(t, nil, append([]string{"notify", "log", "--database", dsn}, c.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, c.says) {
				t.Errorf("notify log %v: exit %d, stderr %q; want 1 saying %q", c.args, r.code, r.stderr, c.says)
			}
		}
	})
}

package automation

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/notify/notifytest"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

var ctx = context.Background()

var quiet = slog.New(slog.DiscardHandler)

// clock is a test's settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hook is a local webhook receiver answering status (settable) and counting
// requests.
type hook struct {
	*httptest.Server
	status atomic.Int64
	got    atomic.Int64
	mu     sync.Mutex
	bodies []string
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{}
	h.status.Store(int64(status))
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.got.Add(1)
		h.mu.Lock()
		h.bodies = append(h.bodies, string(b))
		h.mu.Unlock()
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.Close)
	return h
}

// env is a store with the test organisation, a worker running workflow
// steps and notifications to a local hook, and a clock.
type env struct {
	s     *store.Store
	org   *storetest.Org
	w     *jobs.Worker
	clock *clock
	hook  *hook
	ops   crm.User
}

func newEnv(t *testing.T, s *store.Store) *env {
	e := &env{s: s, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, hook: newHook(t, 200)}
	s.SetClock(e.clock.Now) // before the organisation: its history is stamped with the test's time
	e.org = storetest.NewOrg(t, s)
	e.ops = crm.User{Email: "ops@example.com", Name: "Ops", Role: crm.RoleOps, Active: true}
	storetest.Must(t, s.Users.Create(ctx, crm.System, &e.ops))
	dl, err := notify.NewDeliverer(s, []notify.Channel{{Name: "hooks", Type: notify.Webhook, URL: e.hook.URL, Secret: "s3cret"}}, notify.Options{Log: quiet, Now: e.clock.Now})
	storetest.Must(t, err)
	e.w = jobs.NewWorker(s, jobs.Options{Poll: time.Millisecond, Backoff: time.Minute, MaxBackoff: time.Minute, Log: quiet, Now: e.clock.Now})
	notify.RegisterDeliverer(e.w, dl)
	Register(e.w, s, dl, Options{Log: quiet, Now: e.clock.Now})
	return e
}

func (e *env) apply(t *testing.T, doc string) *Version {
	t.Helper()
	v, err := Apply(ctx, e.s, storetest.As(e.ops), "test.yaml", []byte(doc), []string{"hooks"}, e.clock.Now())
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return v
}

// drain dispatches every pending change and runs every due job, until
// nothing is left to do now.
func (e *env) drain(t *testing.T) {
	t.Helper()
	for range 50 {
		n, err := Dispatch(ctx, e.s, e.clock.Now())
		storetest.Must(t, err)
		ran, err := e.w.RunDue(ctx)
		storetest.Must(t, err)
		if n == 0 && ran == 0 {
			return
		}
	}
	t.Fatal("the workflows did not settle")
}

func (e *env) runs(t *testing.T, workflow string) []Run {
	t.Helper()
	rs, err := Runs(ctx, e.s, crm.System, RunQuery{Workflow: workflow})
	storetest.Must(t, err)
	return rs
}

func (e *env) tasks(t *testing.T, opp int64) []crm.Activity {
	t.Helper()
	page, err := e.s.Activities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"opportunity_id": itoa(opp)}})
	storetest.Must(t, err)
	var out []crm.Activity
	for _, a := range page.Items {
		if a.Kind == crm.ActivityTask {
			out = append(out, a)
		}
	}
	return out
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

func (e *env) newDeal(t *testing.T, owner crm.User, amount string) *crm.Opportunity {
	t.Helper()
	o := e.org.NewOpp(owner, amount)
	storetest.Must(t, e.s.Opportunities.Create(ctx, storetest.As(owner), o))
	return o
}

const bigDealTask = `
name: big-deal-task
trigger: {type: created, entity: opportunity}
when: opportunity.amount >= 50000
reentry: once
steps:
  - if: account.segment == "Mid-market"
    then:
      - create_task: {subject: "Qualify {opportunity.name}", due_in: 2d}
    else:
      - create_task: {subject: "Other segment", due_in: 1d, for: manager}
`

// A record created through the store fires its trigger exactly once, the
// condition decides who enters, and the branch decides the action.
func TestCreatedTriggerFiresOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, bigDealTask)
		big := e.newDeal(t, e.org.RepA1, "60000")
		small := e.newDeal(t, e.org.RepA1, "100")
		e.drain(t)
		e.drain(t)
		runs := e.runs(t, "big-deal-task")
		if len(runs) != 1 || runs[0].RecordID != big.ID || runs[0].State != stateDone {
			t.Fatalf("runs %+v, want one done run on deal %d", runs, big.ID)
		}
		tasks := e.tasks(t, big.ID)
		if len(tasks) != 1 || tasks[0].Subject != "Qualify "+big.Name || tasks[0].OwnerID != e.org.RepA1.ID {
			t.Fatalf("tasks %+v", tasks)
		}
		if due := tasks[0].OccurredAt.Sub(e.clock.Now()); due != 48*time.Hour {
			t.Errorf("task due in %v, want 48h", due)
		}
		if len(e.tasks(t, small.ID)) != 0 {
			t.Error("the small deal got a task")
		}
		r, err := RunByID(ctx, s, crm.System, runs[0].ID)
		storetest.Must(t, err)
		if len(r.Steps) != 2 || r.Steps[0].Outcome != "then" || r.Steps[1].Outcome != "done" {
			t.Errorf("steps %+v", r.Steps)
		}
		// The rep sees the run on their deal; another rep does not.
		if rs, _ := Runs(ctx, s, storetest.As(e.org.RepA1), RunQuery{}); len(rs) != 1 {
			t.Errorf("the owner sees %d runs", len(rs))
		}
		if rs, _ := Runs(ctx, s, storetest.As(e.org.RepB), RunQuery{}); len(rs) != 0 {
			t.Errorf("another rep sees %d runs", len(rs))
		}
	})
}

// Re-entry: once lets a record in once ever; every_time on each event.
func TestReentryPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   int
	}{{EnterOnce, 1}, {EnterEveryTime, 3}, {EnterOneAtATime, 3}} {
		t.Run(tc.policy, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, s *store.Store) {
				e := newEnv(t, s)
				e.apply(t, `
name: on-update
trigger: {type: updated, entity: opportunity, changed: {field: amount}}
reentry: `+tc.policy+`
steps:
  - create_task: {subject: "Amount changed on {opportunity.name}"}
`)
				for _, amt := range []string{"110", "120", "130"} {
					_, err := s.Opportunities.Update(ctx, storetest.As(e.org.RepA1), e.org.OppA1.ID, func(o *crm.Opportunity) error {
						o.Amount = decimal.RequireFromString(amt)
						return nil
					})
					storetest.Must(t, err)
					e.drain(t)
				}
				if got := len(e.tasks(t, e.org.OppA1.ID)); got != tc.want {
					t.Errorf("%d tasks, want %d", got, tc.want)
				}
			})
		})
	}
}

// A notify step with 3 tries against a receiver that always fails is
// attempted three times (logged in the delivery log) and then takes the
// error path.
func TestNotifyRetriesThenErrorPath(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.hook.status.Store(500)
		e.apply(t, `
name: stage-alert
trigger: {type: stage_changed, to: [Negotiation]}
steps:
  - notify: {channel: hooks, text: "{opportunity.name} is in {opportunity.stage}", tries: 3}
on_error:
  - create_task: {subject: "Alert failed for {opportunity.name}"}
`)
		_, err := s.Opportunities.Update(ctx, storetest.As(e.org.RepA1), e.org.OppA1.ID, func(o *crm.Opportunity) error {
			o.Stage = "Negotiation"
			return nil
		})
		storetest.Must(t, err)
		for range 3 {
			e.drain(t)
			e.clock.Add(2 * time.Minute) // past the backoff
		}
		if n := e.hook.got.Load(); n != 3 {
			t.Errorf("the receiver got %d requests, want 3", n)
		}
		runs := e.runs(t, "stage-alert")
		if len(runs) != 1 || runs[0].State != stateFailed {
			t.Fatalf("runs %+v", runs)
		}
		if !strings.Contains(runs[0].Error, "500") {
			t.Errorf("run error %q does not say what failed", runs[0].Error)
		}
		if tasks := e.tasks(t, e.org.OppA1.ID); len(tasks) != 1 || !strings.HasPrefix(tasks[0].Subject, "Alert failed") {
			t.Errorf("error path tasks %+v", tasks)
		}
		r, _ := RunByID(ctx, s, crm.System, runs[0].ID)
		var outcomes []string
		for _, st := range r.Steps {
			outcomes = append(outcomes, st.Outcome)
		}
		if strings.Join(outcomes, ",") != "retry,retry,failed,done" {
			t.Errorf("step outcomes %v", outcomes)
		}
		attempts, err := notify.Deliveries(ctx, s, notify.Query{Event: "automation.stage-alert"})
		storetest.Must(t, err)
		if len(attempts) != 3 {
			t.Errorf("%d delivery log rows, want 3", len(attempts))
		}
	})
}

// A wait for a duration resumes when its time comes, not before.
func TestWaitForDuration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: follow-up
trigger: {type: created, entity: opportunity}
steps:
  - wait: {for: 2d}
  - notify: {channel: hooks, text: "Two days on {opportunity.name}"}
`)
		e.newDeal(t, e.org.RepA1, "500")
		e.drain(t)
		if runs := e.runs(t, "follow-up"); len(runs) != 1 || runs[0].State != stateWaiting {
			t.Fatalf("runs %+v, want one waiting", runs)
		}
		e.clock.Add(47 * time.Hour)
		e.drain(t)
		if e.hook.got.Load() != 0 {
			t.Fatal("sent before the wait ended")
		}
		e.clock.Add(time.Hour)
		e.drain(t)
		if e.hook.got.Load() != 1 || e.runs(t, "follow-up")[0].State != stateDone {
			t.Fatalf("after the wait: %d sent, runs %+v", e.hook.got.Load(), e.runs(t, "follow-up"))
		}
	})
}

// A wait until a condition resumes when it holds, or goes on at its timeout.
func TestWaitUntilCondition(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: wait-negotiation
trigger: {type: created, entity: opportunity}
reentry: every_time
steps:
  - wait: {until: opportunity.stage == "Negotiation", timeout: 3d, check_every: 1h}
  - if: opportunity.stage == "Negotiation"
    then: [{update: {field: source, value: "reached negotiation"}}]
    else: [{update: {field: source, value: "timed out"}}]
`)
		reach := e.newDeal(t, e.org.RepA1, "500")
		stall := e.newDeal(t, e.org.RepA1, "600")
		e.drain(t)
		e.clock.Add(2 * time.Hour)
		_, err := s.Opportunities.Update(ctx, crm.System, reach.ID, func(o *crm.Opportunity) error { o.Stage = "Negotiation"; return nil })
		storetest.Must(t, err)
		for range 80 {
			e.clock.Add(time.Hour)
			e.drain(t)
		}
		for id, want := range map[int64]string{reach.ID: "reached negotiation", stall.ID: "timed out"} {
			o, err := s.Opportunities.Get(ctx, crm.System, id)
			storetest.Must(t, err)
			if o.Source != want {
				t.Errorf("deal %d: %q, want %q", id, o.Source, want)
			}
		}
	})
}

// A workflow whose step re-triggers it is cut at max_depth, and the run it
// did not start is recorded as skipped with the reason.
func TestLoopProtection(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: flip
trigger: {type: updated, entity: opportunity, changed: {field: source}}
reentry: every_time
max_depth: 2
steps:
  - if: opportunity.source == "a"
    then: [{update: {field: source, value: "b"}}]
    else: [{update: {field: source, value: "a"}}]
`)
		_, err := s.Opportunities.Update(ctx, storetest.As(e.org.RepA1), e.org.OppA1.ID, func(o *crm.Opportunity) error { o.Source = "a"; return nil })
		storetest.Must(t, err)
		e.drain(t)
		runs := e.runs(t, "flip")
		states := map[string]int{}
		for _, r := range runs {
			states[r.State]++
		}
		// Depths 0, 1 and 2 run; the change made at depth 2 carries depth 3.
		if states[stateDone] != 3 || states[stateSkipped] != 1 {
			t.Fatalf("states %v, want 3 done and 1 skipped", states)
		}
		if !strings.Contains(runs[0].Error, "loop protection") {
			t.Errorf("skipped run says %q", runs[0].Error)
		}
	})
}

// A workflow scoped to a team starts no run on records owned outside it,
// and a manager may not define one for another team.
func TestTeamScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		doc := `
name: team-a-only
team: East A
trigger: {type: created, entity: opportunity}
steps:
  - create_task: {subject: "Team A deal"}
`
		if _, err := Apply(ctx, s, storetest.As(e.org.MgrB), "t.yaml", []byte(doc), nil, e.clock.Now()); !errors.Is(err, crm.ErrInvalid) {
			t.Fatalf("manager B applied team A's workflow: %v", err)
		}
		if _, err := Apply(ctx, s, storetest.As(e.org.RepA1), "t.yaml", []byte(doc), nil, e.clock.Now()); !errors.Is(err, crm.ErrForbidden) {
			t.Fatalf("a rep applied a workflow: %v", err)
		}
		_, err := Apply(ctx, s, storetest.As(e.org.MgrA), "t.yaml", []byte(doc), nil, e.clock.Now())
		storetest.Must(t, err)
		a := e.newDeal(t, e.org.RepA2, "100")
		b := e.newDeal(t, e.org.RepB, "100")
		e.drain(t)
		if len(e.tasks(t, a.ID)) != 1 || len(e.tasks(t, b.ID)) != 0 {
			t.Errorf("tasks: team A deal %d, team B deal %d; want 1 and 0", len(e.tasks(t, a.ID)), len(e.tasks(t, b.ID)))
		}
	})
}

// Work queued before a restart runs once after it: a new store and worker
// on the same database pick the jobs up, and a step job run twice does its
// step once.
func TestRestartRunsQueuedWorkOnce(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			dsn := storetest.DSNFor(t, engine.Name)
			s1, err := store.Open(ctx, dsn, quiet)
			storetest.Must(t, err)
			e := newEnv(t, s1)
			e.apply(t, bigDealTask)
			deal := e.newDeal(t, e.org.RepA1, "90000")
			n, err := Dispatch(ctx, s1, e.clock.Now())
			if err != nil || n == 0 {
				t.Fatalf("dispatch: %d, %v", n, err)
			}
			s1.Close()

			s2, err := store.Open(ctx, dsn, quiet)
			storetest.Must(t, err)
			defer s2.Close()
			w := jobs.NewWorker(s2, jobs.Options{Log: quiet, Now: e.clock.Now})
			eng := Register(w, s2, nil, Options{Log: quiet, Now: e.clock.Now})
			if _, err := w.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			// The same step job delivered again does nothing.
			runs, _ := Runs(ctx, s2, crm.System, RunQuery{})
			job := stepJob(runs[0].ID, 0, 0, e.clock.Now())
			storetest.Must(t, eng.handle(ctx, &jobs.Job{Kind: JobKind, Payload: job.Payload}))
			page, err := s2.Activities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"opportunity_id": itoa(deal.ID)}})
			storetest.Must(t, err)
			if len(page.Items) != 1 || runs[0].State != stateDone {
				t.Fatalf("after restart: %d tasks, run %+v", len(page.Items), runs[0])
			}
		})
	}
}

// A dry run says what each step would do and changes nothing.
func TestDryRun(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		v := e.apply(t, bigDealTask)
		dr, err := Test(ctx, s, storetest.As(e.ops), v.Workflow(), e.org.OppA1.ID, e.clock.Now())
		storetest.Must(t, err)
		if dr.Enters || len(dr.Steps) != 2 || dr.Steps[1].Outcome != "would_create" || !strings.Contains(dr.Steps[1].Detail, "Qualify") {
			t.Errorf("dry run %+v", dr)
		}
		e.drain(t)
		if len(e.tasks(t, e.org.OppA1.ID)) != 0 || len(e.runs(t, "")) != 0 {
			t.Error("the dry run left something behind")
		}
		if _, err := Test(ctx, s, storetest.As(e.org.RepB), v.Workflow(), e.org.OppA1.ID, e.clock.Now()); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("a rep dry-ran a workflow on another rep's deal: %v", err)
		}
	})
}

// Malformed workflows are refused with the line and field of each problem.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", "name: x\ntrigger: {type: created, entity: lead}\nstepz: []\n", "test.yaml:3: stepz: unknown field"},
		{"wrong type", "name: x\ntrigger: {type: created, entity: lead}\nmax_depth: deep\nsteps: [{stop: true}]\n", "test.yaml:3: max_depth: want a whole number"},
		{"unknown trigger", "name: x\ntrigger: {type: born, entity: lead}\nsteps: [{stop: true}]\n", `trigger.type: "born" is not a trigger`},
		{"unknown entity", "name: x\ntrigger: {type: created, entity: deal}\nsteps: [{stop: true}]\n", `trigger.entity: "deal" is not a record type`},
		{"unknown condition field", "name: x\ntrigger: {type: created, entity: opportunity}\nwhen: opportunity.amout > 5\nsteps: [{stop: true}]\n", "test.yaml:3: when:"},
		{"action cannot apply", "name: x\ntrigger: {type: created, entity: lead}\nsteps:\n  - update: {field: stage, value: Won}\n", `test.yaml:4: steps[0].update.field: "stage" is not a field a workflow may set on a lead`},
		{"wrong value type", "name: x\ntrigger: {type: created, entity: opportunity}\nsteps:\n  - update: {field: probability, value: high}\n", "steps[0].update.value: want a number"},
		{"two kinds", "name: x\ntrigger: {type: created, entity: lead}\nsteps:\n  - {stop: true, fail: why}\n", "steps[0]: a step needs exactly one of"},
		{"unknown channel", "name: x\ntrigger: {type: created, entity: lead}\nsteps:\n  - notify: {channel: nope, text: hi}\n", `steps[0].notify.channel: no notification channel "nope"`},
		{"template typo", "name: x\ntrigger: {type: created, entity: lead}\nsteps:\n  - notify: {channel: hooks, text: \"{lead.emial}\"}\n", "{lead.emial} is not a field"},
		{"bad duration", "name: x\ntrigger: {type: created, entity: lead}\nsteps:\n  - wait: {for: soon}\n", `steps[0].wait.for: "soon" is not a duration`},
		{"changed on created", "name: x\ntrigger: {type: created, entity: lead, changed: {field: status}}\nsteps: [{stop: true}]\n", "trigger.changed: only an updated trigger"},
		{"no steps", "name: x\ntrigger: {type: created, entity: lead}\n", "steps: a workflow needs at least one step"},
		{"bad name", "name: a b\ntrigger: {type: created, entity: lead}\nsteps: [{stop: true}]\n", "test.yaml:1: name:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tc.doc), []string{"hooks"})
			var de *definition.Error
			if !errors.As(err, &de) || !errors.Is(err, crm.ErrInvalid) {
				t.Fatalf("err %v, want a definition error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// FuzzParse: no document crashes the loader; an accepted one compiles into
// a program whose jumps stay inside it.
func FuzzParse(f *testing.F) {
	f.Add(bigDealTask)
	f.Add("name: x\ntrigger: {type: updated, entity: lead}\nsteps:\n  - wait: {until: lead.status == \"working\", timeout: 1d}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		wf, err := Parse("f.yaml", []byte(doc), nil)
		if err != nil {
			return
		}
		for pc, o := range wf.program {
			if (o.kind == opIf || o.kind == opJump) && (o.jump <= pc || o.jump >= len(wf.program)) {
				t.Fatalf("op %d jumps to %d of %d", pc, o.jump, len(wf.program))
			}
		}
	})
}

// Without notification channels a notify step queues the message, which
// waits in the notification queue like any other, and the run goes on.
func TestNotifyWithoutChannelsQueues(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.w = jobs.NewWorker(s, jobs.Options{Log: quiet, Now: e.clock.Now})
		Register(e.w, s, nil, Options{Log: quiet, Now: e.clock.Now})
		e.apply(t, `
name: queued-alert
trigger: {type: created, entity: opportunity}
steps:
  - notify: {channel: hooks, text: "New deal {opportunity.name}"}
  - create_task: {subject: "After the alert"}
`)
		deal := e.newDeal(t, e.org.RepA1, "100")
		e.drain(t)
		list, err := notify.Notifications(ctx, s, crm.System, notify.Query{Event: "automation.queued-alert"})
		storetest.Must(t, err)
		if len(list) != 1 || list[0].State != jobs.Queued || list[0].Channel != "hooks" {
			t.Fatalf("notifications %+v", list)
		}
		if len(e.tasks(t, deal.ID)) != 1 || e.runs(t, "queued-alert")[0].State != stateDone {
			t.Error("the run did not go on after queueing its message")
		}
	})
}

// The rest of the trigger and step kinds, each on its own record: a pushed
// close date (twice, with the derived push count), a run step starting
// another workflow one level deeper, a fail step taking the error path, and
// a notify step delivered as e-mail to a real local SMTP server.
func TestTriggersAndStepsEndToEnd(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		sink := notifytest.NewSMTPSink(t, "250 ok")
		dl, err := notify.NewDeliverer(s, []notify.Channel{{Name: "mail", Type: notify.Email, URL: "smtp://" + sink.Addr(),
			From: "Quarterdeck <quarterdeck@example.com>", To: []string{"forecast@example.com"}}}, notify.Options{Log: quiet, Now: e.clock.Now})
		storetest.Must(t, err)
		e.w = jobs.NewWorker(s, jobs.Options{Log: quiet, Now: e.clock.Now})
		Register(e.w, s, dl, Options{Log: quiet, Now: e.clock.Now})
		for _, doc := range []string{`
name: pushed
trigger: {type: close_date_pushed}
reentry: every_time
steps:
  - if: opportunity.close_date_pushes >= 2
    then:
      - run: flag
      - notify: {channel: mail, title: "Pushed again: {opportunity.name}", text: "Now closing {opportunity.expected_close}."}
`, `
name: flag
trigger: {type: manual, entity: opportunity}
reentry: every_time
steps:
  - if: run.depth >= 1
    then: [{update: {field: forecast_category, value: best_case}}]
  - fail: "flagged for the forecast call"
on_error:
  - create_task: {subject: "Forecast call: {opportunity.name}", for: manager}
`} {
			_, err := Apply(ctx, s, storetest.As(e.ops), "t.yaml", []byte(doc), []string{"mail"}, e.clock.Now())
			storetest.Must(t, err)
		}
		for i := range 2 {
			_, err := s.Opportunities.Update(ctx, storetest.As(e.org.RepA1), e.org.OppA1.ID, func(o *crm.Opportunity) error {
				d := crm.NewDate(o.ExpectedClose.AddDate(0, 1, 0))
				o.ExpectedClose = &d
				return nil
			})
			storetest.Must(t, err)
			e.drain(t)
			if got := len(sink.Messages()); got != i {
				t.Fatalf("after push %d: %d mails, want %d", i+1, got, i)
			}
		}
		if mail := sink.Messages()[0]; !strings.Contains(mail, "forecast@example.com") || !strings.Contains(mail, "Pushed again: "+e.org.OppA1.Name) {
			t.Errorf("the mail:\n%s", mail)
		}
		flag := e.runs(t, "flag")
		if len(flag) != 1 || flag[0].Depth != 1 || flag[0].State != stateFailed || flag[0].Error != "flagged for the forecast call" {
			t.Fatalf("flag runs %+v", flag)
		}
		deal, _ := s.Opportunities.Get(ctx, crm.System, e.org.OppA1.ID)
		tasks := e.tasks(t, e.org.OppA1.ID)
		if deal.ForecastCategory != crm.ForecastBestCase || len(tasks) != 1 || tasks[0].OwnerID != e.org.MgrA.ID {
			t.Errorf("forecast category %s, tasks %+v", deal.ForecastCategory, tasks)
		}
	})
}

// A step can test what a field was before the update that triggered it.
func TestBeforeValuesInSteps(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: downsized
trigger: {type: updated, entity: opportunity, changed: {field: amount}}
reentry: every_time
steps:
  - if: opportunity.amount < before.amount
    then: [{create_task: {subject: "Downsized from {before.amount} to {opportunity.amount}"}}]
`)
		for _, amt := range []string{"50", "80"} {
			_, err := s.Opportunities.Update(ctx, storetest.As(e.org.RepA1), e.org.OppA1.ID, func(o *crm.Opportunity) error {
				o.Amount = decimal.RequireFromString(amt)
				return nil
			})
			storetest.Must(t, err)
			e.drain(t)
		}
		tasks := e.tasks(t, e.org.OppA1.ID)
		if len(tasks) != 1 || tasks[0].Subject != "Downsized from 100 to 50" {
			t.Errorf("tasks %+v, want one for 100 → 50", tasks)
		}
	})
}

// A lead stored without an owner is routed by the active rules inside its
// run (logged as routing logs its assignments, turns taken in order), added
// to a manual segment, and given a task for the owner routing chose; the dry
// run says where routing would send it; a step naming a segment that takes
// no leads by hand takes the error path.
func TestRouteAndSegmentSteps(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		admin := storetest.As(e.org.Admin)
		_, err := routing.Apply(ctx, s, admin, "r.yaml", []byte(`name: t
queue_owner: admin@example.com
pools:
  - {name: east, method: round_robin, members: [{team: East A}]}
rules:
  - {name: everyone, pool: east}
`), e.clock.Now())
		storetest.Must(t, err)
		_, err = leads.SaveSegment(ctx, s, admin, "d.yaml", []byte("name: Demo requests\nmanual: true\n"), e.clock.Now())
		storetest.Must(t, err)
		_, err = leads.SaveSegment(ctx, s, admin, "r.yaml", []byte("name: Retail\nmatch:\n  - {field: industry, equals: Retail}\n"), e.clock.Now())
		storetest.Must(t, err)
		wf := e.apply(t, `
name: inbound
trigger: {type: created, entity: lead}
reentry: once
steps:
  - if: lead.owner_id == nil
    then: [{assign: {to: routing}}]
  - add_to_segment: Demo requests
  - if: '"Demo requests" in lead.segments'
    then: [{create_task: {subject: "Call {lead.last_name}"}}]
`)
		e.apply(t, `
name: wrong-list
trigger: {type: created, entity: lead}
when: lead.industry == "Retail"
steps:
  - add_to_segment: Retail
on_error:
  - update: {field: custom_fields, value: {listing: failed}}
`)
		newLead := func(name, industry string) *crm.Lead {
			l := &crm.Lead{LastName: name, Company: name + " Inc", Industry: industry, Status: crm.LeadNew, CreatedAt: e.clock.Now()}
			storetest.Must(t, s.Leads.Create(ctx, crm.System, l))
			return l
		}
		first := newLead("First", "Software")
		dry, err := Test(ctx, s, admin, wf.wf, first.ID, e.clock.Now())
		storetest.Must(t, err)
		if len(dry.Steps) != 4 || dry.Steps[3].Outcome != "else" || !strings.Contains(dry.Steps[1].Detail, "rule \"everyone\"") || dry.Steps[2].Outcome != "would_add" {
			t.Errorf("dry run %+v", dry.Steps)
		}
		second := newLead("Second", "Retail")
		e.drain(t)
		e.clock.Add(2 * time.Minute) // past the backoff of a step that met another's write (DuckDB)
		e.drain(t)
		owners := map[int64]bool{}
		for _, l := range []*crm.Lead{first, second} {
			got, err := s.Leads.Get(ctx, crm.System, l.ID)
			storetest.Must(t, err)
			if got.OwnerID == nil || (*got.OwnerID != e.org.RepA1.ID && *got.OwnerID != e.org.RepA2.ID) {
				t.Fatalf("lead %s owner %v, want a rep of East A", l.LastName, got.OwnerID)
			}
			owners[*got.OwnerID] = true
			as, err := routing.Assignments(ctx, s, admin, l.ID)
			storetest.Must(t, err)
			if len(as) != 1 || as[0].Decision.Rule != "everyone" || as[0].OwnerID != *got.OwnerID {
				t.Errorf("lead %s assignments %+v", l.LastName, as)
			}
			page, err := s.Activities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"lead_id": itoa(l.ID)}})
			storetest.Must(t, err)
			var calls int
			for _, a := range page.Items {
				if a.Subject == "Call "+l.LastName && a.OwnerID == *got.OwnerID {
					calls++
				}
			}
			if failed := got.CustomFields["listing"] == "failed"; calls != 1 || failed != (l.Industry == "Retail") {
				t.Errorf("lead %s: %d call tasks for its owner, error path taken: %v", l.LastName, calls, failed)
			}
		}
		if len(owners) != 2 {
			t.Errorf("round robin gave both leads to one rep: %v", owners)
		}
		stats, err := leads.Segments(ctx, s, admin)
		storetest.Must(t, err)
		for _, st := range stats {
			if st.Name == "Demo requests" && st.Leads != 2 {
				t.Errorf("the list holds %d leads, want 2", st.Leads)
			}
		}
		runs := e.runs(t, "wrong-list")
		if len(runs) != 1 || runs[0].State != stateFailed || !strings.Contains(runs[0].Error, "manual: true") {
			t.Errorf("wrong-list runs %+v", runs)
		}
		r, err := RunByID(ctx, s, crm.System, e.runs(t, "inbound")[0].ID)
		storetest.Must(t, err)
		if len(r.Steps) != 5 || !strings.HasPrefix(r.Steps[1].Detail, "routed to rep.a") || r.Steps[2].Detail != `added to segment "Demo requests"` {
			t.Errorf("inbound steps %+v", r.Steps)
		}
	})
}

// An import fires the triggers a write through the API would: each new
// lead enters a created workflow once, and a re-import fires an updated
// trigger only for the lead whose field changed, with its before value.
func TestImportFiresTriggers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: imported
trigger: {type: created, entity: lead}
reentry: once
steps:
  - update: {field: custom_fields, value: {welcomed: "yes"}}
`)
		e.apply(t, `
name: retitled
trigger: {type: updated, entity: lead, changed: {field: title}}
reentry: every_time
steps:
  - update: {field: custom_fields, value: {retitled: "yes"}}
`)
		dir := t.TempDir()
		write := func(name, body string) {
			storetest.Must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
		}
		write("mapping.yaml", "source: crm\nfiles:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id, last_name: Name, title: Title, status: Status}\n")
		importLeads := func(csv string) {
			write("leads.csv", csv)
			_, err := importer.ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, importer.Options{ActorID: e.ops.ID, Now: e.clock.Now()})
			storetest.Must(t, err)
			e.drain(t)
		}
		importLeads("Id,Name,Title,Status\nL1,Ada,CTO,new\nL2,Bo,CFO,new\n")
		lead := func(ext string) *crm.Lead {
			var id int64
			storetest.Must(t, s.DB().QueryRow(`SELECT id FROM leads WHERE external_id = $1`, ext).Scan(&id))
			l, err := s.Leads.Get(ctx, crm.System, id)
			storetest.Must(t, err)
			return l
		}
		if runs := e.runs(t, "imported"); len(runs) != 2 || lead("L1").CustomFields["welcomed"] != "yes" || lead("L2").CustomFields["welcomed"] != "yes" {
			t.Fatalf("after the first import: %d runs, L1 %v, L2 %v", len(runs), lead("L1").CustomFields, lead("L2").CustomFields)
		}
		importLeads("Id,Name,Title,Status\nL1,Ada,CEO,new\nL2,Bo,CFO,new\n")
		runs := e.runs(t, "retitled")
		if len(runs) != 1 || runs[0].RecordID != lead("L1").ID || lead("L1").CustomFields["retitled"] != "yes" || !strings.Contains(runs[0].Event, `"title":"CTO"`) {
			t.Errorf("after the re-import: runs %+v, L1 %v", runs, lead("L1").CustomFields)
		}
		if n := len(e.runs(t, "imported")); n != 2 {
			t.Errorf("the re-import started %d created runs in all, want the first 2", n)
		}
	})
}

// A deleted trigger fires once per delete, and its run sees the record as
// the delete found it (fields, account, owner and manager): here a deleted
// open deal above 50,000 tells the manager, by a task on the account and a
// webhook. A run of another workflow whose record is deleted while it waits
// ends, failed, saying so. A deleted trigger's steps cannot write the gone
// record (refused when applied).
func TestDeletedTrigger(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, `
name: big-deal-deleted
trigger: {type: deleted, entity: opportunity}
when: opportunity.amount >= 50000 and not opportunity.is_closed
reentry: every_time
steps:
  - create_task: {subject: "Deal deleted: {opportunity.name} ({opportunity.amount}) on {account.name}", for: manager}
  - notify: {channel: hooks, title: "Deleted by its owner {owner.email}", text: "{opportunity.name} was in stage {opportunity.stage}"}
`)
		e.apply(t, `
name: chase
trigger: {type: created, entity: opportunity}
steps:
  - wait: {for: 1d}
  - create_task: {subject: "Chase {opportunity.name}"}
`)
		big := e.newDeal(t, e.org.RepA1, "75000")
		small := e.newDeal(t, e.org.RepA1, "100")
		e.drain(t)
		storetest.Must(t, s.Opportunities.Delete(ctx, storetest.As(e.org.RepA1), big.ID))
		storetest.Must(t, s.Opportunities.Delete(ctx, storetest.As(e.org.RepA1), small.ID))
		e.drain(t)
		e.drain(t)
		runs := e.runs(t, "big-deal-deleted")
		if len(runs) != 1 || runs[0].RecordID != big.ID || runs[0].State != stateDone {
			t.Fatalf("runs %+v, want one done run on the deleted big deal %d", runs, big.ID)
		}
		page, err := s.Activities.List(ctx, crm.System, store.ListQuery{Filters: map[string]string{"account_id": itoa(e.org.Account.ID), "kind": "task"}})
		storetest.Must(t, err)
		want := "Deal deleted: " + big.Name + " (75000) on Acme"
		if len(page.Items) != 1 || page.Items[0].Subject != want || page.Items[0].OwnerID != e.org.MgrA.ID || page.Items[0].OpportunityID != nil {
			t.Fatalf("tasks on the account %+v, want one %q for the manager", page.Items, want)
		}
		if e.hook.got.Load() != 1 || !strings.Contains(e.hook.bodies[0], "Deleted by its owner rep.a1@example.com") || !strings.Contains(e.hook.bodies[0], "in stage Prospecting") {
			t.Fatalf("webhook: %d %v", e.hook.got.Load(), e.hook.bodies)
		}
		// The chase runs were waiting when their deals went.
		e.clock.Add(25 * time.Hour)
		e.drain(t)
		for _, r := range e.runs(t, "chase") {
			if r.State != stateFailed || !strings.Contains(r.Error, "the opportunity was deleted before step steps[1]") {
				t.Errorf("chase run on %d: %s %q, want failed: deleted", r.RecordID, r.State, r.Error)
			}
		}
		if _, err := Apply(ctx, s, storetest.As(e.ops), "gone.yaml", []byte("name: gone\ntrigger: {type: deleted, entity: lead}\nsteps:\n  - update: {field: status, value: Disqualified}\n"), nil, e.clock.Now()); err == nil ||
			!strings.Contains(err.Error(), "gone.yaml:4: steps[0].update: a deleted record is gone") {
			t.Fatalf("a deleted trigger updating its record: %v", err)
		}
	})
}

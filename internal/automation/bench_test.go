package automation

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// benchCount reads a positive count from the environment variable env, def
// when it is unset.
func benchCount(b *testing.B, env string, def int) int {
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", env, v)
	}
	return n
}

const webhookPerDeal = `
name: new-deal-hook
trigger: {type: created, entity: opportunity}
reentry: every_time
steps:
  - notify: {channel: hooks, text: "New deal {opportunity.name} for {opportunity.amount} ({owner.email})"}
`

// BenchmarkWebhookRuns creates QUARTERDECK_BENCH_RUNS (1000) opportunities
// that a created trigger with one webhook step fires on, then times the
// dispatch of their change events into runs and a worker of 32 slots
// running every run against a local receiver, on the engine that
// QUARTERDECK_BENCH_ENGINE names:
//
//	QUARTERDECK_BENCH_RUNS=10000 go test ./internal/automation/ -run '^$' -bench WebhookRuns -benchtime 1x
//
// The target is 10,000 runs within 30 s (total-s, dispatch excluded: the
// runs are queued when the worker starts).
func BenchmarkWebhookRuns(b *testing.B) {
	n := benchCount(b, "QUARTERDECK_BENCH_RUNS", 1000)
	var dispatch, run time.Duration
	for b.Loop() {
		b.StopTimer()
		s := storetest.OpenBench(b)
		org := storetest.NewOrg(b, s)
		var got atomic.Int64
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(recv.Close)
		if _, err := Apply(ctx, s, storetest.As(org.Admin), "bench.yaml", []byte(webhookPerDeal), []string{"hooks"}, time.Now()); err != nil {
			b.Fatal(err)
		}
		createDeals(b, s, org, n)
		dl, err := notify.NewDeliverer(s, []notify.Channel{{Name: "hooks", Type: notify.Webhook, URL: recv.URL, Secret: "s3cret"}}, notify.Options{Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		w := jobs.NewWorker(s, jobs.Options{Concurrency: 32, Log: quiet})
		notify.RegisterDeliverer(w, dl)
		Register(w, s, dl, Options{Log: quiet})
		b.StartTimer()

		start := time.Now()
		for {
			k, err := Dispatch(ctx, s, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				break
			}
		}
		dispatch += time.Since(start)

		start = time.Now()
		for range 10 {
			if _, err := w.RunDue(ctx); err != nil {
				b.Fatal(err)
			}
			if runsIn(b, s, stateDone) == n {
				break
			}
		}
		run += time.Since(start)

		b.StopTimer()
		if done := runsIn(b, s, stateDone); done != n {
			b.Fatalf("%d of %d runs done", done, n)
		}
		if all := runsIn(b, s, ""); all != n {
			b.Fatalf("%d runs, want %d", all, n)
		}
		if k := got.Load(); k != int64(n) {
			b.Fatalf("the receiver got %d requests, want %d", k, n)
		}
		b.StartTimer()
	}
	runs := float64(b.N * n)
	b.ReportMetric(float64(dispatch.Microseconds())/1000/runs, "dispatch-ms/run")
	b.ReportMetric(float64(run.Microseconds())/1000/runs, "run-ms/run")
	b.ReportMetric(runs/run.Seconds(), "runs/s")
	b.ReportMetric(run.Seconds()/float64(b.N), "total-s")
}

// createDeals creates n open deals, spread over the org's reps, in bulk:
// their creation is not what the benchmark measures. Their change events
// are written with them (the workflow watches opportunities).
func createDeals(b *testing.B, s *store.Store, org *storetest.Org, n int) {
	reps := []crm.User{org.RepA1, org.RepA2, org.RepB}
	const chunk = 1000
	for done := 0; done < n; done += chunk {
		err := s.WithBulk(ctx, func(bk *store.Bulk) error {
			var deals []*crm.Opportunity
			for i := done; i < min(done+chunk, n); i++ {
				o := org.NewOpp(reps[i%len(reps)], strconv.Itoa(1000+i))
				o.Name = "Deal " + strconv.Itoa(i)
				if err := s.Opportunities.CheckNew(ctx, bk, crm.System, o); err != nil {
					return err
				}
				deals = append(deals, o)
			}
			return s.Opportunities.InsertNew(ctx, bk, crm.System, deals)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// runsIn counts the runs in state ("" for all of them).
func runsIn(b *testing.B, s *store.Store, state string) int {
	var k int64
	err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_runs WHERE state = $1 OR $1 = ''`, state).Scan(&k)
	if err != nil {
		b.Fatal(err)
	}
	return int(k)
}

// BenchmarkWriteWithTrigger times an update of one field of a deal on two
// stores, one with an enabled updated workflow on opportunities (so the
// write also writes a change event) and one without any, alternating
// between them so that both see the same machine:
//
//	go test ./internal/automation/ -run '^$' -bench WriteWithTrigger -benchtime 2000x
//
// The target is under 1 ms added per written record (added-ms/op).
func BenchmarkWriteWithTrigger(b *testing.B) {
	type side struct {
		s    *store.Store
		org  *storetest.Org
		took time.Duration
	}
	open := func(workflow bool) *side {
		s := storetest.OpenBench(b)
		sd := &side{s: s, org: storetest.NewOrg(b, s)}
		if workflow {
			_, err := Apply(ctx, s, storetest.As(sd.org.Admin), "bench.yaml", []byte(`
name: amount-changed
trigger: {type: updated, entity: opportunity, changed: {field: amount}}
reentry: every_time
steps:
  - notify: {channel: hooks, text: "{opportunity.name} is now {opportunity.amount}"}
`), nil, time.Now())
			if err != nil {
				b.Fatal(err)
			}
		}
		return sd
	}
	plain, watched := open(false), open(true)
	i := 0
	for b.Loop() {
		i++
		for _, sd := range []*side{plain, watched} {
			start := time.Now()
			_, err := sd.s.Opportunities.Update(ctx, storetest.As(sd.org.RepA1), sd.org.OppA1.ID, func(o *crm.Opportunity) error {
				o.Amount = decimal.NewFromInt(int64(1000 + i))
				return nil
			})
			sd.took += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	var events int64
	if err := watched.s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM change_events`).Scan(&events); err != nil {
		b.Fatal(err)
	}
	if events != int64(b.N) {
		b.Fatalf("%d change events for %d updates", events, b.N)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(per(plain.took), "plain-ms/op")
	b.ReportMetric(per(watched.took), "trigger-ms/op")
	b.ReportMetric(per(watched.took)-per(plain.took), "added-ms/op")
}

// What the step jobs' speed-ups rely on.

// A subject read in full has every part a condition may name, and names
// nothing the workflow's fields do not declare: what Parse type-checks
// against is what runs see.
func TestSubjectMatchesRecordFields(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		sub, err := loadSubject(ctx, s, "opportunity", e.org.OppA1.ID, &Event{Action: actionUpdated, Changed: []string{"amount"}}, 2, e.clock.Now())
		storetest.Must(t, err)
		fields := recordFields("opportunity")
		for k := range sub.record {
			if _, ok := fields[k]; !ok {
				t.Errorf("the subject has %s, which conditions cannot name", k)
			}
		}
		for _, k := range []string{"opportunity.amount", "account.segment", "owner.email", "owner.team", "manager.email",
			"opportunity.close_date_pushes", "opportunity.days_since_activity", "event.changed", "run.depth"} {
			if _, ok := sub.record[k]; !ok {
				t.Errorf("the subject lacks %s", k)
			}
		}
		// Entry reads only what the condition and the scope need.
		wf, err := Parse("t.yaml", []byte("name: x\ntrigger: {type: created, entity: opportunity}\nwhen: account.segment == \"SMB\"\nsteps: [{stop: true}]\n"), nil)
		storetest.Must(t, err)
		team := int64(1)
		got := entryNeeds(&Version{Entity: "opportunity", TeamID: &team, wf: wf})
		if want := (needs{related: map[string]bool{"account": true}, owner: true}); !reflect.DeepEqual(got, want) {
			t.Errorf("entry needs %+v, want %+v", got, want)
		}
	})
}

// needsOf takes in what the steps read, and leaves out the rest.
func TestNeedsOf(t *testing.T) {
	for _, tc := range []struct {
		name, steps string
		want        needs
	}{
		{"own fields", `[{notify: {channel: hooks, text: "{opportunity.name}"}}]`, needs{}},
		{"owner", `[{notify: {channel: hooks, title: "{owner.email}", text: "x"}}]`, needs{owner: true}},
		{"team", `[{if: 'owner.team == "East A"', then: [{stop: true}]}]`, needs{owner: true, team: true}},
		{"account", `[{if: 'account.segment == "SMB"', then: [{stop: true}]}]`, needs{related: map[string]bool{"account": true}}},
		{"history", `[{wait: {until: opportunity.days_since_activity > 3, timeout: 1d}}]`, needs{facts: true}},
		{"task for the owner", `[{create_task: {subject: "x"}}]`, needs{owner: true}},
		{"task for the manager", `[{create_task: {subject: "x", for: manager}}]`, needs{manager: true}},
		{"assign to the manager", `[{assign: {to: manager}}]`, needs{manager: true}},
		{"run", `[{run: other}]`, everything("opportunity")},
		{"whole environment", `[{if: '$env["owner.email"] != ""', then: [{stop: true}]}]`, everything("opportunity")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := Parse("t.yaml", []byte("name: x\ntrigger: {type: created, entity: opportunity}\nsteps: "+tc.steps+"\n"), nil)
			storetest.Must(t, err)
			got := needsOf(wf)
			if tc.want.related == nil {
				tc.want.related = map[string]bool{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("needs %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Step jobs that persist together share transactions; a duplicate of a
// job running at the same time as the original writes nothing, and does
// not keep the others' writes from committing.
func TestConcurrentDuplicateStepJobs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		e.apply(t, webhookPerDeal)
		const deals = 12
		for range deals {
			e.newDeal(t, e.org.RepA2, "100")
		}
		for {
			n, err := Dispatch(ctx, s, e.clock.Now())
			storetest.Must(t, err)
			if n == 0 {
				break
			}
		}
		runs := e.runs(t, "new-deal-hook")
		if len(runs) != deals {
			t.Fatalf("%d runs, want %d", len(runs), deals)
		}
		dl, err := notify.NewDeliverer(s, []notify.Channel{{Name: "hooks", Type: notify.Webhook, URL: e.hook.URL, Secret: "s3cret"}}, notify.Options{Log: quiet, Now: e.clock.Now})
		storetest.Must(t, err)
		eng := Register(jobs.NewWorker(s, jobs.Options{Log: quiet}), s, dl, Options{Log: quiet, Now: e.clock.Now})
		start := make(chan struct{})
		errs := make(chan error, 2*deals)
		for i, r := range runs {
			for copy := range 2 {
				j := stepJob(r.ID, 0, 0, e.clock.Now())
				go func() {
					<-start
					errs <- eng.handle(ctx, &jobs.Job{ID: int64(1000 + 2*i + copy), Kind: JobKind, Payload: j.Payload, Attempts: 1, MaxAttempts: 3})
				}()
			}
		}
		close(start)
		for range 2 * deals {
			storetest.Must(t, <-errs)
		}
		for _, r := range e.runs(t, "new-deal-hook") {
			full, err := RunByID(ctx, s, crm.System, r.ID)
			storetest.Must(t, err)
			if full.State != stateDone || len(full.Steps) != 1 || full.Steps[0].Outcome != "delivered" {
				t.Errorf("run %d: %s with steps %+v, want done with one delivered step", r.ID, full.State, full.Steps)
			}
		}
		var open int64
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COALESCE(SUM(open_runs), 0) FROM automation_enrollments WHERE workflow = 'new-deal-hook'`).Scan(&open))
		if open != 0 {
			t.Errorf("%d enrollments still open", open)
		}
		if got := e.hook.got.Load(); got < deals || got > 2*deals {
			t.Errorf("the receiver got %d requests, want %d to %d", got, deals, 2*deals)
		}
	})
}

// BenchmarkImportWithTrigger imports the X-Education leads (9,240 rows of
// ../shared/data/leads) into two fresh stores, one with a workflow on
// created leads (so the import stages the rows and writes a change event per
// lead), and reports the import time of each and the cost added per lead:
//
//	go test ./internal/automation/ -run '^$' -bench ImportWithTrigger -benchtime 3x
func BenchmarkImportWithTrigger(b *testing.B) {
	const dir, mapping = "../../../shared/data/leads", "../../examples/x-education/mapping.yaml"
	if _, err := os.Stat(dir); err != nil {
		b.Skip("no shared lead data: ", err)
	}
	var plain, watched time.Duration
	var rows int64
	for b.Loop() {
		for _, workflow := range []bool{false, true} {
			s := storetest.OpenBench(b)
			if workflow {
				_, err := Apply(ctx, s, crm.System, "bench.yaml", []byte("name: welcome\ntrigger: {type: created, entity: lead}\nsteps:\n  - update: {field: status, value: contacted}\n"), nil, time.Now())
				if err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			res, err := importer.ImportMapped(ctx, s, mapping, dir, importer.Options{})
			took := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			var events int64
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM change_events WHERE entity = 'lead'`).Scan(&events); err != nil {
				b.Fatal(err)
			}
			leads := res.PerEntity["leads"]
			if workflow {
				watched += took
				if events != leads {
					b.Fatalf("%d change events for %d imported leads", events, leads)
				}
			} else {
				plain += took
				rows = leads
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(plain.Seconds()/n, "plain-s/op")
	b.ReportMetric(watched.Seconds()/n, "trigger-s/op")
	b.ReportMetric((watched-plain).Seconds()*1000/n/float64(rows), "added-ms/lead")
}

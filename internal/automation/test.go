package automation

import (
	"context"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// DryRun is what a workflow would do to one record, without doing it.
type DryRun struct {
	Workflow string `json:"workflow"`
	Entity   string `json:"entity"`
	RecordID int64  `json:"record_id"`
	// Enters says whether the record passes the workflow's condition (the
	// trigger and re-entry policy are not tested: this is the record's run
	// as if its trigger had fired).
	Enters bool   `json:"enters"`
	When   string `json:"when,omitempty"`
	Steps  []Step `json:"steps"`
}

// Test walks wf's steps on one record the way a run would, evaluating every
// condition on the record as it is now and saying what each action would
// do; nothing is written, sent or waited for. Waits are assumed to pass
// (their condition is shown as it tests now).
func Test(ctx context.Context, s *store.Store, p crm.Principal, wf *Workflow, recordID int64, now time.Time) (*DryRun, error) {
	entity := wf.Doc.Trigger.Entity
	if err := canSee(ctx, s, p, entity, recordID); err != nil {
		return nil, err
	}
	sub, err := loadSubject(ctx, s, entity, recordID, &Event{Action: actionManual}, 0, now)
	if err != nil {
		return nil, err
	}
	out := &DryRun{Workflow: wf.Doc.Name, Entity: entity, RecordID: recordID, Enters: true, Steps: []Step{}}
	if wf.when != nil {
		out.When = wf.when.Source
		out.Enters = wf.when.Match(sub.record)
	}
	say := func(o op, outcome, detail string) {
		out.Steps = append(out.Steps, Step{Seq: int64(len(out.Steps) + 1), Step: o.path, Kind: o.label(), Outcome: outcome, Detail: detail, At: now})
	}
	pc := 0
	for n := 0; n < maxStepsPerJob; n++ {
		o := wf.program[pc]
		pc++
		switch o.kind {
		case opEnd:
			return out, nil
		case opJump:
			pc = o.jump
		case opIf:
			if o.cond.Match(sub.record) {
				say(o, "then", o.cond.Source+": true")
			} else {
				say(o, "else", o.cond.Source+": false")
				pc = o.jump
			}
		case opWait:
			if o.cond == nil {
				say(o, "would_wait", o.wait.String())
			} else {
				say(o, "would_wait", fmt.Sprintf("until %s (now %v), at most %s", o.cond.Source, o.cond.Match(sub.record), o.timeout))
			}
		case opNotify:
			say(o, "would_send", fmt.Sprintf("%s: %s", o.notify.Channel, firstNonEmpty(render(o.notify.Title, sub.record)+" "+render(o.notify.Text, sub.record))))
		case opTask:
			who := sub.record["owner.email"]
			if o.task.For == "manager" {
				who = sub.record["manager.email"]
			}
			say(o, "would_create", fmt.Sprintf("task %q for %v, due %s", render(o.task.Subject, sub.record), show(who), now.Add(o.due).Format(crm.DateLayout)))
		case opUpdate:
			say(o, "would_update", fmt.Sprintf("%s: %s → %v", o.update.Field, show(sub.record[entity+"."+o.update.Field]), o.update.Value))
		case opAssign:
			to := o.assign.To
			if o.assign.routes() {
				to = "the routing rules' choice"
				if l, err := s.Leads.Get(ctx, p, recordID); err == nil {
					if d, err := routing.Preview(ctx, s, p, l, now); err == nil {
						to = fmt.Sprintf("%s (%s)", d.Owner, d.Reason)
					} else {
						to += fmt.Sprintf(", which cannot route it: %v", err)
					}
				}
			}
			say(o, "would_assign", fmt.Sprintf("owner %s → %s", show(sub.record["owner.email"]), to))
		case opJoin, opLeave:
			say(o, "would_"+map[bool]string{true: "add", false: "remove"}[o.kind == opJoin], fmt.Sprintf("segment %q", o.segment))
		case opRun:
			say(o, "would_start", o.run)
		case opFail:
			say(o, "would_fail", o.reason)
			if wf.onError < 0 {
				return out, nil
			}
			pc = wf.onError
		}
	}
	return out, nil
}

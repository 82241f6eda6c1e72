package automation

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// settable is a field a workflow's update step may set.
type settable struct{ column column }

func settables(names ...string) map[string]settable {
	out := make(map[string]settable, len(names))
	for _, n := range names {
		out[n] = settable{}
	}
	return out
}

// check says whether v can be written to the field.
func (st settable) check(v any) error {
	switch st.column.kind {
	case rules.Text:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("want text, got %v", v)
		}
	case rules.Number:
		if _, ok := toFloat(v); !ok {
			return fmt.Errorf("want a number, got %v", v)
		}
	case rules.Time:
		s, _ := v.(string)
		if _, err := dateValue(s, time.Now()); err != nil {
			return err
		}
	case rules.Map:
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			return fmt.Errorf("want a map of custom fields, e.g. {review: \"yes\"}")
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// dateValue reads a date to set: YYYY-MM-DD, or a duration from now (14d).
func dateValue(s string, now time.Time) (crm.Date, error) {
	if d, err := time.Parse(crm.DateLayout, s); err == nil {
		return crm.NewDate(d), nil
	}
	if d, err := parseDuration(s); err == nil {
		return crm.NewDate(now.Add(d)), nil
	}
	return crm.Date{}, fmt.Errorf("want a date (YYYY-MM-DD) or a time from now (14d), got %q", s)
}

// set writes v (checked) into field of the record rv points at.
func (st settable) set(rv reflect.Value, v any, now time.Time) (before, after string) {
	f := rv.Elem().FieldByIndex(st.column.index)
	before = fieldText(f)
	switch st.column.kind {
	case rules.Text:
		f.SetString(v.(string))
	case rules.Number:
		x, _ := toFloat(v)
		if f.Kind() == reflect.Pointer {
			f.Set(reflect.ValueOf(&x))
		} else {
			f.SetFloat(x)
		}
	case rules.Time:
		d, _ := dateValue(v.(string), now)
		f.Set(reflect.ValueOf(&d))
	case rules.Map:
		cf := crm.CustomFields{}
		for k, val := range f.Interface().(crm.CustomFields) {
			cf[k] = val
		}
		for k, val := range v.(map[string]any) {
			cf[k] = fmt.Sprint(val)
		}
		f.Set(reflect.ValueOf(cf))
	}
	return before, fieldText(f)
}

func fieldText(f reflect.Value) string {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return "(none)"
		}
		f = f.Elem()
	}
	return fmt.Sprint(f.Interface())
}

// act runs a step that writes to the database, committed together with its
// log line and the run's next position.
func (x *exec) act(ctx context.Context, o op, start time.Time) error {
	sub, err := x.subject(ctx)
	if err != nil {
		return err
	}
	var detail string
	x.r.PC++
	x.routes, x.rescore = o.kind == opAssign && o.assign.routes(), false
	defer func() { x.routes = false }()
	err = x.persist(ctx, stateQueued, nil, func(ctx context.Context, b *store.Bulk) error {
		var err error
		if detail, err = x.apply(ctx, b, o, sub); err != nil {
			return err
		}
		x.log(o, "done", detail, "", start)
		return nil
	})
	if err == nil {
		x.sub = nil // the record may have changed: read it again
		if x.rescore {
			// Its segments changed: its scores may test them. Scores are
			// derived; should this fail, the next rescore puts them right.
			if err := leads.RescoreLead(ctx, x.e.s, sub.id, x.now()); err != nil {
				x.e.opts.Log.Warn("automation: rescore after a segment step", "lead", sub.id, "err", err)
			}
		}
		return nil
	}
	x.r.PC--
	x.steps = x.steps[:len(x.steps)-countDone(x.steps, o.path, "done")]
	if !isRefusal(err) {
		return err // database trouble: the queue retries the job
	}
	x.log(o, "failed", detail, err.Error(), start)
	if perr := x.errorPath(ctx, fmt.Sprintf("%s: %v", o.path, err)); perr != nil {
		return perr
	}
	if x.r.State == stateQueued {
		// On the error path: record the failure with the new position.
		return x.persist(ctx, stateQueued, nil, nil)
	}
	return nil
}

// countDone is 1 when the last logged step is the step's line with outcome
// (a rolled back write must not leave it in the log), else 0.
func countDone(steps [][]any, path, outcome string) int {
	if n := len(steps); n > 0 && steps[n-1][2] == path && steps[n-1][5] == outcome {
		return 1
	}
	return 0
}

// isRefusal tells a step's own failure (invalid, forbidden, missing: the
// error path's business) from trouble worth retrying.
func isRefusal(err error) bool {
	return errors.Is(err, crm.ErrInvalid) || errors.Is(err, crm.ErrForbidden) || errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrConflict)
}

// apply does the step's write inside b and says what it did.
func (x *exec) apply(ctx context.Context, b *store.Bulk, o op, sub *subject) (string, error) {
	s := x.e.s
	now := x.now()
	switch o.kind {
	case opTask:
		to := sub.ownerID
		if o.task.For == "manager" {
			m, ok := sub.record["manager.id"].(float64)
			if !ok {
				return "", crm.Invalid("step", "create_task.for", "the record's owner has no manager")
			}
			to = int64(m)
		}
		a := crm.Activity{Kind: crm.ActivityTask, Subject: render(o.task.Subject, sub.record), OwnerID: to, OccurredAt: now.Add(o.due)}
		link(&a, sub)
		if err := s.Activities.CreateIn(ctx, b, x.actor, &a); err != nil {
			return "", err
		}
		who := show(sub.record["owner.email"])
		if o.task.For == "manager" {
			who = show(sub.record["manager.email"])
		}
		return fmt.Sprintf("task %d %q for %s, due %s", a.ID, a.Subject, who, a.OccurredAt.Format(crm.DateLayout)), nil
	case opUpdate:
		st := entities[sub.entity].updatable[o.update.Field]
		var before, after string
		err := updateRecord(ctx, b, s, x.actor, sub.entity, sub.id, func(rv reflect.Value) {
			before, after = st.set(rv, o.update.Value, now)
		})
		return fmt.Sprintf("%s: %s → %s", o.update.Field, before, after), err
	case opAssign:
		if o.assign.routes() {
			return x.route(ctx, b, sub)
		}
		to, err := x.assignee(ctx, o, sub)
		if err != nil {
			return "", err
		}
		col := entities[sub.entity].columns[entities[sub.entity].owner]
		err = updateRecord(ctx, b, s, x.actor, sub.entity, sub.id, func(rv reflect.Value) {
			f := rv.Elem().FieldByIndex(col.index)
			if f.Kind() == reflect.Pointer {
				f.Set(reflect.ValueOf(&to))
			} else {
				f.SetInt(to)
			}
		})
		return fmt.Sprintf("owner: %d → %d", sub.ownerID, to), err
	case opRun:
		return x.call(ctx, b, o, sub)
	case opJoin, opLeave:
		changed, err := leads.SetMember(ctx, s, b, x.actor, o.segment, sub.id, o.kind == opJoin)
		if err != nil {
			return "", err
		}
		x.rescore = changed
		verb := "added to"
		switch {
		case o.kind == opJoin && !changed:
			verb = "already in"
		case o.kind == opLeave && changed:
			verb = "removed from"
		case o.kind == opLeave:
			verb = "not in"
		}
		return fmt.Sprintf("%s segment %q", verb, o.segment), nil
	}
	return "", fmt.Errorf("step %s: unknown kind %s", o.path, o.kind)
}

// route gives a lead the owner the active routing rules choose, inside b
// (which holds the routing lock: see persist), logged as routing logs its
// assignments, with the rule's alert and SLA.
func (x *exec) route(ctx context.Context, b *store.Bulk, sub *subject) (string, error) {
	s := x.e.s
	l, err := s.Leads.Get(ctx, x.actor, sub.id)
	if err != nil {
		return "", err
	}
	rt, err := routing.RouteIn(ctx, s, b, x.actor, l, x.now())
	if err != nil {
		return "", err
	}
	a := rt.Assignments[0]
	if _, err := s.Leads.UpdateIn(ctx, b, x.actor, l.ID, func(v *crm.Lead) error { owner := a.OwnerID; v.OwnerID = &owner; return nil }); err != nil {
		return "", err
	}
	if err := rt.Write(ctx, b); err != nil {
		return "", err
	}
	return fmt.Sprintf("routed to %s: %s", a.Decision.Owner, a.Decision.Reason), nil
}

// link attaches a task to the record it is about; for a deleted record, to
// the account it was on (if any).
func link(a *crm.Activity, sub *subject) {
	id := sub.id
	if sub.deleted {
		if acc, ok := sub.raw["account_id"].(float64); ok && sub.entity != "account" {
			accID := int64(acc)
			a.AccountID = &accID
		}
		return
	}
	switch sub.entity {
	case "opportunity":
		a.OpportunityID = &id
		if acc, ok := sub.record["opportunity.account_id"].(float64); ok {
			accID := int64(acc)
			a.AccountID = &accID
		}
	case "lead":
		a.LeadID = &id
	case "account":
		a.AccountID = &id
	case "contact":
		a.ContactID = &id
	}
}

// assignee resolves an assign step's target.
func (x *exec) assignee(ctx context.Context, o op, sub *subject) (int64, error) {
	if strings.EqualFold(o.assign.To, "manager") {
		m, ok := sub.record["manager.id"].(float64)
		if !ok {
			return 0, crm.Invalid("step", "assign.to", "the record's owner has no manager")
		}
		return int64(m), nil
	}
	u, err := x.e.s.UserByEmail(ctx, o.assign.To)
	if err != nil {
		return 0, crm.Invalid("step", "assign.to", fmt.Sprintf("no user %s", o.assign.To))
	}
	if !u.Active {
		return 0, crm.Invalid("step", "assign.to", fmt.Sprintf("%s is disabled", u.Email))
	}
	return u.ID, nil
}

// call starts the named workflow on the same record, one level deeper.
func (x *exec) call(ctx context.Context, b *store.Bulk, o op, sub *subject) (string, error) {
	v, err := Get(ctx, x.e.s, crm.System, o.run)
	if err != nil {
		return "", crm.Invalid("step", "run", fmt.Sprintf("no workflow %q", o.run))
	}
	if !v.Enabled {
		return "", crm.Invalid("step", "run", fmt.Sprintf("workflow %q is disabled", o.run))
	}
	if v.Entity != sub.entity {
		return "", crm.Invalid("step", "run", fmt.Sprintf("workflow %q runs on %s records, not %s", o.run, v.Entity, sub.entity))
	}
	d := &dispatcher{s: x.e.s, b: b, now: x.now()}
	ev := &Event{ID: x.r.ID*1000 + int64(x.r.PC), Entity: sub.entity, EntityID: sub.id, Action: "called", Depth: x.r.Depth + 1, Cause: x.r.Workflow, At: x.now()}
	if err := d.enter(ctx, v, sub, ev); err != nil {
		return "", err
	}
	started := len(d.runs)
	if err := d.flush(ctx); err != nil {
		return "", err
	}
	if started == 0 {
		return fmt.Sprintf("%s: the record did not enter (its condition or re-entry policy)", o.run), nil
	}
	return fmt.Sprintf("started %s", o.run), nil
}

// updateRecord changes one record through the store, as p, inside b.
func updateRecord(ctx context.Context, b *store.Bulk, s *store.Store, p crm.Principal, entity string, id int64, change func(rv reflect.Value)) error {
	var err error
	switch entity {
	case "lead":
		_, err = s.Leads.UpdateIn(ctx, b, p, id, func(v *crm.Lead) error { change(reflect.ValueOf(v)); return nil })
	case "contact":
		_, err = s.Contacts.UpdateIn(ctx, b, p, id, func(v *crm.Contact) error { change(reflect.ValueOf(v)); return nil })
	case "account":
		_, err = s.Accounts.UpdateIn(ctx, b, p, id, func(v *crm.Account) error { change(reflect.ValueOf(v)); return nil })
	case "opportunity":
		_, err = s.Opportunities.UpdateIn(ctx, b, p, id, func(v *crm.Opportunity) error { change(reflect.ValueOf(v)); return nil })
	case "activity":
		_, err = s.Activities.UpdateIn(ctx, b, p, id, func(v *crm.Activity) error { change(reflect.ValueOf(v)); return nil })
	default:
		err = fmt.Errorf("%q is not a record type", entity)
	}
	return err
}

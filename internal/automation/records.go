package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// What a workflow sees of a record: its own fields as "<entity>.<field>"
// (opportunity.amount), the fields of the records it points at
// (account.segment, owner.email, manager.email), a few derived facts
// (opportunity.close_date_pushes), and the trigger event (event.action,
// event.changed, before.<field>).

// entity describes a record type workflows may trigger on.
type entity struct {
	typ     reflect.Type
	owner   string // the JSON field of the owner's user id; "" if none
	columns map[string]column
	// related records, by the name conditions use, and the field holding
	// their id.
	related   []relation
	updatable map[string]settable
	derived   rules.Fields
}

type relation struct {
	name, entity, via string
}

// column is one field of a crm type.
type column struct {
	index []int
	kind  rules.Kind
}

var entities = withColumns(map[string]*entity{
	"lead": {typ: reflect.TypeFor[crm.Lead](), owner: "owner_id",
		updatable: settables("status", "title", "source", "channel", "custom_fields"),
		derived:   rules.Fields{"lead.score": rules.Number, "lead.grade": rules.Text, "lead.segments": rules.List}},
	"contact": {typ: reflect.TypeFor[crm.Contact](), owner: "owner_id",
		related:   []relation{{"account", "account", "account_id"}},
		updatable: settables("title", "phone")},
	"account": {typ: reflect.TypeFor[crm.Account](), owner: "owner_id",
		updatable: settables("segment", "industry")},
	"opportunity": {typ: reflect.TypeFor[crm.Opportunity](), owner: "owner_id",
		related:   []relation{{"account", "account", "account_id"}},
		updatable: settables("stage", "forecast_category", "probability", "expected_close", "loss_reason", "source"),
		derived:   rules.Fields{"opportunity.close_date_pushes": rules.Number, "opportunity.days_since_activity": rules.Number}},
	"activity": {typ: reflect.TypeFor[crm.Activity](), owner: "owner_id",
		related: []relation{{"account", "account", "account_id"}, {"opportunity", "opportunity", "opportunity_id"},
			{"lead", "lead", "lead_id"}, {"contact", "contact", "contact_id"}},
		updatable: settables("outcome", "subject")},
})

var userEntity = &entity{typ: reflect.TypeFor[crm.User](), columns: columnsOf(reflect.TypeFor[crm.User]())}

// withColumns derives each type's columns (the table above names only what
// the types do not say).
func withColumns(es map[string]*entity) map[string]*entity {
	for name, e := range es {
		e.columns = columnsOf(e.typ)
		for f, st := range e.updatable {
			c, ok := e.columns[f]
			if !ok {
				panic(fmt.Sprintf("automation: %s has no field %s", name, f))
			}
			st.column = c
			e.updatable[f] = st
		}
	}
	return es
}

func entityNames() []string {
	names := make([]string, 0, len(entities))
	for n := range entities {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func fieldNames(entity string) []string {
	var names []string
	for n := range entities[entity].columns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func updatableNames(entity string) []string {
	var names []string
	for n := range entities[entity].updatable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	dateType    = reflect.TypeFor[crm.Date]()
	decimalType = reflect.TypeFor[decimal.Decimal]()
	customType  = reflect.TypeFor[crm.CustomFields]()
)

func columnsOf(t reflect.Type) map[string]column {
	out := map[string]column{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var k rules.Kind
		switch {
		case ft == timeType || ft == dateType:
			k = rules.Time
		case ft == decimalType:
			k = rules.Number
		case ft == customType:
			k = rules.Map
		case ft.Kind() == reflect.String:
			k = rules.Text
		case ft.Kind() == reflect.Bool:
			k = rules.Bool
		case ft.Kind() == reflect.Int64 || ft.Kind() == reflect.Float64 || ft.Kind() == reflect.Int:
			k = rules.Number
		default:
			continue
		}
		out[name] = column{index: f.Index, kind: k}
	}
	return out
}

// recordFields are the fields a workflow on entity may test.
func recordFields(name string) rules.Fields {
	e := entities[name]
	f := rules.Fields{"event.action": rules.Text, "event.changed": rules.List, "run.depth": rules.Number}
	add := func(prefix string, cols map[string]column) {
		for n, c := range cols {
			f[prefix+"."+n] = c.kind
		}
	}
	add(name, e.columns)
	add("before", e.columns)
	for _, r := range e.related {
		add(r.name, entities[r.entity].columns)
	}
	if e.owner != "" {
		add("owner", userEntity.columns)
		add("manager", userEntity.columns)
		f["owner.team"] = rules.Text
	}
	for n, k := range e.derived {
		f[n] = k
	}
	return f
}

// values reads a crm record's fields by JSON name in the forms conditions
// compare: text, float64, bool, time.Time, map[string]any; nil pointers are
// left out (missing).
func values(cols map[string]column, v reflect.Value) map[string]any {
	out := make(map[string]any, len(cols))
	for name, c := range cols {
		f := v.FieldByIndex(c.index)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		switch x := f.Interface().(type) {
		case time.Time:
			out[name] = x
		case crm.Date:
			out[name] = x.Time
		case decimal.Decimal:
			out[name] = x.InexactFloat64()
		case crm.CustomFields:
			m := make(map[string]any, len(x))
			for k, s := range x {
				m[k] = rules.Value(s)
			}
			out[name] = m
		default:
			switch f.Kind() {
			case reflect.String:
				out[name] = f.String()
			case reflect.Bool:
				out[name] = f.Bool()
			case reflect.Int64, reflect.Int:
				out[name] = float64(f.Int())
			case reflect.Float64:
				out[name] = f.Float()
			}
		}
	}
	return out
}

// subject is the record a run is about, read when the run needs it.
type subject struct {
	entity  string
	id      int64
	ownerID int64 // 0 when the record has no owner
	teamID  int64
	record  rules.Record
	raw     map[string]any // the record's own fields, for templates of before/after
	deleted bool           // read from its delete event: the row is gone
}

// loadSubject reads the record and everything conditions may say about it.
func loadSubject(ctx context.Context, s *store.Store, name string, id int64, ev *Event, depth int, now time.Time) (*subject, error) {
	return loadNeeded(ctx, s, name, id, ev, depth, now, everything(name))
}

// readRecord reads one record's own fields.
func readRecord(ctx context.Context, s *store.Store, name string, id int64) (map[string]any, error) {
	var v any
	var err error
	switch name {
	case "lead":
		v, err = s.Leads.Get(ctx, crm.System, id)
	case "contact":
		v, err = s.Contacts.Get(ctx, crm.System, id)
	case "account":
		v, err = s.Accounts.Get(ctx, crm.System, id)
	case "opportunity":
		v, err = s.Opportunities.Get(ctx, crm.System, id)
	case "activity":
		v, err = s.Activities.Get(ctx, crm.System, id)
	default:
		return nil, fmt.Errorf("%q is not a record type", name)
	}
	if err != nil {
		return nil, err
	}
	return values(entities[name].columns, reflect.ValueOf(v).Elem()), nil
}

func readUser(ctx context.Context, s *store.Store, id int64) (map[string]any, error) {
	u, err := s.Users.Get(ctx, crm.System, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return values(userEntity.columns, reflect.ValueOf(u).Elem()), nil
}

// opportunityFacts adds what the deal's history says: how often its
// expected close moved later, and the days since its last activity (not
// counting tasks, which are planned work).
func opportunityFacts(ctx context.Context, s *store.Store, id int64, now time.Time, r rules.Record) error {
	var pushes int64
	err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM (
		SELECT expected_close, LAG(expected_close) OVER (ORDER BY changed_at, id) AS prev
		FROM opportunity_history WHERE opportunity_id = $1) h
		WHERE expected_close > prev`, id).Scan(&pushes)
	if err != nil {
		return fmt.Errorf("count close date pushes of deal %d: %w", id, err)
	}
	r["opportunity.close_date_pushes"] = float64(pushes)
	var last sql.NullTime
	if err := s.DB().QueryRowContext(ctx, `SELECT MAX(occurred_at) FROM activities WHERE opportunity_id = $1 AND kind <> 'task' AND occurred_at <= $2`, id, now).Scan(&last); err != nil {
		return fmt.Errorf("last activity of deal %d: %w", id, err)
	}
	since := now
	if last.Valid {
		since = last.Time
	} else if c, ok := r["opportunity.created_at"].(time.Time); ok {
		since = c
	}
	r["opportunity.days_since_activity"] = now.Sub(since).Hours() / 24
	return nil
}

// leadFacts adds the segments the lead is in, and its score and grade by
// the general scoring model (absent when no model scores it).
func leadFacts(ctx context.Context, s *store.Store, id int64, r rules.Record) error {
	segs, err := leads.SegmentsOf(ctx, s.DB(), id)
	if err != nil {
		return err
	}
	if segs != nil {
		r["lead.segments"] = segs
	}
	model, err := scoringModel(ctx, s, "")
	if err != nil || model == 0 {
		return err
	}
	var score float64
	var grade string
	err = s.DB().QueryRowContext(ctx, `SELECT score, grade FROM lead_scores WHERE model_id = $1 AND lead_id = $2`, model, id).Scan(&score, &grade)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("score of lead %d: %w", id, err)
	}
	r["lead.score"], r["lead.grade"] = score, grade
	return nil
}

// show formats a value for a message.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%.2f", x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return x.Format(crm.DateLayout)
		}
		return x.UTC().Format(time.RFC3339)
	case []string:
		return strings.Join(x, ", ")
	}
	return fmt.Sprint(v)
}

package routing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Version is one applied version of a rule set.
type Version struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	File      string    `json:"file"`
	Active    bool      `json:"active"`
	AppliedBy *int64    `json:"applied_by"`
	AppliedAt time.Time `json:"applied_at"`
	Source    string    `json:"source,omitempty"`
	set       *Set
}

// Apply validates a rule set against the organisation (every email and
// team it names must exist) and makes it the active one, as the next version
// of its name. Only ops and admin apply rule sets; it is audited.
func Apply(ctx context.Context, s *store.Store, p crm.Principal, file string, data []byte, now time.Time) (*Version, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	set, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	org, err := LoadOrg(ctx, s, p, now)
	if err != nil {
		return nil, err
	}
	if err := set.checkNames(file, org); err != nil {
		return nil, err
	}
	v := &Version{Name: set.Doc.Name, File: file, Active: true, AppliedAt: now, Source: string(data), set: set}
	if p.UserID != 0 {
		v.AppliedBy = &p.UserID
	}
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		var prev sql.NullInt64
		if err := b.QueryRow(ctx, `SELECT MAX(version) FROM routing_rulesets WHERE name = $1`, v.Name).Scan(&prev); err != nil {
			return err
		}
		v.Version = prev.Int64 + 1
		if v.ID, err = b.AllocIDs(ctx, 1); err != nil {
			return err
		}
		if _, err := b.Exec(ctx, `UPDATE routing_rulesets SET active = FALSE WHERE active`); err != nil {
			return err
		}
		if _, err := b.Exec(ctx, `INSERT INTO routing_rulesets (id, name, version, source, file, active, applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7)`,
			v.ID, v.Name, v.Version, v.Source, v.File, v.AppliedBy, v.AppliedAt); err != nil {
			return fmt.Errorf("store the rule set: %w", err)
		}
		return b.Audit(ctx, p, "apply", "routing_ruleset", v.ID, nil, map[string]any{"name": v.Name, "version": v.Version, "file": file})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// checkNames refuses emails and teams the organisation does not have.
func (set *Set) checkNames(file string, org *Org) error {
	org.index()
	pr := crm.NewProblems(file)
	known := func(email string) bool { return org.byEmail[strings.ToLower(strings.TrimSpace(email))] != nil }
	if !known(set.Doc.QueueOwner) {
		pr.Add("queue_owner", "%s: no user with this email", set.Doc.QueueOwner)
	}
	for i, p := range set.Doc.Pools {
		if p.Owner != "" && !known(p.Owner) {
			pr.Add(fmt.Sprintf("pools[%d].owner", i), "%s: no user with this email", p.Owner)
		}
		for j, m := range p.Members {
			switch {
			case m.Email != "" && !known(m.Email):
				pr.Add(fmt.Sprintf("pools[%d].members[%d].email", i, j), "%s: no user with this email", m.Email)
			case m.Team != "" && len(org.Teams[m.Team]) == 0:
				pr.Add(fmt.Sprintf("pools[%d].members[%d].team", i, j), "%q: no team of that name has reps", m.Team)
			}
		}
	}
	return pr.Err()
}

// Active is the active rule set, or nil when none is applied.
func Active(ctx context.Context, s *store.Store) (*Version, error) {
	vs, err := versions(ctx, s.DB(), `WHERE active`)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	v := vs[0]
	if v.set, err = Parse(v.File, []byte(v.Source)); err != nil {
		return nil, fmt.Errorf("stored rule set %s v%d no longer loads: %w", v.Name, v.Version, err)
	}
	return v, nil
}

// Versions lists every applied rule set version, newest first.
func Versions(ctx context.Context, s *store.Store, p crm.Principal) ([]*Version, error) {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return nil, crm.ErrForbidden
	}
	return versions(ctx, s.DB(), `ORDER BY id DESC`)
}

func versions(ctx context.Context, db *sql.DB, where string) ([]*Version, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, name, version, file, active, applied_by, applied_at, source FROM routing_rulesets `+where)
	if err != nil {
		return nil, fmt.Errorf("routing rule sets: %w", err)
	}
	defer rows.Close()
	var out []*Version
	for rows.Next() {
		v := &Version{}
		var by sql.NullInt64
		if err := rows.Scan(&v.ID, &v.Name, &v.Version, &v.File, &v.Active, &by, &v.AppliedAt, &v.Source); err != nil {
			return nil, err
		}
		if by.Valid {
			v.AppliedBy = &by.Int64
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Assignment is a logged decision.
type Assignment struct {
	ID              int64     `json:"id"`
	LeadID          int64     `json:"lead_id"`
	OwnerID         int64     `json:"owner_id"`
	PreviousOwnerID *int64    `json:"previous_owner_id"`
	RulesetID       *int64    `json:"ruleset_id"`
	AssignedAt      time.Time `json:"assigned_at"`
	AssignedBy      *int64    `json:"assigned_by"`
	Decision        Decision  `json:"decision"`
}

// ErrNoRuleSet is returned when a lead is routed before any rule set is applied.
var ErrNoRuleSet = errors.New("no routing rule set is applied (quarterdeck leads rules apply FILE)")

// routeMu serialises routing in this process: the turn order and the caps
// must see every assignment before the next (see lock).
var routeMu sync.Mutex

// Assign routes a lead with the active rule set, stores its new owner,
// the pools' turn order and the logged decision, in one transaction, and
// returns the assignment.
func Assign(ctx context.Context, s *store.Store, p crm.Principal, leadID int64, now time.Time) (*Assignment, error) {
	as, err := AssignMany(ctx, s, p, []int64{leadID}, now)
	if err != nil {
		return nil, err
	}
	return &as[0], nil
}

// AssignMany routes leads in order, as if they arrived one after the other
// (an import), in one transaction. Routing is serialised (a process lock,
// and on PostgreSQL a transaction-level advisory lock shared by every
// server), so parallel requests never give two reps the same turn.
func AssignMany(ctx context.Context, s *store.Store, p crm.Principal, ids []int64, now time.Time) ([]Assignment, error) {
	return assignMany(ctx, s, p, ids, now, nil)
}

// escalation is a lead handed on because its owner did not answer in time.
type escalation struct {
	from       int64 // the owner passed over
	assignment int64 // the assignment escalated
}

// AssignAt routes stored leads in order, each as of its own time (leads
// that came in over a day, routed after the fact: the demo's recent
// leads), in one transaction. Their SLAs and caps count from those times.
func AssignAt(ctx context.Context, s *store.Store, p crm.Principal, ids []int64, at []time.Time) ([]Assignment, error) {
	if len(at) != len(ids) {
		return nil, fmt.Errorf("routing: %d times for %d leads", len(at), len(ids))
	}
	return assign(ctx, s, p, ids, at, nil)
}

func assignMany(ctx context.Context, s *store.Store, p crm.Principal, ids []int64, now time.Time, esc map[int64]escalation) ([]Assignment, error) {
	return assign(ctx, s, p, ids, same(now, len(ids)), esc)
}

// same is n times t.
func same(t time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

func assign(ctx context.Context, s *store.Store, p crm.Principal, ids []int64, at []time.Time, esc map[int64]escalation) ([]Assignment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	v, err := Active(ctx, s)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: %w", crm.ErrConflict, ErrNoRuleSet)
	}
	ls := make([]*crm.Lead, len(ids))
	for i, id := range ids {
		if ls[i], err = s.Leads.Get(ctx, p, id); err != nil {
			return nil, err
		}
	}
	var out []Assignment
	err = InTx(ctx, s, func(b *store.Bulk) error {
		rt, err := decideStored(ctx, s, b, p, v, ls, at, esc)
		if err != nil {
			return err
		}
		for _, a := range rt.Assignments {
			if _, err := b.Exec(ctx, `UPDATE leads SET owner_id = $1 WHERE id = $2`, a.OwnerID, a.LeadID); err != nil {
				return fmt.Errorf("assign the lead: %w", err)
			}
			if err := b.Audit(ctx, p, "route", "lead", a.LeadID, map[string]any{"owner_id": a.PreviousOwnerID}, map[string]any{"owner_id": a.OwnerID, "reason": a.Decision.Reason}); err != nil {
				return err
			}
		}
		out = rt.Assignments
		return rt.Write(ctx, b)
	})
	return out, err
}

// RouteIn decides where one stored lead goes under the active rules, inside
// b, which must hold the routing lock (InTx): a workflow's assign step. The
// caller stores the lead's new owner (through the store, so the change is
// audited and seen by other workflows), then Write stores the decision's
// log, its alert and the turn order.
func RouteIn(ctx context.Context, s *store.Store, b *store.Bulk, p crm.Principal, l *crm.Lead, now time.Time) (*Routed, error) {
	v, err := Active(ctx, s)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: %w", crm.ErrConflict, ErrNoRuleSet)
	}
	return decideStored(ctx, s, b, p, v, []*crm.Lead{l}, []time.Time{now}, nil)
}

// Preview says where the active rules would send a stored lead now, without
// assigning anything or moving a turn (a dry run).
func Preview(ctx context.Context, s *store.Store, p crm.Principal, l *crm.Lead, now time.Time) (Decision, error) {
	v, err := Active(ctx, s)
	if err != nil {
		return Decision{}, err
	}
	if v == nil {
		return Decision{}, fmt.Errorf("%w: %w", crm.ErrConflict, ErrNoRuleSet)
	}
	ds, err := DryRun(ctx, s, p, v.set, []crm.Lead{*l}, now)
	if err != nil {
		return Decision{}, err
	}
	return ds[0], nil
}

// decideStored routes stored leads inside b (InTx): their records as rules
// see them, the organisation, and the turn order this transaction reads.
func decideStored(ctx context.Context, s *store.Store, b *store.Bulk, p crm.Principal, v *Version, ls []*crm.Lead, at []time.Time, esc map[int64]escalation) (*Routed, error) {
	sc, err := leads.NewScorer(ctx, s)
	if err != nil {
		return nil, err
	}
	recs, err := sc.StoredRecords(ctx, s, ls, at)
	if err != nil {
		return nil, err
	}
	org, err := LoadOrg(ctx, s, crm.System, at[len(at)-1])
	if err != nil {
		return nil, err
	}
	st, err := LoadState(ctx, b)
	if err != nil {
		return nil, err
	}
	return decide(ctx, b, p, v, org, st, ls, recs, at, esc)
}

// InTx runs fn in one transaction (on the store, or on a held Writer)
// holding the routing lock: a process
// mutex, and on PostgreSQL a transaction-level advisory lock shared by
// every server, so that the turn order and the caps see every assignment
// before the next and parallel requests never give two reps the same turn.
func InTx(ctx context.Context, s store.Transactor, fn func(b *store.Bulk) error) error {
	routeMu.Lock()
	defer routeMu.Unlock()
	return s.WithBulk(ctx, func(b *store.Bulk) error {
		if b.Engine() == "postgres" {
			if _, err := b.Exec(ctx, `SELECT pg_advisory_xact_lock(4242001)`); err != nil {
				return fmt.Errorf("routing lock: %w", err)
			}
		}
		return fn(b)
	})
}

// Routed is a batch of decisions made inside a routing transaction (InTx),
// not yet written.
type Routed struct {
	Assignments []Assignment
	state       State
	before      map[string]string // the turn order before the batch
	leads       []*crm.Lead
	esc         map[int64]escalation
	now         time.Time
}

// Decide routes leads in order, as if they arrived one after the other,
// inside b's transaction (which must hold the routing lock: InTx), with
// v's rules over org and st, the pools' turn order as LoadState read it in
// this transaction or as an earlier batch of this process left it (on
// DuckDB, which one process owns). It advances org's loads and st. recs
// are the leads as rules see them (leads.Scorer). Nothing is written: the
// caller stores the leads' owners, then Write stores the rest. The
// assignments' ids are reserved here.
func Decide(ctx context.Context, b *store.Bulk, p crm.Principal, v *Version, org *Org, st State, ls []*crm.Lead, recs []rules.Record, now time.Time) (*Routed, error) {
	return decide(ctx, b, p, v, org, st, ls, recs, same(now, len(ls)), nil)
}

// decide routes lead i as of at[i].
func decide(ctx context.Context, b *store.Bulk, p crm.Principal, v *Version, org *Org, st State, ls []*crm.Lead, recs []rules.Record, at []time.Time, esc map[int64]escalation) (*Routed, error) {
	if len(ls) == 0 {
		return &Routed{state: st, before: snapshot(st)}, nil
	}
	now := at[len(at)-1]
	first, err := b.AllocIDs(ctx, len(ls))
	if err != nil {
		return nil, err
	}
	rt := &Routed{Assignments: make([]Assignment, len(ls)), state: st, before: snapshot(st), leads: ls, esc: esc, now: now}
	for i, l := range ls {
		a := &rt.Assignments[i]
		*a = Assignment{ID: first + int64(i), LeadID: l.ID, PreviousOwnerID: l.OwnerID, RulesetID: &v.ID, AssignedAt: at[i], AssignedBy: actorOf(p)}
		e, escalated := esc[l.ID]
		org.Exclude = nil
		if escalated {
			org.Exclude = map[int64]bool{e.from: true}
		}
		if a.Decision, err = v.set.Route(recs[i], l.Email, l.Company, org, st, at[i]); err != nil {
			return nil, err
		}
		if escalated {
			a.Decision.Reason = "SLA escalation (not answered in time): " + a.Decision.Reason
		}
		a.OwnerID = a.Decision.OwnerID
	}
	org.Exclude = nil
	return rt, nil
}

// Write stores the decisions' log, their alerts (queued in the same
// transaction: an alert exists exactly when its assignment does), the
// escalations they answer and the pools' turn order.
func (rt *Routed) Write(ctx context.Context, b *store.Bulk) error {
	rows := make([][]any, len(rt.Assignments))
	for i := range rt.Assignments {
		a := &rt.Assignments[i]
		considered, _ := json.Marshal(a.Decision.Considered)
		rows[i] = []any{a.ID, a.LeadID, a.OwnerID, a.PreviousOwnerID, a.RulesetID, a.Decision.Rule, a.Decision.Pool, a.Decision.Method, a.Decision.AccountID,
			a.Decision.Queue, a.Decision.Reason, string(considered), a.AssignedAt, a.AssignedBy, a.Decision.SLADue, a.Decision.SLAAlert, a.Decision.SLAEscalate, a.Decision.SLAWarn}
	}
	if err := b.InsertRows(ctx, "lead_assignments", assignmentColumns, rows); err != nil {
		return fmt.Errorf("log the assignments: %w", err)
	}
	for i := range rt.Assignments {
		a := &rt.Assignments[i]
		if e, ok := rt.esc[a.LeadID]; ok {
			if _, err := b.Exec(ctx, `UPDATE lead_assignments SET sla_escalated_at = $1 WHERE id = $2`, rt.now, e.assignment); err != nil {
				return fmt.Errorf("record the escalation: %w", err)
			}
		}
		if ch := a.Decision.Alert; ch != "" {
			if _, _, err := notify.SendIn(ctx, b, alertFor(rt.leads[i], a, ch, a.AssignedAt)); err != nil {
				return fmt.Errorf("alert %s: %w", ch, err)
			}
		}
	}
	return saveState(ctx, b, rt.state, rt.before, rt.now)
}

var assignmentColumns = []string{"id", "lead_id", "owner_id", "previous_owner_id", "ruleset_id", "rule", "pool", "method", "account_id", "queued", "reason",
	"considered", "assigned_at", "assigned_by", "sla_due_at", "sla_alert", "sla_escalate_at", "sla_warn_at"}

func actorOf(p crm.Principal) *int64 {
	if p.UserID == 0 {
		return nil
	}
	return &p.UserID
}

// alertFor is the message telling a channel where a lead went and why.
func alertFor(l *crm.Lead, a *Assignment, channel string, now time.Time) notify.Message {
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	if name == "" {
		name = fmt.Sprintf("Lead %d", l.ID)
	}
	if l.Company != "" {
		name += " (" + l.Company + ")"
	}
	fields := []notify.Field{{Name: "Owner", Value: a.Decision.Owner}, {Name: "Rule", Value: a.Decision.Rule}}
	for _, f := range []struct{ k, v string }{{"Source", l.Source}, {"Country", l.Country}, {"Industry", l.Industry}} {
		if f.v != "" {
			fields = append(fields, notify.Field{Name: f.k, Value: f.v})
		}
	}
	return notify.Message{Channel: channel, Event: "lead.routed", DedupeKey: fmt.Sprintf("assignment:%d", a.ID),
		Title: "New lead for " + a.Decision.Owner + ": " + name, Text: a.Decision.Reason, Fields: fields,
		Link: fmt.Sprintf("/leads/%d", l.ID), Data: map[string]any{"lead_id": l.ID, "owner_id": a.OwnerID, "rule": a.Decision.Rule, "pool": a.Decision.Pool}, At: now}
}

// AssignUnowned routes every lead that has no owner and was never
// assigned (what an import brought in), when a rule set is applied. It
// returns how many it routed.
func AssignUnowned(ctx context.Context, s *store.Store, p crm.Principal, now time.Time) (int, error) {
	if v, err := Active(ctx, s); err != nil || v == nil {
		return 0, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT l.id FROM leads l WHERE l.owner_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM lead_assignments a WHERE a.lead_id = l.id) ORDER BY l.created_at, l.id`)
	if err != nil {
		return 0, fmt.Errorf("unowned leads: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		if _, err := AssignMany(ctx, s, p, ids[i:min(i+batch, len(ids))], now); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// LoadState reads every pool's turn order in b's transaction.
func LoadState(ctx context.Context, b *store.Bulk) (State, error) {
	return readState(b.Query(ctx, stateQuery))
}

const stateQuery = `SELECT pool, state FROM routing_pool_state`

// readState decodes the turn orders stateQuery returned.
func readState(rows *sql.Rows, err error) (State, error) {
	if err != nil {
		return nil, fmt.Errorf("routing state: %w", err)
	}
	defer rows.Close()
	st := State{}
	for rows.Next() {
		var pool, raw string
		if err := rows.Scan(&pool, &raw); err != nil {
			return nil, err
		}
		ps := &PoolState{}
		if err := json.Unmarshal([]byte(raw), ps); err != nil {
			return nil, fmt.Errorf("routing state of pool %s: %w", pool, err)
		}
		st[pool] = ps
	}
	return st, rows.Err()
}

// saveState stores the pools whose turn order moved since before (their
// JSON when read): an UPDATE of the pools that had a row, an INSERT of the
// new ones (on DuckDB an UPDATE costs a third of an upsert).
func saveState(ctx context.Context, b *store.Bulk, st State, before map[string]string, now time.Time) error {
	var fresh [][]any
	var cases []string
	var args []any
	for pool, ps := range st {
		raw, err := json.Marshal(ps)
		if err != nil {
			return err
		}
		old, had := before[pool]
		switch {
		case !had:
			fresh = append(fresh, []any{pool, string(raw), now})
		case old != string(raw):
			args = append(args, pool, string(raw))
			cases = append(cases, fmt.Sprintf("WHEN $%d THEN $%d", len(args)-1, len(args)))
		}
	}
	if len(cases) > 0 {
		args = append(args, now)
		ph := make([]string, len(cases))
		for i := range cases {
			ph[i] = fmt.Sprintf("$%d", 2*i+1)
		}
		q := `UPDATE routing_pool_state SET state = CASE pool ` + strings.Join(cases, " ") + ` END, updated_at = $` + fmt.Sprint(len(args)) +
			` WHERE pool IN (` + strings.Join(ph, ", ") + `)`
		if _, err := b.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("routing state: %w", err)
		}
	}
	if err := b.InsertRows(ctx, "routing_pool_state", []string{"pool", "state", "updated_at"}, fresh); err != nil {
		return fmt.Errorf("routing state: %w", err)
	}
	return nil
}

// snapshot is each pool's turn order as JSON, to tell what a batch moved.
func snapshot(st State) map[string]string {
	out := make(map[string]string, len(st))
	for pool, ps := range st {
		raw, _ := json.Marshal(ps)
		out[pool] = string(raw)
	}
	return out
}

// Assignments is a lead's assignment log, newest first; the lead must be
// visible to p.
func Assignments(ctx context.Context, s *store.Store, p crm.Principal, leadID int64) ([]Assignment, error) {
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT a.id, a.owner_id, u.email, a.previous_owner_id, a.ruleset_id, a.rule, a.pool, a.method, a.account_id, a.queued, a.reason, a.considered, a.assigned_at, a.assigned_by
		FROM lead_assignments a JOIN users u ON u.id = a.owner_id WHERE a.lead_id = $1 ORDER BY a.id DESC`, leadID)
	if err != nil {
		return nil, fmt.Errorf("assignments: %w", err)
	}
	defer rows.Close()
	var out []Assignment
	for rows.Next() {
		a := Assignment{LeadID: leadID}
		var prev, rs, acc, by sql.NullInt64
		var considered string
		d := &a.Decision
		if err := rows.Scan(&a.ID, &a.OwnerID, &d.Owner, &prev, &rs, &d.Rule, &d.Pool, &d.Method, &acc, &d.Queue, &d.Reason, &considered, &a.AssignedAt, &by); err != nil {
			return nil, err
		}
		d.OwnerID = a.OwnerID
		a.PreviousOwnerID, a.RulesetID, d.AccountID, a.AssignedBy = nullable(prev), nullable(rs), nullable(acc), nullable(by)
		if err := json.Unmarshal([]byte(considered), &d.Considered); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func nullable(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

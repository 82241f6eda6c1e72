package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Repo is the create / read / update / list of one entity, with the
// principal's visibility applied in every query and every write audited.
type Repo[T any] struct {
	s      *Store
	entity string // singular name used in errors and the audit log
	table  string
	// owner is the column whose user decides record-level visibility; empty
	// when every role but viewer reads all rows (accounts, products, users).
	owner string
	// visible, when set, replaces the owner-based condition (quotas).
	visible func(sc scope) string
	// mayWrite says which roles may create and update at all.
	mayWrite func(p crm.Principal) bool
	// ownerOf gives the owner a write must stay within the writer's scope for.
	ownerOf func(v *T) *int64
	// check validates a new or changed record in the write's transaction:
	// its own rules, its references, derived fields. old is nil on create.
	check func(ctx context.Context, q querier, p crm.Principal, old, v *T) error
	// after runs in the same transaction once the row is written.
	after   func(ctx context.Context, q querier, p crm.Principal, old, v *T) error
	filters map[string]filter
	// deletes is how a record is deleted; nil when records of the entity
	// are not (see notDeletedWhy).
	deletes *deletion[T]
}

// ListQuery selects a page of records: equality filters by field name
// (plus NAME_from / NAME_to for time fields), keyset pagination by id.
type ListQuery struct {
	Filters map[string]string
	After   int64 // return records after this id (in the page order)
	Limit   int   // default 50, at most MaxPageSize
	Newest  bool  // newest first (descending id) instead of oldest first
}

// MaxPageSize bounds one page of a list.
const MaxPageSize = 1000

// Page is one page of a list; Next is the After value of the next page, 0 when done.
type Page[T any] struct {
	Items []T   `json:"items"`
	Next  int64 `json:"next,omitempty"`
}

type filterKind int

const (
	filterInt filterKind = iota
	filterText
	filterBool
	filterTime // compared with _from (inclusive) and _to (exclusive)
)

type filter struct {
	column string
	kind   filterKind
}

func writeOps(p crm.Principal) bool   { return p.Role.SeesAll() }
func writeAdmin(p crm.Principal) bool { return p.Role == crm.RoleAdmin }
func writeSellers(p crm.Principal) bool {
	return p.Role.SeesAll() || p.Role == crm.RoleManager || p.Role == crm.RoleRep
}

func idOf(v any) int64 { return reflect.ValueOf(v).Elem().FieldByName("ID").Int() }
func setID(v any, id int64) {
	reflect.ValueOf(v).Elem().FieldByName("ID").SetInt(id)
}

// condition returns the SQL visibility condition for sc, or ErrForbidden for
// roles that read no records of this entity.
func (r *Repo[T]) condition(p crm.Principal, sc scope) (string, error) {
	if p.Role == crm.RoleViewer || !p.Role.Valid() {
		return "", crm.ErrForbidden
	}
	switch {
	case r.visible != nil:
		return r.visible(sc), nil
	case r.owner == "":
		return "TRUE", nil
	default:
		return sc.ownerPredicate(r.owner), nil
	}
}

func (r *Repo[T]) selectSQL() string {
	var zero T
	return "SELECT " + columnList(fieldsOf(reflect.TypeOf(zero)).columns) + " FROM " + r.table
}

// Get reads one record. A record the principal may not see answers
// ErrNotFound, exactly as a missing one does, and the attempt is logged.
func (r *Repo[T]) Get(ctx context.Context, p crm.Principal, id int64) (*T, error) {
	return r.get(ctx, r.s.db, p, id, "")
}

// get reads one record; lock is appended to the query (an update's FOR
// UPDATE on PostgreSQL).
func (r *Repo[T]) get(ctx context.Context, q querier, p crm.Principal, id int64, lock string) (*T, error) {
	sc, err := r.s.scopeOf(ctx, p)
	if err != nil {
		return nil, err
	}
	cond, err := r.condition(p, sc)
	if err != nil {
		return nil, err
	}
	v := new(T)
	err = q.QueryRowContext(ctx, r.selectSQL()+" WHERE id = $1 AND "+cond+lock, id).Scan(scanTargets(v)...)
	if errors.Is(err, sql.ErrNoRows) {
		if found, _ := exists(ctx, q, r.table, "id", id); found {
			r.s.log.Warn("access denied", "entity", r.entity, "id", id, "user", p.UserID, "role", p.Role)
		}
		return nil, fmt.Errorf("%s %d: %w", r.entity, id, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %d: %w", r.entity, id, err)
	}
	return v, nil
}

// List reads a page of the records the principal may see.
func (r *Repo[T]) List(ctx context.Context, p crm.Principal, lq ListQuery) (Page[T], error) {
	sc, err := r.s.scopeOf(ctx, p)
	if err != nil {
		return Page[T]{}, err
	}
	cond, err := r.condition(p, sc)
	if err != nil {
		return Page[T]{}, err
	}
	where := []string{cond}
	var args []any
	probs := crm.NewProblems(r.entity + " filter")
	for name, raw := range lq.Filters {
		f, op, ok := r.lookupFilter(name)
		if !ok {
			probs.Add(name, "unknown filter (known: %s)", strings.Join(r.filterNames(), ", "))
			continue
		}
		val, err := parseFilter(f.kind, raw)
		if err != nil {
			probs.Add(name, "%v", err)
			continue
		}
		args = append(args, val)
		where = append(where, fmt.Sprintf("%s %s $%d", f.column, op, len(args)))
	}
	if err := probs.Err(); err != nil {
		return Page[T]{}, err
	}
	limit := lq.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > MaxPageSize {
		limit = MaxPageSize
	}
	order := "id"
	if lq.After != 0 {
		args = append(args, lq.After)
		if lq.Newest {
			where = append(where, fmt.Sprintf("id < $%d", len(args)))
		} else {
			where = append(where, fmt.Sprintf("id > $%d", len(args)))
		}
	}
	if lq.Newest {
		order = "id DESC"
	}
	query := r.selectSQL() + " WHERE " + strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit+1)
	rows, err := r.s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", r.table, err)
	}
	defer rows.Close()
	page := Page[T]{Items: []T{}}
	for rows.Next() {
		var v T
		if err := rows.Scan(scanTargets(&v)...); err != nil {
			return Page[T]{}, fmt.Errorf("list %s: %w", r.table, err)
		}
		page.Items = append(page.Items, v)
	}
	if err := rows.Err(); err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", r.table, err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = idOf(&page.Items[limit-1])
	}
	return page, nil
}

func (r *Repo[T]) lookupFilter(name string) (filter, string, bool) {
	if f, ok := r.filters[name]; ok && f.kind != filterTime {
		return f, "=", true
	}
	for suffix, op := range map[string]string{"_from": ">=", "_to": "<"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := r.filters[base]; ok && f.kind == filterTime {
				return f, op, true
			}
		}
	}
	return filter{}, "", false
}

func (r *Repo[T]) filterNames() []string {
	var names []string
	for name, f := range r.filters {
		if f.kind == filterTime {
			names = append(names, name+"_from", name+"_to")
		} else {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func parseFilter(kind filterKind, raw string) (any, error) {
	switch kind {
	case filterInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", raw)
		}
		return n, nil
	case filterBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", raw)
		}
		return b, nil
	case filterTime:
		if t, err := time.Parse(crm.DateLayout, raw); err == nil {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", raw)
		}
		return t.UTC(), nil
	}
	return raw, nil
}

// Create validates v, stores it with a new id (set on v) and audits it.
func (r *Repo[T]) Create(ctx context.Context, p crm.Principal, v *T) error {
	defer r.written()
	return r.s.inTx(ctx, func(tx *sql.Tx) error { return r.create(ctx, tx, p, v) })
}

// CreateIn is Create inside b's transaction, for work that must commit
// together with the record (an automation step and its log).
func (r *Repo[T]) CreateIn(ctx context.Context, b *Bulk, p crm.Principal, v *T) error {
	return r.create(ctx, b.conn, p, v)
}

func (r *Repo[T]) create(ctx context.Context, tx querier, p crm.Principal, v *T) error {
	if !r.mayWrite(p) {
		return fmt.Errorf("create %s: %w", r.entity, crm.ErrForbidden)
	}
	if err := r.check(ctx, tx, p, nil, v); err != nil {
		return err
	}
	if err := r.checkOwner(ctx, p, nil, v); err != nil {
		return err
	}
	id, err := r.s.allocIDs(ctx, 1)
	if err != nil {
		return err
	}
	setID(v, id)
	cols := fieldsOf(reflect.TypeOf(*v)).columns
	query := "INSERT INTO " + r.table + " (" + columnList(cols) + ") VALUES (" + bindParams(1, len(cols)) + ")"
	if _, err := tx.ExecContext(ctx, query, values(v)...); err != nil {
		return r.writeError("create", err)
	}
	if r.after != nil {
		if err := r.after(ctx, tx, p, nil, v); err != nil {
			return err
		}
	}
	return r.s.audit(ctx, tx, p, "create", r.entity, id, nil, v)
}

// Update reads the record, applies change to a copy, validates and stores it.
// The id cannot change. Returns the stored record.
func (r *Repo[T]) Update(ctx context.Context, p crm.Principal, id int64, change func(v *T) error) (*T, error) {
	if !r.mayWrite(p) {
		return nil, fmt.Errorf("update %s: %w", r.entity, crm.ErrForbidden)
	}
	defer r.written()
	var out *T
	err := r.s.rowWrite(ctx, id, func(tx *sql.Tx) error {
		var err error
		out, err = r.update(ctx, tx, p, id, change)
		return err
	}, fmt.Sprintf("update %s %d", r.entity, id))
	return out, err
}

// rowWrite runs fn, a transaction writing the record id, to the end.
// DuckDB aborts the second of two transactions writing one row at once
// (PostgreSQL makes it wait): this process's writes of one record take
// turns, and one that meets another writer (a bulk transaction) reads
// afresh and tries again.
func (s *Store) rowWrite(ctx context.Context, id int64, fn func(tx *sql.Tx) error, what string) error {
	if s.dialect.name() == "duckdb" {
		mu := &s.rowLocks[uint64(id)%uint64(len(s.rowLocks))]
		mu.Lock()
		defer mu.Unlock()
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = s.inTx(ctx, fn)
		if !isWriteConflict(err) || attempt == 5 {
			break
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
	if isWriteConflict(err) {
		return fmt.Errorf("%s: changed by someone else at the same moment, try again: %w", what, crm.ErrConflict)
	}
	return err
}

// isWriteConflict reports DuckDB's refusal of a concurrent write to a row.
func isWriteConflict(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Conflict on") || strings.Contains(msg, "write-write conflict")
}

// UpdateIn is Update inside b's transaction.
func (r *Repo[T]) UpdateIn(ctx context.Context, b *Bulk, p crm.Principal, id int64, change func(v *T) error) (*T, error) {
	if !r.mayWrite(p) {
		return nil, fmt.Errorf("update %s: %w", r.entity, crm.ErrForbidden)
	}
	defer r.written()
	return r.update(ctx, b.conn, p, id, change)
}

func (r *Repo[T]) update(ctx context.Context, tx querier, p crm.Principal, id int64, change func(v *T) error) (*T, error) {
	// An update writes every column from what it read: on PostgreSQL the row
	// is locked as it is read, so that two writers changing different fields
	// of one record at once (a user and a workflow) both land, in turn.
	// DuckDB refuses the second writer with a conflict instead.
	lock := ""
	if r.s.Engine() == "postgres" {
		lock = " FOR UPDATE"
	}
	old, err := r.get(ctx, tx, p, id, lock)
	if err != nil {
		return nil, err
	}
	v := new(T)
	*v = *old
	if err := change(v); err != nil {
		return nil, err
	}
	setID(v, id)
	if err := r.check(ctx, tx, p, old, v); err != nil {
		return nil, err
	}
	if err := r.checkOwner(ctx, p, old, v); err != nil {
		return nil, err
	}
	cols := fieldsOf(reflect.TypeOf(*v)).columns
	sets := make([]string, 0, len(cols))
	args := make([]any, 0, len(cols)+1)
	for i, val := range values(v) {
		if cols[i] == "id" {
			continue
		}
		args = append(args, val)
		sets = append(sets, fmt.Sprintf("%s = $%d", cols[i], len(args)))
	}
	args = append(args, id)
	query := "UPDATE " + r.table + " SET " + strings.Join(sets, ", ") + fmt.Sprintf(" WHERE id = $%d", len(args))
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return nil, r.writeError("update", err)
	}
	if r.after != nil {
		if err := r.after(ctx, tx, p, old, v); err != nil {
			return nil, err
		}
	}
	return v, r.s.audit(ctx, tx, p, "update", r.entity, id, old, v)
}

// written forgets what a write may have made stale outside the database.
func (r *Repo[T]) written() {
	if r.table == "users" {
		r.s.forgetTokens()
	}
}

// checkOwner keeps reps and managers within their scope: they may only write
// records owned by someone they can see, and may not give them away outside it.
func (r *Repo[T]) checkOwner(ctx context.Context, p crm.Principal, old, v *T) error {
	if r.ownerOf == nil || p.Role.SeesAll() {
		return nil
	}
	sc, err := r.s.scopeOf(ctx, p)
	if err != nil {
		return err
	}
	if old != nil {
		if o := r.ownerOf(old); o == nil || !sc.hasUser(*o) {
			return fmt.Errorf("update %s: you do not own it: %w", r.entity, crm.ErrForbidden)
		}
	}
	if o := r.ownerOf(v); o == nil || !sc.hasUser(*o) {
		return crm.Invalid(r.entity, "owner_id", "must be you or someone in your team")
	}
	return nil
}

func (r *Repo[T]) writeError(action string, err error) error {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate key") {
		return fmt.Errorf("%s %s: a record with the same key already exists: %w", action, r.entity, crm.ErrConflict)
	}
	return fmt.Errorf("%s %s: %w", action, r.entity, err)
}

// audit records a write in the same transaction as the write itself.
func (s *Store) audit(ctx context.Context, q querier, p crm.Principal, action, entity string, id int64, before, after any) error {
	auditID, err := s.allocIDs(ctx, 1)
	if err != nil {
		return err
	}
	at, actor, beforeJSON, afterJSON := s.now(), actorOf(p), auditJSON(before), auditJSON(after)
	_, err = q.ExecContext(ctx, `INSERT INTO audit_log (`+columnList(auditColumns)+`) VALUES (`+bindParams(1, len(auditColumns))+`)`,
		auditID, at, actor, action, entity, id, beforeJSON, afterJSON)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return s.change(ctx, q, actor, action, entity, id, beforeJSON, afterJSON, at)
}

// AuditLog lists audit entries, newest first, for ops and admin.
func (s *Store) AuditLog(ctx context.Context, p crm.Principal, entity string, entityID int64, limit int) ([]crm.AuditEntry, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = 100
	}
	var zero crm.AuditEntry
	query := "SELECT " + columnList(fieldsOf(reflect.TypeOf(zero)).columns) + " FROM audit_log WHERE ($1 = '' OR entity = $1) AND ($2 = 0 OR entity_id = $2) ORDER BY id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, query, entity, entityID)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []crm.AuditEntry{}
	for rows.Next() {
		var e crm.AuditEntry
		if err := rows.Scan(scanTargets(&e)...); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

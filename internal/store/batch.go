package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// Creating many records in one bulk transaction, for callers that gather
// concurrent requests into one commit (lead intake). The checks and the
// audit are those of Create; only the statements are shared.

// CheckNew validates v for creation by p inside b's transaction, exactly as
// Create does (defaults filled in, references and scope checked), without
// writing anything.
func (r *Repo[T]) CheckNew(ctx context.Context, b *Bulk, p crm.Principal, v *T) error {
	if !r.mayWrite(p) {
		return fmt.Errorf("create %s: %w", r.entity, crm.ErrForbidden)
	}
	if err := r.check(ctx, b.conn, p, nil, v); err != nil {
		return err
	}
	return r.checkOwner(ctx, p, nil, v)
}

// InsertNew stores records that CheckNew accepted, in b's transaction, with
// one multi-row statement, and audits each as created by p. A record whose
// id is zero gets a new one (set on it); a caller that needed the ids
// earlier (to score or route them) reserves them with AllocIDs.
func (r *Repo[T]) InsertNew(ctx context.Context, b *Bulk, p crm.Principal, vs []*T) error {
	if len(vs) == 0 {
		return nil
	}
	fresh := 0
	for _, v := range vs {
		if idOf(v) == 0 {
			fresh++
		}
	}
	first, err := b.AllocIDs(ctx, fresh+len(vs))
	if err != nil {
		return err
	}
	rows := make([][]any, len(vs))
	for i, v := range vs {
		if idOf(v) == 0 {
			setID(v, first)
			first++
		}
		rows[i] = fieldValues(v)
	}
	if err := b.InsertRows(ctx, r.table, fieldsOf(reflect.TypeFor[T]()).columns, rows); err != nil {
		return r.writeError("create", err)
	}
	audits := make([][]any, len(vs))
	ids, afters := make([]int64, len(vs)), make([]string, len(vs))
	at, actor := r.s.now(), actorOf(p)
	for i, v := range vs {
		if r.after != nil {
			if err := r.after(ctx, b.conn, p, nil, v); err != nil {
				return err
			}
		}
		ids[i], afters[i] = idOf(v), auditJSON(v)
		audits[i] = []any{first + int64(i), at, actor, "create", r.entity, ids[i], "", afters[i]}
	}
	if err := b.InsertRows(ctx, "audit_log", auditColumns, audits); err != nil {
		return err
	}
	changes, err := r.s.changeRows(ctx, b.conn, actor, r.entity, ids, afters, at)
	if err != nil || changes == nil {
		return err
	}
	return b.InsertRows(ctx, "change_events", ChangeEventColumns, changes)
}

// InsertRows writes rows (values in the order of columns) in the bulk
// transaction, for callers with tens of rows that must commit quickly:
// multi-row INSERT statements, or on DuckDB from appendFrom rows on, its
// Appender, which binds a row much faster than a statement binds parameters.
func (b *Bulk) InsertRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) >= appendFrom && b.Engine() == "duckdb" {
		if b.w != nil {
			return b.w.appendRows(table, columns, rows)
		}
		_, err := b.Load(ctx, table, columns, func(yield func([]any, error) bool) {
			out := make([]any, len(columns))
			for _, row := range rows {
				for i, v := range row {
					out[i] = loadValue(v)
				}
				if !yield(out, nil) {
					return
				}
			}
		})
		return err
	}
	// PostgreSQL takes at most 65,535 parameters a statement.
	per := max(1, 30000/max(1, len(columns)))
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + columnList(columns) + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(columns))
		for i, row := range chunk {
			if len(row) != len(columns) {
				return fmt.Errorf("insert into %s: row %d has %d values for %d columns", table, i+1, len(row), len(columns))
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(" + bindParams(len(args)+1, len(row)) + ")")
			for _, v := range row {
				args = append(args, bindValue(v))
			}
		}
		if _, err := b.conn.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// appendFrom is where the Appender starts to pay: below it, setting one up
// costs about what the statement does.
const appendFrom = 4

// loadValue is v as Load takes it: money stays a decimal (Load writes it
// as DECIMAL(18,2)), anything else as a statement would bind it.
func loadValue(v any) any {
	switch v.(type) {
	case decimal.Decimal, *decimal.Decimal:
		return v
	}
	return bindValue(v)
}

var auditColumns = []string{"id", "at_time", "actor_id", "action", "entity", "entity_id", "before_json", "after_json"}

func actorOf(p crm.Principal) *int64 {
	if p.UserID == 0 {
		return nil
	}
	return &p.UserID
}

// auditJSON is a record as the audit log keeps it; nil is empty.
func auditJSON(v any) string {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil()) {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

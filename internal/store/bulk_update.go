package store

import (
	"context"
	"fmt"
	"strings"
)

// Col is a column that UpdateRows matches or sets, with the SQL type its
// values are cast to: PostgreSQL cannot infer the types of parameters in a
// VALUES list.
type Col struct {
	Name string
	Type string // BIGINT, VARCHAR, TIMESTAMP, DECIMAL(18,2)...
}

// Update describes an UPDATE of many rows of Table, each with values of its
// own, for UpdateRows.
type Update struct {
	Table string
	// Each row holds values for Key, then for Set. A table row is updated
	// where every Key column equals the row's value, so extra Key columns
	// guard the update (a NULL value matches nothing); a column may be in
	// both (matched on its old value, given a new one).
	Key, Set []Col
	// Where (more conditions on the table's row, t) and Also (more
	// assignments) are the same for every row; their parameters are Args,
	// $1 on. Values that every row shares cost no parameter a row.
	Where, Also string
	Args        []any
	// Returning names a BIGINT column of Table whose values in the updated
	// rows UpdateRows returns; "" returns none.
	Returning string
}

// UpdateRows runs u on rows in the bulk transaction, one statement per chunk
// of rows:
//
//	UPDATE table AS t SET c = v.s0, ..., also FROM (VALUES ($3::BIGINT, ...), ...) AS v (k0, ..., s0, ...)
//	WHERE t.k = v.k0 AND ... AND (where) RETURNING t.returning
//
// Rows must match distinct table rows (the engines differ on a row matched
// twice). The returned values come in no particular order.
func (b *Bulk) UpdateRows(ctx context.Context, u Update, rows [][]any) ([]int64, error) {
	if len(u.Key) == 0 || len(u.Set) == 0 {
		return nil, fmt.Errorf("update %s: need key and set columns", u.Table)
	}
	width := len(u.Key) + len(u.Set)
	names := make([]string, 0, width) // of the VALUES columns
	types := make([]string, 0, width)
	var where, assign []string
	for i, c := range u.Key {
		n := fmt.Sprintf("k%d", i)
		names, types = append(names, n), append(types, c.Type)
		where = append(where, "t."+c.Name+" = v."+n)
	}
	for i, c := range u.Set {
		n := fmt.Sprintf("s%d", i)
		names, types = append(names, n), append(types, c.Type)
		assign = append(assign, c.Name+" = v."+n)
	}
	if u.Also != "" {
		assign = append(assign, u.Also)
	}
	if u.Where != "" {
		where = append(where, "("+u.Where+")")
	}
	tail := ""
	if u.Returning != "" {
		tail = " RETURNING t." + u.Returning
	}
	var out []int64
	// PostgreSQL takes at most 65,535 parameters a statement.
	per := max(1, (30000-len(u.Args))/width)
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		var q strings.Builder
		q.WriteString("UPDATE " + u.Table + " AS t SET " + strings.Join(assign, ", ") + " FROM (VALUES ")
		args := make([]any, 0, len(u.Args)+len(chunk)*width)
		for _, v := range u.Args {
			args = append(args, bindValue(v))
		}
		for i, row := range chunk {
			if len(row) != width {
				return out, fmt.Errorf("update %s: row %d has %d values for %d columns", u.Table, i+1, len(row), width)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for j, v := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				args = append(args, bindValue(v))
				fmt.Fprintf(&q, "$%d::%s", len(args), types[j])
			}
			q.WriteString(")")
		}
		q.WriteString(") AS v (" + strings.Join(names, ", ") + ") WHERE " + strings.Join(where, " AND ") + tail)
		if u.Returning == "" {
			if _, err := b.conn.ExecContext(ctx, q.String(), args...); err != nil {
				return out, fmt.Errorf("update %s: %w", u.Table, err)
			}
			continue
		}
		ids, err := b.queryIDs(ctx, q.String(), args)
		out = append(out, ids...)
		if err != nil {
			return out, fmt.Errorf("update %s: %w", u.Table, err)
		}
	}
	return out, nil
}

// queryIDs runs a statement that returns one BIGINT column.
func (b *Bulk) queryIDs(ctx context.Context, query string, args []any) ([]int64, error) {
	rs, err := b.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var ids []int64
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

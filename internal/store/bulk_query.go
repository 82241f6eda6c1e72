package store

import (
	"context"
	"database/sql"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Query runs a query inside the bulk transaction (the importer reads back
// what it staged: duplicates, unresolved references, ids).
func (b *Bulk) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return b.conn.QueryContext(ctx, query, args...)
}

// QueryRow runs a query that returns at most one row inside the bulk transaction.
func (b *Bulk) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return b.conn.QueryRowContext(ctx, query, args...)
}

// Engine names the database engine of the bulk session: "duckdb" or "postgres".
func (b *Bulk) Engine() string { return b.s.dialect.name() }

// Audit records a change made in the bulk session (a scoring model applied),
// in the same transaction.
func (b *Bulk) Audit(ctx context.Context, p crm.Principal, action, entity string, id int64, before, after any) error {
	return b.s.audit(ctx, b.conn, p, action, entity, id, before, after)
}

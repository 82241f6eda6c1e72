package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
)

// Bulk is a bulk-load session: one connection and one transaction, so that
// an import is all or nothing. Rows go through the engine's fast path.
type Bulk struct {
	s    *Store
	conn *sql.Conn
}

// WithBulk runs fn in one transaction on one connection; it commits only if
// fn returns nil. Bulk loads skip per-row validation and auditing: the caller
// (the importer) validates every row before loading and audits the import.
func (s *Store) WithBulk(ctx context.Context, fn func(b *Bulk) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("bulk load: begin: %w", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(&Bulk{s: s, conn: conn}); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("bulk load: commit: %w", err)
	}
	s.version.Add(1)
	return nil
}

// Load appends rows (values in the order of columns) to table and returns how many.
// A yielded row is used before the next is asked for and not kept, so the
// caller may reuse its slice. Decimal values are written as money,
// DECIMAL(18,2); load other decimal columns (exchange rates) with Exec.
func (b *Bulk) Load(ctx context.Context, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error) {
	var n int64
	err := b.conn.Raw(func(raw any) error {
		var err error
		n, err = b.s.dialect.copyRows(ctx, raw, table, columns, rows)
		return err
	})
	return n, err
}

// Exec runs a statement inside the bulk transaction.
func (b *Bulk) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return b.conn.ExecContext(ctx, query, args...)
}

// AllocIDs reserves n ids for rows loaded in bulk and returns the first.
func (b *Bulk) AllocIDs(ctx context.Context, n int) (int64, error) { return b.s.allocIDs(ctx, n) }

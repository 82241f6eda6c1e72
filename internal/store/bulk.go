package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"iter"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Bulk is a bulk-load session: one connection and one transaction, so that
// an import is all or nothing. Rows go through the engine's fast path.
type Bulk struct {
	s    *Store
	conn *sql.Conn
	w    *Writer // the held connection the transaction runs on, if any
}

// Transactor runs bulk transactions: the Store on a connection of its pool,
// or a Writer on the one it holds.
type Transactor interface {
	WithBulk(ctx context.Context, fn func(b *Bulk) error) error
}

// WithBulk runs fn in one transaction on one connection; it commits only if
// fn returns nil. Bulk loads skip per-row validation and auditing: the caller
// (the importer) validates every row before loading and audits the import.
func (s *Store) WithBulk(ctx context.Context, fn func(b *Bulk) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	defer conn.Close()
	return s.inBulk(ctx, &Bulk{s: s, conn: conn}, fn)
}

func (s *Store) inBulk(ctx context.Context, b *Bulk, fn func(b *Bulk) error) (err error) {
	if _, err := b.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("bulk load: begin: %w", err)
	}
	defer func() {
		if err != nil {
			b.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(b); err != nil {
		return err
	}
	if err := s.announce(ctx, b.conn); err != nil {
		return fmt.Errorf("bulk load: announce write: %w", err)
	}
	if _, err := b.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("bulk load: commit: %w", err)
	}
	s.version.Add(1)
	return nil
}

// Writer holds one connection for many short bulk transactions (a writer
// committing every few milliseconds) and, on DuckDB, keeps an Appender per
// table open between them: setting one up and tearing it down cost a fifth
// of a small transaction. Close it before the store; one goroutine at a time.
type Writer struct {
	s    *Store
	conn *sql.Conn
	apps map[string]*duckdb.Appender // by table and columns
}

// OpenWriter takes a connection from the pool for a Writer.
func (s *Store) OpenWriter(ctx context.Context) (*Writer, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open a writer: %w", err)
	}
	return &Writer{s: s, conn: conn, apps: map[string]*duckdb.Appender{}}, nil
}

// WithBulk runs fn in one transaction on the writer's connection.
func (w *Writer) WithBulk(ctx context.Context, fn func(b *Bulk) error) error {
	return w.s.inBulk(ctx, &Bulk{s: w.s, conn: w.conn, w: w}, fn)
}

// Close closes the writer's Appenders and gives its connection back.
func (w *Writer) Close() error {
	for k, a := range w.apps {
		a.Close()
		delete(w.apps, k)
	}
	return w.conn.Close()
}

// appendRows writes rows through the writer's Appender for table and
// columns, flushed into the current transaction. An Appender that failed
// is dropped (its rows are invalid) and the next call makes a new one.
func (w *Writer) appendRows(table string, columns []string, rows [][]any) error {
	key := table + "\x00" + strings.Join(columns, ",")
	app := w.apps[key]
	if app == nil {
		err := w.conn.Raw(func(raw any) error {
			conn, ok := raw.(driver.Conn)
			if !ok {
				return fmt.Errorf("bulk load: unexpected DuckDB connection %T", raw)
			}
			var err error
			app, err = duckdb.NewAppenderWithColumns(conn, "", "", table, columns)
			return err
		})
		if err != nil {
			return fmt.Errorf("bulk load %s: %w", table, err)
		}
		w.apps[key] = app
	}
	vals := make([]driver.Value, len(columns))
	fail := func(err error) error {
		app.Clear()
		app.Close()
		delete(w.apps, key)
		return fmt.Errorf("bulk load %s: %w", table, err)
	}
	for _, row := range rows {
		for i, v := range row {
			vals[i] = duckValue(loadValue(v))
		}
		if err := app.AppendRow(vals...); err != nil {
			return fail(err)
		}
	}
	if err := app.Flush(); err != nil {
		return fail(err)
	}
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

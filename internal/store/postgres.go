package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/shopspring/decimal"
)

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) open(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	// PostgreSQL's JIT spends seconds compiling the analytics queries that
	// then run in a fraction of that (measured in docs/kpis.md); a DSN can
	// still turn it back on.
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	return db, nil
}

func (postgresDialect) copyRows(ctx context.Context, rawConn any, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error) {
	c, ok := rawConn.(*stdlib.Conn)
	if !ok {
		return 0, fmt.Errorf("bulk load: unexpected PostgreSQL connection %T", rawConn)
	}
	next, stop := iter.Pull2(rows)
	defer stop()
	src := &copySource{next: next}
	n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, src)
	if err != nil {
		return n, fmt.Errorf("bulk load %s: %w", table, err)
	}
	return n, nil
}

// copySource adapts a pulled iterator to pgx.CopyFromSource.
type copySource struct {
	next func() ([]any, error, bool)
	row  []any
	err  error
}

func (c *copySource) Next() bool {
	row, err, ok := c.next()
	if !ok {
		return false
	}
	if err != nil {
		c.err = err
		return false
	}
	c.row = make([]any, len(row))
	for i, v := range row {
		c.row[i] = pgValue(v)
	}
	return true
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }
func (c *copySource) Err() error             { return c.err }

// pgValue turns exact decimals into pgtype.Numeric so COPY's binary format keeps every digit.
func pgValue(v any) any {
	switch x := v.(type) {
	case decimal.Decimal:
		return pgtype.Numeric{Int: x.Coefficient(), Exp: x.Exponent(), Valid: true}
	case *decimal.Decimal:
		if x == nil {
			return nil
		}
		return pgValue(*x)
	}
	return deref(v)
}

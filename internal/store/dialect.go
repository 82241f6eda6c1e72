package store

import (
	"context"
	"database/sql"
	"iter"
	"strings"
)

// dialect is everything that differs between the engines; the SQL itself is shared.
type dialect interface {
	name() string
	open(dsn string) (*sql.DB, error)
	// copyRows bulk-loads rows into table through the engine's fast path
	// (DuckDB's Appender, PostgreSQL's COPY) on the raw driver connection.
	copyRows(ctx context.Context, rawConn any, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error)
}

func dialectFor(dsn string) dialect {
	if IsPostgresDSN(dsn) {
		return postgresDialect{}
	}
	return duckDialect{}
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

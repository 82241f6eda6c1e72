package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/shopspring/decimal"
)

// What backup and restore (internal/backup) need from the store: every
// table with its columns as the catalog describes them, in names that are
// the same on both engines; one consistent read-only view of the whole
// database; and exact decimals of any scale through Bulk.Load.

// Column types as Table names them on both engines.
const (
	TypeBigint    = "BIGINT"
	TypeDouble    = "DOUBLE"
	TypeBoolean   = "BOOLEAN"
	TypeVarchar   = "VARCHAR"
	TypeDate      = "DATE"
	TypeTimestamp = "TIMESTAMP"
	TypeDecimal   = "DECIMAL" // with Precision and Scale
)

// MigrationsTable records the applied migrations. It is the schema's
// version, not data: Tables leaves it out.
const MigrationsTable = "schema_migrations"

// Column is one column of a table.
type Column struct {
	Name      string
	Type      string // one of the Type constants
	Precision int    // DECIMAL only: total digits
	Scale     int    // DECIMAL only: digits after the point
}

// TypeName is the column's type as SQL writes it: BIGINT, DECIMAL(18,2).
func (c Column) TypeName() string {
	if c.Type == TypeDecimal {
		return fmt.Sprintf("DECIMAL(%d,%d)", c.Precision, c.Scale)
	}
	return c.Type
}

// Table is one table of the store with its columns in their order.
type Table struct {
	Name    string
	Columns []Column
}

// Queryer is what *sql.DB, *sql.Conn and *sql.Tx offer for reading.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Tables lists the store's tables (all but MigrationsTable) by name, read
// from the catalog with q, so that a table a new migration adds is backed
// up without anyone listing it. A column of a type outside the Type
// constants is an error: backup would not know how to write it exactly.
func Tables(ctx context.Context, q Queryer) ([]Table, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT c.table_name, c.column_name, c.data_type, COALESCE(c.numeric_precision, 0), COALESCE(c.numeric_scale, 0)
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> $1
		ORDER BY c.table_name, c.ordinal_position`, MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var table, dataType string
		var col Column
		if err := rows.Scan(&table, &col.Name, &dataType, &col.Precision, &col.Scale); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if col.Type, err = canonicalType(dataType); err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", table, col.Name, err)
		}
		if col.Type != TypeDecimal {
			col.Precision, col.Scale = 0, 0
		}
		if len(out) == 0 || out[len(out)-1].Name != table {
			out = append(out, Table{Name: table})
		}
		out[len(out)-1].Columns = append(out[len(out)-1].Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// canonicalType maps a catalog data_type (DuckDB's "DECIMAL(18,2)",
// PostgreSQL's "numeric", "timestamp without time zone", ...) to a Type
// constant.
func canonicalType(dataType string) (string, error) {
	t := strings.ToLower(dataType)
	switch {
	case t == "bigint" || t == "int8":
		return TypeBigint, nil
	case t == "double" || t == "double precision" || t == "float8":
		return TypeDouble, nil
	case t == "boolean" || t == "bool":
		return TypeBoolean, nil
	case t == "varchar" || t == "character varying" || t == "text":
		return TypeVarchar, nil
	case t == "date":
		return TypeDate, nil
	case t == "timestamp" || t == "timestamp without time zone":
		return TypeTimestamp, nil
	case t == "numeric" || strings.HasPrefix(t, "decimal"):
		return TypeDecimal, nil
	}
	return "", fmt.Errorf("type %s is not one backup knows (BIGINT, DOUBLE, BOOLEAN, VARCHAR, DATE, TIMESTAMP, DECIMAL)", dataType)
}

// ReadSnapshot runs fn in a read-only transaction that sees the whole
// database as of one moment, whatever other connections commit meanwhile.
// PostgreSQL needs REPEATABLE READ for that (its default READ COMMITTED
// takes a new snapshot per statement); every DuckDB transaction is a
// snapshot, and its driver refuses isolation and read-only options.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if _, ok := s.dialect.(postgresDialect); ok {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback() // nothing was written
	return fn(tx)
}

// Migration is one schema migration, by number and file name.
type Migration struct {
	Version int
	Name    string
}

// KnownMigrations lists the migrations built into this binary, oldest first.
func KnownMigrations() ([]Migration, error) {
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(all))
	for i, m := range all {
		out[i] = Migration{Version: m.version, Name: m.name}
	}
	return out, nil
}

// AppliedMigrations lists the migrations recorded in the database, oldest first.
func AppliedMigrations(ctx context.Context, q Queryer) ([]Migration, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, name FROM `+MigrationsTable+` ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		var m Migration
		if err := rows.Scan(&m.Version, &m.Name); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SeededTables are the tables the migrations put rows in: a new database
// has rows there (reference data and the id counter at zero) and nowhere
// else.
func SeededTables() []string { return []string{"currencies", "id_counter", "settings", "stages"} }

// IDsAllocated is the id counter: zero until a first record is created.
func IDsAllocated(ctx context.Context, q Queryer) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT value FROM id_counter WHERE name = 'id'`)
	if err != nil {
		return 0, fmt.Errorf("read the id counter: %w", err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("read the id counter: %w", err)
		}
	}
	return n, rows.Err()
}

// DecimalValue is d as Load writes it into a DECIMAL(precision, scale)
// column with every digit, where Load alone takes decimals for money
// (scale 2). DuckDB's Appender wants the unscaled integer of the column's
// own scale; PostgreSQL's COPY takes the decimal as it is. d must have at
// most scale digits after the point (the caller checks: this rounds).
func (b *Bulk) DecimalValue(d decimal.Decimal, precision, scale int) any {
	if _, ok := b.s.dialect.(duckDialect); ok {
		return duckdb.Decimal{Width: uint8(precision), Scale: uint8(scale), Value: d.Shift(int32(scale)).Round(0).BigInt()}
	}
	return d
}

// Refresh is what a store needs after its tables were replaced wholesale
// (a restore): this process forgets what it read from them, PostgreSQL
// gathers the planner statistics of the new rows (the planner would
// otherwise take the big tables for empty until autovacuum passes), and
// DuckDB folds its write-ahead log into the database file.
func (s *Store) Refresh(ctx context.Context) error {
	s.ForgetWatch()
	s.forgetTokens()
	stmt := `CHECKPOINT`
	if _, ok := s.dialect.(postgresDialect); ok {
		stmt = `ANALYZE`
	}
	if _, err := s.db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s after restore: %w", strings.ToLower(stmt), err)
	}
	return nil
}

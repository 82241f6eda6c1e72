package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"iter"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/shopspring/decimal"
)

type duckDialect struct{}

func (duckDialect) name() string { return "duckdb" }

func (duckDialect) open(dsn string) (*sql.DB, error) {
	if dsn == ":memory:" {
		dsn = ""
	}
	return sql.Open("duckdb", dsn)
}

func (duckDialect) copyRows(ctx context.Context, rawConn any, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error) {
	conn, ok := rawConn.(driver.Conn)
	if !ok {
		return 0, fmt.Errorf("bulk load: unexpected DuckDB connection %T", rawConn)
	}
	app, err := duckdb.NewAppenderWithColumns(conn, "", "", table, columns)
	if err != nil {
		return 0, fmt.Errorf("bulk load %s: %w", table, err)
	}
	var n int64
	vals := make([]driver.Value, len(columns))
	for row, err := range rows {
		if err != nil {
			app.Close()
			return n, err
		}
		if n%65536 == 0 && ctx.Err() != nil {
			app.Close()
			return n, ctx.Err()
		}
		for i, v := range row {
			vals[i] = duckValue(v)
		}
		if err := app.AppendRow(vals...); err != nil {
			app.Close()
			return n, fmt.Errorf("bulk load %s row %d: %w", table, n+1, err)
		}
		n++
	}
	if err := app.Close(); err != nil {
		return n, fmt.Errorf("bulk load %s: %w", table, err)
	}
	return n, nil
}

// duckValue turns our Go values into what the Appender takes. Money columns
// are DECIMAL(18,2): the Appender wants the integer scaled by 100.
func duckValue(v any) driver.Value {
	switch x := v.(type) {
	case decimal.Decimal:
		return duckdb.Decimal{Width: 18, Scale: 2, Value: x.Shift(2).Round(0).BigInt()}
	case *decimal.Decimal:
		if x == nil {
			return nil
		}
		return duckValue(*x)
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil
		}
		return dv
	}
	return deref(v)
}

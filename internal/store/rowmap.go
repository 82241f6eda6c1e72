package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// The generic CRUD below maps struct fields tagged `db:"column"` to columns,
// so a domain type is declared once and every entity gets the same careful
// create / read / update / list code.

type fieldMap struct {
	columns []string
	index   [][]int // field index per column
}

var fieldMaps sync.Map // reflect.Type → *fieldMap

func fieldsOf(t reflect.Type) *fieldMap {
	if m, ok := fieldMaps.Load(t); ok {
		return m.(*fieldMap)
	}
	m := &fieldMap{}
	for i := range t.NumField() {
		f := t.Field(i)
		col := f.Tag.Get("db")
		if col == "" || col == "-" {
			continue
		}
		m.columns = append(m.columns, col)
		m.index = append(m.index, f.Index)
	}
	fieldMaps.Store(t, m)
	return m
}

// scanTargets returns pointers into v's fields, in column order.
func scanTargets(v any) []any {
	rv := reflect.ValueOf(v).Elem()
	m := fieldsOf(rv.Type())
	out := make([]any, len(m.columns))
	for i, idx := range m.index {
		f := rv.FieldByIndex(idx)
		switch p := f.Addr().Interface().(type) {
		case *decimal.Decimal:
			out[i] = &decimalScanner{dst: p}
		case **decimal.Decimal:
			out[i] = &nullDecimalScanner{dst: p}
		case *json.RawMessage:
			out[i] = &jsonScanner{dst: p}
		default:
			out[i] = p
		}
	}
	return out
}

// values returns v's field values in column order, ready to bind.
func values(v any) []any {
	out := fieldValues(v)
	for i, x := range out {
		out[i] = bindValue(x)
	}
	return out
}

// fieldValues is v's column values as its fields hold them.
func fieldValues(v any) []any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	m := fieldsOf(rv.Type())
	out := make([]any, len(m.columns))
	for i, idx := range m.index {
		out[i] = rv.FieldByIndex(idx).Interface()
	}
	return out
}

func bindValue(v any) any {
	v = deref(v)
	switch x := v.(type) {
	case nil:
		return nil
	case decimal.Decimal:
		return x.String()
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil
		}
		return dv
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return rv.Int()
	case reflect.Float64, reflect.Float32:
		return rv.Float()
	case reflect.Bool:
		return rv.Bool()
	}
	return v
}

// deref follows a pointer: nil → nil, *T → T.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return v
}

func columnList(cols []string) string { return strings.Join(cols, ", ") }

// jsonScanner reads JSON kept in a text column: empty (or NULL) is no JSON
// (nil, which encodes as null).
type jsonScanner struct{ dst *json.RawMessage }

func (j *jsonScanner) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*j.dst = nil
	case string:
		*j.dst = nil
		if x != "" {
			*j.dst = json.RawMessage(x)
		}
	case []byte:
		*j.dst = nil
		if len(x) > 0 {
			*j.dst = json.RawMessage(slices.Clone(x))
		}
	default:
		return fmt.Errorf("cannot read %T as JSON", src)
	}
	return nil
}

// decimalScanner reads DECIMAL columns: PostgreSQL hands back text, DuckDB
// its own Decimal type (a fmt.Stringer), and aggregates may come as float64.
type decimalScanner struct{ dst *decimal.Decimal }

func (d *decimalScanner) Scan(src any) error {
	v, err := toDecimal(src)
	if err != nil {
		return err
	}
	if v == nil {
		*d.dst = decimal.Zero
		return nil
	}
	*d.dst = *v
	return nil
}

type nullDecimalScanner struct{ dst **decimal.Decimal }

func (d *nullDecimalScanner) Scan(src any) error {
	v, err := toDecimal(src)
	if err != nil {
		return err
	}
	*d.dst = v
	return nil
}

func toDecimal(src any) (*decimal.Decimal, error) {
	var (
		v   decimal.Decimal
		err error
	)
	switch x := src.(type) {
	case nil:
		return nil, nil
	case string:
		v, err = decimal.NewFromString(x)
	case []byte:
		v, err = decimal.NewFromString(string(x))
	case float64:
		v = decimal.NewFromFloat(x)
	case int64:
		v = decimal.NewFromInt(x)
	case fmt.Stringer:
		v, err = decimal.NewFromString(x.String())
	default:
		return nil, fmt.Errorf("cannot read %T as a decimal", src)
	}
	if err != nil {
		return nil, fmt.Errorf("read decimal: %w", err)
	}
	return &v, nil
}

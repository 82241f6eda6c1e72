package metrics

import (
	"bufio"
	"database/sql"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// queries.sql holds every query of this package, each after a
// "-- name: NAME" line. Queries are templates: {{part}} is replaced by SQL
// written in this package (keys, joins, visibility; never user text), then
// :param names become $1, $2, ... with their values bound as arguments.
//
//go:embed queries.sql
var queriesSQL string

var queries = parseQueries(queriesSQL)

func parseQueries(src string) map[string]string {
	out := map[string]string{}
	var name string
	var b strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSpace(b.String())
		}
		b.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "-- name: "); ok {
			flush()
			name = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue // comments stay in the file, out of the statements
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	flush()
	return out
}

// query is a rendered statement and its arguments.
type query struct {
	sql  string
	args []any
}

// render fills a named query: parts first (they may contain :params), then
// the :params, numbered in order of first use (time values are written in
// as TIMESTAMP literals instead). An unknown part or param
// panics: both are programming errors caught by every test.
func render(name string, parts map[string]string, params map[string]any) query {
	tmpl, ok := queries[name]
	if !ok {
		panic("metrics: no query named " + name)
	}
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(tmpl[i:], "}}")
		key := tmpl[i+2 : i+j]
		v, ok := parts[key]
		if !ok {
			panic("metrics: query " + name + ": no part " + key)
		}
		tmpl = tmpl[:i] + v + tmpl[i+j+2:]
	}
	var b strings.Builder
	var args []any
	index := map[string]int{}
	inString := false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '\'' {
			inString = !inString
		}
		if c != ':' || inString || i+1 >= len(tmpl) || !isIdentStart(tmpl[i+1]) || (i > 0 && (tmpl[i-1] == ':' || isIdent(tmpl[i-1]))) {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(tmpl) && isIdent(tmpl[j]) {
			j++
		}
		p := tmpl[i+1 : j]
		if t, ok := params[p].(time.Time); ok {
			// Times are written in, not bound: they are formatted here (no
			// user text), and the planners then see the period's bounds,
			// which lets them prune and order joins by real selectivity.
			b.WriteString("TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'")
			i = j - 1
			continue
		}
		n, seen := index[p]
		if !seen {
			v, ok := params[p]
			if !ok {
				panic("metrics: query " + name + ": no param " + p)
			}
			args = append(args, v)
			n = len(args)
			index[p] = n
		}
		b.WriteString("$" + strconv.Itoa(n))
		i = j - 1
	}
	return query{sql: b.String(), args: args}
}

func isIdentStart(c byte) bool { return c == '_' || ('a' <= c && c <= 'z') }
func isIdent(c byte) bool      { return isIdentStart(c) || ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z') }

// money reads a money aggregate the queries return as text (so both engines
// hand back every digit); NULL (nothing summed) is zero.
type money struct{ d *decimal.Decimal }

func (m money) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m.d = decimal.Zero
		return nil
	case string:
		d, err := decimal.NewFromString(v)
		*m.d = d
		return err
	case []byte:
		d, err := decimal.NewFromString(string(v))
		*m.d = d
		return err
	case int64:
		*m.d = decimal.NewFromInt(v)
		return nil
	case float64:
		*m.d = decimal.NewFromFloat(v)
		return nil
	case fmt.Stringer: // a driver's own decimal type
		d, err := decimal.NewFromString(v.String())
		*m.d = d
		return err
	}
	return fmt.Errorf("metrics: cannot read %T as money", src)
}

func scanMoney(d *decimal.Decimal) money { return money{d} }

// nullFloat reads a nullable number into *float64 (nil for NULL).
type nullFloat struct{ p **float64 }

func (n nullFloat) Scan(src any) error {
	var f sql.NullFloat64
	if err := f.Scan(src); err != nil {
		return err
	}
	if f.Valid {
		v := f.Float64
		*n.p = &v
	} else {
		*n.p = nil
	}
	return nil
}

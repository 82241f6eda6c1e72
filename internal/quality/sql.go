package quality

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

//go:embed checks.sql
var checksSQL string

// namedQuery is one "-- name:" block of checks.sql.
type namedQuery struct {
	name  string
	order string // ORDER BY of the examples, over the query's output columns
	text  string // the query without comment lines
}

// parseQueries splits a file of "-- name: NAME" blocks. A block's
// "-- order: ..." line gives the example order; other comment lines are
// dropped (so that a colon in a comment is never taken for a parameter).
func parseQueries(src string) (map[string]*namedQuery, error) {
	out := map[string]*namedQuery{}
	var cur *namedQuery
	var body []string
	flush := func() error {
		if cur == nil {
			return nil
		}
		cur.text = strings.TrimSpace(strings.Join(body, "\n"))
		if cur.text == "" || cur.order == "" {
			return fmt.Errorf("query %s: needs a body and an -- order: line", cur.name)
		}
		if _, dup := out[cur.name]; dup {
			return fmt.Errorf("query %s: defined twice", cur.name)
		}
		out[cur.name] = cur
		return nil
	}
	for line := range strings.Lines(src) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(trimmed, "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			cur, body = &namedQuery{name: strings.TrimSpace(name)}, nil
			continue
		}
		if cur == nil {
			continue
		}
		if order, ok := strings.CutPrefix(trimmed, "-- order:"); ok {
			cur.order = strings.TrimSpace(order)
			continue
		}
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		body = append(body, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// bind turns :name parameters into $n with their values, and {{scope EXPR}}
// into the principal's visibility condition on EXPR. Quoted strings are
// copied as they are.
func (q *namedQuery) bind(filter store.OwnerFilter, params map[string]any) (string, []any, error) {
	var b strings.Builder
	var args []any
	index := map[string]int{}
	s := q.text
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", nil, fmt.Errorf("query %s: unterminated string", q.name)
			}
			b.WriteString(s[i : i+end+2])
			i += end + 2
		case strings.HasPrefix(s[i:], "{{scope "):
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return "", nil, fmt.Errorf("query %s: unterminated {{scope", q.name)
			}
			expr := strings.TrimSpace(s[i+len("{{scope ") : i+end])
			b.WriteString("(" + filter.Condition(expr) + ")")
			i += end + 2
		case c == ':' && i+1 < len(s) && isNameByte(s[i+1]) && (i == 0 || s[i-1] != ':'):
			j := i + 1
			for j < len(s) && (isNameByte(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name := s[i+1 : j]
			v, ok := params[name]
			if !ok {
				return "", nil, fmt.Errorf("query %s: unknown parameter :%s", q.name, name)
			}
			n, seen := index[name]
			if !seen {
				args = append(args, v)
				n = len(args)
				index[name] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), args, nil
}

func isNameByte(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' }

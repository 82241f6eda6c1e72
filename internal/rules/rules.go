// Package rules is Quarterdeck's one condition language: scoring rules,
// segments, and later routing rules and automation conditions are all "a
// test over a record". A condition is written either as a structured test
// (field + operator, the form most rules take in YAML) or as an expression
// in expr-lang (github.com/expr-lang/expr) for anything the operators do not
// say. Both are compiled once and checked against the record's fields, so a
// misspelt field or a text compared with a number is an error at load time,
// not a silent miss at run time.
package rules

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Kind is the type of a record field.
type Kind int

const (
	Text Kind = iota
	Number
	Bool
	Time
	List // of text, e.g. segment names
	Map  // text keys to text or number values, e.g. custom fields
)

// Fields names what a condition may use and its kind.
type Fields map[string]Kind

// Record is one record's values by field name: string, float64, bool,
// time.Time, []string or map[string]any. A missing value is absent (or nil).
type Record map[string]any

// Condition is a compiled test.
type Condition struct {
	Source string // as written, for explanations
	match  func(Record) bool
}

// Match reports whether r passes. A comparison with a missing value is false.
func (c *Condition) Match(r Record) bool { return c.match(r) }

// Always matches every record.
var Always = &Condition{Source: "always", match: func(Record) bool { return true }}

// Compile compiles an expression such as
//
//	industry == "Software" and employees >= 200 and custom.tags != nil
//
// checked against fields. It must be a boolean expression.
func Compile(src string, fields Fields) (*Condition, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, fmt.Errorf("the expression is empty")
	}
	prog, err := expr.Compile(src, expr.Env(sampleEnv(fields)), expr.AsBool(), expr.Patch(dotted{fields}),
		expr.Function("days_since", func(args ...any) (any, error) {
			t, _ := args[0].(time.Time)
			return daysSince(t), nil
		}, new(func(time.Time) float64)))
	if err != nil {
		return nil, fmt.Errorf("%s", firstLine(err.Error()))
	}
	return &Condition{Source: src, match: func(r Record) bool { return runBool(prog, r) }}, nil
}

func runBool(prog *vm.Program, r Record) bool {
	out, err := expr.Run(prog, map[string]any(r))
	if err != nil {
		// Type-checked at compile time, so a run-time error is a missing
		// value in a comparison: that does not match.
		return false
	}
	b, _ := out.(bool)
	return b
}

func sampleEnv(fields Fields) map[string]any {
	env := make(map[string]any, len(fields))
	for name, k := range fields {
		switch k {
		case Text:
			env[name] = ""
		case Number:
			env[name] = 0.0
		case Bool:
			env[name] = false
		case Time:
			env[name] = time.Time{}
		case List:
			env[name] = []string{}
		case Map:
			env[name] = map[string]any{}
		}
	}
	return env
}

// daysSince is exposed to expressions for rules like days_since(created_at) < 30.
// It uses the wall clock; scoring passes "now" as a field when it needs to be exact.
func daysSince(t time.Time) float64 { return time.Since(t).Hours() / 24 }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Test is the structured form of a condition: one field and one operator.
// Exactly one operator is set. Text comparisons ignore case and surrounding
// space, because CRM data writes "software" and "Software " alike.
type Test struct {
	Field    string    `yaml:"field" json:"field"`
	Equals   any       `yaml:"equals" json:"equals,omitempty"`
	In       []any     `yaml:"in" json:"in,omitempty"`
	Between  []float64 `yaml:"between" json:"between,omitempty"` // [low, high], both included
	Contains string    `yaml:"contains" json:"contains,omitempty"`
	Regex    string    `yaml:"regex" json:"regex,omitempty"`
	Missing  *bool     `yaml:"missing" json:"missing,omitempty"`
}

// Operators lists the structured operators, in the order they are documented.
var Operators = []string{"equals", "in", "between", "contains", "regex", "missing"}

// IsZero reports whether no field and no operator is set.
func (t Test) IsZero() bool {
	return t.Field == "" && t.operator() == ""
}

func (t Test) operators() []string {
	var ops []string
	if t.Equals != nil {
		ops = append(ops, "equals")
	}
	if t.In != nil {
		ops = append(ops, "in")
	}
	if t.Between != nil {
		ops = append(ops, "between")
	}
	if t.Contains != "" {
		ops = append(ops, "contains")
	}
	if t.Regex != "" {
		ops = append(ops, "regex")
	}
	if t.Missing != nil {
		ops = append(ops, "missing")
	}
	return ops
}

func (t Test) operator() string {
	if ops := t.operators(); len(ops) == 1 {
		return ops[0]
	}
	return ""
}

// FieldError is a structured test's problem with the field or operator it
// names, so loaders can point at the right line.
type FieldError struct {
	Key    string // "field", "equals", "between", ...
	Reason string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Reason }

// Compile checks t against fields and compiles it.
func (t Test) Compile(fields Fields) (*Condition, error) {
	name, key, kind, err := resolve(t.Field, fields)
	if err != nil {
		return nil, &FieldError{Key: "field", Reason: err.Error()}
	}
	ops := t.operators()
	if len(ops) != 1 {
		reason := "needs one operator: " + strings.Join(Operators, ", ")
		if len(ops) > 1 {
			reason = "has several operators (" + strings.Join(ops, ", ") + "): use one per rule, or an expression"
		}
		return nil, &FieldError{Key: "field", Reason: reason}
	}
	get := getter(name, key)
	src := t.Field + " " + ops[0]
	var match func(Record) bool
	switch ops[0] {
	case "missing":
		want := *t.Missing
		match = func(r Record) bool { _, ok := get(r); return ok != want }
		src = fmt.Sprintf("%s missing: %v", t.Field, want)
	case "equals", "in":
		vals := t.In
		if ops[0] == "equals" {
			vals = []any{t.Equals}
		}
		if len(vals) == 0 {
			return nil, &FieldError{Key: "in", Reason: "the list is empty"}
		}
		m, err := equalsAny(kind, vals)
		if err != nil {
			return nil, &FieldError{Key: ops[0], Reason: err.Error()}
		}
		match = func(r Record) bool { v, ok := get(r); return ok && m(v) }
		src = fmt.Sprintf("%s %s %s", t.Field, ops[0], showList(vals))
	case "between":
		if len(t.Between) != 2 || t.Between[0] > t.Between[1] {
			return nil, &FieldError{Key: "between", Reason: "want [low, high] with low <= high"}
		}
		if kind != Number && kind != Map {
			return nil, &FieldError{Key: "between", Reason: fmt.Sprintf("%s is not a number", t.Field)}
		}
		lo, hi := t.Between[0], t.Between[1]
		match = func(r Record) bool {
			v, ok := get(r)
			x, isNum := number(v)
			return ok && isNum && x >= lo && x <= hi
		}
		src = fmt.Sprintf("%s between %s and %s", t.Field, fmtNum(lo), fmtNum(hi))
	case "contains":
		if kind != Text && kind != List && kind != Map {
			return nil, &FieldError{Key: "contains", Reason: fmt.Sprintf("%s is not text", t.Field)}
		}
		needle := strings.ToLower(strings.TrimSpace(t.Contains))
		match = func(r Record) bool {
			v, ok := get(r)
			if !ok {
				return false
			}
			if l, isList := v.([]string); isList {
				return slices.ContainsFunc(l, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), needle) })
			}
			return strings.Contains(strings.ToLower(text(v)), needle)
		}
		src = fmt.Sprintf("%s contains %q", t.Field, t.Contains)
	case "regex":
		if kind != Text && kind != Map {
			return nil, &FieldError{Key: "regex", Reason: fmt.Sprintf("%s is not text", t.Field)}
		}
		re, err := regexp.Compile("(?i)" + t.Regex)
		if err != nil {
			return nil, &FieldError{Key: "regex", Reason: err.Error()}
		}
		match = func(r Record) bool { v, ok := get(r); return ok && re.MatchString(text(v)) }
		src = fmt.Sprintf("%s matches /%s/", t.Field, t.Regex)
	}
	return &Condition{Source: src, match: match}, nil
}

// dotted lets a record name its fields after the object they belong to
// ("opportunity.amount", "account.segment", as automation's records do):
// expr reads opportunity.amount as member amount of opportunity, so the
// member access is folded into one identifier when the whole name is a
// field, and type-checked as that field.
type dotted struct{ fields Fields }

func (d dotted) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	base := ""
	switch n := m.Node.(type) {
	case *ast.IdentifierNode:
		base = n.Value
	default:
		return
	}
	name := base + "." + prop.Value
	if _, ok := d.fields[name]; ok {
		ast.Patch(node, &ast.IdentifierNode{Value: name})
	}
}

// resolve splits "custom.tags" into the map field and its key and checks
// the field exists. A field may itself be dotted ("account.segment"), and a
// map field's key follows its name ("lead.custom.tags").
func resolve(field string, fields Fields) (name, key string, kind Kind, err error) {
	if field == "" {
		return "", "", 0, fmt.Errorf("name the field the rule tests")
	}
	name, key = field, ""
	if _, whole := fields[field]; !whole {
		if i := strings.LastIndexByte(field, '.'); i > 0 {
			name, key = field[:i], field[i+1:]
		}
	}
	kind, ok := fields[name]
	if !ok {
		return "", "", 0, fmt.Errorf("unknown field %q (known: %s)", name, strings.Join(Names(fields), ", "))
	}
	if kind == Map && key == "" {
		return "", "", 0, fmt.Errorf("%s needs a key, e.g. %s.some_field", name, name)
	}
	if kind != Map && key != "" {
		return "", "", 0, fmt.Errorf("%s has no keys", name)
	}
	return name, key, kind, nil
}

// Names lists the fields, sorted.
func Names(fields Fields) []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// getter returns the value of a field (or of a key of a map field), with
// ok false when it is missing or empty text.
func getter(name, key string) func(Record) (any, bool) {
	return func(r Record) (any, bool) {
		v, ok := r[name]
		if ok && key != "" {
			m, _ := v.(map[string]any)
			v, ok = m[key]
		}
		if !ok || v == nil {
			return nil, false
		}
		switch x := v.(type) {
		case string:
			return x, strings.TrimSpace(x) != ""
		case []string:
			return x, len(x) > 0
		case time.Time:
			return x, !x.IsZero()
		}
		return v, true
	}
}

// equalsAny compiles equality with any of vals for a field of kind.
func equalsAny(kind Kind, vals []any) (func(any) bool, error) {
	var texts []string
	var nums []float64
	var bools []bool
	for _, v := range vals {
		switch kind {
		case Number:
			x, ok := number(v)
			if !ok {
				return nil, fmt.Errorf("%v is not a number", v)
			}
			nums = append(nums, x)
		case Bool:
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("%v is not true or false", v)
			}
			bools = append(bools, b)
		case Time:
			return nil, fmt.Errorf("compare dates with an expression, e.g. days_since(created_at) < 30")
		default:
			if v == nil {
				return nil, fmt.Errorf("use missing: true to test for no value")
			}
			texts = append(texts, strings.ToLower(strings.TrimSpace(text(v))))
		}
	}
	return func(v any) bool {
		switch x := v.(type) {
		case bool:
			return slices.Contains(bools, x)
		case []string:
			return slices.ContainsFunc(x, func(s string) bool { return slices.Contains(texts, strings.ToLower(strings.TrimSpace(s))) })
		}
		if kind == Number {
			x, ok := number(v)
			return ok && slices.Contains(nums, x)
		}
		// A map value may be a number ("2" parsed as 2): compare its text.
		return slices.Contains(texts, strings.ToLower(strings.TrimSpace(text(v))))
	}, nil
}

// number reads a float64 from a number or from text holding one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmtNum(x)
	}
	return fmt.Sprint(v)
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func showList(vals []any) string {
	if len(vals) == 1 {
		return fmt.Sprintf("%q", text(vals[0]))
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%q", text(v))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Value turns a custom field's text into what conditions compare: a number
// when it reads as one, else the text.
func Value(s string) any {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

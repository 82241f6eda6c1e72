// Package definition loads the YAML documents users write (scoring models
// today; routing rules, comp plans and workflows as they land) and reports
// every problem as file:line: field: reason, so a user finds the typo at once.
//
// A loader decodes strictly (an unknown field is an error, not ignored), then
// validates the decoded value and names problems by their path in the
// document ("fit[2].points"); Doc turns a path back into its line.
package definition

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a document.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Field != "" {
		b.WriteString(": " + p.Field)
	}
	b.WriteString(": " + p.Reason)
	return b.String()
}

// Error lists every problem of a document. It matches crm.ErrInvalid and,
// with errors.As, a *crm.ValidationError, so the web layer answers 400 with
// the field details like any other invalid input.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap offers both the sentinel and the field-level form.
func (e *Error) Unwrap() []error {
	ve := &crm.ValidationError{Fields: make([]crm.FieldError, len(e.Problems))}
	for i, p := range e.Problems {
		ve.Fields[i] = crm.FieldError{Field: p.Field, Reason: p.String()}
	}
	return []error{crm.ErrInvalid, ve}
}

// Doc is a decoded document: its file name and where each path is written.
type Doc struct {
	File     string
	lines    map[string]int
	problems []Problem
	named    map[string]bool // paths an unknown-field problem already named
}

// Decode parses data (read from file, a name used in messages) strictly into
// v. Syntax errors, unknown fields and wrong types come back as *Error; the
// returned Doc collects the validation problems that follow.
func Decode(file string, data []byte, v any) (*Doc, error) {
	d := &Doc{File: file, lines: map[string]int{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{Problems: []Problem{d.yamlProblem(err.Error())}}
	}
	if len(root.Content) == 0 {
		return nil, &Error{Problems: []Problem{{File: file, Reason: "the document is empty"}}}
	}
	d.index(root.Content[0], "")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			e := &Error{}
			for _, msg := range te.Errors {
				e.Problems = append(e.Problems, d.yamlProblem(msg))
			}
			return nil, e
		}
		return nil, &Error{Problems: []Problem{d.yamlProblem(err.Error())}}
	}
	return d, nil
}

// index records the line of every path below n.
func (d *Doc) index(n *yaml.Node, path string) {
	if _, seen := d.lines[path]; !seen {
		d.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := key
			if path != "" {
				p = path + "." + key
			}
			d.lines[p] = n.Content[i].Line
			d.index(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.index(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// Line is where path is written, or that of its nearest written parent.
func (d *Doc) Line(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.lines[""]
		}
		path = path[:i]
	}
}

// Add records a problem with the field at path.
func (d *Doc) Add(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.File, Line: d.Line(path), Field: path, Reason: fmt.Sprintf(format, args...)})
}

// Require records a problem when cond is false.
func (d *Doc) Require(cond bool, path, reason string) {
	if !cond {
		d.Add(path, "%s", reason)
	}
}

// Err returns the problems recorded so far as *Error, or nil.
func (d *Doc) Err() error {
	if len(d.problems) == 0 {
		return nil
	}
	return &Error{Problems: d.problems}
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (.+?) not found in type .+$`)
	wrongType    = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
)

// yamlProblem turns one of yaml.v3's messages into a Problem with a field
// path and a reason a user understands.
func (d *Doc) yamlProblem(msg string) Problem {
	p := Problem{File: d.File, Reason: msg}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return p
	}
	p.Line, _ = strconv.Atoi(m[1])
	p.Reason = m[2]
	if u := unknownField.FindStringSubmatch(m[2]); u != nil {
		p.Field = d.unknownPath(p.Line, u[1])
		p.Reason = "unknown field"
	} else if t := wrongType.FindStringSubmatch(m[2]); t != nil {
		p.Field = d.pathAt(p.Line)
		p.Reason = fmt.Sprintf("want %s, got %q", goTypeWord(t[3]), t[2])
	}
	return p
}

// pathAt finds the deepest path written on line (a wrong value's) not named
// by an earlier problem, and of those the first in sorted order, so that the
// answer does not depend on the map's order: two wrong items on one line
// ("[s, s]", reported in document order) are items 0 and 1.
func (d *Doc) pathAt(line int) string {
	best, bestNamed := "", ""
	for path, l := range d.lines {
		if l != line {
			continue
		}
		deeper := func(b string) bool { return len(path) > len(b) || len(path) == len(b) && path < b }
		if d.named[path] {
			if deeper(bestNamed) {
				bestNamed = path
			}
		} else if deeper(best) {
			best = path
		}
	}
	if best == "" {
		return bestNamed
	}
	if d.named == nil {
		d.named = map[string]bool{}
	}
	d.named[best] = true
	return best
}

// unknownPath finds the path of an unknown key on line: of the paths there
// ending in that key and not named yet, the shallowest (yaml.v3 reports in
// document order, and an outer key comes before one nested on its line).
func (d *Doc) unknownPath(line int, key string) string {
	best := ""
	for path, l := range d.lines {
		if l != line || !endsInKey(path, key) || d.named[path] {
			continue
		}
		if best == "" || len(path) < len(best) || len(path) == len(best) && path < best {
			best = path
		}
	}
	if d.named == nil {
		d.named = map[string]bool{}
	}
	d.named[best] = true
	return best
}

// endsInKey reports whether path's last key is key: "rules[0].when" ends
// in "when", not in "hen"; a key may itself hold dots.
func endsInKey(path, key string) bool {
	return path == key || strings.HasSuffix(path, "."+key)
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "text"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "struct"), strings.Contains(t, "."):
		return "a map of fields"
	}
	return t
}

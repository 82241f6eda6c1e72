package learn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Table is a CSV file as read: a header and string rows. Lines, when
// set, holds each row's line number in the file (for error messages; a
// quoted field can span lines, so it is not always row+1).
type Table struct {
	Name   string // file name, for error messages
	Header []string
	Rows   [][]string
	Lines  []int
}

// DefaultMissingTokens are the cell values read as "no value", compared
// after normalising (see FrameOptions.MissingTokens). They are the markers
// spreadsheet and statistics tools write for a missing value (pandas'
// read_csv defaults: NA, N/A, NaN, NULL, None, #N/A, ...) plus the entries a
// web form stores when its drop-down was left at its prompt ("Select",
// "Please select", "Choose one", "--"): in both cases nobody gave a value,
// so the models should see the same "missing" as for an empty cell.
var DefaultMissingTokens = []string{
	"na", "n/a", "#n/a", "nan", "null", "none", "nil", "missing", "?",
	"select", "please select", "select one", "choose", "choose one", "not specified",
}

// FrameOptions says which columns play which role.
type FrameOptions struct {
	Target  string   // 0/1, true/false or yes/no; required in the training table
	ID      string   // the key written next to each probability
	Exclude []string // columns never used as features
	// MissingTokens are the values read as missing besides the empty
	// cell. A cell matches a token when both are equal after lower-casing
	// and trimming spaces and the punctuation that decorates form prompts
	// (-, _, *, ., <, >, (, ), [, ]), so "--Select--" and "<NA>" match
	// "select" and "na". nil means DefaultMissingTokens; an empty non-nil
	// slice means only empty cells are missing.
	MissingTokens []string
	// MinNumericShare is the share of a column's non-missing training
	// values that must parse as numbers for it to be numeric; the other
	// values are then read as missing (a stray "n.a." or "unknown" in a
	// number column). Default 0.95.
	MinNumericShare float64
}

// ColumnKind is how a feature column is encoded.
type ColumnKind string

// The kinds of feature column.
const (
	Numeric     ColumnKind = "numeric"
	Categorical ColumnKind = "categorical"
)

// A Column describes one feature column as detected on the training table.
type Column struct {
	Name    string     `json:"name"`
	Kind    ColumnKind `json:"kind"`
	Missing int        `json:"missing"`           // cells empty or matching a missing token
	Coerced int        `json:"coerced,omitempty"` // non-numeric cells of a numeric column, read as missing
	Levels  int        `json:"levels"`            // distinct non-missing values
}

// A DroppedColumn is a column that carries no usable signal.
type DroppedColumn struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Data is an encoded table: Rows[i] came from the table's row i and has
// IDs[i] as its key; Row.ID is i.
type Data struct {
	Rows []Row
	IDs  []string
}

// A Frame is the encoding learned from a training table: which columns
// are numeric or categorical, and which are dropped. It encodes any table
// with the same columns (in any order) the same way.
type Frame struct {
	Schema  Schema
	Columns []Column // Schema.Numeric's columns, then Schema.Categorical's
	Dropped []DroppedColumn
	target  string
	id      string
	tokens  map[string]bool
}

// A FrameError names the file, line or row and column of a bad cell.
type FrameError struct {
	File   string
	Row    int // 1-based data row (the header is not counted); 0 for the header
	Line   int // line in the file, 0 when unknown
	Column string
	Msg    string
}

func (e *FrameError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	switch {
	case e.Row == 0:
		b.WriteString("header")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d (row %d)", e.Line, e.Row)
	default:
		fmt.Fprintf(&b, "row %d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ", column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (t Table) err(i int, col, format string, args ...any) *FrameError {
	e := &FrameError{File: t.Name, Row: i + 1, Column: col, Msg: fmt.Sprintf(format, args...)}
	if i >= 0 && i < len(t.Lines) {
		e.Line = t.Lines[i]
	}
	return e
}

// columnName is header cell j as matched against column names: trimmed,
// without the byte-order mark Excel writes before the first one.
func (t Table) columnName(j int) string {
	name := t.Header[j]
	if j == 0 {
		name = strings.TrimPrefix(name, "\ufeff")
	}
	return strings.TrimSpace(name)
}

// columnIndex maps header names to positions, refusing duplicates and
// unnamed columns so that "the column X" means one thing.
func (t Table) columnIndex() (map[string]int, error) {
	idx := make(map[string]int, len(t.Header))
	for j := range t.Header {
		name := t.columnName(j)
		if name == "" {
			return nil, t.err(-1, "", "column %d has no name", j+1)
		}
		if _, dup := idx[name]; dup {
			return nil, t.err(-1, name, "the column appears twice")
		}
		idx[name] = j
	}
	return idx, nil
}

func (t Table) need(idx map[string]int, role, name string) (int, error) {
	if name == "" {
		return 0, t.err(-1, "", "no %s column given", role)
	}
	j, ok := idx[name]
	if !ok {
		return 0, t.err(-1, name, "no such column (the %s column); columns are %s", role, t.columnList())
	}
	return j, nil
}

// normToken lower-cases a cell and trims spaces and decoration.
func normToken(s string) string {
	return strings.ToLower(strings.Trim(s, " \t\r\n-_*.<>()[]"))
}

func (f *Frame) isMissing(s string) bool {
	if strings.TrimSpace(s) == "" {
		return true
	}
	return f.tokens[normToken(s)]
}

// parseNumber reads a finite number; NaN and infinities are not numbers
// here (NaN means missing to the models).
func parseNumber(s string) (float64, bool) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// ParseTarget reads a label: 1/0, true/false, yes/no (any case, surrounding
// spaces ignored).
func ParseTarget(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes":
		return true, true
	case "0", "false", "no":
		return false, true
	}
	return false, false
}

// NewFrame detects the feature columns of a training table and encodes it.
// Every column other than the target, the id and the excluded ones is a
// feature: numeric when at least MinNumericShare of its non-missing values
// are numbers, categorical otherwise. Columns with one value and no
// missing cells, and categorical columns whose values are nearly all
// distinct (more than 20 levels, and more
// than one for every two rows: free text, another identifier), are dropped and listed in
// Frame.Dropped. Every row needs a valid target and a non-empty id.
func NewFrame(t Table, o FrameOptions) (*Frame, Data, error) {
	if o.MinNumericShare <= 0 || o.MinNumericShare > 1 {
		o.MinNumericShare = 0.95
	}
	tokens := o.MissingTokens
	if tokens == nil {
		tokens = DefaultMissingTokens
	}
	f := &Frame{target: o.Target, id: o.ID, tokens: map[string]bool{}}
	for _, s := range tokens {
		if n := normToken(s); n != "" {
			f.tokens[n] = true
		}
	}
	idx, err := t.columnIndex()
	if err != nil {
		return nil, Data{}, err
	}
	tj, err := t.need(idx, "target", o.Target)
	if err != nil {
		return nil, Data{}, err
	}
	ij, err := t.need(idx, "id", o.ID)
	if err != nil {
		return nil, Data{}, err
	}
	if o.Target == o.ID {
		return nil, Data{}, t.err(-1, o.Target, "the target and the id cannot be the same column")
	}
	skip := map[int]bool{tj: true, ij: true}
	for _, name := range o.Exclude {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		j, ok := idx[name]
		if !ok {
			return nil, Data{}, t.err(-1, name, "cannot exclude: no such column")
		}
		skip[j] = true
	}
	if err := t.checkWidths(); err != nil {
		return nil, Data{}, err
	}
	for i, r := range t.Rows {
		if _, ok := ParseTarget(r[tj]); !ok {
			if strings.TrimSpace(r[tj]) == "" {
				return nil, Data{}, t.err(i, o.Target, "the target is empty (training rows need 0/1, true/false or yes/no)")
			}
			return nil, Data{}, t.err(i, o.Target, "target value %q is not 0/1, true/false or yes/no", r[tj])
		}
	}

	var nums, cats []Column
	for j := range t.Header {
		if skip[j] {
			continue
		}
		c, reason := f.detect(t, j, t.columnName(j), o.MinNumericShare)
		switch {
		case reason != "":
			f.Dropped = append(f.Dropped, DroppedColumn{Name: c.Name, Reason: reason})
		case c.Kind == Numeric:
			nums = append(nums, c)
		default:
			cats = append(cats, c)
		}
	}
	f.Columns = append(nums, cats...)
	for _, c := range nums {
		f.Schema.Numeric = append(f.Schema.Numeric, c.Name)
	}
	for _, c := range cats {
		f.Schema.Categorical = append(f.Schema.Categorical, c.Name)
	}
	d, err := f.Encode(t)
	if err != nil {
		return nil, Data{}, err
	}
	return f, d, nil
}

// detect decides one column's kind, or why it is dropped.
func (f *Frame) detect(t Table, j int, name string, minShare float64) (Column, string) {
	c := Column{Name: name}
	distinct := map[string]struct{}{}
	present, numeric := 0, 0
	for _, r := range t.Rows {
		v := r[j]
		if f.isMissing(v) {
			c.Missing++
			continue
		}
		present++
		distinct[strings.TrimSpace(v)] = struct{}{}
		if _, ok := parseNumber(v); ok {
			numeric++
		}
	}
	c.Levels = len(distinct)
	switch {
	case present == 0:
		return c, "every value is missing"
	case c.Levels == 1 && c.Missing == 0:
		return c, "every row has the same value"
	case float64(numeric) >= minShare*float64(present):
		c.Kind = Numeric
		c.Coerced = present - numeric
		return c, ""
	}
	c.Kind = Categorical
	if c.Levels > 20 && 2*c.Levels > present {
		return c, fmt.Sprintf("%d distinct values in %d rows: free text or an identifier, not a category", c.Levels, present)
	}
	return c, ""
}

func (t Table) checkWidths() error {
	for i, r := range t.Rows {
		if len(r) != len(t.Header) {
			return t.err(i, "", "%d fields, the header has %d", len(r), len(t.Header))
		}
	}
	return nil
}

// Encode turns a table with the frame's columns (in any order; others are
// ignored) into rows. The target column is optional: when present and
// valid it sets Row.Won, otherwise Won is false. Numeric cells that are not
// numbers read as missing; categorical values are kept as written (trimmed).
func (f *Frame) Encode(t Table) (Data, error) {
	idx, err := t.columnIndex()
	if err != nil {
		return Data{}, err
	}
	ij, err := t.need(idx, "id", f.id)
	if err != nil {
		return Data{}, err
	}
	tj, hasTarget := idx[f.target]
	cols := make([]int, len(f.Columns))
	for k, c := range f.Columns {
		j, ok := idx[c.Name]
		if !ok {
			return Data{}, t.err(-1, c.Name, "no such column, but the training file has it as a %s feature", c.Kind)
		}
		cols[k] = j
	}
	if err := t.checkWidths(); err != nil {
		return Data{}, err
	}
	nNum := len(f.Schema.Numeric)
	nCat := len(f.Schema.Categorical)
	d := Data{Rows: make([]Row, len(t.Rows)), IDs: make([]string, len(t.Rows))}
	// One backing array per kind instead of two small allocations per row.
	numBuf := make([]float64, len(t.Rows)*nNum)
	catBuf := make([]string, len(t.Rows)*nCat)
	for i, r := range t.Rows {
		id := strings.TrimSpace(r[ij])
		if id == "" {
			return Data{}, t.err(i, f.id, "the id is empty")
		}
		row := Row{ID: int64(i), Num: numBuf[i*nNum : (i+1)*nNum : (i+1)*nNum], Cat: catBuf[i*nCat : (i+1)*nCat : (i+1)*nCat]}
		if hasTarget {
			row.Won, _ = ParseTarget(r[tj])
		}
		for k := range nNum {
			v := r[cols[k]]
			row.Num[k] = math.NaN()
			if !f.isMissing(v) {
				if x, ok := parseNumber(v); ok {
					row.Num[k] = x
				}
			}
		}
		for k := range nCat {
			if v := r[cols[nNum+k]]; !f.isMissing(v) {
				row.Cat[k] = strings.TrimSpace(v)
			}
		}
		d.Rows[i], d.IDs[i] = row, id
	}
	return d, nil
}

func (t Table) columnList() string {
	names := make([]string, len(t.Header))
	for j := range t.Header {
		names[j] = strconv.Quote(t.columnName(j))
	}
	return strings.Join(names, ", ")
}

package importer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Mapping is a YAML file that says how the CSV files of a folder feed
// Quarterdeck: which file feeds which entity, which column feeds which field,
// how values are translated, and how references are matched. docs/import.md
// describes every option; examples/maven-crm/mapping.yaml is a complete one.
type Mapping struct {
	Source   string          `yaml:"source"`
	Defaults MappingDefaults `yaml:"defaults"`
	Stages   []StageDef      `yaml:"stages"`
	Files    []FileMapping   `yaml:"files"`

	path string
}

// MappingDefaults apply to every file unless a file or column says otherwise.
type MappingDefaults struct {
	Currency     string   `yaml:"currency"`      // for amounts without a currency column
	DateFormats  []string `yaml:"date_formats"`  // tried before the built-in ISO and US formats
	Timezone     string   `yaml:"timezone"`      // of times written without one (default UTC)
	DecimalComma bool     `yaml:"decimal_comma"` // 1.234,56
	Nulls        []string `yaml:"nulls"`         // cell values meaning "no value" (replaces the defaults)
	Delimiter    string   `yaml:"delimiter"`     // default ","
}

// StageDef defines a pipeline stage the import creates when it is missing.
type StageDef struct {
	Name             string   `yaml:"name"`
	Kind             string   `yaml:"kind"` // open, won, lost
	Probability      *float64 `yaml:"probability"`
	Position         *int64   `yaml:"position"`
	ForecastCategory string   `yaml:"forecast_category"`
	line             int
}

// FileMapping maps one file to one entity. A file may appear several times
// (e.g. a deals file feeding opportunities and their line items).
type FileMapping struct {
	File               string                 `yaml:"file"`
	Entity             string                 `yaml:"entity"`
	Key                string                 `yaml:"key"` // external_id, name, email or none
	Columns            map[string]*ColumnSpec `yaml:"columns"`
	CustomFields       map[string]*ColumnSpec `yaml:"custom_fields"` // leads: custom field name → column, read like columns:
	Ignore             []string               `yaml:"ignore"`
	IgnoreOtherColumns bool                   `yaml:"ignore_other_columns"`
	Where              *Where                 `yaml:"where"`
	Role               string                 `yaml:"role"`         // users: the role of the people in the file
	EmailDomain        string                 `yaml:"email_domain"` // users: build emails from names
	Delimiter          string                 `yaml:"delimiter"`
	DateFormats        []string               `yaml:"date_formats"`
	line               int
}

// Where keeps only the rows whose column holds one of the values (or none of them).
type Where struct {
	Column string   `yaml:"column"`
	In     []string `yaml:"in"`
	NotIn  []string `yaml:"not_in"`
}

// ColumnSpec says where a field's value comes from and how it is read. In
// YAML it is a column name, a list of column names (the first non-empty one
// wins), or a map with the options below.
type ColumnSpec struct {
	Column        []string          // source columns, first non-empty wins
	Value         *string           // a constant instead of a column
	Template      string            // "{colA} - {colB}"
	Map           map[string]string // value translation, keys matched ignoring case
	Else          *string           // value for anything the map does not list
	Default       *string           // value when the cell is empty
	Scale         string            // multiply numbers (revenue in millions: 1000000)
	Percent       bool              // the number is a percentage (probability 0–100)
	Formats       []string          // date formats for this column
	Match         string            // references: external_id, name or email
	CreateMissing bool              // references: create a stub when unknown
	SalesforceID  bool              // normalise 15/18-character Salesforce Ids
	Prefix        string            // keep only Salesforce Ids with this key prefix
	Split         string            // a list in one cell: keep the first element
	Optional      bool              // the column may be absent from the file
	line          int
}

var columnSpecKeys = []string{"column", "columns", "value", "template", "map", "else", "default", "scale", "percent", "format", "formats",
	"match", "create_missing", "salesforce_id", "prefix", "split", "optional"}

// UnmarshalYAML reads the short forms (a name, a list of names) and the map form.
func (c *ColumnSpec) UnmarshalYAML(n *yaml.Node) error {
	c.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		c.Column = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		return n.Decode(&c.Column)
	case yaml.MappingNode:
	default:
		return fmt.Errorf("line %d: want a column name, a list of column names or a map of options", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "column", "columns":
			if v.Kind == yaml.ScalarNode {
				c.Column = []string{v.Value}
			} else {
				err = v.Decode(&c.Column)
			}
		case "value":
			var s string
			err = v.Decode(&s)
			c.Value = &s
		case "template":
			err = v.Decode(&c.Template)
		case "map":
			err = v.Decode(&c.Map)
		case "else":
			var s string
			err = v.Decode(&s)
			c.Else = &s
		case "default":
			var s string
			err = v.Decode(&s)
			c.Default = &s
		case "scale":
			err = v.Decode(&c.Scale)
		case "percent":
			err = v.Decode(&c.Percent)
		case "format":
			var s string
			err = v.Decode(&s)
			c.Formats = append(c.Formats, s)
		case "formats":
			err = v.Decode(&c.Formats)
		case "match":
			err = v.Decode(&c.Match)
		case "create_missing":
			err = v.Decode(&c.CreateMissing)
		case "salesforce_id":
			err = v.Decode(&c.SalesforceID)
		case "prefix":
			err = v.Decode(&c.Prefix)
		case "split":
			err = v.Decode(&c.Split)
		case "optional":
			err = v.Decode(&c.Optional)
		default:
			return fmt.Errorf("line %d: unknown column option %q (known: %s)", k.Line, k.Value, strings.Join(columnSpecKeys, ", "))
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", k.Line, k.Value, unwrapYAML(err))
		}
	}
	return nil
}

// UnmarshalYAML records the line of each file entry for messages.
func (f *FileMapping) UnmarshalYAML(n *yaml.Node) error {
	type plain FileMapping
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: each entry of files: is a map (file:, entity:, columns:)", n.Line)
	}
	if err := checkKeys(n, "file", "entity", "key", "columns", "custom_fields", "ignore", "ignore_other_columns", "where", "role", "email_domain", "delimiter", "date_formats"); err != nil {
		return err
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*f = FileMapping(p)
	f.line = n.Line
	return nil
}

// UnmarshalYAML records the line of each stage for messages.
func (s *StageDef) UnmarshalYAML(n *yaml.Node) error {
	type plain StageDef
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: each stage is a map (name:, kind:, probability:)", n.Line)
	}
	if err := checkKeys(n, "name", "kind", "probability", "position", "forecast_category"); err != nil {
		return err
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = StageDef(p)
	s.line = n.Line
	return nil
}

// UnmarshalYAML checks the keys of a where clause.
func (w *Where) UnmarshalYAML(n *yaml.Node) error {
	type plain Where
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: where: is a map (column:, in: or not_in:)", n.Line)
	}
	if err := checkKeys(n, "column", "in", "not_in"); err != nil {
		return err
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*w = Where(p)
	return nil
}

func checkKeys(n *yaml.Node, known ...string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (known: %s)", k.Line, k.Value, strings.Join(known, ", "))
		}
	}
	return nil
}

func unwrapYAML(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return fmt.Errorf("%s", strings.Join(te.Errors, "; "))
	}
	return err
}

// LoadMapping reads and checks a mapping file. Problems name the mapping
// file and the line; the error wraps crm.ErrInvalid.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	return ParseMapping(filepath.Base(path), b)
}

// ParseMapping reads a mapping from YAML text; name is used in messages.
func ParseMapping(name string, data []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		msg := unwrapYAML(err).Error()
		msg = strings.TrimPrefix(msg, "yaml: ")
		return nil, &Error{Problems: []Problem{{File: name, Line: yamlLine(msg), Reason: msg}}}
	}
	m.path = name
	if probs := m.check(); len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	return &m, nil
}

// yamlLine finds "line N" in a YAML error message (0 when there is none).
func yamlLine(msg string) int {
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	n, _ := atoiN(strings.TrimRightFunc(strings.Fields(msg[i+5:] + " ")[0], func(r rune) bool { return r < '0' || r > '9' }))
	return n
}

// check validates what can be checked without the data files.
func (m *Mapping) check() []Problem {
	var probs []Problem
	add := func(line int, field, value, reason string) {
		probs = append(probs, Problem{File: m.path, Line: line, Field: field, Value: value, Reason: reason})
	}
	if len(m.Files) == 0 {
		add(1, "files", "", "the mapping lists no files")
	}
	if m.Defaults.Currency != "" && !crm.ValidCurrencyCode(m.Defaults.Currency) {
		add(0, "defaults.currency", m.Defaults.Currency, "not a 3-letter ISO 4217 code")
	}
	if m.Defaults.Timezone != "" {
		if _, err := time.LoadLocation(m.Defaults.Timezone); err != nil {
			add(0, "defaults.timezone", m.Defaults.Timezone, "unknown time zone")
		}
	}
	for _, f := range m.Defaults.DateFormats {
		if _, err := goLayout(f); err != nil {
			add(0, "defaults.date_formats", f, err.Error())
		}
	}
	if d := m.Defaults.Delimiter; d != "" && len([]rune(d)) != 1 {
		add(0, "defaults.delimiter", d, "must be one character")
	}
	seenStage := map[string]bool{}
	for _, s := range m.Stages {
		st := s.stage(0)
		if err := st.Validate(); err != nil {
			add(s.line, "stages", s.Name, err.Error())
		}
		if seenStage[strings.ToLower(s.Name)] {
			add(s.line, "stages", s.Name, "defined twice")
		}
		seenStage[strings.ToLower(s.Name)] = true
	}
	for i := range m.Files {
		f := &m.Files[i]
		where := fmt.Sprintf("files[%d]", i)
		if strings.TrimSpace(f.File) == "" {
			add(f.line, where+".file", "", "is required")
		} else if filepath.IsAbs(f.File) || strings.Contains(filepath.ToSlash(f.File), "../") {
			add(f.line, where+".file", f.File, "must be a path inside the data folder")
		}
		e := entityByName(f.Entity)
		if e == nil {
			add(f.line, where+".entity", f.Entity, "unknown entity (known: "+entityNames()+")")
			continue
		}
		if f.Key != "" && !slices.Contains(e.keys, f.Key) && f.Key != "none" {
			if slices.Equal(e.keys, []string{"none"}) {
				add(f.line, where+".key", f.Key, fmt.Sprintf("a %s is not matched to stored ones by a key (leave key: out)", e.name))
			} else {
				add(f.line, where+".key", f.Key, fmt.Sprintf("a %s is matched by %s (or none)", e.name, strings.Join(e.keys, " or ")))
			}
		}
		if f.Role != "" && (e != entUser || !crm.Role(f.Role).Valid()) {
			add(f.line, where+".role", f.Role, "role: is for users, one of admin, ops, manager, rep, viewer")
		}
		if f.EmailDomain != "" && e != entUser {
			add(f.line, where+".email_domain", f.EmailDomain, "email_domain: is for users")
		}
		if d := f.Delimiter; d != "" && len([]rune(d)) != 1 {
			add(f.line, where+".delimiter", d, "must be one character")
		}
		if len(f.Columns) == 0 && len(f.CustomFields) == 0 {
			add(f.line, where+".columns", "", "maps no columns")
		}
		if len(f.CustomFields) > 0 && e != entLead {
			add(f.line, where+".custom_fields", "", "custom_fields: is for leads")
		}
		customNames := make([]string, 0, len(f.CustomFields))
		for name := range f.CustomFields {
			customNames = append(customNames, name)
		}
		slices.Sort(customNames)
		for _, name := range customNames {
			c := f.CustomFields[name]
			fw := where + ".custom_fields." + name
			if !customFieldName.MatchString(name) {
				add(f.line, fw, name, "a custom field's name is letters, digits and underscores (total_visits), so rules can name it")
			}
			if c == nil {
				add(f.line, fw, "", "names no column")
				continue
			}
			probs = append(probs, c.check(m.path, fw, fieldDef{name: name, kind: kText})...)
		}
		for _, df := range f.DateFormats {
			if _, err := goLayout(df); err != nil {
				add(f.line, where+".date_formats", df, err.Error())
			}
		}
		if f.Where != nil && (f.Where.Column == "" || (len(f.Where.In) == 0) == (len(f.Where.NotIn) == 0)) {
			add(f.line, where+".where", "", "needs a column and either in: or not_in:")
		}
		names := make([]string, 0, len(f.Columns))
		for name := range f.Columns {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			c := f.Columns[name]
			fw := where + ".columns." + name
			idx := e.field(name)
			if idx < 0 {
				add(f.line, fw, name, fmt.Sprintf("a %s has no field %q (fields: %s)", e.name, name, strings.Join(e.fieldNames(), ", ")))
				continue
			}
			if c == nil {
				add(f.line, fw, "", "names no column")
				continue
			}
			probs = append(probs, c.check(m.path, fw, e.fields[idx])...)
		}
	}
	return probs
}

func (c *ColumnSpec) check(file, where string, fd fieldDef) []Problem {
	var probs []Problem
	add := func(field, value, reason string) {
		probs = append(probs, Problem{File: file, Line: c.line, Field: where + field, Value: value, Reason: reason})
	}
	sources := 0
	if len(c.Column) > 0 {
		sources++
	}
	if c.Value != nil {
		sources++
	}
	if c.Template != "" {
		sources++
	}
	if sources != 1 {
		add("", "", "give exactly one of column, value or template")
	}
	for _, col := range c.Column {
		if strings.TrimSpace(col) == "" {
			add(".column", col, "a column name is empty")
		}
	}
	if c.Template != "" {
		if _, err := parseTemplate(c.Template); err != nil {
			add(".template", c.Template, err.Error())
		}
	}
	if c.Scale != "" {
		if d, err := decimal.NewFromString(c.Scale); err != nil || d.IsZero() {
			add(".scale", c.Scale, "not a non-zero number")
		} else if fd.kind != kMoney && fd.kind != kInt && fd.kind != kFloat {
			add(".scale", c.Scale, "scale: is for numbers")
		}
	}
	if c.Percent && fd.kind != kProbability && fd.kind != kFloat {
		add(".percent", "true", "percent: is for probabilities")
	}
	for _, f := range c.Formats {
		if _, err := goLayout(f); err != nil {
			add(".formats", f, err.Error())
		}
		if fd.kind != kDate && fd.kind != kTime {
			add(".formats", f, "formats: is for dates and times")
		}
	}
	if c.Match != "" {
		if fd.kind != kRef {
			add(".match", c.Match, "match: is for references")
		} else if !slices.Contains(matchesFor(fd.ref), c.Match) {
			add(".match", c.Match, fmt.Sprintf("a %s is matched by %s", fd.ref, strings.Join(matchesFor(fd.ref), " or ")))
		}
	}
	if c.CreateMissing && fd.kind != kRef {
		add(".create_missing", "true", "create_missing: is for references")
	}
	if c.CreateMissing && fd.ref == "opportunity" {
		add(".create_missing", "true", "opportunities are never created as stubs (a deal needs an account, an owner and an amount)")
	}
	if c.Prefix != "" && len(c.Prefix) != 3 {
		add(".prefix", c.Prefix, "a Salesforce key prefix has 3 characters (006 opportunity, 001 account, ...)")
	}
	return probs
}

// customFieldName is what a custom field given under custom_fields: may be called.
var customFieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// matchesFor lists how references to an entity can be matched.
func matchesFor(entity string) []string {
	switch entity {
	case "user":
		return []string{"email", "name", "external_id"}
	case "team":
		return []string{"name"}
	case "account", "product":
		return []string{"external_id", "name"}
	}
	return []string{"external_id"}
}

func (s StageDef) stage(pos int64) crm.Stage {
	st := crm.Stage{Name: strings.TrimSpace(s.Name), Kind: crm.StageKind(s.Kind), ForecastCategory: crm.ForecastCategory(s.ForecastCategory), Position: pos}
	if st.Kind == "" {
		st.Kind = crm.StageOpen
	}
	if s.Probability != nil {
		st.Probability = *s.Probability
	} else {
		st.Probability = defaultProbability(st.Kind)
	}
	if s.Position != nil {
		st.Position = *s.Position
	}
	if st.ForecastCategory == "" {
		st.ForecastCategory = defaultCategory(st.Kind)
	}
	return st
}

func defaultProbability(k crm.StageKind) float64 {
	switch k {
	case crm.StageWon:
		return 1
	case crm.StageLost:
		return 0
	}
	return 0.1
}

func defaultCategory(k crm.StageKind) crm.ForecastCategory {
	switch k {
	case crm.StageWon:
		return crm.ForecastClosed
	case crm.StageLost:
		return crm.ForecastOmitted
	}
	return crm.ForecastPipeline
}

// template parts: literal text and {column} references.
type tmplPart struct {
	lit string
	col string
	idx int
}

func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	cols := 0
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, tmplPart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { in template")
		}
		name := strings.TrimSpace(s[i+1 : i+j])
		if name == "" {
			return nil, fmt.Errorf("empty {} in template")
		}
		parts = append(parts, tmplPart{col: name, idx: -1})
		cols++
		s = s[i+j+1:]
	}
	if cols == 0 {
		return nil, fmt.Errorf("a template names at least one {column}")
	}
	return parts, nil
}

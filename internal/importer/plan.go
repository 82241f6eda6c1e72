package importer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// A plan is a mapping entry compiled against the file's header: for each
// field of the entity, which columns to read and how to turn the text into
// a value. Built-in formats (Salesforce, HubSpot) build plans directly.

type filePlan struct {
	name   string // the file as messages name it (relative to the data folder)
	dir    string // the data folder
	entity *entityDef
	key    string // external_id, name, email or none
	header []string
	delim  rune
	cols   []*colPlan // by field index; nil when the field is not mapped
	custom []int      // lead custom fields named by their column: column indexes
	named  []namedCol // lead custom fields given a name by the mapping
	where  *wherePlan
	vals   *values

	role        crm.Role // users: default role
	emailDomain string   // users: build emails from names
	currency    string   // default currency ("" = the corporate one)
	stageGuess  bool     // create unknown stages, guessing the kind from the name
	hubspot     bool     // HubSpot conventions (stage ids, owners created)
	salesforce  bool     // Salesforce conventions
	eventKinds  bool     // Salesforce Event rows: default kind meeting
}

// namedCol is a lead custom field the mapping names (custom_fields:).
type namedCol struct {
	name string
	col  *colPlan
}

type wherePlan struct {
	col int
	in  map[string]bool
	not bool
}

func (w *wherePlan) keep(rec []string) bool {
	v := ""
	if w.col < len(rec) {
		v = strings.ToLower(strings.TrimSpace(rec[w.col]))
	}
	return w.in[v] != w.not
}

// colPlan reads one field from a record.
type colPlan struct {
	def      fieldDef
	cols     []int // source column indexes, first non-empty wins
	colName  string
	constant string
	hasConst bool
	tmpl     []tmplPart
	vmap     map[string]string
	elseVal  *string
	def0     *string // default for empty cells
	scale    decimal.Decimal
	scaled   bool
	percent  bool
	vals     *values // the file's parsers, with this column's date formats
	match    string
	create   bool
	sfid     bool
	prefix   string
	split    string
}

// mapped reports whether the plan reads field f.
func (p *filePlan) mapped(f int) bool { return p.cols[f] != nil }

// label names a field in messages: the source column when there is one.
func (p *filePlan) label(f int) string {
	c := p.cols[f]
	if c == nil || c.colName == "" {
		return p.entity.fields[f].name
	}
	return c.colName
}

// raw returns the field's text after defaults and value maps, and whether
// there is a value at all.
func (c *colPlan) raw(rec []string) (string, bool) {
	var s string
	switch {
	case c.hasConst:
		s = c.constant
	case c.tmpl != nil:
		var b strings.Builder
		for _, p := range c.tmpl {
			if p.col == "" {
				b.WriteString(p.lit)
			} else if p.idx >= 0 && p.idx < len(rec) {
				b.WriteString(strings.TrimSpace(rec[p.idx]))
			}
		}
		s = strings.TrimSpace(b.String())
	default:
		typed := c.def.kind != kText
		for _, i := range c.cols {
			if i < 0 || i >= len(rec) {
				continue
			}
			t := strings.TrimSpace(rec[i])
			if t == "" || t == `\N` || (typed && c.vals.isNull(t)) {
				continue
			}
			s = t
			break
		}
	}
	if c.split != "" && s != "" {
		s, _, _ = strings.Cut(s, c.split)
		s = strings.TrimSpace(s)
	}
	if c.prefix != "" && s != "" && !strings.HasPrefix(s, c.prefix) {
		s = ""
	}
	if c.vmap != nil && s != "" {
		if m, ok := c.vmap[strings.ToLower(s)]; ok {
			s = m
		} else if c.elseVal != nil {
			s = *c.elseVal
		}
	}
	if s == "" && c.def0 != nil {
		s = *c.def0
	}
	return s, s != ""
}

// findColumn finds a header column: exactly, then ignoring case and spaces.
func findColumn(header []string, name string) int {
	if i := slices.Index(header, name); i >= 0 {
		return i
	}
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	n := norm(name)
	for i, h := range header {
		if norm(h) == n {
			return i
		}
	}
	return -1
}

// compile builds the plans of a mapping for the files in dataDir. Problems
// (a missing file, a column the file lacks, a column the mapping does not
// account for) are returned all together.
func (m *Mapping) compile(dataDir string) ([]*filePlan, []Problem) {
	var probs []Problem
	var plans []*filePlan
	for i := range m.Files {
		p, ps := m.compileEntry(&m.Files[i], dataDir)
		probs = append(probs, ps...)
		if p != nil {
			plans = append(plans, p)
		}
	}
	return plans, probs
}

// compileEntry reads the header of one entry's file and binds its columns.
func (m *Mapping) compileEntry(f *FileMapping, dataDir string) (*filePlan, []Problem) {
	loc := time.UTC
	if m.Defaults.Timezone != "" {
		if l, err := time.LoadLocation(m.Defaults.Timezone); err == nil {
			loc = l
		}
	}
	e := entityByName(f.Entity)
	name := filepath.ToSlash(filepath.Clean(f.File))
	p := &filePlan{name: name, dir: dataDir, entity: e, key: f.Key,
		role: crm.Role(f.Role), emailDomain: f.EmailDomain, currency: m.Defaults.Currency}
	p.delim = firstRune(f.Delimiter, m.Defaults.Delimiter)
	p.vals = newValues()
	p.vals.loc = loc
	p.vals.decimalComma = m.Defaults.DecimalComma
	if m.Defaults.Nulls != nil {
		p.vals.nulls = map[string]bool{}
		for _, n := range m.Defaults.Nulls {
			p.vals.nulls[n] = true
		}
	}
	for _, df := range append(slices.Clone(f.DateFormats), m.Defaults.DateFormats...) {
		l, _ := goLayout(df)
		p.vals.layouts = append(p.vals.layouts, l)
	}
	r, err := openCSV(p.dir, name, p.delim)
	if err != nil {
		return nil, []Problem{{File: m.path, Line: f.line, Field: "file", Value: f.File, Reason: strings.TrimPrefix(err.Error(), name+": ")}}
	}
	p.header = r.header
	r.close()
	return p, p.bind(f, m.path)
}

func firstRune(ss ...string) rune {
	for _, s := range ss {
		if s != "" {
			return []rune(s)[0]
		}
	}
	return 0
}

// bind resolves the entry's column names against the header.
func (p *filePlan) bind(f *FileMapping, mappingName string) []Problem {
	var probs []Problem
	used := make([]bool, len(p.header))
	bad := func(field, value, reason string) {
		probs = append(probs, Problem{File: p.name, Line: 1, Field: field, Value: value, Reason: reason})
	}
	p.cols = make([]*colPlan, len(p.entity.fields))
	for fieldName, spec := range f.Columns {
		idx := p.entity.field(fieldName)
		if idx < 0 || spec == nil {
			continue // reported by check
		}
		fd := p.entity.fields[idx]
		if fd.kind == kList {
			for _, col := range spec.Column {
				ci := findColumn(p.header, col)
				if ci < 0 {
					if !spec.Optional {
						bad(col, "", fmt.Sprintf("no such column (mapped to %s in %s)", fieldName, mappingName))
					}
					continue
				}
				used[ci] = true
				p.custom = append(p.custom, ci)
			}
			continue
		}
		if c := p.bindColumn(fieldName, fd, spec, used, bad, mappingName); c != nil {
			p.cols[idx] = c
		}
	}
	names := make([]string, 0, len(f.CustomFields))
	for name := range f.CustomFields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		spec := f.CustomFields[name]
		if spec == nil || p.entity != entLead {
			continue // reported by check
		}
		for _, ci := range p.custom {
			if p.header[ci] == name {
				bad(name, "", "the custom field "+name+" is given twice (by columns: custom_fields and by custom_fields: in "+mappingName+")")
			}
		}
		if c := p.bindColumn("custom_fields."+name, fieldDef{name: name, kind: kText}, spec, used, bad, mappingName); c != nil {
			p.named = append(p.named, namedCol{name: name, col: c})
		}
	}
	if f.Where != nil {
		ci := findColumn(p.header, f.Where.Column)
		if ci < 0 {
			bad(f.Where.Column, "", "no such column (used in where: in "+mappingName+")")
		} else {
			used[ci] = true
			w := &wherePlan{col: ci, in: map[string]bool{}, not: len(f.Where.NotIn) > 0}
			for _, v := range append(slices.Clone(f.Where.In), f.Where.NotIn...) {
				w.in[strings.ToLower(strings.TrimSpace(v))] = true
			}
			p.where = w
		}
	}
	for _, col := range f.Ignore {
		if ci := findColumn(p.header, col); ci >= 0 {
			used[ci] = true
		} else {
			bad(col, "", "no such column (listed under ignore: in "+mappingName+")")
		}
	}
	if !f.IgnoreOtherColumns {
		for i, u := range used {
			if !u {
				bad(p.header[i], "", fmt.Sprintf("unknown column: %s does not map it to a %s field (map it, or list it under ignore:)", mappingName, p.entity.name))
			}
		}
	}
	if p.key == "" {
		p.key = defaultKey(p)
	}
	if p.key == "external_id" && !p.mapped(p.entity.field("external_id")) {
		bad("key", p.key, "the key is external_id but no column is mapped to external_id")
	}
	if p.key == "name" && !p.mapped(p.entity.field("name")) {
		bad("key", p.key, "the key is name but no column is mapped to name")
	}
	if p.entity == entUser && !p.mapped(usEmail) && p.emailDomain == "" {
		bad("email", "", "users need an email: map a column to email or set email_domain: to build them from names")
	}
	if p.entity == entLeadEvent {
		for _, f := range []int{evLead, evKind} {
			if !p.mapped(f) {
				bad(p.entity.fields[f].name, "", "lead events need a "+p.entity.fields[f].name+": map a column to it")
			}
		}
	}
	return probs
}

// bindColumn resolves one field's columns against the header, marking them used.
func (p *filePlan) bindColumn(fieldName string, fd fieldDef, spec *ColumnSpec, used []bool, bad func(field, value, reason string), mappingName string) *colPlan {
	c := &colPlan{def: fd, vals: p.vals, match: spec.Match, create: spec.CreateMissing, sfid: spec.SalesforceID,
		prefix: spec.Prefix, split: spec.Split, percent: spec.Percent, elseVal: spec.Else, def0: spec.Default}
	if spec.Value != nil {
		c.constant, c.hasConst = *spec.Value, true
	}
	if spec.Template != "" {
		c.tmpl, _ = parseTemplate(spec.Template)
		for i := range c.tmpl {
			if c.tmpl[i].col == "" {
				continue
			}
			ci := findColumn(p.header, c.tmpl[i].col)
			if ci < 0 {
				bad(c.tmpl[i].col, "", fmt.Sprintf("no such column (used in the template of %s in %s)", fieldName, mappingName))
				continue
			}
			c.tmpl[i].idx = ci
			used[ci] = true
		}
	}
	for _, col := range spec.Column {
		ci := findColumn(p.header, col)
		if ci < 0 {
			if !spec.Optional {
				bad(col, "", fmt.Sprintf("no such column (mapped to %s in %s; the file has: %s)", fieldName, mappingName, strings.Join(p.header, ", ")))
			}
			continue
		}
		used[ci] = true
		c.cols = append(c.cols, ci)
		if c.colName == "" {
			c.colName = p.header[ci]
		}
	}
	if len(spec.Column) > 0 && len(c.cols) == 0 && spec.Optional {
		if c.def0 == nil {
			return nil // an optional column that is absent: the field is not mapped
		}
	}
	if spec.Map != nil {
		c.vmap = make(map[string]string, len(spec.Map))
		for k, v := range spec.Map {
			c.vmap[strings.ToLower(strings.TrimSpace(k))] = v
		}
	}
	if spec.Scale != "" {
		c.scale, _ = decimal.NewFromString(spec.Scale)
		c.scaled = true
	}
	if len(spec.Formats) > 0 {
		v := *p.vals
		v.layouts = nil
		for _, df := range spec.Formats {
			l, _ := goLayout(df)
			v.layouts = append(v.layouts, l)
		}
		v.layouts = append(v.layouts, p.vals.layouts...)
		c.vals = &v
	}
	return c
}

// defaultKey is how rows of p match stored records when the mapping does not say.
func defaultKey(p *filePlan) string {
	if i := p.entity.field("external_id"); i >= 0 && p.cols[i] != nil {
		return "external_id"
	}
	for _, k := range p.entity.keys {
		if k != "external_id" {
			return k
		}
	}
	return "none"
}

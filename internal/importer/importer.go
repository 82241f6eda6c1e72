package importer

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Options tune an import. The zero value is an atomic import that reports
// unknown references and stamps changes with the current time.
type Options struct {
	// SkipInvalid writes the valid rows; rejected rows go to RejectsPath.
	// Without it, one invalid row means nothing is written.
	SkipInvalid bool
	// RejectsPath, when set, receives the rejected rows as CSV: the original
	// columns (of every file with rejects, by name), then file, line, field
	// and reason.
	RejectsPath string
	// CreateMissing creates stub records for unknown references (an account
	// name, an owner, a product, a stage) instead of rejecting the row.
	CreateMissing bool
	// Now is the import's time: stamped on stage-history rows of changes,
	// updated_at, and on records whose file gives no creation time.
	Now time.Time
	// Progress is called now and then with the number of rows read so far.
	Progress func(rowsRead int64)
	// DryRun checks everything and rolls back, even when all rows are valid.
	DryRun bool
	// ActorID is the user running the import, recorded in the audit log (0: none).
	ActorID int64
	// MemoryLimit caps the embedded DuckDB engine's memory during the import
	// ("1.5GB", "800MB"); the previous limit is restored afterwards. Empty
	// leaves DuckDB's own (80% of RAM). PostgreSQL ignores it.
	MemoryLimit string
}

// Problem is one thing wrong with the input.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// String is "file:line: field: value: reason" (empty parts left out).
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Field != "" {
		b.WriteString(": " + p.Field)
	}
	if p.Value != "" {
		b.WriteString(": " + p.Value)
	}
	b.WriteString(": " + p.Reason)
	return b.String()
}

// ProblemGroup counts the problems of one kind: the same file, field and
// reason, with the line numbers a reason may name written as "line N" (so
// that "appears again in the file (first on line 7)" and "... line 9" are
// one kind).
type ProblemGroup struct {
	File   string `json:"file"`
	Field  string `json:"field"`
	Value  string `json:"value"` // the value, when every problem of the group has the same one; else ""
	Reason string `json:"reason"`
	Count  int    `json:"count"`
	Lines  []int  `json:"lines"` // the first lines of the group (at most 5), as examples
}

// maxGroupLines is how many example lines a ProblemGroup keeps.
const maxGroupLines = 5

// String is "count × file: field: value: reason (lines 3, 13, ...)" (empty parts left out).
func (g ProblemGroup) String() string {
	p := Problem{File: g.File, Field: g.Field, Value: g.Value, Reason: g.Reason}
	s := fmt.Sprintf("%d × %s", g.Count, p.String())
	if len(g.Lines) == 0 {
		return s
	}
	lines := make([]string, len(g.Lines))
	for i, l := range g.Lines {
		lines[i] = strconv.Itoa(l)
	}
	word := "lines "
	if len(lines) == 1 {
		word = "line "
	}
	if g.Count > len(lines) {
		lines = append(lines, "...")
	}
	return s + " (" + word + strings.Join(lines, ", ") + ")"
}

// lineNumber is a line number in a reason.
var lineNumber = regexp.MustCompile(`\bline [0-9]+`)

// SummarizeProblems groups problems (sorted by file and line, as in
// Result.Problems) by file, field and reason, the largest group first
// (groups of the same size in the order they first appear).
func SummarizeProblems(ps []Problem) []ProblemGroup {
	type key struct{ file, field, reason string }
	index := map[key]int{}
	out := []ProblemGroup{}
	for _, p := range ps {
		k := key{p.File, p.Field, lineNumber.ReplaceAllString(p.Reason, "line N")}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, ProblemGroup{File: k.file, Field: k.field, Value: p.Value, Reason: k.reason})
		}
		g := &out[i]
		g.Count++
		if g.Value != p.Value {
			g.Value = ""
		}
		if p.Line > 0 && len(g.Lines) < maxGroupLines {
			g.Lines = append(g.Lines, p.Line)
		}
	}
	slices.SortStableFunc(out, func(a, b ProblemGroup) int { return b.Count - a.Count })
	return out
}

// Result summarises an import.
type Result struct {
	Source   string `json:"source"`    // salesforce, hubspot, or the mapping's source
	RowsRead int64  `json:"rows_read"` // data rows read (a file mapped twice counts twice)
	Written  int64  `json:"written"`   // rows stored (inserted or matched and updated)
	Rejected int64  `json:"rejected"`  // rows not stored because of a problem
	// Skipped counts the rows left out on purpose: outside a file's where:,
	// or lead events whose kind is empty.
	Skipped  int64     `json:"skipped"`
	Problems []Problem `json:"problems"`
	// ProblemSummary is Problems grouped by file, field and reason, with counts.
	ProblemSummary []ProblemGroup `json:"problem_summary"`
	Elapsed        time.Duration  `json:"elapsed_ns"`
	// PerEntity counts the rows written per table (accounts, opportunities, ...).
	PerEntity map[string]int64 `json:"per_entity"`
	// Inserted and Updated split Written: new records, and stored records
	// whose values changed; the rest matched and were unchanged.
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
	// Created lists what the import created besides the rows of the files:
	// stages, stub records, teams and managers (by table).
	Created map[string]int64 `json:"created"`
	// HistoryRows counts the stage-history rows written (creation rows of new
	// deals, rows of changes found on re-import, rows from history files).
	HistoryRows int64 `json:"history_rows"`
	// Committed is true when the data was stored.
	Committed bool `json:"committed"`
}

// Summary is the one-line summary of an import.
func (r Result) Summary() string {
	skipped := ""
	if r.Skipped > 0 {
		skipped = fmt.Sprintf(", %d skipped", r.Skipped)
	}
	s := fmt.Sprintf("%d rows read, %d written (%d new, %d changed), %d rejected%s in %s",
		r.RowsRead, r.Written, r.Inserted, r.Updated, r.Rejected, skipped, r.Elapsed.Round(time.Millisecond))
	if !r.Committed {
		s += "; nothing stored"
	}
	return s
}

// Error is returned when the input has problems and the import was rolled
// back (or, with SkipInvalid, when the mapping itself is wrong). It lists
// every problem and unwraps to crm.ErrInvalid.
type Error struct {
	Problems []Problem
}

// maxErrorLines bounds the problems, and the groups of problems, spelled out
// in Error() (all are in Problems).
const maxErrorLines = 50

// Error says how many problems there are; when some are of the same kind,
// the count of each kind (SummarizeProblems); then the first problems.
func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if n == 1 {
		b.WriteString("import: 1 problem, nothing stored:")
	} else {
		fmt.Fprintf(&b, "import: %d problems, nothing stored:", n)
	}
	if groups := SummarizeProblems(e.Problems); len(groups) < n {
		b.WriteString("\n by file, field and reason:")
		for i, g := range groups {
			if i == maxErrorLines {
				fmt.Fprintf(&b, "\n  ... and %d more kinds", len(groups)-maxErrorLines)
				break
			}
			b.WriteString("\n  " + g.String())
		}
		if n > maxErrorLines {
			fmt.Fprintf(&b, "\n the first %d:", maxErrorLines)
		} else {
			b.WriteString("\n each one:")
		}
	}
	for i, p := range e.Problems {
		if i == maxErrorLines {
			fmt.Fprintf(&b, "\n  ... and %d more", n-maxErrorLines)
			break
		}
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return crm.ErrInvalid }

// ImportSalesforce loads a Salesforce Data Export or Data Loader folder:
// User.csv, Account.csv, Contact.csv, Lead.csv, Product2.csv (with
// PricebookEntry.csv for prices), Opportunity.csv, OpportunityHistory.csv,
// OpportunityLineItem.csv, Task.csv and Event.csv, with the standard API
// field names. Files that are absent are skipped; at least one must exist.
func ImportSalesforce(ctx context.Context, s *store.Store, dir string, opt Options) (Result, error) {
	src, err := salesforceSource(dir)
	if err != nil {
		return Result{Source: "salesforce"}, err
	}
	return run(ctx, s, src, opt)
}

// ImportHubSpot loads HubSpot CRM exports from a folder: the companies,
// contacts and deals files (recognised by name), with HubSpot's headers,
// deal stages and pipelines.
func ImportHubSpot(ctx context.Context, s *store.Store, dir string, opt Options) (Result, error) {
	src, err := hubspotSource(dir)
	if err != nil {
		return Result{Source: "hubspot"}, err
	}
	return run(ctx, s, src, opt)
}

// ImportMapped loads the CSV files of dataDir as the YAML mapping file says.
func ImportMapped(ctx context.Context, s *store.Store, mappingFile, dataDir string, opt Options) (Result, error) {
	m, err := LoadMapping(mappingFile)
	if err != nil {
		return Result{Source: "mapping"}, err
	}
	src, err := mappedSource(m, dataDir)
	if err != nil {
		return Result{Source: m.Source}, err
	}
	return run(ctx, s, src, opt)
}

// Package series forecasts batches of time series stored in the long CSV
// format of the M-competition data (shared/data/mcomp) with a univar method, and scores
// the forecasts against held-out test values.
package series

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Series describes one series: a row of the series file.
type Series struct {
	Name      string `json:"series"`
	Period    string `json:"period"` // YEARLY, QUARTERLY, MONTHLY, ...
	Type      string `json:"type"`
	Frequency int    `json:"frequency"`
	Horizon   int    `json:"horizon"`
	StartYear int    `json:"start_year"`
	StartSub  int    `json:"start_sub"`
	N         int    `json:"n"`
}

// Split holds the values of one series: Train to fit, Test to score.
// TrainStart is the index of Train[0]; Test continues the numbering.
type Split struct {
	TrainStart int
	Train      []float64
	Test       []float64
}

// Values maps a series name to its values.
type Values map[string]*Split

// ParseError locates a problem in an input file.
type ParseError struct {
	File   string
	Line   int
	Field  string
	Value  string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s: %s: %s", e.File, e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s: %s: %s", e.File, e.Line, e.Field, e.Value, e.Reason)
}

var seriesColumns = []string{"series", "period", "type", "frequency", "horizon", "start_year", "start_sub", "n"}
var valueColumns = []string{"series", "split", "index", "value"}

// table reads a CSV with a header, mapping the wanted columns to positions.
type table struct {
	file string
	r    *csv.Reader
	col  map[string]int
}

func openTable(r io.Reader, file string, want []string) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked per row, to report the line
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{File: file, Line: 1, Field: "header", Value: "", Reason: "file is empty"}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	t := &table{file: file, r: cr, col: map[string]int{}}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // Excel's BOM
		if _, dup := t.col[h]; dup {
			return nil, &ParseError{File: file, Line: 1, Field: "header", Value: h, Reason: "duplicate column"}
		}
		t.col[h] = i
	}
	for _, w := range want {
		if _, ok := t.col[w]; !ok {
			return nil, &ParseError{File: file, Line: 1, Field: "header", Value: strings.Join(head, ","), Reason: "missing column " + w}
		}
	}
	return t, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: file, Line: pe.Line, Field: "csv", Value: "", Reason: pe.Err.Error()}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// next returns the next row, or nil at the end.
func (t *table) next() ([]string, int, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, csvError(t.file, err)
	}
	line, _ := t.r.FieldPos(0)
	if len(rec) < len(t.col) {
		return nil, line, &ParseError{File: t.file, Line: line, Field: "row", Value: strings.Join(rec, ","), Reason: fmt.Sprintf("has %d fields, header has %d", len(rec), len(t.col))}
	}
	return rec, line, nil
}

func (t *table) get(rec []string, name string) string {
	return strings.TrimSpace(rec[t.col[name]])
}

func (t *table) int(rec []string, line int, name string, minimum int) (int, error) {
	s := t.get(rec, name)
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, &ParseError{File: t.file, Line: line, Field: name, Value: s, Reason: "not an integer"}
	}
	if v < minimum {
		return 0, &ParseError{File: t.file, Line: line, Field: name, Value: s, Reason: fmt.Sprintf("must be at least %d", minimum)}
	}
	return v, nil
}

// ReadSeries reads the series file (file names it in errors).
func ReadSeries(r io.Reader, file string) ([]Series, error) {
	t, err := openTable(r, file, seriesColumns)
	if err != nil {
		return nil, err
	}
	var out []Series
	seen := map[string]bool{}
	for {
		rec, line, err := t.next()
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		s := Series{Name: t.get(rec, "series"), Period: strings.ToUpper(t.get(rec, "period")), Type: t.get(rec, "type")}
		if s.Name == "" {
			return nil, &ParseError{File: file, Line: line, Field: "series", Value: "", Reason: "empty name"}
		}
		if seen[s.Name] {
			return nil, &ParseError{File: file, Line: line, Field: "series", Value: s.Name, Reason: "duplicate series"}
		}
		seen[s.Name] = true
		if s.Frequency, err = t.int(rec, line, "frequency", 1); err != nil {
			return nil, err
		}
		if s.Horizon, err = t.int(rec, line, "horizon", 1); err != nil {
			return nil, err
		}
		if s.StartYear, err = t.int(rec, line, "start_year", math.MinInt); err != nil {
			return nil, err
		}
		if s.StartSub, err = t.int(rec, line, "start_sub", math.MinInt); err != nil {
			return nil, err
		}
		if s.N, err = t.int(rec, line, "n", 0); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ReadValues reads the values file. Every row must name a series from
// series; indexes must be unique per series and split, and each split must
// be contiguous, the test split continuing the train split.
func ReadValues(r io.Reader, file string, series []Series) (Values, error) {
	t, err := openTable(r, file, valueColumns)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(series))
	for _, s := range series {
		known[s.Name] = true
	}
	type point struct {
		idx, line int
		v         float64
	}
	type key struct {
		name, split string
	}
	// Duplicates are found after sorting, which is much cheaper than a set
	// per series on the 70,000-row M1 file.
	pts := map[key][]point{}
	for {
		rec, line, err := t.next()
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		name := t.get(rec, "series")
		if !known[name] {
			return nil, &ParseError{File: file, Line: line, Field: "series", Value: name, Reason: "not in the series file"}
		}
		split := strings.ToLower(t.get(rec, "split"))
		if split != "train" && split != "test" {
			return nil, &ParseError{File: file, Line: line, Field: "split", Value: t.get(rec, "split"), Reason: "must be train or test"}
		}
		idx, err := t.int(rec, line, "index", math.MinInt)
		if err != nil {
			return nil, err
		}
		vs := t.get(rec, "value")
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &ParseError{File: file, Line: line, Field: "value", Value: vs, Reason: "not a finite number"}
		}
		k := key{name, split}
		pts[k] = append(pts[k], point{idx, line, v})
	}
	// Report the first duplicate in file order, as a reader scanning the
	// file would meet it.
	var dup *ParseError
	for k, ps := range pts {
		slices.SortStableFunc(ps, func(a, b point) int { return cmp.Compare(a.idx, b.idx) })
		for i := 1; i < len(ps); i++ {
			if ps[i].idx == ps[i-1].idx && (dup == nil || ps[i].line < dup.Line) {
				dup = &ParseError{File: file, Line: ps[i].line, Field: "index", Value: strconv.Itoa(ps[i].idx), Reason: fmt.Sprintf("duplicate index for %s %s", k.name, k.split)}
			}
		}
	}
	if dup != nil {
		return nil, dup
	}
	out := Values{}
	for _, s := range series {
		tr, te := pts[key{s.Name, "train"}], pts[key{s.Name, "test"}]
		if len(tr) == 0 {
			continue
		}
		sp := &Split{TrainStart: tr[0].idx}
		next := tr[0].idx
		for _, p := range tr {
			if p.idx != next {
				return nil, &ParseError{File: file, Field: "index", Value: strconv.Itoa(next), Reason: fmt.Sprintf("missing from the train split of %s", s.Name)}
			}
			sp.Train = append(sp.Train, p.v)
			next++
		}
		for _, p := range te {
			if p.idx != next {
				return nil, &ParseError{File: file, Field: "index", Value: strconv.Itoa(next), Reason: fmt.Sprintf("missing from the test split of %s (it must continue the train split)", s.Name)}
			}
			sp.Test = append(sp.Test, p.v)
			next++
		}
		out[s.Name] = sp
	}
	return out, nil
}

// Package export is the one way Quarterdeck turns a table or a report into a
// file: CSV for scripts and XLSX for spreadsheets. Pages, the JSON API and the
// CLI build an export.Table from the same domain call they show, so a file
// holds exactly the rows its user was shown.
package export

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// Kind says what a column holds: how it sorts, aligns and is formatted in a
// spreadsheet.
type Kind int

const (
	Text    Kind = iota // free text, sorted alphabetically
	Count               // whole numbers
	Number              // decimal numbers (ratios, days)
	Money               // an amount in the column's currency
	Percent             // a share, stored as a fraction (0.343 is 34.3 %)
)

// Numeric reports whether cells of the kind are numbers.
func (k Kind) Numeric() bool { return k != Text }

// Column is one column of a table.
type Column struct {
	Key      string // stable name for URLs and scripts, e.g. "won"
	Label    string // what a person reads, e.g. "Won"
	Kind     Kind
	Currency string // for Money columns: the ISO code every cell is in
}

// Header is the column's label as a file shows it: money columns name their
// currency so a spreadsheet never loses it.
func (c Column) Header() string {
	if c.Kind == Money && c.Currency != "" {
		return c.Label + " (" + c.Currency + ")"
	}
	return c.Label
}

// Cell is one value: what a page shows, and the exact value a file keeps.
type Cell struct {
	Display string  // as a person reads it: "USD 1,234.50", "34.3%"
	Raw     string  // exact machine value for files: "1234.50", "0.343"; empty for no value
	Num     float64 // for sorting and spreadsheet cells, when IsNum
	IsNum   bool
	Link    string // optional URL the page links the cell to
	Tone    string // optional page colour: "good", "warn" or "bad"; files ignore it
}

// Empty reports whether the cell has no value (shown as a dash).
func (c Cell) Empty() bool { return c.Raw == "" }

// Table is a titled grid of cells, one slice per row in column order.
type Table struct {
	ID      string // unique on its page, e.g. "by-rep"
	Title   string
	Columns []Column
	Rows    [][]Cell
}

// TextCell is a text value.
func TextCell(s string) Cell { return Cell{Display: s, Raw: s} }

// CountCell is a whole number.
func CountCell(n int64) Cell {
	s := strconv.FormatInt(n, 10)
	return Cell{Display: groupDigits(s), Raw: s, Num: float64(n), IsNum: true}
}

// NumberCell is a decimal number shown with the given display text.
func NumberCell(v *float64, display string) Cell {
	if v == nil {
		return Cell{Display: "–"}
	}
	return Cell{Display: display, Raw: strconv.FormatFloat(*v, 'f', -1, 64), Num: *v, IsNum: true}
}

// PercentCell is a share (0.343) shown with the given display text ("34.3%").
func PercentCell(v *float64, display string) Cell { return NumberCell(v, display) }

// MoneyCell is an exact amount shown with the given display text.
func MoneyCell(d *decimal.Decimal, display string) Cell {
	if d == nil {
		return Cell{Display: "–"}
	}
	return Cell{Display: display, Raw: d.StringFixed(2), Num: d.InexactFloat64(), IsNum: true}
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(s string) string {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Format is a file format tables are written in.
type Format string

const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads "csv" or "xlsx".
func ParseFormat(s string) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case CSV:
		return CSV, nil
	case XLSX:
		return XLSX, nil
	}
	return "", fmt.Errorf("%q is not an export format: want csv or xlsx", s)
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Write writes the tables in the format: CSV holds exactly one table; XLSX
// holds each table on a sheet of its own.
func Write(w io.Writer, f Format, tables ...Table) error {
	switch f {
	case CSV:
		if len(tables) != 1 {
			return fmt.Errorf("a CSV file holds one table, not %d", len(tables))
		}
		return WriteCSV(w, tables[0])
	case XLSX:
		return WriteXLSX(w, tables...)
	}
	return fmt.Errorf("unknown export format %q", f)
}

// WriteCSV writes the header row and every row with exact values: amounts
// without grouping or currency symbol (the header names the currency),
// shares as fractions, an empty field where there is no value.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Header()
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) {
				rec[i] = safeCSV(row[i].Raw)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safeCSV keeps a text that a spreadsheet would run as a formula ("=cmd|...")
// from doing so, by the OWASP rule: prefix a quote. Numbers, negative ones
// included, stay as they are.
func safeCSV(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + s
	case '-':
		if !looksNumeric(s) {
			return "'" + s
		}
	}
	return s
}

func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// numberFormats are the spreadsheet formats per kind (Excel's built-in codes
// written out, so every spreadsheet program reads them).
var numberFormats = map[Kind]string{
	Count:   "#,##0",
	Number:  "#,##0.00",
	Money:   "#,##0.00",
	Percent: "0.0%",
}

// WriteXLSX writes one sheet per table, with a bold header row, numbers as
// numbers (formatted per column kind) and text as text.
func WriteXLSX(w io.Writer, tables ...Table) error {
	if len(tables) == 0 {
		return fmt.Errorf("nothing to export")
	}
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	styles := map[Kind]int{}
	for k, code := range numberFormats {
		code := code
		if styles[k], err = f.NewStyle(&excelize.Style{CustomNumFmt: &code}); err != nil {
			return err
		}
	}
	used := map[string]bool{}
	for ti, t := range tables {
		name := sheetName(t, ti, used)
		if ti == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		head := make([]any, len(t.Columns))
		for i, c := range t.Columns {
			head[i] = excelize.Cell{StyleID: bold, Value: c.Header()}
		}
		if err := sw.SetRow("A1", head); err != nil {
			return err
		}
		for ri, row := range t.Rows {
			vals := make([]any, len(t.Columns))
			for i, c := range t.Columns {
				if i >= len(row) || row[i].Empty() {
					vals[i] = nil
					continue
				}
				if c.Kind.Numeric() && row[i].IsNum {
					vals[i] = excelize.Cell{StyleID: styles[c.Kind], Value: row[i].Num}
				} else {
					vals[i] = row[i].Raw
				}
			}
			cell, err := excelize.CoordinatesToCellName(1, ri+2)
			if err != nil {
				return err
			}
			if err := sw.SetRow(cell, vals); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// sheetName is the table's title cut to Excel's 31 characters without the
// characters Excel forbids, unique in the workbook.
func sheetName(t Table, i int, used map[string]bool) string {
	name := t.Title
	if name == "" {
		name = t.ID
	}
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '-'
		}
		return r
	}, name)
	if name == "" {
		name = fmt.Sprintf("Table %d", i+1)
	}
	if r := []rune(name); len(r) > 28 {
		name = string(r[:28])
	}
	base := name
	for n := 2; used[name]; n++ {
		name = fmt.Sprintf("%s %d", base, n)
	}
	used[name] = true
	return name
}

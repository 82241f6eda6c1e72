package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

func sample() Table {
	won := decimal.RequireFromString("1234567.5")
	rate := 0.343
	return Table{ID: "by-rep", Title: "By rep", Columns: []Column{
		{Key: "rep", Label: "Rep"}, {Key: "won", Label: "Won", Kind: Money, Currency: "USD"},
		{Key: "deals", Label: "Deals", Kind: Count}, {Key: "win_rate", Label: "Win rate", Kind: Percent},
	}, Rows: [][]Cell{
		{TextCell("Ann Lee"), MoneyCell(&won, "USD 1,234,567.50"), CountCell(12), PercentCell(&rate, "34.3%")},
		{TextCell("=HYPERLINK(\"x\")"), MoneyCell(nil, ""), CountCell(-3), PercentCell(nil, "")},
	}}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, CSV, sample()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Rep", "Won (USD)", "Deals", "Win rate"},
		{"Ann Lee", "1234567.50", "12", "0.343"},
		{"'=HYPERLINK(\"x\")", "", "-3", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %q", len(recs), len(want), recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, recs[i], want[i])
		}
	}
	if err := Write(&b, CSV, sample(), sample()); err == nil {
		t.Error("two tables in one CSV: no error")
	}
}

func TestWriteXLSX(t *testing.T) {
	second := sample()
	second.Title = "By rep" // same title: the sheet name must still be unique
	var b bytes.Buffer
	if err := Write(&b, XLSX, sample(), second); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "By rep" || got[1] != "By rep 2" {
		t.Fatalf("sheets %q", got)
	}
	rows, err := f.GetRows("By rep", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][1] != "Won (USD)" || rows[1][0] != "Ann Lee" || rows[1][1] != "1234567.5" || rows[1][3] != "0.343" {
		t.Errorf("rows %q", rows)
	}
	typ, err := f.GetCellType("By rep", "B2")
	if err != nil || typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("B2 type %v %v: want a number", typ, err)
	}
	shown, _ := f.GetCellValue("By rep", "D2")
	if shown != "34.3%" {
		t.Errorf("D2 shows %q, want 34.3%%", shown)
	}
}

func TestParseFormat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Format
		ok   bool
	}{{"csv", CSV, true}, {"XLSX", XLSX, true}, {"pdf", "", false}, {"", "", false}} {
		got, err := ParseFormat(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("ParseFormat(%q) = %q, %v", c.in, got, err)
		}
	}
}

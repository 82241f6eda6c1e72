package importer

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadCSV feeds arbitrary bytes to the CSV reader (it must never panic,
// and must give lines in order and records as wide as the header), and
// checks that any table written by encoding/csv reads back the same.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b,c\r\n1,2,3\r\n",
		"\ufeffa,b\n\"x\ny\",2\n",
		"a,b\n\"unclosed,2\n3,4\n",
		"a\n\n\n1\n",
		"a,b\n1,2,3\n",
		"a,b\nx\"y,2\n",
		"\xff\xfea\x00",
		"",
		"a,b\n\xff,1\n",
		"x\x00y\x00\x00z\r\nw",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := newCSVReader(bytes.NewReader(data), "fuzz.csv", 0); err == nil {
			last := 1
			for {
				rec, err := r.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read error: %v", err)
				}
				if rec.line <= last {
					t.Fatalf("line %d after line %d", rec.line, last)
				}
				last = rec.line
				if rec.err == "" && len(rec.fields) != len(r.header) {
					t.Fatalf("line %d: %d fields, header %d", rec.line, len(rec.fields), len(r.header))
				}
				if rec.err == "" && !validUTF8(rec.fields) {
					t.Fatalf("line %d: invalid UTF-8 passed", rec.line)
				}
			}
		}

		// Round trip: cells split from the input, three to a row.
		if !utf8.Valid(data) {
			return
		}
		cells := strings.Split(string(data), "\x00")
		var rows [][]string
		for len(cells) >= 3 {
			rows = append(rows, cells[:3])
			cells = cells[3:]
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = len(data)%2 == 0
		w.Write([]string{"a", "b", "c"})
		for _, r := range rows {
			w.Write(r)
		}
		w.Flush()
		r, err := newCSVReader(&buf, "fuzz.csv", 0)
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		var want [][]string
		for _, row := range rows {
			if allEmpty(row) {
				continue // blank records are skipped
			}
			norm := make([]string, len(row))
			for i, c := range row {
				// csv.Writer drops a lone \r when it writes CRLF; the reader
				// turns a \r\n inside a quoted field into \n.
				if w.UseCRLF {
					norm[i] = strings.ReplaceAll(c, "\r", "")
				} else {
					norm[i] = strings.ReplaceAll(c, "\r\n", "\n")
				}
			}
			want = append(want, norm)
		}
		for i := 0; ; i++ {
			rec, err := r.next()
			if err == io.EOF {
				if i != len(want) {
					t.Fatalf("read %d records, wrote %d", i, len(want))
				}
				break
			}
			if err != nil || rec.err != "" {
				t.Fatalf("record %d: %v %s", i, err, rec.err)
			}
			if i >= len(want) {
				t.Fatalf("extra record %q", rec.fields)
			}
			for j := range want[i] {
				if got := rec.fields[j]; got != want[i][j] {
					t.Fatalf("record %d field %d: %q, wrote %q", i, j, rec.fields[j], want[i][j])
				}
			}
		}
	})
}

// FuzzMapping feeds arbitrary text to the mapping reader: it must never
// panic, and an accepted mapping must bind to a header and read a record.
func FuzzMapping(f *testing.F) {
	maven, _ := os.ReadFile(mavenMapping)
	f.Add(maven)
	xedu, _ := os.ReadFile(xeduMapping)
	f.Add(xedu)
	f.Add([]byte(leadEventMapping))
	f.Add([]byte("files:\n  - file: a.csv\n    entity: lead_event\n    columns: {lead: x, kind: {column: y, map: {Modified: \"\"}}, occurred_at: {column: z, formats: [DD/MM/YYYY]}}\n"))
	f.Add([]byte("files:\n  - file: a.csv\n    entity: lead\n    custom_fields: {visits: x, \"bad name\": {column: y, default: \"0\"}, n: }\n"))
	f.Add([]byte(corruptMapping))
	f.Add([]byte("files:\n  - file: a.csv\n    entity: opportunity\n    columns:\n      amount: {column: [x, y], scale: 1000, default: \"0\"}\n      stage: {column: s, map: {a: b}, else: c}\n      name: {template: \"{x} - {y}\"}\n"))
	f.Add([]byte("files:\n  - file: a.csv\n    entity: user\n    email_domain: x.example\n    columns: {name: n, manager: {column: m, match: name}}\n    where: {column: n, not_in: [a]}\n"))
	f.Add([]byte("stages:\n  - {name: X, kind: won, probability: 2}\nfiles: []\n"))
	f.Add([]byte("files: [{file: ../x.csv, entity: nope}]"))
	f.Add([]byte("defaults: {date_formats: [DD/MM/YYYY], timezone: Mars/Olympus, currency: usd}\n"))
	f.Add([]byte("files:\n  - file: a.csv\n    entity: lead\n    columns: {custom_fields: [p, q], created_at: {column: c, formats: [M/D/YY h:mm A]}}\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMapping("fuzz.yaml", data)
		if err != nil {
			var ie *Error
			if !asError(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("a mapping error lists no problems: %v", err)
			}
			return
		}
		for i := range m.Files {
			fm := &m.Files[i]
			header := []string{"x", "y"}
			for _, c := range fm.Columns {
				if c != nil {
					header = append(header, c.Column...)
				}
			}
			for _, c := range fm.CustomFields {
				if c != nil {
					header = append(header, c.Column...)
				}
			}
			p := &filePlan{name: fm.File, entity: entityByName(fm.Entity), header: header, vals: newValues()}
			p.bind(fm, "fuzz.yaml")
			rec := make([]string, len(header))
			for j := range rec {
				rec[j] = header[j] + " 1"
			}
			for _, c := range p.cols {
				if c != nil {
					c.raw(rec)
				}
			}
			for _, n := range p.named {
				n.col.raw(rec)
			}
		}
	})
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

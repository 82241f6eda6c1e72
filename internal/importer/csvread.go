package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// The CSV reader accepts what real exports contain: UTF-8 with or without a
// byte-order mark, CRLF or LF line ends, quoted fields spanning lines, blank
// lines, and stray quotes inside unquoted fields. Each record carries the
// line it starts on, so every message can name it.

// record is one CSV record and the line it starts on (the header is line 1).
type record struct {
	line   int
	fields []string
	err    string // why the record cannot be imported; fields are as read (nil for malformed CSV)
}

// csvReader reads one file.
type csvReader struct {
	name   string
	f      io.Closer
	r      *csv.Reader
	header []string
	slab   []string // field slices of records are cut from it
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// openCSV opens the file name (slash-separated, relative to dir) and reads
// its header; messages call the file name. Only a file inside dir is read: a
// name leaving it ("../x.csv") or a link pointing out of it
// ("teams.csv -> /etc/passwd") is refused before a byte is read.
func openCSV(dir, name string, delim rune) (*csvReader, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: data folder: %w", name, err)
	}
	defer root.Close() // the file opened from it stays open
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		if strings.Contains(err.Error(), "escapes") {
			return nil, fmt.Errorf("%s: refused: the file is outside the data folder %s (a link out of it, or a path leaving it)", name, dir)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c, err := newCSVReader(f, name, delim)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.f = f
	return c, nil
}

func newCSVReader(src io.Reader, name string, delim rune) (*csvReader, error) {
	br := bufio.NewReaderSize(src, 1<<20)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, fmt.Errorf("%s: the file is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel)", name)
	}
	r := csv.NewReader(br)
	if delim != 0 {
		r.Comma = delim
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	c := &csvReader{name: name, r: r}
	h, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: the file is empty (want a header row)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:1: cannot read the header: %v", name, err)
	}
	c.header = make([]string, len(h))
	for i, v := range h {
		c.header[i] = strings.TrimSpace(strings.TrimPrefix(v, "\ufeff"))
	}
	if !utf8.ValidString(strings.Join(c.header, "")) {
		return nil, fmt.Errorf("%s:1: the header is not valid UTF-8 (save the file as UTF-8)", name)
	}
	return c, nil
}

func (c *csvReader) close() {
	if c.f != nil {
		c.f.Close()
	}
}

// next returns the next record; io.EOF at the end. Records whose fields are
// all empty are skipped. A malformed record comes back with err set.
func (c *csvReader) next() (record, error) {
	for {
		fields, err := c.r.Read()
		if err == io.EOF {
			return record{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return record{line: pe.StartLine, err: "malformed CSV: " + pe.Err.Error()}, nil
		}
		if err != nil {
			return record{}, fmt.Errorf("%s: %w", c.name, err)
		}
		line, _ := c.r.FieldPos(0)
		if allEmpty(fields) {
			continue
		}
		// A record that cannot be imported keeps its fields too, for the
		// rejects file.
		if len(c.slab) < len(fields) {
			c.slab = make([]string, len(fields)*256)
		}
		rec := record{line: line, fields: c.slab[:len(fields):len(fields)]}
		c.slab = c.slab[len(fields):]
		copy(rec.fields, fields)
		switch {
		case len(fields) != len(c.header):
			last, _ := c.r.FieldPos(len(fields) - 1)
			rec.err = fmt.Sprintf("has %d fields, the header has %d", len(fields), len(c.header))
			if last > line+1 {
				rec.err += fmt.Sprintf(" (the record runs to line %d: is a quote not closed?)", last)
			}
		case !validUTF8(fields):
			rec.err = "not valid UTF-8 (save the file as UTF-8)"
		}
		return rec, nil
	}
}

func allEmpty(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func validUTF8(fields []string) bool {
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// batchSize is how many records travel together from the reading goroutine.
const batchSize = 2048

// stream reads the records on a goroutine and sends them in batches, so that
// parsing overlaps converting and loading. The returned function reports a
// read error once the channel is closed.
func (c *csvReader) stream(ctx context.Context) (<-chan []record, func() error) {
	out := make(chan []record, 4)
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		batch := make([]record, 0, batchSize)
		for {
			rec, err := c.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				return
			}
			batch = append(batch, rec)
			if len(batch) == batchSize {
				select {
				case out <- batch:
				case <-ctx.Done():
					readErr = ctx.Err()
					return
				}
				batch = make([]record, 0, batchSize)
			}
		}
		if len(batch) > 0 {
			select {
			case out <- batch:
			case <-ctx.Done():
				readErr = ctx.Err()
			}
		}
	}()
	return out, func() error { <-done; return readErr }
}

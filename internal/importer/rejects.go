package importer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// writeRejects writes the rejected rows to path as one CSV: the original
// columns of every file that has rejects (by name, in order of first
// appearance), then file, line, field and reason. A record with more fields
// than its header has the surplus joined to its last column (with the file's
// delimiter), so that no value is lost. The rows are read again
// from the files, so nothing but the rejected line numbers is kept in memory.
func writeRejects(src *source, rejects map[lineKey][]Problem, path string) error {
	var files []*filePlan
	byFile := map[string]map[int][]Problem{}
	for k, ps := range rejects {
		if byFile[k.file] == nil {
			byFile[k.file] = map[int][]Problem{}
		}
		byFile[k.file][k.line] = ps
	}
	var columns []string
	for _, p := range src.plans {
		if byFile[p.name] == nil || slices.ContainsFunc(files, func(f *filePlan) bool { return f.name == p.name }) {
			continue
		}
		files = append(files, p)
		for _, h := range p.header {
			if !slices.Contains(columns, h) {
				columns = append(columns, h)
			}
		}
	}
	extra := []string{"file", "line", "field", "reason"}
	for i, e := range extra {
		for slices.Contains(columns, e) {
			e += "_"
		}
		extra[i] = e
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("import: rejects file: %w", err)
	}
	bw := bufio.NewWriter(f)
	w := csv.NewWriter(bw)
	w.Write(append(slices.Clone(columns), extra...))
	out := make([]string, len(columns)+len(extra))
	for _, p := range files {
		lines := byFile[p.name]
		pos := make([]int, len(p.header))
		for i, h := range p.header {
			pos[i] = slices.Index(columns, h)
		}
		r, err := openCSV(p.dir, p.name, p.delim)
		if err != nil {
			f.Close()
			return fmt.Errorf("import: rejects file: %w", err)
		}
		for {
			rec, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				r.close()
				f.Close()
				return fmt.Errorf("import: rejects file: %w", err)
			}
			ps, ok := lines[rec.line]
			if !ok {
				continue
			}
			clear(out)
			for i, v := range rec.fields {
				if i < len(pos) {
					out[pos[i]] = v
				}
			}
			// A record with more fields than the header: the last column
			// holds the rest of the record, as written.
			if n := len(pos); n > 0 && len(rec.fields) > n {
				sep := ","
				if p.delim != 0 {
					sep = string(p.delim)
				}
				out[pos[n-1]] = strings.Join(rec.fields[n-1:], sep)
			}
			var fields, reasons []string
			for _, pr := range ps {
				fields = append(fields, pr.Field)
				reasons = append(reasons, pr.Reason)
			}
			n := len(columns)
			out[n], out[n+1], out[n+2], out[n+3] = p.name, strconv.Itoa(rec.line), strings.Join(fields, "; "), strings.Join(reasons, "; ")
			w.Write(out)
			delete(lines, rec.line)
		}
		r.close()
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("import: rejects file: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("import: rejects file: %w", err)
	}
	return f.Close()
}

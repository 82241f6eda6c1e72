package backup

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// FileError is a problem with one file of a backup, at a line (a row) when
// known. It unwraps to ErrDamaged.
type FileError struct {
	Path string
	Line int64 // 0: the file as a whole
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *FileError) Unwrap() []error { return []error{ErrDamaged, e.Err} }

// ReadManifest reads and checks the manifest of the backup in dir.
func ReadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, &FileError{Path: path, Err: errors.New("missing: not a backup, or one that did not finish")}
	}
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, &FileError{Path: path, Err: err}
	}
	bad := func(format string, args ...any) (Manifest, error) {
		return Manifest{}, &FileError{Path: path, Err: fmt.Errorf(format, args...)}
	}
	if m.Format != Format {
		return bad("format is %q, not %q: not a quarterdeck backup", m.Format, Format)
	}
	if m.FormatVersion != FormatVersion {
		return bad("format version %d: this quarterdeck reads version %d", m.FormatVersion, FormatVersion)
	}
	seen := map[string]bool{}
	for _, t := range m.Tables {
		// The file name comes from the table's: a manifest cannot point
		// outside its directory.
		if !identifier.MatchString(t.Name) || t.File != t.Name+".jsonl.gz" {
			return bad("table %q in file %q: want a plain table name and its file <name>.jsonl.gz", t.Name, t.File)
		}
		if seen[t.Name] {
			return bad("table %s is listed twice", t.Name)
		}
		seen[t.Name] = true
	}
	return m, nil
}

// Restore loads the backup in dir into s, which must hold no data: a new
// database, migrated by this binary (store.Open does it). Everything is
// loaded in one transaction; on any error s is left as it was.
func Restore(ctx context.Context, s *store.Store, dir string, opts Options) (Summary, error) {
	began := time.Now()
	m, err := ReadManifest(dir)
	if err != nil {
		return Summary{}, fmt.Errorf("restore: %w", err)
	}
	if err := checkSchema(ctx, s, m); err != nil {
		return Summary{}, fmt.Errorf("restore: %w", err)
	}
	tables, err := checkTables(ctx, s, m)
	if err != nil {
		return Summary{}, fmt.Errorf("restore: %w", err)
	}
	sum := Summary{Dir: dir, Engine: s.Engine(), SchemaVersion: m.SchemaVersion, Tables: len(m.Tables)}
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		// Checked inside the transaction that loads, so nothing slips in
		// between the check and the load.
		if err := checkEmpty(ctx, b, tables); err != nil {
			return err
		}
		// A new database holds the reference rows its migrations put in;
		// the backup has its own (possibly edited) copy of them.
		for _, t := range store.SeededTables() {
			if _, err := b.Exec(ctx, `DELETE FROM "`+t+`"`); err != nil {
				return fmt.Errorf("clear %s: %w", t, err)
			}
		}
		for i, tf := range m.Tables {
			n, size, err := loadTable(ctx, b, dir, tf, tables[i], func(n int64) { opts.progress(sum.Rows + n) })
			if err != nil {
				return err
			}
			sum.Rows += n
			sum.Bytes += size
			opts.progress(sum.Rows)
		}
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("restore: %w", err)
	}
	if err := s.Refresh(ctx); err != nil {
		return sum, fmt.Errorf("restore: the data is restored, but: %w", err)
	}
	sum.Elapsed = time.Since(began)
	return sum, nil
}

// CheckSchema refuses a backup whose migrations are not exactly those of
// this binary: its tables would not have the same columns (a newer
// backup's may not exist here at all), and an older backup's data would
// miss what the newer migrations did to theirs. It needs no database, so
// a command can check before it makes one.
func (m Manifest) CheckSchema() error {
	known, err := store.KnownMigrations()
	if err != nil {
		return err
	}
	latest := known[len(known)-1]
	wrote := "the quarterdeck that wrote it"
	if m.Program != "" {
		wrote = "the quarterdeck that wrote it (" + m.Program + ")"
	}
	switch {
	case m.SchemaVersion > latest.Version:
		return fmt.Errorf("%w: the backup is of schema version %d, newer than this quarterdeck's %d (%s): restore it with %s or a newer one",
			ErrSchema, m.SchemaVersion, latest.Version, latest.Name, wrote)
	case m.SchemaVersion < latest.Version:
		return fmt.Errorf("%w: the backup is of schema version %d, older than this quarterdeck's %d (%s): restore it with %s, then open the database with this one, which applies the newer migrations",
			ErrSchema, m.SchemaVersion, latest.Version, latest.Name, wrote)
	}
	return sameMigrations("this quarterdeck", known, m.Migrations)
}

// checkSchema also compares the backup's migrations with the database's.
func checkSchema(ctx context.Context, s *store.Store, m Manifest) error {
	if err := m.CheckSchema(); err != nil {
		return err
	}
	applied, err := store.AppliedMigrations(ctx, s.DB())
	if err != nil {
		return err
	}
	return sameMigrations("the database", applied, m.Migrations)
}

func sameMigrations(what string, have []store.Migration, backup []Migration) error {
	for i := range max(len(have), len(backup)) {
		var h, b string
		if i < len(have) {
			h = fmt.Sprintf("%d %s", have[i].Version, have[i].Name)
		}
		if i < len(backup) {
			b = fmt.Sprintf("%d %s", backup[i].Version, backup[i].Name)
		}
		if h != b {
			return fmt.Errorf("%w: migration %q in the backup, %q in %s", ErrSchema, b, h, what)
		}
	}
	return nil
}

// checkTables matches the backup's tables and columns with the database's
// and returns the database's, in the manifest's order.
func checkTables(ctx context.Context, s *store.Store, m Manifest) ([]store.Table, error) {
	have, err := store.Tables(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	byName := map[string]store.Table{}
	for _, t := range have {
		byName[t.Name] = t
	}
	var out []store.Table
	for _, tf := range m.Tables {
		t, ok := byName[tf.Name]
		if !ok {
			return nil, fmt.Errorf("%w: the backup has table %s, the database does not", ErrSchema, tf.Name)
		}
		delete(byName, tf.Name)
		cols := map[string]string{}
		for _, c := range t.Columns {
			cols[c.Name] = c.TypeName()
		}
		for _, c := range tf.Columns {
			switch typ, ok := cols[c.Name]; {
			case !ok:
				return nil, fmt.Errorf("%w: the backup has column %s.%s, the database does not", ErrSchema, tf.Name, c.Name)
			case typ != c.Type:
				return nil, fmt.Errorf("%w: column %s.%s is %s in the backup, %s in the database", ErrSchema, tf.Name, c.Name, c.Type, typ)
			}
			delete(cols, c.Name)
		}
		for c := range cols {
			return nil, fmt.Errorf("%w: the database has column %s.%s, the backup does not", ErrSchema, tf.Name, c)
		}
		// Load in the backup's column order, with the database's types.
		ordered := store.Table{Name: t.Name}
		for _, c := range tf.Columns {
			i := slices.IndexFunc(t.Columns, func(x store.Column) bool { return x.Name == c.Name })
			ordered.Columns = append(ordered.Columns, t.Columns[i])
		}
		out = append(out, ordered)
	}
	for name := range byName {
		return nil, fmt.Errorf("%w: the database has table %s, the backup does not", ErrSchema, name)
	}
	return out, nil
}

// checkEmpty refuses a database with any row outside the tables its
// migrations fill, or whose id counter moved (something was created, even
// if deleted since): a restore never merges into or overwrites data.
func checkEmpty(ctx context.Context, b *store.Bulk, tables []store.Table) error {
	var found []string
	for _, t := range tables {
		if slices.Contains(store.SeededTables(), t.Name) {
			continue
		}
		var n int64
		rows, err := b.Query(ctx, `SELECT COUNT(*) FROM "`+t.Name+`"`)
		if err != nil {
			return fmt.Errorf("count %s: %w", t.Name, err)
		}
		for rows.Next() {
			err = rows.Scan(&n)
		}
		rows.Close()
		if err != nil {
			return fmt.Errorf("count %s: %w", t.Name, err)
		}
		if n > 0 {
			found = append(found, fmt.Sprintf("%s (%d %s)", t.Name, n, plural(n, "row", "rows")))
		}
	}
	// Enough to recognise the database by, not a page of it.
	const named = 8
	if len(found) > named {
		more := len(found) - named
		found = append(found[:named], fmt.Sprintf("%d more %s", more, plural(int64(more), "table", "tables")))
	}
	ids, err := store.IDsAllocated(ctx, queryer{b})
	if err != nil {
		return err
	}
	if ids > 0 {
		found = append(found, fmt.Sprintf("ids allocated up to %d", ids))
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: it has %s: restore only into a new database", ErrNotEmpty, strings.Join(found, ", "))
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// queryer reads through a bulk transaction.
type queryer struct{ b *store.Bulk }

func (q queryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.b.Query(ctx, query, args...)
}

// loadTable loads the rows of one table file, checking every value, the
// row count and the checksum against the manifest. It returns the rows
// and the file's size.
func loadTable(ctx context.Context, b *store.Bulk, dir string, tf TableFile, t store.Table, progress func(int64)) (int64, int64, error) {
	path := filepath.Join(dir, tf.File)
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	raw := &hashingReader{r: bufio.NewReaderSize(f, 1<<16), h: sha256.New()}
	zr, err := gzip.NewReader(raw)
	if err != nil {
		return 0, 0, &FileError{Path: path, Err: err}
	}
	r := bufio.NewReaderSize(zr, 1<<16)
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	var lines int64
	var readErr error
	n, err := b.Load(ctx, t.Name, cols, tableRows(r, path, t, b.DecimalValue, &lines, &readErr, progress))
	if readErr != nil {
		// The file is at fault; PostgreSQL's COPY hands the error back
		// only as the text of its own.
		return n, 0, readErr
	}
	if err != nil {
		return n, 0, fmt.Errorf("restore table %s: %w", t.Name, err)
	}
	if lines != tf.Rows {
		return n, 0, &FileError{Path: path, Err: fmt.Errorf("%d rows, the manifest says %d: the file is incomplete", lines, tf.Rows)}
	}
	// Read to the end of the file, so that the checksum covers it whole.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return n, 0, &FileError{Path: path, Err: err}
	}
	if got := hex.EncodeToString(raw.h.Sum(nil)); got != tf.SHA256 || raw.n != tf.Bytes {
		return n, 0, &FileError{Path: path, Err: fmt.Errorf("%d bytes with SHA-256 %s, the manifest says %d bytes with %s: the file was changed", raw.n, got, tf.Bytes, tf.SHA256)}
	}
	return n, raw.n, nil
}

// tableRows reads the rows of a table file for Bulk.Load, counting the
// lines read into *lines and keeping the error that stopped it in *failed.
// A row Load gets is used before the next is read.
func tableRows(r *bufio.Reader, path string, t store.Table, dec decimalValue, lines *int64, failed *error, progress func(int64)) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		out := make([]any, len(t.Columns))
		var vals []*string
		var buf []byte
		for {
			var line []byte
			var err error
			line, buf, err = readLine(r, buf)
			if err == io.EOF {
				return
			}
			*lines++
			fail := func(err error) {
				*failed = &FileError{Path: path, Line: *lines, Err: err}
				yield(nil, *failed)
			}
			if err != nil {
				fail(err)
				return
			}
			if err := decodeLine(line, &vals); err != nil {
				fail(err)
				return
			}
			if len(vals) != len(out) {
				fail(fmt.Errorf("%d values for %d columns", len(vals), len(out)))
				return
			}
			for i, c := range t.Columns {
				if vals[i] == nil {
					out[i] = nil
					continue
				}
				if out[i], err = parseValue(c, *vals[i], dec); err != nil {
					fail(fmt.Errorf("column %s: %w", c.Name, err))
					return
				}
			}
			if !yield(out, nil) {
				return
			}
			if *lines%progressEvery == 0 {
				progress(*lines)
			}
		}
	}
}

// hashingReader feeds what is read through it to a hash and counts it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

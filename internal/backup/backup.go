// Package backup copies a whole store into a directory of plain files and
// loads such a directory into an empty store, on either engine: a DuckDB
// backup restores into PostgreSQL and the other way round, which is also
// how an organisation moves from the embedded database to PostgreSQL.
//
// A backup is a directory holding manifest.json (the schema version, every
// table with its column types, row count, size and SHA-256) and one
// gzip-compressed JSON-lines file per table. Every table is read in one
// snapshot transaction, so writes committed while the backup runs are
// either wholly in it or not at all. The manifest is written last: a
// directory without one is not a backup.
//
// Restore checks the manifest against the schema this binary knows, then
// loads every table in one transaction into a database that must be empty
// (migrated, with nothing else in it): a restore that fails, on a damaged
// file or anything else, leaves the database as it found it.
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
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Format and FormatVersion identify a backup's manifest. FormatVersion
// changes only when the files change shape, not with the schema.
const (
	Format        = "quarterdeck-backup"
	FormatVersion = 1
	ManifestFile  = "manifest.json"
)

// Errors callers branch on; every error of Restore says more.
var (
	ErrNotEmpty = errors.New("the database is not empty")
	ErrSchema   = errors.New("the backup's schema does not match this quarterdeck's")
	ErrDamaged  = errors.New("the backup is damaged or incomplete")
)

// Manifest describes a backup.
type Manifest struct {
	Format        string      `json:"format"`
	FormatVersion int         `json:"format_version"`
	CreatedAt     time.Time   `json:"created_at"`
	Program       string      `json:"program,omitempty"` // the quarterdeck version that wrote it
	Engine        string      `json:"engine"`            // the engine it was taken from
	SchemaVersion int         `json:"schema_version"`
	Migrations    []Migration `json:"migrations"`
	Tables        []TableFile `json:"tables"`
}

// Migration is an applied migration of the backed-up database.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// TableFile is one table and the file holding its rows.
type TableFile struct {
	Name    string   `json:"name"`
	File    string   `json:"file"`
	Columns []Column `json:"columns"`
	Rows    int64    `json:"rows"`
	Bytes   int64    `json:"bytes"`
	SHA256  string   `json:"sha256"`
}

// Column is a column and its type as SQL writes it (DECIMAL(18,2)).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Rows is the number of rows in the whole backup.
func (m Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Summary is what a backup or a restore did.
type Summary struct {
	Dir           string        `json:"dir"`
	Engine        string        `json:"engine"` // of the database backed up or restored into
	SchemaVersion int           `json:"schema_version"`
	Tables        int           `json:"tables"`
	Rows          int64         `json:"rows"`
	Bytes         int64         `json:"bytes"` // of the table files
	Elapsed       time.Duration `json:"-"`
}

// Options tune Create and Restore; the zero value is fine.
type Options struct {
	Program string // kept in the manifest: the version of quarterdeck writing it
	// Progress, when set, is told how many rows were written (or loaded)
	// so far, every few thousand rows and after each table.
	Progress func(rows int64)
}

func (o Options) progress(n int64) {
	if o.Progress != nil {
		o.Progress(n)
	}
}

const progressEvery = 16384

// identifier is what a table or column name must look like: it goes into
// SQL and into file names.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Create writes a backup of s into dir, which must not exist or be empty.
// The directory is made 0700 and the files 0600: they hold password and
// token hashes. A failed backup removes what it wrote.
func Create(ctx context.Context, s *store.Store, dir string, opts Options) (sum Summary, err error) {
	began := time.Now()
	made, err := prepareDir(dir)
	if err != nil {
		return Summary{}, err
	}
	var written []string
	defer func() {
		if err == nil {
			return
		}
		if made {
			os.RemoveAll(dir)
			return
		}
		for _, f := range written {
			os.Remove(filepath.Join(dir, f))
		}
	}()

	m := Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: time.Now().UTC(), Program: opts.Program, Engine: s.Engine()}
	var rows int64
	err = s.ReadSnapshot(ctx, func(tx *sql.Tx) error {
		applied, err := store.AppliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		for _, a := range applied {
			m.Migrations = append(m.Migrations, Migration{Version: a.Version, Name: a.Name})
			m.SchemaVersion = a.Version
		}
		tables, err := store.Tables(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			written = append(written, t.Name+".jsonl.gz")
			tf, err := writeTable(ctx, tx, dir, t, func(n int64) { opts.progress(rows + n) })
			if err != nil {
				return fmt.Errorf("back up table %s: %w", t.Name, err)
			}
			rows += tf.Rows
			opts.progress(rows)
			m.Tables = append(m.Tables, tf)
		}
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	written = append(written, ManifestFile)
	if err := writeManifest(dir, m); err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	sum = Summary{Dir: dir, Engine: s.Engine(), SchemaVersion: m.SchemaVersion, Tables: len(m.Tables), Rows: rows, Elapsed: time.Since(began)}
	for _, t := range m.Tables {
		sum.Bytes += t.Bytes
	}
	return sum, nil
}

// prepareDir makes dir (and its parents) or checks an existing one is
// empty, so a backup never mixes with another. made: dir was created.
func prepareDir(dir string) (made bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("backup: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("backup: %w", err)
	case len(entries) > 0:
		return false, fmt.Errorf("backup: %s is not empty: give a new directory for each backup", dir)
	}
	return false, nil
}

// selectSQL reads every column of t, decimals as text: the engines' text
// of a DECIMAL keeps every digit of its scale, and is the same on both.
func selectSQL(t store.Table) (string, error) {
	if !identifier.MatchString(t.Name) {
		return "", fmt.Errorf("table name %q is not a plain identifier", t.Name)
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		if !identifier.MatchString(c.Name) {
			return "", fmt.Errorf("column name %q is not a plain identifier", c.Name)
		}
		cols[i] = `"` + c.Name + `"`
		if c.Type == store.TypeDecimal {
			cols[i] = `CAST("` + c.Name + `" AS VARCHAR)`
		}
	}
	return `SELECT ` + strings.Join(cols, ", ") + ` FROM "` + t.Name + `"`, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// writeTable writes the rows of t, as tx sees them, into dir/<table>.jsonl.gz.
func writeTable(ctx context.Context, tx *sql.Tx, dir string, t store.Table, progress func(int64)) (TableFile, error) {
	tf := TableFile{Name: t.Name, File: t.Name + ".jsonl.gz"}
	for _, c := range t.Columns {
		tf.Columns = append(tf.Columns, Column{Name: c.Name, Type: c.TypeName()})
	}
	query, err := selectSQL(t)
	if err != nil {
		return tf, err
	}
	f, err := os.OpenFile(filepath.Join(dir, tf.File), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return tf, err
	}
	defer f.Close()
	sum, size := sha256.New(), &countingWriter{}
	fileBuf := bufio.NewWriterSize(io.MultiWriter(f, sum, size), 1<<16)
	zw, err := gzip.NewWriterLevel(fileBuf, gzip.BestSpeed) // a backup is written far more often than read
	if err != nil {
		return tf, err
	}
	lines := bufio.NewWriterSize(zw, 1<<16)

	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return tf, err
	}
	defer rows.Close()
	vals := make([]any, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return tf, err
		}
		line = append(line[:0], '[')
		for i, c := range t.Columns {
			if i > 0 {
				line = append(line, ',')
			}
			if line, err = appendValue(line, c, vals[i]); err != nil {
				return tf, fmt.Errorf("row %d: %w", tf.Rows+1, err)
			}
		}
		line = append(line, ']', '\n')
		if _, err := lines.Write(line); err != nil {
			return tf, err
		}
		tf.Rows++
		if tf.Rows%progressEvery == 0 {
			progress(tf.Rows)
		}
	}
	if err := rows.Err(); err != nil {
		return tf, err
	}
	if err := lines.Flush(); err != nil {
		return tf, err
	}
	if err := zw.Close(); err != nil {
		return tf, err
	}
	if err := fileBuf.Flush(); err != nil {
		return tf, err
	}
	if err := f.Sync(); err != nil {
		return tf, err
	}
	tf.Bytes, tf.SHA256 = size.n, hex.EncodeToString(sum.Sum(nil))
	return tf, f.Close()
}

// writeManifest writes the manifest through a temporary file renamed into
// place, then syncs the directory: once manifest.json is there, so is the
// whole backup.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

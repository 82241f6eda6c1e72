package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file. A file named NNN_what.ENGINE.sql
// (ENGINE: duckdb or postgres) runs on that engine only and is recorded as
// applied on the other, so that versions stay one sequence for both; it is
// for what one engine needs and the other does without (an index a
// PostgreSQL plan needs, where DuckDB hashes and an index would only slow
// its bulk loads).
type migration struct {
	version int
	name    string
	engine  string // "" for both
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		m := migration{version: v, name: e.Name(), sql: string(b)}
		if rest := strings.TrimSuffix(e.Name(), ".sql"); strings.Contains(rest, ".") {
			m.engine = rest[strings.LastIndex(rest, ".")+1:]
			if m.engine != "duckdb" && m.engine != "postgres" {
				return nil, fmt.Errorf("migration %s: engine must be duckdb or postgres", e.Name())
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies, in order and each in its own transaction, every embedded
// migration not yet recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name VARCHAR NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	all, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range all {
		done, err := exists(ctx, s.db, "schema_migrations", "version", m.version)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if m.engine != "" && m.engine != s.dialect.name() {
				_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			return err
		}
		if m.engine != "" && m.engine != s.dialect.name() {
			s.log.Info("recorded migration for another engine", "name", m.name, "engine", s.dialect.name())
			continue
		}
		s.log.Info("applied migration", "name", m.name, "engine", s.dialect.name())
	}
	return nil
}

// SchemaVersion returns the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

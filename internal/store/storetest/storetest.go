// Package storetest opens fresh, real databases for tests: a DuckDB file in
// the test's temp dir always, and a new PostgreSQL database whenever
// QUARTERDECK_TEST_POSTGRES holds a DSN (CI sets it). Nothing is mocked.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Engine opens a fresh, migrated store on one database engine.
type Engine struct {
	Name string
	Open func(t testing.TB) *store.Store
}

// Engines lists the engines to run a test on.
func Engines(t testing.TB) []Engine {
	engines := []Engine{{Name: "duckdb", Open: OpenDuckDB}}
	if os.Getenv("QUARTERDECK_TEST_POSTGRES") != "" {
		engines = append(engines, Engine{Name: "postgres", Open: OpenPostgres})
	} else if os.Getenv("CI") != "" {
		t.Fatal("CI must set QUARTERDECK_TEST_POSTGRES so the PostgreSQL suite runs")
	}
	return engines
}

// OpenBench opens a fresh store on the engine QUARTERDECK_BENCH_ENGINE names
// (duckdb, the default, or postgres, which needs QUARTERDECK_TEST_POSTGRES).
func OpenBench(b *testing.B) *store.Store {
	switch e := os.Getenv("QUARTERDECK_BENCH_ENGINE"); e {
	case "", "duckdb":
		return OpenDuckDB(b)
	case "postgres":
		return OpenPostgres(b)
	default:
		b.Fatalf("QUARTERDECK_BENCH_ENGINE=%q: want duckdb or postgres", e)
		return nil
	}
}

// Run runs fn as a subtest on each engine with a fresh database.
func Run(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// OpenDuckDB opens a new DuckDB file in the test's temp dir.
func OpenDuckDB(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), quietLogger())
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var pgCounter atomic.Int64

// OpenPostgres creates a new database on the test server and drops it after.
func OpenPostgres(t testing.TB) *store.Store {
	t.Helper()
	admin := os.Getenv("QUARTERDECK_TEST_POSTGRES")
	if admin == "" {
		t.Skip("QUARTERDECK_TEST_POSTGRES not set")
	}
	name := fmt.Sprintf("qd_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgCounter.Add(1))
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer adb.Close()
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse QUARTERDECK_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	s, err := store.Open(context.Background(), u.String(), quietLogger())
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		if db, err := sql.Open("pgx", admin); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return s
}

// DSNFor returns a DSN for engine name (a DuckDB path, or a new PostgreSQL database).
func DSNFor(t testing.TB, engine string) string {
	t.Helper()
	if engine == "duckdb" {
		return filepath.Join(t.TempDir(), "quarterdeck.db")
	}
	admin := os.Getenv("QUARTERDECK_TEST_POSTGRES")
	name := fmt.Sprintf("qd_cli_%d_%d", os.Getpid(), pgCounter.Add(1))
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", admin); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return u.String()
}

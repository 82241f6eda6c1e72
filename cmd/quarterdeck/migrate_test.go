package main

import (
	"regexp"
	"testing"
)

func TestMigrate(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		want := regexp.MustCompile(`^(duckdb|postgres) schema version [1-9]\d*\n$`)
		first := mustRun(t, nil, "migrate", "--database", dsn)
		if !want.MatchString(first.stdout) {
			t.Errorf("migrate printed %q", first.stdout)
		}
		// Run again: nothing to apply, same version; the DSN from the environment this time.
		again := mustRun(t, map[string]string{"QUARTERDECK_DATABASE_URL": dsn}, "migrate", "--quiet")
		if again.stdout != first.stdout {
			t.Errorf("second migrate printed %q, first %q", again.stdout, first.stdout)
		}
		if again.stderr != "" {
			t.Errorf("migrate --quiet logged %q", again.stderr)
		}
	})
}

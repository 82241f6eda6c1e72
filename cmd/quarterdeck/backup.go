package main

import (
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/backup"
	"github.com/spf13/cobra"
)

// backup and restore run on the database's machine, by whoever may read
// the database: like the users commands, they check no principal.

func (c cli) backupCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backup DIR",
		Short: "Back up the whole database into a new directory",
		Long: `Back up every table of the database into DIR, which must not exist or be
empty: manifest.json and one gzip-compressed JSON-lines file per table, read
in one snapshot, so writes made meanwhile are wholly in the backup or not at
all. Restore it with quarterdeck restore, into either engine.

The backup holds password and token hashes: DIR is made 0700, its files 0600.
A DuckDB file is open in one process at a time: stop quarterdeck serve first.
See docs/operations.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, cfg, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			bar := c.newProgress(cfg.Quiet || asJSON, "backup", "rows", -1)
			sum, err := backup.Create(cmd.Context(), s, args[0], backup.Options{Program: version, Progress: bar.set})
			bar.done()
			if err != nil {
				return err
			}
			return c.printBackupSummary("backed up", "to", sum, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func (c cli) restoreCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore DIR",
		Short: "Restore a backup into a new, empty database",
		Long: `Restore the backup in DIR (made by quarterdeck backup, on either engine) into
the database given with --database: a DuckDB file that does not exist yet, or
an empty PostgreSQL database. A database with any data in it is refused.

The backup must be of this quarterdeck's schema version. Every table loads in
one transaction: a damaged backup is refused with the file and line at fault,
and leaves the database empty. See docs/operations.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Check the backup before opening (and so creating) the database.
			m, err := backup.ReadManifest(args[0])
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			if err := m.CheckSchema(); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			s, cfg, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			bar := c.newProgress(cfg.Quiet || asJSON, "restore", "rows", m.Rows())
			sum, err := backup.Restore(cmd.Context(), s, args[0], backup.Options{Progress: bar.set})
			bar.done()
			if err != nil {
				return err
			}
			return c.printBackupSummary("restored", "from", sum, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

// printBackupSummary prints one line, or with --json the summary.
func (c cli) printBackupSummary(did, prep string, sum backup.Summary, asJSON bool) error {
	if asJSON {
		return writeJSON(c.stdout, struct {
			backup.Summary
			Seconds float64 `json:"seconds"`
		}{sum, sum.Elapsed.Seconds()})
	}
	fmt.Fprintf(c.stdout, "%s %d tables, %d rows, %s %s %s in %s (%s, schema version %d)\n",
		did, sum.Tables, sum.Rows, formatBytes(sum.Bytes), prep, sum.Dir, sum.Elapsed.Round(time.Millisecond), engineName(sum.Engine), sum.SchemaVersion)
	return nil
}

func engineName(engine string) string {
	if engine == "postgres" {
		return "PostgreSQL"
	}
	return "DuckDB"
}

// formatBytes is n in B, kB, MB or GB (powers of 1000).
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

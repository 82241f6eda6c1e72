// Command quarterdeck is the Quarterdeck sales-operations platform: the web
// server and the command-line tools, in one binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/cobra"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is what the commands get from the process: output streams and environment.
type cli struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := cli{stdout: stdout, stderr: stderr, getenv: getenv}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

func (c cli) rootCommand() *cobra.Command {
	def := defaultConfig()
	root := &cobra.Command{
		Use:   "quarterdeck",
		Short: "Quarterdeck: self-hosted sales operations",
		Long: `Quarterdeck: self-hosted sales operations.

Settings come from, each overriding the one before: the YAML file given with
--config, the QUARTERDECK_* environment (QUARTERDECK_DATABASE_URL,
QUARTERDECK_ADDR, QUARTERDECK_SECURE_COOKIES, QUARTERDECK_SESSION_TTL,
QUARTERDECK_CLIENT_IP_HEADER, QUARTERDECK_LOG_LEVEL,
QUARTERDECK_LOG_FORMAT, QUARTERDECK_ADMIN_EMAIL, QUARTERDECK_ADMIN_PASSWORD),
then the flags.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	pf := root.PersistentFlags()
	pf.String("config", "", "YAML configuration file")
	pf.String("database", def.Database, "DuckDB file path, or a postgres:// URL")
	pf.String("log-level", def.LogLevel, "log level: debug, info, warn or error")
	pf.String("log-format", def.LogFormat, "log format: text or json")
	pf.Bool("quiet", false, "print only results and errors")

	root.AddCommand(c.demoCommand(), c.serveCommand(), c.importCommand(), c.qualityCommand(), c.kpiCommand(),
		c.forecastCommand(), c.snapshotCommand(), c.leadsCommand(), c.automationCommand(), c.notifyCommand(), c.migrateCommand(), c.backupCommand(), c.restoreCommand(), c.usersCommand(), c.versionCommand())
	return root
}

// config loads the configuration for cmd from its --config file, the
// environment and its flags.
func (c cli) config(cmd *cobra.Command) (Config, error) {
	path, err := cmd.Flags().GetString("config")
	if err != nil {
		return Config{}, err
	}
	return loadConfig(path, c.getenv, cmd.Flags())
}

// newLogger logs to stderr in the configured format; --quiet drops info and debug.
func (c cli) newLogger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated in Config.Validate
	if cfg.Quiet && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// openStore loads the configuration and opens the database, applying migrations.
// The caller closes the store.
func (c cli) openStore(cmd *cobra.Command) (*store.Store, Config, error) {
	cfg, err := c.config(cmd)
	if err != nil {
		return nil, Config{}, err
	}
	s, err := store.Open(cmd.Context(), cfg.Database, c.newLogger(cfg))
	if err != nil {
		return nil, Config{}, err
	}
	return s, cfg, nil
}

// principalFor is the system, or with --as the user of that email.
func principalFor(cmd *cobra.Command, s *store.Store, as string) (crm.Principal, error) {
	if as == "" {
		return crm.System, nil
	}
	u, err := s.UserByEmail(cmd.Context(), as)
	if err != nil {
		return crm.Principal{}, err
	}
	return crm.Principal{UserID: u.ID, Role: u.Role}, nil
}

// openAs opens the store and works out the principal of --as (the system
// without it); the caller closes the store.
func (c cli) openAs(cmd *cobra.Command, as string) (*store.Store, crm.Principal, error) {
	s, _, err := c.openStore(cmd)
	if err != nil {
		return nil, crm.Principal{}, err
	}
	p, err := principalFor(cmd, s, as)
	if err != nil {
		s.Close()
		return nil, crm.Principal{}, err
	}
	return s, p, nil
}

// writeJSON prints v as indented JSON, as every --json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printError writes err for a person: validation errors one field per line.
func printError(w io.Writer, err error) {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		what := "input"
		if ve.Entity != "" {
			what = ve.Entity
		}
		fmt.Fprintf(w, "quarterdeck: invalid %s:\n", what)
		for _, f := range ve.Fields {
			fmt.Fprintf(w, "  %s: %s\n", f.Field, f.Reason)
		}
		return
	}
	fmt.Fprintf(w, "quarterdeck: %v\n", err)
}

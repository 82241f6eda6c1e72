package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/web"
	"github.com/spf13/cobra"
)

// errNoUsers tells how to get the first user into an empty database.
var errNoUsers = errors.New(`the database has no users yet; create the first admin with
  quarterdeck serve --admin-email EMAIL --admin-password PASSWORD
(or QUARTERDECK_ADMIN_EMAIL and QUARTERDECK_ADMIN_PASSWORD), or with
  quarterdeck users add EMAIL --name NAME --role admin`)

func (c cli) serveCommand() *cobra.Command {
	def := defaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and the JSON API",
		Long: `Serve the web UI and the JSON API until interrupted (SIGINT or SIGTERM).

In a database without users, --admin-email and --admin-password (better given
as QUARTERDECK_ADMIN_EMAIL and QUARTERDECK_ADMIN_PASSWORD, out of sight of ps)
create the first admin; they are ignored once there are users.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			return c.serve(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.String("addr", def.Addr, "listen address")
	f.String("secure-cookies", def.SecureCookies, "mark cookies Secure: auto, always or never")
	f.String("session-ttl", def.SessionTTL, "how long a login lasts (5m to 720h)")
	f.String("client-ip-header", "", "header a trusted proxy sets to the client's address, e.g. X-Forwarded-For (login throttling counts per address)")
	f.String("admin-email", "", "email of the first admin, created when the database has no users")
	f.String("admin-password", "", "password of the first admin")
	f.String("snapshot-at", def.SnapshotAt, "time of day (UTC) of the daily work (forecast snapshot, lead rescoring), or off")
	f.String("notify-channels", "", "YAML file of notification channels (Slack, webhooks, e-mail); without it nothing is delivered")
	return cmd
}

// loadChannels reads the notification channels file of cfg; none when it
// names no file.
func loadChannels(cfg Config, getenv func(string) string) ([]notify.Channel, error) {
	if cfg.NotifyChannels == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg.NotifyChannels)
	if err != nil {
		return nil, fmt.Errorf("notification channels: %w", err)
	}
	return notify.LoadChannels(cfg.NotifyChannels, data, getenv)
}

// backgroundWorker is the job worker of serve: it runs workflow steps
// (docs/automation.md) and delivers notifications to the channels of
// cfg.NotifyChannels (docs/notifications.md). Without channels, messages
// wait in the queue and workflow steps that notify take their error path.
// It returns the channels' names too.
func backgroundWorker(s *store.Store, cfg Config, log *slog.Logger, getenv func(string) string) (*jobs.Worker, []string, error) {
	w := jobs.NewWorker(s, jobs.Options{Log: log})
	var dl *notify.Deliverer
	var names []string
	channels, err := loadChannels(cfg, getenv)
	if err != nil {
		return nil, nil, err
	}
	if len(channels) > 0 {
		if dl, err = notify.NewDeliverer(s, channels, notify.Options{Log: log}); err != nil {
			return nil, nil, err
		}
		notify.RegisterDeliverer(w, dl)
		names = dl.Channels()
		log.Info("delivering notifications", "channels", len(channels))
	}
	automation.Register(w, s, dl, automation.Options{Log: log})
	return w, names, nil
}

func (c cli) serve(ctx context.Context, cfg Config) error {
	log := c.newLogger(cfg)
	s, err := store.Open(ctx, cfg.Database, log)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := ensureAdmin(ctx, s, cfg, log); err != nil {
		return err
	}
	worker, channels, err := backgroundWorker(s, cfg, log, c.getenv)
	if err != nil {
		return err
	}
	ttl, _ := cfg.sessionTTL() // validated with the configuration
	srv, err := web.NewServer(web.Config{Addr: cfg.Addr, SecureCookies: cfg.SecureCookies, SessionTTL: ttl, ClientIPHeader: cfg.ClientIPHeader, Channels: channels, Getenv: c.getenv}, s, log)
	if err != nil {
		return fmt.Errorf("start web server: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	addr := ln.Addr().String() // the real port when the configured one is 0
	log.Info("serving", "version", version, "engine", s.Engine(), "addr", addr)
	if !cfg.Quiet {
		fmt.Fprintf(c.stdout, "Quarterdeck is serving on %s\n", serverURL(addr))
	}
	if at, _ := cfg.snapshotTime(); at >= 0 {
		go forecast.RunDaily(ctx, s, log, at, time.Now)
		go leads.RunDaily(ctx, s, log, at, time.Now)
	}
	go routing.RunSLAChecks(ctx, s, log, time.Minute)
	go worker.Run(ctx)
	go automation.RunDispatcher(ctx, s, log, 250*time.Millisecond, worker.Wake)
	go automation.RunScanner(ctx, s, log, automation.ScanEvery, worker.Wake)
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve on %s: %w", cfg.Addr, err)
	}
	log.Info("stopped")
	return nil
}

// ensureAdmin creates the first admin from the configuration when the
// database has no users, and fails with instructions when none is configured.
func ensureAdmin(ctx context.Context, s *store.Store, cfg Config, log *slog.Logger) error {
	n, err := s.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		if cfg.AdminEmail != "" {
			log.Debug("users exist; admin email and password are ignored")
		}
		return nil
	}
	if cfg.AdminEmail == "" || cfg.AdminPassword == "" {
		return errNoUsers
	}
	u := crm.User{Email: cfg.AdminEmail, Name: "Administrator", Role: crm.RoleAdmin, Active: true}
	if err := s.CreateUser(ctx, crm.System, &u, cfg.AdminPassword); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	log.Info("created the first admin", "email", u.Email, "id", u.ID)
	return nil
}

// serverURL is where a browser on this machine reaches addr.
func serverURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

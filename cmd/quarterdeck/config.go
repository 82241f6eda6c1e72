package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of one run. It is loaded in this order,
// each source overriding the one before: the defaults, the YAML file named by
// --config, the QUARTERDECK_* environment, then the flags given explicitly.
type Config struct {
	Database       string // DuckDB file path, or a postgres:// DSN
	Addr           string // the web server's listen address
	SecureCookies  string // auto, always or never
	SessionTTL     string // how long a login lasts, a Go duration such as 12h
	ClientIPHeader string // header a trusted proxy sets to the client's address (login throttling); empty: the peer
	LogLevel       string // debug, info, warn or error
	LogFormat      string // text or json
	AdminEmail     string // first admin, created by serve in an empty database
	AdminPassword  string
	SnapshotAt     string // time of day (UTC, HH:MM) serve runs its daily work (forecast snapshot, lead rescoring); "off" for never
	NotifyChannels string // YAML file of notification channels (docs/notifications.md); none: nothing is delivered
	Quiet          bool   // flag only: print results and errors, nothing else

	from map[string]string // setting key → where its value came from, for error messages
}

func defaultConfig() Config {
	return Config{
		Database:      "quarterdeck.db",
		Addr:          "127.0.0.1:8080",
		SecureCookies: "auto",
		SessionTTL:    "12h",
		LogLevel:      "info",
		LogFormat:     "text",
		SnapshotAt:    "01:00",
	}
}

// setting names one string setting in each source.
type setting struct {
	key   string // key in the YAML file
	env   string // environment variable
	flag  string // flag name, without the dashes
	value *string
}

func (c *Config) settings() []setting {
	return []setting{
		{"database", "QUARTERDECK_DATABASE_URL", "database", &c.Database},
		{"addr", "QUARTERDECK_ADDR", "addr", &c.Addr},
		{"secure_cookies", "QUARTERDECK_SECURE_COOKIES", "secure-cookies", &c.SecureCookies},
		{"session_ttl", "QUARTERDECK_SESSION_TTL", "session-ttl", &c.SessionTTL},
		{"client_ip_header", "QUARTERDECK_CLIENT_IP_HEADER", "client-ip-header", &c.ClientIPHeader},
		{"log_level", "QUARTERDECK_LOG_LEVEL", "log-level", &c.LogLevel},
		{"log_format", "QUARTERDECK_LOG_FORMAT", "log-format", &c.LogFormat},
		{"admin_email", "QUARTERDECK_ADMIN_EMAIL", "admin-email", &c.AdminEmail},
		{"admin_password", "QUARTERDECK_ADMIN_PASSWORD", "admin-password", &c.AdminPassword},
		{"snapshot_at", "QUARTERDECK_SNAPSHOT_AT", "snapshot-at", &c.SnapshotAt},
		{"notify_channels", "QUARTERDECK_NOTIFY_CHANNELS", "notify-channels", &c.NotifyChannels},
	}
}

// loadConfig reads the file at path (none when empty), then the environment
// through getenv, then the flags of flags that were set, and validates the result.
// Flags the command does not define are skipped.
func loadConfig(path string, getenv func(string) string, flags *pflag.FlagSet) (Config, error) {
	cfg := defaultConfig()
	cfg.from = map[string]string{}
	settings := cfg.settings()

	if path != "" {
		file, err := readConfigFile(path)
		if err != nil {
			return Config{}, err
		}
		for key, v := range file {
			i := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
			if i < 0 {
				return Config{}, fmt.Errorf("config file %s: unknown setting %q (known: %s)", path, key, settingKeys(settings))
			}
			*settings[i].value = v
			cfg.from[key] = "config file " + path
		}
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			*s.value = v
			cfg.from[s.key] = s.env
		}
	}
	for _, s := range settings {
		if f := flags.Lookup(s.flag); f != nil && f.Changed {
			*s.value = f.Value.String()
			cfg.from[s.key] = "--" + s.flag
		}
	}
	if f := flags.Lookup("quiet"); f != nil && f.Changed {
		q, err := strconv.ParseBool(f.Value.String())
		if err != nil {
			return Config{}, fmt.Errorf("--quiet: %w", err)
		}
		cfg.Quiet = q
	}
	return cfg, cfg.Validate()
}

// readConfigFile reads a YAML mapping of setting keys to scalar values.
func readConfigFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	file := map[string]string{}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return file, nil
}

func settingKeys(settings []setting) string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return strings.Join(keys, ", ")
}

// Validate checks every setting and reports all problems at once as a
// *crm.ValidationError whose fields are the setting keys.
func (c Config) Validate() error {
	p := crm.NewProblems("configuration")
	bad := func(key, value, format string, args ...any) {
		origin := ""
		if from := c.from[key]; from != "" {
			origin = " (from " + from + ")"
		}
		p.Add(key, "%q%s %s", value, origin, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(c.Database) == "" {
		bad("database", c.Database, "is empty: give a DuckDB file path or a postgres:// URL")
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", c.Addr, "is not a listen address like 127.0.0.1:8080 or :8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
		bad("addr", c.Addr, "is not a listen address like 127.0.0.1:8080 or :8080")
	}
	if !slices.Contains([]string{"auto", "always", "never"}, c.SecureCookies) {
		bad("secure_cookies", c.SecureCookies, "is not one of auto, always, never")
	}
	if _, ok := c.sessionTTL(); !ok {
		bad("session_ttl", c.SessionTTL, "is not a duration from 5m to 720h, like 12h or 30m")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level", c.LogLevel, "is not one of debug, info, warn, error")
	}
	if _, ok := c.snapshotTime(); !ok {
		bad("snapshot_at", c.SnapshotAt, "is not a time of day like 01:00, or off")
	}
	if !slices.Contains([]string{"text", "json"}, c.LogFormat) {
		bad("log_format", c.LogFormat, "is not one of text, json")
	}
	switch {
	case c.AdminEmail == "" && c.AdminPassword != "":
		p.Add("admin_email", "is required when an admin password is given")
	case c.AdminEmail != "" && c.AdminPassword == "":
		p.Add("admin_password", "is required when an admin email is given")
	}
	if c.AdminEmail != "" {
		if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Address != c.AdminEmail {
			bad("admin_email", c.AdminEmail, "is not an email address")
		}
	}
	if c.AdminPassword != "" {
		if err := checkPassword(c.AdminPassword); err != nil {
			p.Add("admin_password", "%s", err)
		}
	}
	return p.Err()
}

// checkPassword applies the store's password rules before anything is written.
func checkPassword(pw string) error {
	var ve *crm.ValidationError
	if err := store.CheckPassword(pw); errors.As(err, &ve) {
		return errors.New(ve.Fields[0].Reason)
	}
	return nil
}

// sessionTTL is SessionTTL parsed: from five minutes to thirty days.
func (c Config) sessionTTL() (time.Duration, bool) {
	d, err := time.ParseDuration(c.SessionTTL)
	return d, err == nil && d >= 5*time.Minute && d <= 720*time.Hour
}

// snapshotTime is SnapshotAt as an offset from midnight UTC; negative for off.
func (c Config) snapshotTime() (time.Duration, bool) {
	if c.SnapshotAt == "off" {
		return -1, true
	}
	t, err := time.Parse("15:04", c.SnapshotAt)
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}

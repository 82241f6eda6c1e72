package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// configFor loads the configuration as `quarterdeck serve args...` would,
// with file (when not empty) as the --config file and env as the environment.
func configFor(t *testing.T, file string, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	if file != "" {
		path := filepath.Join(t.TempDir(), "quarterdeck.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	c := cli{getenv: func(k string) string { return env[k] }}
	cmd, rest, err := c.rootCommand().Find(append([]string{"serve"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.config(cmd)
	cfg.from = nil
	return cfg, err
}

func TestConfigPrecedence(t *testing.T) {
	def := defaultConfig()
	with := func(change func(c *Config)) Config {
		c := def
		change(&c)
		return c
	}
	const file = `
database: from-file.db
addr: 0.0.0.0:9000
log_level: debug
secure_cookies: always
`
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want Config
	}{
		{"defaults", "", nil, nil, def},
		{"file", file, nil, nil, with(func(c *Config) {
			c.Database, c.Addr, c.LogLevel, c.SecureCookies = "from-file.db", "0.0.0.0:9000", "debug", "always"
		})},
		{"env over file", file, map[string]string{"QUARTERDECK_DATABASE_URL": "postgres://u@db/qd", "QUARTERDECK_LOG_LEVEL": "warn"}, nil,
			with(func(c *Config) {
				c.Database, c.Addr, c.LogLevel, c.SecureCookies = "postgres://u@db/qd", "0.0.0.0:9000", "warn", "always"
			})},
		{"flag over env over file", file, map[string]string{"QUARTERDECK_DATABASE_URL": "env.db", "QUARTERDECK_ADDR": ":7000"},
			[]string{"--database", "flag.db", "--secure-cookies", "never"},
			with(func(c *Config) {
				c.Database, c.Addr, c.LogLevel, c.SecureCookies = "flag.db", ":7000", "debug", "never"
			})},
		{"flag set to its default still overrides", file, map[string]string{"QUARTERDECK_LOG_LEVEL": "error"}, []string{"--log-level", "info", "--addr", "127.0.0.1:8080"},
			with(func(c *Config) {
				c.Database, c.SecureCookies = "from-file.db", "always"
			})},
		{"empty env does not override", file, map[string]string{"QUARTERDECK_DATABASE_URL": ""}, nil,
			with(func(c *Config) {
				c.Database, c.Addr, c.LogLevel, c.SecureCookies = "from-file.db", "0.0.0.0:9000", "debug", "always"
			})},
		{"every env variable", "", map[string]string{
			"QUARTERDECK_DATABASE_URL": "e.db", "QUARTERDECK_ADDR": ":1", "QUARTERDECK_SECURE_COOKIES": "never",
			"QUARTERDECK_LOG_LEVEL": "error", "QUARTERDECK_LOG_FORMAT": "json",
			"QUARTERDECK_ADMIN_EMAIL": "root@example.com", "QUARTERDECK_ADMIN_PASSWORD": "0123456789",
			"QUARTERDECK_SNAPSHOT_AT": "off", "QUARTERDECK_SESSION_TTL": "30m", "QUARTERDECK_CLIENT_IP_HEADER": "X-Forwarded-For",
		}, nil, Config{Database: "e.db", Addr: ":1", SecureCookies: "never", LogLevel: "error", LogFormat: "json",
			AdminEmail: "root@example.com", AdminPassword: "0123456789", SnapshotAt: "off", SessionTTL: "30m", ClientIPHeader: "X-Forwarded-For"}},
		{"every flag", "log_format: json\nadmin_email: file@example.com\nadmin_password: file-password\n", nil, []string{
			"--database", "f.db", "--addr", ":2", "--secure-cookies", "always", "--log-level", "warn", "--log-format", "text",
			"--admin-email", "flag@example.com", "--admin-password", "flag-password", "--quiet", "--snapshot-at", "23:30",
			"--session-ttl", "8h", "--client-ip-header", "X-Real-IP",
		}, Config{Database: "f.db", Addr: ":2", SecureCookies: "always", LogLevel: "warn", LogFormat: "text",
			AdminEmail: "flag@example.com", AdminPassword: "flag-password", Quiet: true, SnapshotAt: "23:30", SessionTTL: "8h", ClientIPHeader: "X-Real-IP"}},
		{"empty file", "# nothing\n", nil, nil, def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configFor(t, tt.file, tt.env, tt.args...)
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string // field: reason lines, or parts of a plain error
	}{
		{"bad log level from env", "", map[string]string{"QUARTERDECK_LOG_LEVEL": "verbose"}, nil,
			[]string{`log_level: "verbose" (from QUARTERDECK_LOG_LEVEL) is not one of debug, info, warn, error`}},
		{"bad values from file and flag", "secure_cookies: sometimes\n", nil, []string{"--log-format", "xml", "--addr", "localhost"},
			[]string{
				`addr: "localhost" (from --addr) is not a listen address`,
				`secure_cookies: "sometimes" (from config file `,
				`log_format: "xml" (from --log-format) is not one of text, json`,
			}},
		{"empty database", "", nil, []string{"--database", ""}, []string{`database: "" (from --database) is empty`}},
		{"bad snapshot time", "", map[string]string{"QUARTERDECK_SNAPSHOT_AT": "25:00"}, nil,
			[]string{`snapshot_at: "25:00" (from QUARTERDECK_SNAPSHOT_AT) is not a time of day like 01:00, or off`}},
		{"session too short", "", map[string]string{"QUARTERDECK_SESSION_TTL": "10s"}, nil,
			[]string{`session_ttl: "10s" (from QUARTERDECK_SESSION_TTL) is not a duration from 5m to 720h`}},
		{"a common admin password", "", nil, []string{"--admin-email", "root@example.com", "--admin-password", "password123"},
			[]string{"admin_password: is one of the most common passwords"}},
		{"admin email without password", "", map[string]string{"QUARTERDECK_ADMIN_EMAIL": "root@example.com"}, nil,
			[]string{"admin_password: is required when an admin email is given"}},
		{"admin password too short", "", nil, []string{"--admin-email", "root@example.com", "--admin-password", "short"},
			[]string{"admin_password: must be at least 10 characters"}},
		{"admin email not an email", "", nil, []string{"--admin-email", "root", "--admin-password", "long-enough-1"},
			[]string{`admin_email: "root" (from --admin-email) is not an email address`}},
		{"unknown file key", "databse: x.db\n", nil, nil, []string{`unknown setting "databse"`, "known: database, addr"}},
		{"not yaml", "database: [x\n", nil, nil, []string{"config file", "yaml"}},
		{"not a mapping of scalars", "database:\n  path: x.db\n", nil, nil, []string{"config file", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configFor(t, tt.file, tt.env, tt.args...)
			if err == nil {
				t.Fatal("config: no error")
			}
			var ve *crm.ValidationError
			if errors.As(err, &ve) {
				if ve.Entity != "configuration" || len(ve.Fields) != len(tt.want) {
					t.Fatalf("error %v: want %d fields", err, len(tt.want))
				}
				for i, w := range tt.want {
					if got := ve.Fields[i].Field + ": " + ve.Fields[i].Reason; !strings.HasPrefix(got, w) {
						t.Errorf("field %d = %q, want it to start with %q", i, got, w)
					}
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigFileMissing(t *testing.T) {
	r := runCLI(t, nil, "migrate", "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if r.code != 1 || !strings.Contains(r.stderr, "quarterdeck: read config file") {
		t.Errorf("missing config file: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestConfigErrorsStopCommands(t *testing.T) {
	r := runCLI(t, map[string]string{"QUARTERDECK_SECURE_COOKIES": "maybe"}, "users", "list", "--log-level", "loud", "--database", filepath.Join(t.TempDir(), "x.db"))
	want := "quarterdeck: invalid configuration:\n" +
		`  secure_cookies: "maybe" (from QUARTERDECK_SECURE_COOKIES) is not one of auto, always, never` + "\n" +
		`  log_level: "loud" (from --log-level) is not one of debug, info, warn, error` + "\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
}

package notify_test

// FuzzLoadChannels fuzzes the channels file loader. Run it with
//
//	go test -run '^$' -fuzz '^FuzzLoadChannels$' -fuzztime 30s ./internal/notify
//
// or every fuzz target of the repository with scripts/fuzz.sh.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"gopkg.in/yaml.v3"
)

var channelSeeds = []string{
	`channels:
  - name: sales-alerts
    type: slack
    url_env: SLACK_URL
  - name: crm-hooks
    type: webhook
    url: https://hooks.example.com/quarterdeck
    secret_env: HOOK_SECRET
    headers: {X-Api-Key: abc}
  - name: ops-mail
    type: email
    url: smtp://mail.example.com:587
    username: quarterdeck
    secret_env: SMTP_PASSWORD
    from: quarterdeck@example.com
    to: [sales-ops@example.com, "Ops <ops@example.com>"]
`,
	"channels:\n  - name: hook\n    type: webhook\n    url: https://hooks.example.com/q\n    secret: k\n    headers: {X-Api-Key: abc, X-Tenant: \"42\"}\n",
	"channels:\n  - name: sales-alerts\n    type: slak\n    url_env: MISSING\n  - name: sales-alerts\n    type: webhook\n    url: https://hooks.example.com/x\n",
	"channels:\n  - name: x\n    colour: red\n",
	"channels:\n  - {name: a, type: email, url: smtps://m:465, from: nobody, to: []}\n  - {name: b, type: slack, url: ftp://h/x, url_env: SLACK_URL}\n",
	"channels:\n  - name: a\n    type: webhook\n    url: https://h/\n    secret: k\n    secret_env: HOOK_SECRET\n",
	"channels:\n  - name: a\n    type: email\n    url: smtp://m:25\n    from: a@b.c\n    to: [x@y.z]\n    username: u\n",
	"channels: []\n", "channels:\n", "channels: {}\n", "channels: 3\n", "[]\n", "a: [\n", "", "---\n---\n", "\t", "channels:\n  - *x\n",
	"channels:\n  - &a {name: a, type: slack, url: https://h/}\n  - *a\n", "channels:\n  - name: [x]\n    headers: [1]\n    to: x\n",
	"channels:\n  - name: \"\\0\"\n    type: slack\n    url: \"https://h/\\x00\"\n", "\xff\xfe", "channels:\n- name: x\n  headers: {a: 1, a: 2}\n",
}

// FuzzLoadChannels loads any file as a channels file and checks the
// loader's promises: it does not panic and answers the same each time; an
// error is a *definition.Error of this file that is also a
// crm.ErrInvalid *crm.ValidationError with fields, each problem within the
// file's lines and none with a field reported twice (but for an alias's); accepted channels have distinct names, pass
// Channel.Validate, and carry headers net/http can send (an accepted
// webhook that can never be delivered would fail at every attempt).
func FuzzLoadChannels(f *testing.F) {
	if data, err := os.ReadFile("../../examples/notify/local.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range channelSeeds {
		f.Add([]byte(s))
	}
	env := map[string]string{"SLACK_URL": "https://hooks.slack.com/services/T/B/X", "HOOK_SECRET": "k",
		"SMTP_PASSWORD": "pw", "QUARTERDECK_WEBHOOK_SECRET": "s"}
	getenv := func(k string) string { return env[k] }
	f.Fuzz(func(t *testing.T, data []byte) {
		chs, err := notify.LoadChannels("channels.yaml", data, getenv)
		// Several times: a difference may come from map order.
		for range 3 {
			if _, again := notify.LoadChannels("channels.yaml", data, getenv); errString(err) != errString(again) {
				t.Fatalf("LoadChannels(%q) is not deterministic:\n%v\nthen\n%v", data, err, again)
			}
		}
		if err != nil {
			var de *definition.Error
			var ve *crm.ValidationError
			if !errors.As(err, &de) || !errors.As(err, &ve) || !errors.Is(err, crm.ErrInvalid) || len(de.Problems) == 0 || len(ve.Fields) == 0 {
				t.Fatalf("LoadChannels(%q) = %v (%T), want a *definition.Error with problems", data, err, err)
			}
			lines := yamlLines(data)
			for i, p := range de.Problems {
				if p.File != "channels.yaml" || p.Reason == "" || p.Line < 0 || p.Line > lines {
					t.Fatalf("LoadChannels(%q): problem %+v (the file has %d lines)", data, p, lines)
				}
				if p.Field != "" && slices.Contains(de.Problems[:i], p) && !hasAliases(data) {
					t.Fatalf("LoadChannels(%q): problem %q reported twice (pinned on the wrong field?):\n%v", data, p.String(), err)
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range chs {
			if c.Name == "" || seen[c.Name] {
				t.Fatalf("LoadChannels(%q): channel name %q empty or repeated", data, c.Name)
			}
			seen[c.Name] = true
			if err := c.Validate(); err != nil {
				t.Fatalf("LoadChannels(%q) accepted channel %q, which Validate refuses: %v", data, c.Name, err)
			}
			if err := sendable(c.Headers); err != nil {
				t.Fatalf("LoadChannels(%q) accepted channel %q, whose headers net/http refuses: %v", data, c.Name, err)
			}
		}
	})
}

// yamlLines counts lines as yaml.v3 does: \n, \r\n, a lone \r, and the
// Unicode line breaks NEL, LS and PS each end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var errDialed = errors.New("dialed: the request was valid")

// sendable reports whether net/http sends a request with these headers:
// its transport checks every header before it dials.
func sendable(headers map[string]string) error {
	if len(headers) == 0 {
		return nil
	}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, errDialed }}
	defer tr.CloseIdleConnections()
	_, err = tr.RoundTrip(req)
	if errors.Is(err, errDialed) {
		return nil
	}
	return err
}

// hasAliases reports whether the document uses an alias: yaml.v3 reports
// an aliased node's problem once per use, at the line of the node.
func hasAliases(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return false
	}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			return true
		}
		return slices.ContainsFunc(n.Content, walk)
	}
	return walk(&root)
}

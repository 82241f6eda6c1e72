package notify

import (
	"fmt"

	"github.com/quarterdeck/quarterdeck/internal/definition"
)

// channelsDoc is the channels file:
//
//	channels:
//	  - name: sales-alerts
//	    type: slack
//	    url_env: QUARTERDECK_SLACK_SALES_URL
//	  - name: crm-hooks
//	    type: webhook
//	    url: https://hooks.example.com/quarterdeck
//	    secret_env: QUARTERDECK_CRM_HOOKS_SECRET
//	    headers: {X-Api-Key: "..."}
//	  - name: ops-mail
//	    type: email
//	    url: smtp://mail.example.com:587
//	    username: quarterdeck
//	    secret_env: QUARTERDECK_SMTP_PASSWORD
//	    from: quarterdeck@example.com
//	    to: [sales-ops@example.com]
//
// A URL or secret may be written in the file or named as an environment
// variable (url_env, secret_env), so the file can be committed without them.
type channelsDoc struct {
	Channels []channelDoc `yaml:"channels"`
}

type channelDoc struct {
	Name      string            `yaml:"name"`
	Type      string            `yaml:"type"`
	URL       string            `yaml:"url"`
	URLEnv    string            `yaml:"url_env"`
	Secret    string            `yaml:"secret"`
	SecretEnv string            `yaml:"secret_env"`
	Headers   map[string]string `yaml:"headers"`
	From      string            `yaml:"from"`
	To        []string          `yaml:"to"`
	Username  string            `yaml:"username"`
}

// LoadChannels reads a channels file (see channelsDoc); getenv resolves the
// *_env fields. Every problem comes back as file:line: field: reason.
func LoadChannels(file string, data []byte, getenv func(string) string) ([]Channel, error) {
	var doc channelsDoc
	d, err := definition.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Channel
	for i, c := range doc.Channels {
		at := fmt.Sprintf("channels[%d]", i)
		ch := Channel{Name: c.Name, Type: c.Type, Headers: c.Headers, From: c.From, To: c.To, Username: c.Username}
		ch.URL = fromEnv(d, at, "url", c.URL, c.URLEnv, getenv)
		ch.Secret = fromEnv(d, at, "secret", c.Secret, c.SecretEnv, getenv)
		d.Require(c.Name == "" || !seen[c.Name], at+".name", fmt.Sprintf("%q is defined twice", c.Name))
		seen[c.Name] = true
		ch.check(func(field, reason string) {
			if (field == "url" && c.URLEnv != "" && ch.URL == "") || (field == "secret" && c.SecretEnv != "" && ch.Secret == "") {
				return // already reported: the environment variable is not set
			}
			d.Add(at+"."+field, "%s", reason)
		})
		out = append(out, ch)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// fromEnv returns the value written in the file or, when envName is given,
// the environment variable's value.
func fromEnv(d *definition.Doc, at, field, value, envName string, getenv func(string) string) string {
	if envName == "" {
		return value
	}
	if value != "" {
		d.Add(at+"."+field+"_env", "give %s or %s_env, not both", field, field)
		return value
	}
	v := getenv(envName)
	d.Require(v != "", at+"."+field+"_env", fmt.Sprintf("the environment variable %s is not set", envName))
	return v
}

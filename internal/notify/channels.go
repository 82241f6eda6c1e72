package notify

import (
	"fmt"
	"net/url"

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
		ch := Channel{Name: c.Name, Type: c.Type, URL: c.URL, Secret: c.Secret, Headers: c.Headers}
		d.Require(c.Name != "", at+".name", "a channel needs a name")
		d.Require(!seen[c.Name], at+".name", fmt.Sprintf("%q is defined twice", c.Name))
		seen[c.Name] = true
		d.Require(c.Type == Slack || c.Type == Webhook, at+".type", fmt.Sprintf("%q is not slack or webhook", c.Type))
		ch.URL = fromEnv(d, at, "url", c.URL, c.URLEnv, getenv)
		ch.Secret = fromEnv(d, at, "secret", c.Secret, c.SecretEnv, getenv)
		if ch.URL != "" {
			u, err := url.Parse(ch.URL)
			d.Require(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", at+".url", "must be an http or https URL")
		} else if c.URLEnv == "" {
			d.Add(at+".url", "a channel needs a url (or url_env)")
		}
		if c.Type == Webhook {
			d.Require(ch.Secret != "", at+".secret", "a webhook needs a secret (or secret_env): receivers verify the signature with it")
		}
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

// Package notify is Quarterdeck's one notification delivery: Slack incoming
// webhooks, signed generic webhooks and SMTP mail, each message a durable job of the
// queue in internal/jobs (deduplicated per channel, event and dedupe key,
// retried with backoff, never lost on restart), each attempt a row of the
// delivery log. Lead routing, SLAs and automation send through it.
package notify

import (
	"maps"
	"slices"

	"context"
	"encoding/json"
	"fmt"
	"golang.org/x/net/http/httpguts"
	"net/mail"
	"net/url"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Kind is the job kind of a delivery.
const Kind = "notify.deliver"

// The channel types.
const (
	Slack   = "slack"   // a Slack incoming webhook
	Webhook = "webhook" // a generic JSON webhook signed with HMAC-SHA256
	Email   = "email"   // mail through an SMTP server
)

// Channel is where messages go, configured once and named in messages.
// Deliveries look their channel up when they run, so a changed URL or
// secret applies to the deliveries still queued; secrets never enter the
// queue or the log.
type Channel struct {
	Name string `json:"name" yaml:"name"`
	Type string `json:"type" yaml:"type"` // slack, webhook or email
	// URL is the webhook's, or the mail server's: smtp://host:587
	// (STARTTLS when the server offers it) or smtps://host:465 (TLS).
	URL string `json:"url" yaml:"url"`
	// Secret signs webhook bodies (required for webhooks); for email, the
	// SMTP password of Username.
	Secret string `json:"secret,omitempty" yaml:"secret"`
	// Headers are added to every webhook request (an API key of the receiver).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers"`
	// Email only: the sender, the recipients and the SMTP login.
	From     string   `json:"from,omitempty" yaml:"from"`
	To       []string `json:"to,omitempty" yaml:"to"`
	Username string   `json:"username,omitempty" yaml:"username"`
}

// Validate checks the channel can be delivered to.
func (c Channel) Validate() error {
	p := crm.NewProblems("notification channel")
	c.check(func(field, reason string) { p.Add(field, "%s", reason) })
	return p.Err()
}

// check reports each problem of the channel to add.
func (c Channel) check(add func(field, reason string)) {
	if c.Name == "" {
		add("name", "a channel needs a name")
	}
	u, err := url.Parse(c.URL)
	if c.URL == "" {
		add("url", "a channel needs a url")
		u = &url.URL{}
	} else if err != nil || u.Host == "" {
		add("url", "is not a URL with a host")
		u = &url.URL{}
	}
	switch c.Type {
	case Slack, Webhook:
		if c.URL != "" && u.Host != "" && u.Scheme != "https" && u.Scheme != "http" {
			add("url", "must be an http or https URL")
		}
		if c.Type == Webhook && c.Secret == "" {
			add("secret", "a webhook needs a secret: receivers verify the signature with it")
		}
		// A header net/http refuses to send would fail every delivery.
		for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
			if !httpguts.ValidHeaderFieldName(k) {
				add("headers", fmt.Sprintf("%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~, no spaces)", k))
			} else if !httpguts.ValidHeaderFieldValue(c.Headers[k]) {
				add("headers."+k, "holds a line break or a control character")
			}
		}
	case Email:
		if c.URL != "" && u.Host != "" && u.Scheme != "smtp" && u.Scheme != "smtps" {
			add("url", "must be smtp://host:port or smtps://host:port")
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			add("from", "needs the sender's address")
		}
		if len(c.To) == 0 {
			add("to", "needs at least one recipient")
		}
		for i, to := range c.To {
			if _, err := mail.ParseAddress(to); err != nil {
				add(fmt.Sprintf("to[%d]", i), fmt.Sprintf("%q is not an e-mail address", to))
			}
		}
		if c.Username != "" && c.Secret == "" {
			add("secret", "a username needs its password in secret")
		}
	default:
		add("type", fmt.Sprintf("%q is not slack, webhook or email", c.Type))
	}
}

// Field is one labelled value of a message (Slack shows them in two columns).
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Message is one notification.
type Message struct {
	Channel string `json:"channel"` // a configured channel's name
	// Event names what happened, e.g. "lead.hot" or "lead.sla_breach".
	Event string `json:"event"`
	// DedupeKey identifies the occurrence, e.g. "lead:42:grade:A": sending
	// the same channel, event and key again is one delivery.
	DedupeKey string    `json:"dedupe_key"`
	Title     string    `json:"title,omitempty"`
	Text      string    `json:"text"`
	Fields    []Field   `json:"fields,omitempty"`
	Link      string    `json:"link,omitempty"` // the record's page
	Data      any       `json:"data,omitempty"` // webhooks only: the event's record as JSON
	At        time.Time `json:"at"`             // when it happened; zero is now
}

func (m Message) validate() error {
	p := crm.NewProblems("notification")
	if m.Channel == "" {
		p.Add("channel", "is required")
	}
	if m.Event == "" {
		p.Add("event", "is required")
	}
	if m.DedupeKey == "" {
		p.Add("dedupe_key", "is required: it keeps one event from being sent twice")
	}
	if m.Text == "" && m.Title == "" {
		p.Add("text", "a message needs a title or a text")
	}
	return p.Err()
}

func (m Message) job() (jobs.Job, error) {
	if err := m.validate(); err != nil {
		return jobs.Job{}, err
	}
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return jobs.Job{}, crm.Invalid("notification", "data", err.Error())
	}
	return jobs.Job{Kind: Kind, Key: "notify:" + m.Channel + ":" + m.Event + ":" + m.DedupeKey, Payload: string(b)}, nil
}

// Send queues the delivery of m and returns its job id; created is false
// when the same channel, event and dedupe key were sent before.
func Send(ctx context.Context, s *store.Store, m Message) (id int64, created bool, err error) {
	j, err := m.job()
	if err != nil {
		return 0, false, err
	}
	return jobs.Enqueue(ctx, s, j)
}

// SendIn queues the delivery inside the caller's transaction, so that the
// notification exists exactly when the change it announces commits.
func SendIn(ctx context.Context, b *store.Bulk, m Message) (id int64, created bool, err error) {
	j, err := m.job()
	if err != nil {
		return 0, false, err
	}
	return jobs.EnqueueIn(ctx, b, j)
}

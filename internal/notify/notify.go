// Package notify is Quarterdeck's one notification delivery: Slack incoming
// webhooks and signed generic webhooks, each message a durable job of the
// queue in internal/jobs (deduplicated per channel, event and dedupe key,
// retried with backoff, never lost on restart), each attempt a row of the
// delivery log. Lead routing, SLAs and automation send through it.
package notify

import (
	"context"
	"encoding/json"
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
)

// Channel is where messages go, configured once and named in messages.
// Deliveries look their channel up when they run, so a changed URL or
// secret applies to the deliveries still queued; secrets never enter the
// queue or the log.
type Channel struct {
	Name string `json:"name" yaml:"name"`
	Type string `json:"type" yaml:"type"` // slack or webhook
	URL  string `json:"url" yaml:"url"`
	// Secret signs webhook bodies (required for webhooks).
	Secret string `json:"secret,omitempty" yaml:"secret"`
	// Headers are added to every request (an API key of the receiver).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers"`
}

// Validate checks the channel can be delivered to.
func (c Channel) Validate() error {
	p := crm.NewProblems("notification channel")
	if c.Name == "" {
		p.Add("name", "is required")
	}
	switch c.Type {
	case Slack:
	case Webhook:
		if c.Secret == "" {
			p.Add("secret", "is required for a webhook: receivers verify the signature with it")
		}
	default:
		p.Add("type", "%q is not slack or webhook", c.Type)
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.Add("url", "must be an http or https URL")
	}
	return p.Err()
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

package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The outcomes of a delivery attempt in the log.
const (
	Delivered   = "delivered"   // the receiver answered 2xx
	Retry       = "retry"       // 5xx, 429, a timeout or a network error (SMTP: 4xx): tried again later
	Refused     = "failed"      // another 4xx (SMTP: 5xx), or no such channel: not tried again
	GaveUp      = "dead"        // the last allowed attempt failed
	Interrupted = "interrupted" // the server stopped during the attempt: tried again, not counted
)

// The webhook headers.
const (
	SignatureHeader = "X-Quarterdeck-Signature" // sha256=<hex HMAC-SHA256 of timestamp "." body>
	TimestampHeader = "X-Quarterdeck-Timestamp" // Unix seconds when the attempt was signed
	EventHeader     = "X-Quarterdeck-Event"
	DeliveryHeader  = "X-Quarterdeck-Delivery" // the delivery's id, the same on every retry
)

// Options tune deliveries; zero values take the defaults in brackets.
type Options struct {
	Timeout time.Duration // per attempt [10s]
	Client  *http.Client  // [a client that does not follow redirects]
	Now     func() time.Time
	Log     *slog.Logger
}

type deliverer struct {
	s        *store.Store
	channels map[string]Channel
	opts     Options
}

// Deliverer sends messages to the configured channels, one logged attempt
// at a time. The queue's notify.deliver jobs use it, and so do other
// packages' jobs that call out as one of their steps (automation), so there
// is one delivery and one delivery log.
type Deliverer struct{ d *deliverer }

// NewDeliverer checks the channels and makes their deliverer.
func NewDeliverer(s *store.Store, channels []Channel, opts Options) (*Deliverer, error) {
	d := &deliverer{s: s, channels: map[string]Channel{}, opts: opts}
	for _, c := range channels {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if _, dup := d.channels[c.Name]; dup {
			return nil, fmt.Errorf("notification channel %q is defined twice", c.Name)
		}
		d.channels[c.Name] = c
	}
	if d.opts.Timeout <= 0 {
		d.opts.Timeout = 10 * time.Second
	}
	if d.opts.Client == nil {
		// A redirect is not followed: a 3xx is a refusal, and the body
		// and its signature go only where the channel says.
		d.opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if d.opts.Now == nil {
		d.opts.Now = time.Now
	}
	if d.opts.Log == nil {
		d.opts.Log = slog.Default()
	}
	return &Deliverer{d}, nil
}

// Channels names the configured channels, sorted.
func (dl *Deliverer) Channels() []string {
	names := make([]string, 0, len(dl.d.channels))
	for n := range dl.d.channels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Deliver makes attempt j.Attempts of delivering m, as delivery j.ID, and
// logs it. The error says what the queue should do: nil (delivered), one
// marked jobs.Permanent (refused: do not retry), jobs.RetryAfter or any
// other (try again later).
func (dl *Deliverer) Deliver(ctx context.Context, j *jobs.Job, m Message) error {
	if err := m.validate(); err != nil {
		return jobs.Permanent(err)
	}
	return dl.d.send(ctx, j, m)
}

// Register makes w deliver notifications to channels.
func Register(w *jobs.Worker, s *store.Store, channels []Channel, opts Options) error {
	dl, err := NewDeliverer(s, channels, opts)
	if err != nil {
		return err
	}
	RegisterDeliverer(w, dl)
	return nil
}

// RegisterDeliverer makes w deliver queued notifications with dl.
func RegisterDeliverer(w *jobs.Worker, dl *Deliverer) { w.Handle(Kind, dl.d.deliver) }

// deliver makes one attempt and logs it.
func (d *deliverer) deliver(ctx context.Context, j *jobs.Job) error {
	var m Message
	// Numbers in Data stay as written (an id above 2^53 must not become a float).
	dec := json.NewDecoder(strings.NewReader(j.Payload))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return jobs.Permanent(fmt.Errorf("delivery %d: decode the message: %w", j.ID, err))
	}
	return d.send(ctx, j, m)
}

// send makes one attempt and logs it.
func (d *deliverer) send(ctx context.Context, j *jobs.Job, m Message) error {
	start := d.opts.Now()
	status, err := d.attempt(ctx, j, m)
	outcome := Delivered
	switch {
	case err == nil:
	case ctx.Err() != nil:
		outcome = Interrupted
	case jobs.IsPermanent(err):
		outcome = Refused
	case j.Attempts >= j.MaxAttempts:
		outcome = GaveUp
	default:
		outcome = Retry
	}
	d.log(ctx, j, m, status, outcome, err, d.opts.Now().Sub(start))
	return err
}

// attempt sends m once and returns the receiver's status (0 without an answer).
func (d *deliverer) attempt(ctx context.Context, j *jobs.Job, m Message) (int, error) {
	ch, ok := d.channels[m.Channel]
	if !ok {
		return 0, jobs.Permanent(fmt.Errorf("no notification channel %q is configured", m.Channel))
	}
	if ch.Type == Email {
		actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		defer cancel()
		return d.sendMail(actx, j, ch, m)
	}
	var body []byte
	var err error
	if ch.Type == Slack {
		body, err = json.Marshal(slackBody(m))
	} else {
		body, err = json.Marshal(webhookBody(j, m))
	}
	if err != nil {
		return 0, jobs.Permanent(fmt.Errorf("encode the message: %w", err))
	}
	actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, ch.URL, bytes.NewReader(body))
	if err != nil {
		return 0, jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Quarterdeck-Notify/1")
	for k, v := range ch.Headers {
		req.Header.Set(k, v)
	}
	if ch.Type == Webhook {
		ts := strconv.FormatInt(d.opts.Now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(ch.Secret, ts, body))
		req.Header.Set(EventHeader, m.Event)
		req.Header.Set(DeliveryHeader, strconv.FormatInt(j.ID, 10))
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return 0, fmt.Errorf("no answer within %v", d.opts.Timeout)
		}
		return 0, redact(err, ch.Name)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return code, nil
	}
	err = errors.New(resp.Status)
	if text := strings.TrimSpace(string(snippet)); text != "" {
		err = fmt.Errorf("%s: %s", resp.Status, text)
	}
	switch {
	case code == http.StatusTooManyRequests:
		return code, jobs.RetryAfter(err, retryAfter(resp.Header.Get("Retry-After"), d.opts.Now()))
	case code >= 500:
		return code, err
	default:
		return code, jobs.Permanent(err)
	}
}

// redact keeps the channel's URL out of errors (a Slack webhook URL is a
// secret): the error names the channel instead.
func redact(err error, channel string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("post to channel %s: %w", channel, err)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); 0 lets
// the backoff decide.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (d *deliverer) log(ctx context.Context, j *jobs.Job, m Message, status int, outcome string, err error, took time.Duration) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	_, lerr := d.s.DB().ExecContext(context.WithoutCancel(ctx), `INSERT INTO notify_deliveries
		(job_id, attempt, channel, event, dedupe_key, status_code, outcome, error, duration_ms, at_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		j.ID, j.Attempts, m.Channel, m.Event, m.DedupeKey, status, outcome, msg, float64(took.Microseconds())/1000, d.opts.Now().UTC())
	if lerr != nil {
		// The delivery's outcome stands: a missing log row must not resend it.
		d.opts.Log.Error("log a notification delivery", "job", j.ID, "outcome", outcome, "err", lerr)
	}
	if outcome != Delivered {
		d.opts.Log.Warn("notification not delivered", "job", j.ID, "channel", m.Channel, "event", m.Event, "attempt", j.Attempts, "outcome", outcome, "err", msg)
	}
}

// Sign returns the signature header value of a webhook body:
// "sha256=" and the hex HMAC-SHA256, keyed by the channel's secret, of the
// timestamp header, a dot and the body exactly as sent.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrBadSignature is returned by Verify for a request that was not signed
// with the secret, or was signed too long ago (a replay).
var ErrBadSignature = errors.New("webhook signature does not verify")

// Verify checks a received webhook the way a receiver should: the signature
// must match the secret and the timestamp be within tolerance of now (5
// minutes when tolerance is 0), so a captured request cannot be replayed
// later. Receivers that must never act twice also remember the
// X-Quarterdeck-Delivery ids they have seen.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	ts := h.Get(TimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no valid %s header", ErrBadSignature, TimestampHeader)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed %v ago, more than %v", ErrBadSignature, age.Round(time.Second), tolerance)
	}
	if !hmac.Equal([]byte(h.Get(SignatureHeader)), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}

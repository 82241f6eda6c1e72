package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

var ctx = context.Background()

const secret = "s3cret-shared-with-the-receiver"

var quiet = slog.New(slog.DiscardHandler)

// receiver is a real local HTTP endpoint that answers with the scripted
// statuses in turn (the last one from then on) and records every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	delay    time.Duration // the first request waits this long
	empty    bool          // answer without a body
	got      []request
}

type request struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		status := r.statuses[min(n, len(r.statuses)-1)]
		r.got = append(r.got, request{req.Header.Clone(), body, status})
		delay, empty := r.delay, r.empty
		r.mu.Unlock()
		if n == 0 && delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return
			}
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		if !empty {
			io.WriteString(w, http.StatusText(status))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// worker delivers to the channels with millisecond backoff.
func worker(t *testing.T, s *store.Store, maxAttempts int, channels ...Channel) *jobs.Worker {
	t.Helper()
	w := jobs.NewWorker(s, jobs.Options{Poll: 5 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: maxAttempts, Log: quiet})
	if err := Register(w, s, channels, Options{Timeout: 200 * time.Millisecond, Log: quiet}); err != nil {
		t.Fatal(err)
	}
	return w
}

// deliver sends m and runs w until its delivery is final.
func deliver(t *testing.T, s *store.Store, w *jobs.Worker, m Message) (*jobs.Job, []Attempt) {
	t.Helper()
	id, created, err := Send(ctx, s, m)
	if err != nil || !created {
		t.Fatalf("send: %d %v %v", id, created, err)
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(c); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		j, err := jobs.Get(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != jobs.Queued && j.State != jobs.Running {
			log, err := Deliveries(ctx, s, Query{JobID: id})
			if err != nil {
				t.Fatal(err)
			}
			// Oldest first reads better in tests.
			for i, k := 0, len(log)-1; i < k; i, k = i+1, k-1 {
				log[i], log[k] = log[k], log[i]
			}
			return j, log
		}
	}
	t.Fatalf("delivery %d did not finish", id)
	return nil, nil
}

func hotLead(channel string) Message {
	return Message{Channel: channel, Event: "lead.hot", DedupeKey: "lead:42:grade:A", Title: "Hot lead: Ada Lovelace",
		Text: "Grade A, score 91", Fields: []Field{{"Company", "Analytical Engines"}, {"Owner", "Grace"}},
		Link: "http://127.0.0.1:8080/leads/42", Data: map[string]any{"lead_id": 42, "score": 91}}
}

func outcomes(log []Attempt) string {
	var parts []string
	for _, a := range log {
		parts = append(parts, strconv.Itoa(a.StatusCode)+" "+a.Outcome)
	}
	return strings.Join(parts, ", ")
}

func TestWebhookRetriedUntilTheReceiverAnswers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t, 500, 503, 200)
		w := worker(t, s, 5, Channel{Name: "crm-hooks", Type: Webhook, URL: r.URL, Secret: secret})
		j, log := deliver(t, s, w, hotLead("crm-hooks"))
		if j.State != jobs.Done || j.Attempts != 3 {
			t.Errorf("delivery %s after %d attempts, want done after 3", j.State, j.Attempts)
		}
		if got := outcomes(log); got != "500 retry, 503 retry, 200 delivered" {
			t.Errorf("delivery log: %s", got)
		}
		got := r.requests()
		delivered := 0
		for i, req := range got {
			if req.status == 200 {
				delivered++
			}
			if err := Verify(secret, req.header, req.body, time.Now(), 0); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
			if id := req.header.Get(DeliveryHeader); id != strconv.FormatInt(j.ID, 10) {
				t.Errorf("attempt %d: delivery id %q, want %d on every attempt", i+1, id, j.ID)
			}
			if ev := req.header.Get(EventHeader); ev != "lead.hot" {
				t.Errorf("attempt %d: event header %q", i+1, ev)
			}
		}
		if len(got) != 3 || delivered != 1 {
			t.Fatalf("receiver got %d requests, %d answered 200; want 3 and 1", len(got), delivered)
		}
		var body webhookPayload
		if err := json.Unmarshal(got[2].body, &body); err != nil {
			t.Fatal(err)
		}
		if body.ID != j.ID || body.Event != "lead.hot" || body.DedupeKey != "lead:42:grade:A" || body.Attempt != 3 ||
			len(body.Fields) != 2 || body.Data.(map[string]any)["lead_id"] != 42.0 {
			t.Errorf("webhook body %+v", body)
		}
	})
}

func TestClientErrorIsNotRetriedButTooManyRequestsIs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		refusing := newReceiver(t, 400)
		busy := newReceiver(t, 429, 200)
		w := worker(t, s, 5,
			Channel{Name: "refusing", Type: Webhook, URL: refusing.URL, Secret: secret},
			Channel{Name: "busy", Type: Webhook, URL: busy.URL, Secret: secret})
		j, log := deliver(t, s, w, hotLead("refusing"))
		if j.State != jobs.Failed || j.Attempts != 1 || len(refusing.requests()) != 1 {
			t.Errorf("a 400: %s after %d attempts and %d requests, want failed after 1", j.State, j.Attempts, len(refusing.requests()))
		}
		if got := outcomes(log); got != "400 failed" || !strings.Contains(log[0].Error, "400 Bad Request") {
			t.Errorf("delivery log of the 400: %s (%q)", got, log[0].Error)
		}
		j, log = deliver(t, s, w, hotLead("busy"))
		if j.State != jobs.Done || outcomes(log) != "429 retry, 200 delivered" {
			t.Errorf("a 429: %s, log %s; want retried and delivered", j.State, outcomes(log))
		}
	})
}

func TestDeadAfterMaxAttemptsAndTimeoutsRetried(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		down := newReceiver(t, 502)
		down.empty = true
		slow := newReceiver(t, 200)
		slow.delay = 2 * time.Second // longer than the 200 ms timeout
		w := worker(t, s, 3,
			Channel{Name: "down", Type: Webhook, URL: down.URL, Secret: secret},
			Channel{Name: "slow", Type: Webhook, URL: slow.URL, Secret: secret})
		j, log := deliver(t, s, w, hotLead("down"))
		if j.State != jobs.Dead || j.Attempts != 3 || len(down.requests()) != 3 {
			t.Errorf("%s after %d attempts and %d requests, want dead after 3", j.State, j.Attempts, len(down.requests()))
		}
		if got := outcomes(log); got != "502 retry, 502 retry, 502 dead" || log[0].Error != "502 Bad Gateway" {
			t.Errorf("delivery log: %s (%q)", got, log[0].Error)
		}
		j, log = deliver(t, s, w, hotLead("slow"))
		if j.State != jobs.Done || outcomes(log) != "0 retry, 200 delivered" || log[0].Error != "no answer within 200ms" {
			t.Errorf("a timeout: %s, log %s (%q); want retried and delivered", j.State, outcomes(log), log[0].Error)
		}
	})
}

func TestSlackMessage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t, 200)
		w := worker(t, s, 3, Channel{Name: "sales-alerts", Type: Slack, URL: r.URL})
		m := hotLead("sales-alerts")
		m.Text = "Grade A <!channel> & more"
		j, log := deliver(t, s, w, m)
		if j.State != jobs.Done || outcomes(log) != "200 delivered" {
			t.Fatalf("%s, log %s", j.State, outcomes(log))
		}
		req := r.requests()[0]
		if req.header.Get(SignatureHeader) != "" {
			t.Error("a Slack message is signed: Slack does not check signatures, the URL is the secret")
		}
		var body struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type   string         `json:"type"`
				Text   map[string]any `json:"text"`
				Fields []map[string]string
			} `json:"blocks"`
		}
		if err := json.Unmarshal(req.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Text != "Hot lead: Ada Lovelace: Grade A &lt;!channel&gt; &amp; more" {
			t.Errorf("text %q", body.Text)
		}
		var types []string
		for _, b := range body.Blocks {
			types = append(types, b.Type)
		}
		if strings.Join(types, " ") != "header section section context" || body.Blocks[0].Text["text"] != "Hot lead: Ada Lovelace" ||
			len(body.Blocks[2].Fields) != 2 || body.Blocks[2].Fields[0]["text"] != "*Company*\nAnalytical Engines" {
			t.Errorf("blocks %s: %+v", types, body.Blocks)
		}
	})
}

func TestSendIsDeduplicatedPerChannelAndEvent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		first, created, err := Send(ctx, s, hotLead("a"))
		if err != nil || !created {
			t.Fatal(created, err)
		}
		again, created, err := Send(ctx, s, hotLead("a"))
		if err != nil || created || again != first {
			t.Errorf("the same event again: job %d created %v, %v; want %d, false", again, created, err, first)
		}
		other, created, err := Send(ctx, s, hotLead("b"))
		if err != nil || !created || other == first {
			t.Errorf("another channel: job %d created %v, %v; want a new job", other, created, err)
		}
		m := hotLead("a")
		m.DedupeKey = ""
		if _, _, err := Send(ctx, s, m); !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), "dedupe_key") {
			t.Errorf("without a dedupe key: %v", err)
		}
	})
}

func TestUnknownChannelFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		w := worker(t, s, 3)
		j, log := deliver(t, s, w, hotLead("nowhere"))
		if j.State != jobs.Failed || outcomes(log) != "0 failed" || !strings.Contains(log[0].Error, `no notification channel "nowhere"`) {
			t.Errorf("%s, log %s %v", j.State, outcomes(log), log)
		}
	})
}

func TestSignatureVerifiesWithTheSharedSecret(t *testing.T) {
	body := []byte(`{"event":"lead.hot"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(TimestampHeader, ts)
	h.Set(SignatureHeader, Sign(secret, ts, body))
	if err := Verify(secret, h, body, now.Add(time.Minute), 0); err != nil {
		t.Errorf("a fresh, signed request: %v", err)
	}
	// The signature is the documented HMAC: receivers in any language compute the same.
	// (Python: hmac.new(b"key", b"1.{}", hashlib.sha256).hexdigest())
	if got := Sign("key", "1", []byte("{}")); got != "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224" {
		t.Errorf("signature %q", got)
	}
	for name, check := range map[string]func() error{
		"wrong secret":   func() error { return Verify("other", h, body, now, 0) },
		"changed body":   func() error { return Verify(secret, h, []byte(`{"event":"lead.cold"}`), now, 0) },
		"replayed later": func() error { return Verify(secret, h, body, now.Add(6*time.Minute), 0) },
		"no timestamp": func() error {
			h2 := h.Clone()
			h2.Del(TimestampHeader)
			return Verify(secret, h2, body, now, 0)
		},
		"timestamp changed": func() error {
			h2 := h.Clone()
			h2.Set(TimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
			return Verify(secret, h2, body, now, 0)
		},
	} {
		if err := check(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
}

func TestChannelValidation(t *testing.T) {
	for _, c := range []struct {
		ch    Channel
		field string
	}{
		{Channel{Type: Slack, URL: "https://hooks.slack.com/services/T/B/X"}, "name"},
		{Channel{Name: "x", Type: "sms", URL: "https://x"}, "type"},
		{Channel{Name: "x", Type: Email, URL: "smtp://mail.example.com", From: "q@example.com"}, "to"},
		{Channel{Name: "x", Type: Email, URL: "https://mail.example.com", From: "q@example.com", To: []string{"a@example.com"}}, "url"},
		{Channel{Name: "x", Type: Webhook, URL: "https://x"}, "secret"},
		{Channel{Name: "x", Type: Slack, URL: "ftp://x"}, "url"},
	} {
		err := c.ch.Validate()
		if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: %v, want a problem with %s", c.ch, err, c.field)
		}
	}
	if err := (Channel{Name: "x", Type: Webhook, URL: "https://example.com/hook", Secret: "k"}).Validate(); err != nil {
		t.Errorf("a good channel: %v", err)
	}
}

func TestLoadChannels(t *testing.T) {
	env := map[string]string{"SLACK_URL": "https://hooks.slack.com/services/T/B/X", "HOOK_SECRET": "k"}
	good := `channels:
  - name: sales-alerts
    type: slack
    url_env: SLACK_URL
  - name: crm-hooks
    type: webhook
    url: https://hooks.example.com/quarterdeck
    secret_env: HOOK_SECRET
    headers: {X-Api-Key: abc}
`
	chs, err := LoadChannels("channels.yaml", []byte(good), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 || chs[0].URL != env["SLACK_URL"] || chs[1].Secret != "k" || chs[1].Headers["X-Api-Key"] != "abc" {
		t.Errorf("channels %+v", chs)
	}
	for _, c := range chs {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	bad := `channels:
  - name: sales-alerts
    type: slak
    url_env: MISSING
  - name: sales-alerts
    type: webhook
    url: https://hooks.example.com/x
`
	_, err = LoadChannels("channels.yaml", []byte(bad), func(k string) string { return env[k] })
	if err != nil && strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("want 4 problems, one per line:\n%v", err)
	}
	for _, want := range []string{
		`channels.yaml:3: channels[0].type: "slak" is not slack, webhook or email`,
		`channels.yaml:4: channels[0].url_env: the environment variable MISSING is not set`,
		`channels.yaml:5: channels[1].name: "sales-alerts" is defined twice`,
		`channels.yaml:5: channels[1].secret: a webhook needs a secret`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %s", err, want)
		}
	}
	if _, err := LoadChannels("channels.yaml", []byte("channels:\n  - name: x\n    colour: red\n"), nil); err == nil || !strings.Contains(err.Error(), "channels.yaml:3") {
		t.Errorf("an unknown field: %v", err)
	}
}

func TestNetworkErrorIsRetriedWithoutTheURL(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t, 200)
		url := r.URL + "/services/T000/B000/secret-token"
		r.Close() // nobody listens any more
		w := worker(t, s, 2, Channel{Name: "sales-alerts", Type: Slack, URL: url})
		j, log := deliver(t, s, w, hotLead("sales-alerts"))
		if j.State != jobs.Dead || outcomes(log) != "0 retry, 0 dead" {
			t.Fatalf("%s, log %s", j.State, outcomes(log))
		}
		for _, a := range log {
			if strings.Contains(a.Error, "secret-token") || !strings.Contains(a.Error, "post to channel sales-alerts") {
				t.Errorf("logged error %q: want the channel's name, not its URL", a.Error)
			}
		}
	})
}

func TestWebhookDataKeepsLargeNumbers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t, 200)
		w := worker(t, s, 2, Channel{Name: "hooks", Type: Webhook, URL: r.URL, Secret: secret})
		m := hotLead("hooks")
		m.Data = map[string]any{"lead_id": int64(1)<<60 + 1}
		deliver(t, s, w, m)
		if body := string(r.requests()[0].body); !strings.Contains(body, `"data":{"lead_id":1152921504606846977}`) {
			t.Errorf("body %s", body)
		}
	})
}

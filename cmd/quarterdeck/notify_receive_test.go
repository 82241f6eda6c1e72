package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/notify"
)

// The local receiver takes a delivery signed with the channel's secret and
// prints it; it refuses a wrong signature, an old timestamp and a GET.
func TestNotifyReceiver(t *testing.T) {
	var out bytes.Buffer
	h := receiver("s3cret", &out)
	body := []byte(`{"event":"lead.routed","title":"New lead for ann@example.com: Bo (Acme)","text":"rule \"all\"","link":"/leads/7"}`)
	send := func(method, secret string, at time.Time) int {
		ts := strconv.FormatInt(at.Unix(), 10)
		req := httptest.NewRequest(method, "/", bytes.NewReader(body))
		req.Header.Set(notify.TimestampHeader, ts)
		req.Header.Set(notify.SignatureHeader, notify.Sign(secret, ts, body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	cases := []struct {
		name   string
		method string
		secret string
		at     time.Time
		want   int
	}{
		{"signed", http.MethodPost, "s3cret", time.Now(), http.StatusNoContent},
		{"another secret", http.MethodPost, "other", time.Now(), http.StatusUnauthorized},
		{"replayed an hour later", http.MethodPost, "s3cret", time.Now().Add(-time.Hour), http.StatusUnauthorized},
		{"not a POST", http.MethodGet, "s3cret", time.Now(), http.StatusBadRequest},
	}
	for _, c := range cases {
		if got := send(c.method, c.secret, c.at); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if got := strings.Count(out.String(), "lead.routed  New lead for ann@example.com"); got != 1 {
		t.Errorf("printed %d deliveries, want 1:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "refused") {
		t.Errorf("refusals are not printed:\n%s", out.String())
	}
}

package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// TestMetricsEndpoint runs /metrics and /readyz through the real server
// (NewServer's routes and middleware chain, a real DuckDB, real HTTP).
func TestMetricsEndpoint(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	o := storetest.NewOrg(t, s)
	ctx := context.Background()
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"GET /metrics", "GET /readyz"} {
		if !slices.Contains(srv.Routes(), route) {
			t.Fatalf("the server does not route %s: wire metrics into internal/web/server.go (see metrics.go)", route)
		}
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	tokens := map[string]string{}
	for name, u := range map[string]crm.User{"admin": o.Admin, "rep": o.RepA1} {
		tok, err := s.NewAPIToken(ctx, crm.System, u.ID)
		storetest.Must(t, err)
		tokens[name] = tok
	}
	get := func(path, who string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", ts.URL+path, nil)
		storetest.Must(t, err)
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[who])
		}
		resp, err := http.DefaultClient.Do(req)
		storetest.Must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	_, _, err = jobs.Enqueue(ctx, s, jobs.Job{Kind: "test.endpoint", Key: "e1", RunAt: time.Now().Add(-time.Minute)})
	storetest.Must(t, err)
	opp := "/api/opportunities/" + strconv.FormatInt(o.OppA1.ID, 10)
	for _, c := range []struct {
		path, who string
		status    int
	}{
		{opp, "admin", 200}, {opp, "admin", 200}, {opp, "", 401},
		{"/api/opportunities/999999999", "rep", 404},
		{"/no/such/page-42", "", 404},
		{"/healthz", "", 200},
		{"/metrics", "", 401},
		{"/metrics", "rep", 403},
	} {
		if code, body := get(c.path, c.who); code != c.status {
			t.Fatalf("GET %s as %q: %d, want %d: %s", c.path, c.who, code, c.status, body)
		}
	}
	code, body := get("/metrics", "admin")
	if code != 200 {
		t.Fatalf("GET /metrics as admin: %d %s", code, body)
	}
	for _, want := range []struct {
		line  string // the sample, labels in the order Prometheus writes them (sorted)
		value string // "" for any
	}{
		{`quarterdeck_http_requests_total{method="GET",route="GET /api/opportunities/{id}",status="200"}`, "2"},
		{`quarterdeck_http_requests_total{method="GET",route="GET /api/opportunities/{id}",status="401"}`, "1"},
		{`quarterdeck_http_requests_total{method="GET",route="GET /api/opportunities/{id}",status="404"}`, "1"},
		{`quarterdeck_http_requests_total{method="GET",route="GET /healthz",status="200"}`, "1"},
		{`quarterdeck_http_requests_total{method="GET",route="/",status="404"}`, "1"},
		{`quarterdeck_http_requests_total{method="GET",route="GET /metrics",status="401"}`, "1"},
		{`quarterdeck_http_requests_total{method="GET",route="GET /metrics",status="403"}`, "1"},
		{`quarterdeck_http_request_duration_seconds_count{method="GET",route="GET /api/opportunities/{id}"}`, "4"},
		{`quarterdeck_http_request_duration_seconds_bucket{method="GET",route="GET /api/opportunities/{id}",le="10"}`, "4"},
		{`quarterdeck_http_request_duration_seconds_bucket{method="GET",route="GET /api/opportunities/{id}",le="+Inf"}`, "4"},
		{`quarterdeck_jobs_queued{kind="test.endpoint"}`, "1"},
		{`quarterdeck_jobs_running{kind="test.endpoint"}`, "0"},
		{`quarterdeck_jobs_oldest_queued_seconds`, ""},
		{`quarterdeck_db_up`, "1"},
		{`quarterdeck_db_schema_version`, ""},
		{`go_goroutines`, ""},
	} {
		got, ok := promSample(body, want.line)
		if !ok {
			t.Errorf("no %s in /metrics", want.line)
		} else if want.value != "" && got != want.value {
			t.Errorf("%s = %s, want %s", want.line, got, want.value)
		}
	}
	if v, _ := promSample(body, "quarterdeck_jobs_oldest_queued_seconds"); v == "" || v == "0" {
		t.Errorf("oldest queued job: %q, want about 60", v)
	}
	if strings.Contains(body, "page-42") || strings.Contains(body, opp) {
		t.Error("a raw path is a label")
	}

	if code, body := get("/readyz", ""); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	storetest.Must(t, s.Close())
	if code, body := get("/readyz", ""); code != 503 || strings.Contains(body, `"ready"`) {
		t.Fatalf("/readyz with the database closed: %d %s", code, body)
	}
}

// promSample is the value of the line that starts with series and a space.
func promSample(text, series string) (string, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.Fields(v)[0], true
		}
	}
	return "", false
}

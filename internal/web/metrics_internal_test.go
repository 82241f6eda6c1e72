package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// TestMetricsMiddleware builds the middleware chain NewServer will have
// once metrics are wired (instrument outermost, recordRoute around the mux)
// around a mux of its own, so it runs whether or not server.go is wired.
func TestMetricsMiddleware(t *testing.T) {
	storetest.Run(t, testMetricsMiddleware)
}

func testMetricsMiddleware(t *testing.T, s *store.Store) {
	o := storetest.NewOrg(t, s)
	ctx := context.Background()
	srv, err := NewServer(Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(s)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", srv.requireAPI(srv.handleMetrics(m)))
	mux.HandleFunc("GET /readyz", srv.handleReady(m))
	mux.HandleFunc("GET /api/opportunities/{id}", srv.requireAPI(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	}))
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("/", http.NotFound)
	root := m.instrument(srv.logRequests(http.NewCrossOriginProtection().Handler(securityHeaders(srv.authenticate(srv.refuseBadText(m.recordRoute(mux)))))))
	ts := httptest.NewServer(root)
	t.Cleanup(ts.Close)

	token := func(u crm.User) string {
		tok, err := s.NewAPIToken(ctx, crm.System, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ops := crm.User{Email: "ops@example.com", Name: "Ops", Role: crm.RoleOps, Active: true}
	storetest.Must(t, s.Users.Create(ctx, crm.System, &ops))
	admin, opsTok, rep, viewer := token(o.Admin), token(ops), token(o.RepA1), token(o.Viewer)

	get := func(method, path, tok string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Work for the job gauges: two due jobs of one kind, the older 90 s
	// late, one not due yet, and a dead one of another kind.
	now := time.Now().UTC()
	for i, at := range []time.Time{now.Add(-90 * time.Second), now.Add(-10 * time.Second), now.Add(time.Hour)} {
		if _, _, err := jobs.Enqueue(ctx, s, jobs.Job{Kind: "test.metrics", Key: "m" + strconv.Itoa(i), RunAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := jobs.Enqueue(ctx, s, jobs.Job{Kind: "test.dead", Key: "dead"})
	storetest.Must(t, err)
	_, err = s.DB().ExecContext(ctx, `UPDATE jobs SET state = 'dead' WHERE id = $1`, id)
	storetest.Must(t, err)

	m.observeImport(importer.Result{RowsRead: 10, Written: 8, Rejected: 2, Committed: true,
		PerEntity: map[string]int64{"accounts": 5, "contacts": 3}}, nil)
	m.observeImport(importer.Result{RowsRead: 4, Rejected: 4}, &importer.Error{Problems: []importer.Problem{{Reason: "bad"}}})

	for range 2 {
		if code, _ := get("GET", "/api/opportunities/17", admin); code != 200 {
			t.Fatalf("admin GET: %d", code)
		}
	}
	wants := []struct {
		method, path, tok string
		status            int
	}{
		{"GET", "/api/opportunities/18", "", 401},            // refused after routing
		{"GET", "/api/opportunities/19", "not-a-token", 401}, // refused before the mux
		{"GET", "/no/such/page-123", "", 404},
		{"GET", "/boom", "", 500},
		{"GET", "/slow", "", 200},
		{"BREW", "/coffee", "", 404},
		{"GET", "/metrics", "", 401},
		{"GET", "/metrics", rep, 403},
		{"GET", "/metrics", viewer, 403},
		{"GET", "/metrics", opsTok, 200},
	}
	for _, w := range wants {
		if code, body := get(w.method, w.path, w.tok); code != w.status {
			t.Fatalf("%s %s: status %d, want %d: %s", w.method, w.path, code, w.status, body)
		}
	}
	code, body := get("GET", "/metrics", admin)
	if code != 200 {
		t.Fatalf("GET /metrics as admin: %d %s", code, body)
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
		value  float64 // -1: any value
	}{
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /api/opportunities/{id}", "method": "GET", "status": "200"}, 2},
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /api/opportunities/{id}", "method": "GET", "status": "401"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "401"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "/", "method": "GET", "status": "404"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "/", "method": "other", "status": "404"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /boom", "method": "GET", "status": "500"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /metrics", "method": "GET", "status": "401"}, 1},
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /metrics", "method": "GET", "status": "403"}, 2},
		{"quarterdeck_http_requests_total", map[string]string{"route": "GET /metrics", "method": "GET", "status": "200"}, 1},
		{"quarterdeck_http_request_duration_seconds_count", map[string]string{"route": "GET /api/opportunities/{id}", "method": "GET"}, 3},
		{"quarterdeck_http_request_duration_seconds_bucket", map[string]string{"route": "GET /slow", "method": "GET", "le": "0.025"}, 0},
		{"quarterdeck_http_request_duration_seconds_bucket", map[string]string{"route": "GET /slow", "method": "GET", "le": "10"}, 1},
		{"quarterdeck_http_requests_in_flight", nil, 1}, // this scrape
		{"quarterdeck_jobs_queued", map[string]string{"kind": "test.metrics"}, 3},
		{"quarterdeck_jobs_queued", map[string]string{"kind": "test.dead"}, 0},
		{"quarterdeck_jobs_running", map[string]string{"kind": "test.metrics"}, 0},
		{"quarterdeck_jobs_given_up", map[string]string{"kind": "test.dead", "state": "dead"}, 1},
		{"quarterdeck_jobs_given_up", map[string]string{"kind": "test.dead", "state": "failed"}, 0},
		{"quarterdeck_jobs_oldest_queued_seconds", nil, -1},
		{"quarterdeck_db_up", nil, 1},
		{"quarterdeck_db_schema_version", nil, -1},
		{"quarterdeck_imports_total", map[string]string{"outcome": "committed"}, 1},
		{"quarterdeck_imports_total", map[string]string{"outcome": "rejected"}, 1},
		{"quarterdeck_import_rows_total", map[string]string{"entity": "accounts", "outcome": "written"}, 5},
		{"quarterdeck_import_rows_total", map[string]string{"entity": "contacts", "outcome": "written"}, 3},
		{"quarterdeck_import_rows_total", map[string]string{"entity": "all", "outcome": "read"}, 14},
		{"quarterdeck_import_rows_total", map[string]string{"entity": "all", "outcome": "rejected"}, 6},
		{"go_goroutines", nil, -1},
		{"process_start_time_seconds", nil, -1},
		{"go_sql_open_connections", map[string]string{"db_name": "quarterdeck"}, -1},
	} {
		got, ok := sample(body, want.name, want.labels)
		if !ok {
			t.Errorf("no %s%v in\n%s", want.name, want.labels, grepLines(body, "quarterdeck_"))
			continue
		}
		if want.value >= 0 && got != want.value {
			t.Errorf("%s%v = %v, want %v", want.name, want.labels, got, want.value)
		}
	}
	if v, _ := sample(body, "quarterdeck_jobs_oldest_queued_seconds", nil); v < 85 || v > 300 {
		t.Errorf("oldest queued job waited %v s, want about 90", v)
	}
	if v, _ := sample(body, "quarterdeck_db_schema_version", nil); v < 1 {
		t.Errorf("schema version %v", v)
	}
	for _, raw := range []string{"page-123", "/api/opportunities/17", "BREW", "coffee"} {
		if strings.Contains(body, raw) {
			t.Errorf("a raw path or method is a label: %q", raw)
		}
	}

	// Readiness: ready; not ready when the schema is behind the server's;
	// not ready when the database is gone (and /metrics says db_up 0).
	if code, body := get("GET", "/readyz", ""); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	var top int
	var name string
	storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&top, &name))
	_, err = s.DB().ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = $1`, top)
	storetest.Must(t, err)
	if code, body := get("GET", "/readyz", ""); code != 503 || !strings.Contains(body, "schema") {
		t.Fatalf("/readyz with schema behind: %d %s", code, body)
	}
	_, err = s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, top, name)
	storetest.Must(t, err)
	if code, _ := get("GET", "/readyz", ""); code != 200 {
		t.Fatalf("/readyz after the schema is back: %d", code)
	}
	storetest.Must(t, s.Close())
	code, body = get("GET", "/readyz", "")
	if code != 503 || !strings.Contains(body, "database unavailable") {
		t.Fatalf("/readyz with the database closed: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if v, ok := sample(rec.Body.String(), "quarterdeck_db_up", nil); !ok || v != 0 {
		t.Errorf("quarterdeck_db_up with the database closed: %v %v", v, ok)
	}
	if _, ok := sample(rec.Body.String(), "quarterdeck_jobs_queued", map[string]string{"kind": "test.metrics"}); ok {
		t.Errorf("job gauges reported without a database")
	}
}

// TestMetricsTwoServers checks that each server has a registry of its own.
func TestMetricsTwoServers(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	a, b := newMetrics(s), newMetrics(s)
	h := a.instrument(a.recordRoute(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	for m, want := range map[*serverMetrics]bool{a: true, b: false} {
		rec := httptest.NewRecorder()
		m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if _, ok := sample(rec.Body.String(), "quarterdeck_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "200"}); ok != want {
			t.Errorf("registry %p has the request: %v, want %v", m, ok, want)
		}
	}
}

// sample finds the value of the sample name{labels} (exactly those labels)
// in Prometheus's text format.
func sample(text, name string, labels map[string]string) (float64, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		got := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			var ok bool
			if got, rest, ok = parseLabels(rest[1:]); !ok {
				continue
			}
		}
		if !strings.HasPrefix(rest, " ") || len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if got[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// parseLabels reads `a="x",b="y"}` and returns what follows the brace.
func parseLabels(s string) (map[string]string, string, bool) {
	out := map[string]string{}
	for {
		if strings.HasPrefix(s, "}") {
			return out, s[1:], true
		}
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return nil, "", false
		}
		key := s[:eq]
		s = s[eq+2:]
		var b strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, "", false
		}
		out[key] = b.String()
		s = strings.TrimPrefix(s[i+1:], ",")
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

package web

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// serverMetrics is what /metrics exposes, in a registry of its own (not
// Prometheus's global one), so that two servers in one process, as in the
// tests, do not clash. See docs/operations.md for every metric.
//
// It is not called "metrics": that is the name of the KPI package
// (internal/metrics) that several files of this package import.
type serverMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // route, method, status
	duration *prometheus.HistogramVec // route, method
	inFlight prometheus.Gauge
	imports  *prometheus.CounterVec // outcome
	rows     *prometheus.CounterVec // entity, outcome

	// wantSchema is the schema version the database had when the server
	// started (store.Open had just applied every migration), 0 until read:
	// /readyz refuses a database that has gone back behind it.
	wantSchema atomic.Int64
}

// Labels that stand for no route pattern: the request was answered before
// the mux saw it (a bad token, bad text, a cross-site write), or the mux
// matched no pattern (a method not allowed). Raw paths are never labels.
const unmatchedRoute = "unmatched"

// durationBuckets span 1 ms to 10 s: a cached dashboard to a large export.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// scrapeTimeout bounds the database queries of one scrape, and the
// readiness check.
const scrapeTimeout = 2 * time.Second

// newMetrics registers every collector: HTTP, the job queue and the
// database (read at scrape time), imports, and Go's runtime and the process.
func newMetrics(s *store.Store) *serverMetrics {
	m := &serverMetrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quarterdeck_http_requests_total",
		Help: "HTTP requests answered, by route pattern (\"unmatched\" when none), method and status.",
	}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "quarterdeck_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and method.",
		Buckets: durationBuckets,
	}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "quarterdeck_http_requests_in_flight",
		Help: "HTTP requests being answered.",
	})
	m.imports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quarterdeck_imports_total",
		Help: "Imports run by this server, by outcome: committed, not_stored (dry run), rejected (problems, rolled back), failed.",
	}, []string{"outcome"})
	m.rows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quarterdeck_import_rows_total",
		Help: "Rows of imports run by this server: outcome written per entity (table); read, rejected and skipped with entity \"all\".",
	}, []string{"entity", "outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.imports, m.rows,
		&dbCollector{s: s, m: m, kinds: map[string]bool{}},
		collectors.NewDBStatsCollector(s.DB(), "quarterdeck"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if v, err := s.SchemaVersion(ctx); err == nil {
		m.wantSchema.Store(int64(v))
	}
	return m
}

// handler serves the registry in Prometheus's text format (or OpenMetrics
// when the scraper asks for it). A collector that fails does not fail the
// scrape: the database's, for one, reports quarterdeck_db_up 0 instead.
func (m *serverMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
		EnableOpenMetrics:   true,
	})
}

// handleMetrics is GET /metrics, to be put behind requireAPI: admins and
// ops only, usually with an API token in the scraper's authorization
// setting (docs/operations.md).
func (srv *Server) handleMetrics(m *serverMetrics) http.HandlerFunc {
	h := m.handler()
	return func(w http.ResponseWriter, r *http.Request) {
		if a := authOf(r); a == nil || (a.user.Role != crm.RoleAdmin && a.user.Role != crm.RoleOps) {
			srv.writeError(w, r, crm.ErrForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	}
}

// handleReady is GET /readyz, for a load balancer or an orchestrator: 200
// when the database answers within scrapeTimeout and its schema is at
// least the one the server started with (store.Open had just applied every
// migration), else 503. It needs no login and says no more than ready or
// why not; the error itself goes to the log.
func (srv *Server) handleReady(m *serverMetrics) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout)
		defer cancel()
		w.Header().Set("Cache-Control", "no-store")
		v, err := srv.store.SchemaVersion(ctx)
		if err != nil {
			srv.log.Warn("not ready: database", "err", err, "request_id", requestID(r))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "database unavailable"})
			return
		}
		want := m.wantSchema.Load()
		if want == 0 && v > 0 { // unread when the server started
			m.wantSchema.CompareAndSwap(0, int64(v))
			want = m.wantSchema.Load()
		}
		if v == 0 || int64(v) < want {
			srv.log.Warn("not ready: schema", "version", v, "want", want, "request_id", requestID(r))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "database schema not migrated"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// routeKey is the context key of a request's *routeHolder (its own type,
// so it cannot collide with the ctxKey values of middleware.go).
type routeKey struct{}

// routeHolder carries the mux's pattern out to instrument, which wraps
// handlers (authenticate) that hand the mux a copy of the request: like
// the access log's caller, it is shared by pointer through the context.
type routeHolder struct{ pattern string }

// instrument counts and times every request. It goes at the outside of the
// middleware chain, so that it sees every answer, those of the middleware
// too; recordRoute must sit directly around the mux to give it the route.
func (m *serverMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := &routeHolder{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, route))
		rec := &metricsRecorder{ResponseWriter: w}
		m.inFlight.Inc()
		defer func() {
			m.inFlight.Dec()
			status := rec.statusCode()
			v := recover()
			if v != nil && !rec.wrote {
				status = http.StatusInternalServerError // what logRequests answers
			}
			label := route.pattern
			if label == "" {
				label = unmatchedRoute
			}
			method := methodLabel(r.Method)
			m.requests.WithLabelValues(label, method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(label, method).Observe(time.Since(start).Seconds())
			if v != nil {
				panic(v) // to the handler that recovers (logRequests, or net/http)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// recordRoute hands the pattern the mux matched (r.Pattern, which the mux
// sets on the request it receives) to instrument. Put it directly around
// the mux: a middleware between them that copied the request would hide
// the pattern.
func (m *serverMetrics) recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			// The mux gives a CONNECT it redirects the raw path as its
			// pattern; no route of ours answers CONNECT.
			if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok && r.Method != http.MethodConnect {
				h.pattern = r.Pattern
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// methodLabel keeps the method label bounded: a client can send any token
// as its method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// metricsRecorder remembers the status of the answer.
type metricsRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *metricsRecorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 { // 1xx are interim answers
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *metricsRecorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *metricsRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *metricsRecorder) statusCode() int {
	if !w.wrote {
		return http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	return w.status
}

// observeImport counts an import run by this server (importer.Import*'s
// result and error). Imports run by the CLI happen in another process and
// are not counted.
func (m *serverMetrics) observeImport(res importer.Result, err error) {
	var problems *importer.Error
	outcome := "committed"
	switch {
	case errors.As(err, &problems):
		outcome = "rejected"
	case err != nil:
		outcome = "failed"
	case !res.Committed:
		outcome = "not_stored"
	}
	m.imports.WithLabelValues(outcome).Inc()
	m.rows.WithLabelValues("all", "read").Add(float64(res.RowsRead))
	m.rows.WithLabelValues("all", "rejected").Add(float64(res.Rejected))
	m.rows.WithLabelValues("all", "skipped").Add(float64(res.Skipped))
	if res.Committed && err == nil {
		for entity, n := range res.PerEntity {
			m.rows.WithLabelValues(entity, "written").Add(float64(n))
		}
	}
}

// dbCollector reads the database at scrape time: whether it answers, its
// schema version and the job queue's backlog.
type dbCollector struct {
	s *store.Store
	m *serverMetrics

	mu    sync.Mutex
	kinds map[string]bool // every job kind seen unfinished since start
}

var (
	dbUpDesc = prometheus.NewDesc("quarterdeck_db_up",
		"1 when the database answered this scrape's queries, else 0 (and the job metrics are missing).", nil, nil)
	schemaDesc = prometheus.NewDesc("quarterdeck_db_schema_version",
		"The newest migration applied to the database.", nil, nil)
	jobsQueuedDesc = prometheus.NewDesc("quarterdeck_jobs_queued",
		"Jobs waiting to run, by kind: due, or waiting for their run time (retries too).", []string{"kind"}, nil)
	jobsRunningDesc = prometheus.NewDesc("quarterdeck_jobs_running",
		"Jobs claimed by a worker, by kind (those whose worker died too, until their lease ends).", []string{"kind"}, nil)
	jobsGivenUpDesc = prometheus.NewDesc("quarterdeck_jobs_given_up",
		"Jobs given up, by kind and state: failed (a permanent error) or dead (every attempt failed).", []string{"kind", "state"}, nil)
	jobsOldestDesc = prometheus.NewDesc("quarterdeck_jobs_oldest_queued_seconds",
		"How long the oldest due queued job has waited past its run time; 0 when none is due.", nil, nil)
	scrapeDesc = prometheus.NewDesc("quarterdeck_db_scrape_duration_seconds",
		"Time the database queries of this scrape took.", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbUpDesc, schemaDesc, jobsQueuedDesc, jobsRunningDesc, jobsGivenUpDesc, jobsOldestDesc, scrapeDesc} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	defer func() { gauge(scrapeDesc, time.Since(start).Seconds()) }()
	v, err := c.s.SchemaVersion(ctx)
	if err != nil {
		gauge(dbUpDesc, 0)
		return
	}
	b, err := jobs.ReadBacklog(ctx, c.s, time.Now())
	if err != nil {
		gauge(dbUpDesc, 0)
		return
	}
	gauge(dbUpDesc, 1)
	gauge(schemaDesc, float64(v))
	// Every kind seen since the server started reports every gauge, so that
	// a queue that empties goes to 0 instead of vanishing.
	c.mu.Lock()
	for kind := range b.Counts {
		c.kinds[kind] = true
	}
	kinds := slices.Sorted(maps.Keys(c.kinds))
	c.mu.Unlock()
	for _, kind := range kinds {
		states := b.Counts[kind] // nil reads as 0
		gauge(jobsQueuedDesc, float64(states[jobs.Queued]), kind)
		gauge(jobsRunningDesc, float64(states[jobs.Running]), kind)
		gauge(jobsGivenUpDesc, float64(states[jobs.Failed]), kind, jobs.Failed)
		gauge(jobsGivenUpDesc, float64(states[jobs.Dead]), kind, jobs.Dead)
	}
	gauge(jobsOldestDesc, b.OldestDue.Seconds())
}

// Package web is the HTTP layer: the JSON API under /api/ and the HTML pages,
// both thin over the store and the domain packages.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/intake"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Config is the web server's part of the configuration.
type Config struct {
	Addr string // listen address, e.g. 127.0.0.1:8080
	// SecureCookies: "auto" marks cookies Secure unless the request came over
	// plain HTTP to a loopback address; "always" or "never" force it.
	SecureCookies string
	SessionTTL    time.Duration
	// ClientIPHeader names the header a trusted proxy puts the client's
	// address in (X-Forwarded-For: its last entry); empty: the peer address.
	// Login throttling counts failures per address.
	ClientIPHeader string
	// Channels are the configured notification channels' names: workflows
	// naming another are refused (nil: not checked).
	Channels []string
	// Getenv reads the environment (webhook triggers' secrets); nil reads
	// none, and webhook triggers refuse every request.
	Getenv func(string) string
}

// Server serves the UI and the API.
type Server struct {
	cfg   Config
	store *store.Store
	log   *slog.Logger
	mux   *routeMux
	pages *pages
	cache reportCache // computed dashboards, see cache.go
	// intake writes new leads from concurrent requests in shared transactions.
	intake *intake.Desk
	root   http.Handler // mux wrapped in the middleware chain
	// metrics is what /metrics serves (see metrics.go).
	metrics *serverMetrics
}

// NewServer builds the routes.
func NewServer(cfg Config, s *store.Store, log *slog.Logger) (*Server, error) {
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SecureCookies == "" {
		cfg.SecureCookies = "auto"
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	srv := &Server{cfg: cfg, store: s, log: log, mux: &routeMux{ServeMux: http.NewServeMux()}, pages: pg, intake: intake.New(s), metrics: newMetrics(s)}
	srv.routes()
	// Outermost first: log, refuse cross-site writes, set headers, authenticate.
	// instrument is outermost so that it counts what the middleware answers
	// itself; recordRoute sits on the mux, where the route pattern is known.
	srv.root = srv.metrics.instrument(srv.logRequests(http.NewCrossOriginProtection().Handler(securityHeaders(
		srv.authenticate(srv.refuseBadText(srv.metrics.recordRoute(srv.mux)))))))
	return srv, nil
}

func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.root.ServeHTTP(w, r) }

// ListenAndServe listens on the configured address and serves (see Serve).
func (srv *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", srv.cfg.Addr)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish (up to 10 seconds).
func (srv *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// routeMux is a ServeMux that remembers its patterns, so that tests can walk
// every route.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Routes lists the patterns the server answers, in the order registered.
func (srv *Server) Routes() []string { return slices.Clone(srv.mux.patterns) }

// routes lists every URL the server answers.
func (srv *Server) routes() {
	m := srv.mux
	m.HandleFunc("GET /healthz", srv.handleHealth)
	m.HandleFunc("GET /readyz", srv.handleReady(srv.metrics))
	m.HandleFunc("GET /metrics", srv.requireAPI(srv.handleMetrics(srv.metrics)))
	m.HandleFunc("GET /static/", srv.handleStatic)

	m.HandleFunc("GET /login", srv.handleLoginForm)
	m.HandleFunc("POST /login", srv.handleLogin)
	m.HandleFunc("POST /logout", srv.requirePage(srv.handleLogout))
	m.HandleFunc("GET /{$}", srv.requirePage(srv.handleHome))
	m.HandleFunc("GET /account", srv.requirePage(srv.handleAccountPage))
	m.HandleFunc("POST /account", srv.requirePage(srv.handleAccountPost))
	m.HandleFunc("GET /dashboard", srv.requirePage(srv.handleDashboard))
	m.HandleFunc("GET /performers", srv.requirePage(srv.handlePerformers))
	m.HandleFunc("GET /quality", srv.requirePage(srv.handleQuality))
	m.HandleFunc("GET /audit", srv.requirePage(srv.handleAuditPage))
	m.HandleFunc("/", srv.handleNotFound)
	m.HandleFunc("GET /forecast", srv.requirePage(srv.handleForecast))
	m.HandleFunc("POST /forecast", srv.requirePage(srv.handleSubmitForecastPage))
	m.HandleFunc("GET /forecast/accuracy", srv.requirePage(srv.handleForecastAccuracy))
	m.HandleFunc("GET /forecast/deals", srv.requirePage(srv.handleForecastDealsPage))

	m.HandleFunc("GET /api/me", srv.requireAPI(srv.handleMe))
	m.HandleFunc("POST /api/me/tokens", srv.requireAPI(srv.handleNewToken))
	m.HandleFunc("GET /api/me/tokens", srv.requireAPI(srv.handleTokens))
	m.HandleFunc("DELETE /api/me/tokens/{token}", srv.requireAPI(srv.handleRevokeToken))
	m.HandleFunc("POST /api/me/sessions/end", srv.requireAPI(srv.handleEndSessions))
	m.HandleFunc("POST /api/users/{id}/tokens", srv.requireAPI(srv.handleNewToken))
	m.HandleFunc("GET /api/users/{id}/tokens", srv.requireAPI(srv.handleTokens))
	m.HandleFunc("DELETE /api/users/{id}/tokens/{token}", srv.requireAPI(srv.handleRevokeToken))
	m.HandleFunc("POST /api/users/{id}/sessions/end", srv.requireAPI(srv.handleEndSessions))
	m.HandleFunc("GET /api/home", srv.requireAPI(srv.handleHomeAPI))
	m.HandleFunc("GET /api/dashboard", srv.requireAPI(srv.handleDashboardAPI))
	m.HandleFunc("GET /api/kpi", srv.requireAPI(srv.handleKPIAPI))
	m.HandleFunc("GET /api/performers", srv.requireAPI(srv.handlePerformersAPI))
	m.HandleFunc("GET /api/quality", srv.requireAPI(srv.handleQualityAPI))
	m.HandleFunc("GET /api/forecast", srv.requireAPI(srv.handleForecastAPI))
	m.HandleFunc("GET /api/forecast/deals", srv.requireAPI(srv.handleForecastDealsAPI))
	m.HandleFunc("GET /api/forecast/model", srv.requireAPI(srv.handleForecastModelAPI))
	m.HandleFunc("GET /api/forecast/backtest", srv.requireAPI(srv.handleForecastBacktestAPI))
	m.HandleFunc("GET /api/forecast/submissions", srv.requireAPI(srv.handleForecastSubmissionsAPI))
	m.HandleFunc("POST /api/forecast/submissions", srv.requireAPI(srv.handleSubmitForecastAPI))
	m.HandleFunc("GET /api/forecast/snapshots", srv.requireAPI(srv.handleForecastSnapshotsAPI))
	registerRecords(srv, "teams", srv.store.Teams)
	srv.records("users", listHandler(srv, srv.store.Users), srv.handleCreateUser, getHandler(srv, srv.store.Users), updateHandler(srv, srv.store.Users), deleteHandler(srv, srv.store.Users))
	registerRecords(srv, "accounts", srv.store.Accounts)
	registerRecords(srv, "contacts", srv.store.Contacts)
	rescore := func(r *http.Request, l *crm.Lead) { srv.rescoreLead(r, l.ID) }
	srv.records("leads", listHandler(srv, srv.store.Leads), srv.handleCreateLead,
		getHandler(srv, srv.store.Leads), updateHandler(srv, srv.store.Leads, rescore), deleteHandler(srv, srv.store.Leads))
	registerRecords(srv, "products", srv.store.Products)
	registerRecords(srv, "opportunities", srv.store.Opportunities)
	registerRecords(srv, "activities", srv.store.Activities)
	registerRecords(srv, "quotas", srv.store.Quotas)
	registerRecords(srv, "costs", srv.store.Costs)
	srv.childRoutes()
	srv.leadRoutes()
	srv.routingRoutes()
	srv.notificationRoutes()
	srv.automationRoutes()
	m.HandleFunc("GET /api/stages", srv.requireAPI(srv.handleStages))
	m.HandleFunc("PUT /api/stages/{name}", srv.requireAPI(srv.handlePutStage))
	m.HandleFunc("GET /api/currencies", srv.requireAPI(srv.handleCurrencies))
	m.HandleFunc("PUT /api/currencies/{code}", srv.requireAPI(srv.handlePutCurrency))
	m.HandleFunc("GET /api/exchange-rates", srv.requireAPI(srv.handleRates))
	m.HandleFunc("POST /api/exchange-rates", srv.requireAPI(srv.handlePutRate))
	m.HandleFunc("GET /api/settings", srv.requireAPI(srv.handleSettings))
	m.HandleFunc("PUT /api/settings", srv.requireAPI(srv.handlePutSettings))
	m.HandleFunc("GET /api/audit", srv.requireAPI(srv.handleAudit))
	m.HandleFunc("/api/", srv.requireAPI(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such API endpoint: " + r.Method + " " + r.URL.Path})
	}))
}

func (srv *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if err := srv.store.Ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "engine": srv.store.Engine()})
}

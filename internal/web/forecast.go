package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/shopspring/decimal"
)

// The forecast pages and their JSON twins (GET /api/forecast...) share the
// calls of the forecast package, as the CLI (quarterdeck forecast) does. The
// roles are applied there: forecast.Load reads the deals the principal may
// see, and Book.Report adds only the calls the principal may see. The one
// rule kept here: a viewer gets no deal list (their book is the whole
// organisation's, for aggregates).

// forecastBook is a principal's view of the organisation's book with the
// win-probability model. Loading the book and training the model are the
// slow part of every forecast view: both are done once per store version
// (see cache.go) and shared; each principal gets the book scoped to what
// they may see (forecast.Book.ScopedTo), which learns from the whole
// organisation but shows only their deals.
type forecastBook struct {
	book  *forecast.Book
	model *forecast.WinModel
}

func (srv *Server) forecastBook(r *http.Request) (*forecastBook, error) {
	p := authOf(r).principal()
	version := srv.store.Version()
	key := fmt.Sprintf("forecast-book|%d|%s", p.UserID, p.Role)
	if v, ok := srv.cache.get(key, version); ok {
		return v.(*forecastBook), nil
	}
	// The book keeps its models and track records: held for longer than
	// reports, since reloading it recomputes them all.
	org, err := srv.cache.remember("forecast-org", version, bookTTL, func() (any, error) {
		ctx, cancel := detached(r)
		defer cancel()
		b, err := forecast.LoadAll(ctx, srv.store, time.Now(), forecast.LoadOptions{Activities: true})
		if err != nil {
			return nil, err
		}
		return &forecastBook{book: b, model: b.TrainWinModel(b.Today)}, nil
	})
	if err != nil {
		return nil, err
	}
	b, err := org.(*forecastBook).book.ScopedTo(r.Context(), srv.store, p)
	if err != nil {
		return nil, err
	}
	fb := &forecastBook{book: b, model: org.(*forecastBook).model}
	srv.cache.put(key, version, fb)
	return fb, nil
}

// cached runs compute once per principal (whose scope it is computed in),
// store version and key (the report and its filter); see reportCache.
//
// compute gets a context that outlives the request: other requests may be
// waiting for what it computes when the first one's client goes away.
func cached[T any](srv *Server, r *http.Request, key string, compute func(ctx context.Context) (T, error)) (T, error) {
	v, err := srv.cache.remember(cacheKey(r, key), srv.store.Version(), cacheTTL, func() (any, error) {
		ctx, cancel := detached(r)
		defer cancel()
		return compute(ctx)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// detached is the request's context without its cancellation, bounded.
func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
}

func cacheKey(r *http.Request, key string) string {
	p := authOf(r).principal()
	return fmt.Sprintf("%d|%s|%s", p.UserID, p.Role, key)
}

// onlyParams refuses query parameters other than known.
func onlyParams(r *http.Request, known ...string) *crm.Problems {
	probs := crm.NewProblems("query")
	for k, vs := range r.URL.Query() {
		if !slices.Contains(known, k) && !tableParam(k) {
			probs.Add(k, "unknown parameter (known: %v)", known)
		} else if len(vs) != 1 {
			probs.Add(k, "give it once")
		}
	}
	return probs
}

// forecastQuery reads ?period=&team_id=&by= (period and by are checked by Report).
func forecastQuery(r *http.Request) (forecast.Query, error) {
	probs := onlyParams(r, "period", "team_id", "by")
	q := r.URL.Query()
	fq := forecast.Query{Period: q.Get("period"), By: q.Get("by"), WinProb: true, NoWait: true}
	if v := q.Get("team_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			probs.Add("team_id", "%q is not a team id", v)
		}
		fq.TeamID = n
	}
	if fq.By != "" && fq.By != "team" && fq.By != "rep" {
		probs.Add("by", "%q is not team or rep", fq.By)
	}
	return fq, probs.Err()
}

// forecastReport is the report of GET /api/forecast and /forecast.
func (srv *Server) forecastReport(r *http.Request, fq forecast.Query) (*forecast.Report, *forecastBook, error) {
	fb, err := srv.forecastBook(r)
	if err != nil {
		return nil, nil, err
	}
	key := fmt.Sprintf("report|%+v", fq)
	rep, err := cached(srv, r, key, func(ctx context.Context) (*forecast.Report, error) {
		return fb.book.Report(ctx, srv.store, authOf(r).principal(), fq, fb.model)
	})
	if err == nil && rep.TrackRecordPending {
		srv.cache.drop(cacheKey(r, key)) // ask again next time: the track record will be there
	}
	return rep, fb, err
}

func (srv *Server) handleForecastAPI(w http.ResponseWriter, r *http.Request) {
	fq, err := forecastQuery(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	rep, _, err := srv.forecastReport(r, fq)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// forecastDeals is GET /api/forecast/deals and /forecast/deals: the open
// deals the principal may see with their win probabilities. Viewers are
// refused: their book holds every deal of the organisation.
type forecastDeals struct {
	Model *forecast.WinModel   `json:"model"`
	Deals []forecast.DealScore `json:"deals"`
}

func (srv *Server) forecastDeals(r *http.Request) (forecastDeals, error) {
	if authOf(r).user.Role == crm.RoleViewer {
		return forecastDeals{}, crm.ErrForbidden
	}
	probs := onlyParams(r, "limit")
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			probs.Add("limit", "must be a whole number from 1 to 10000")
		}
		limit = n
	}
	if err := probs.Err(); err != nil {
		return forecastDeals{}, err
	}
	fb, err := srv.forecastBook(r)
	if err != nil {
		return forecastDeals{}, err
	}
	scores, err := cached(srv, r, "deals", func(ctx context.Context) ([]forecast.DealScore, error) {
		return fb.book.ScoreOpen(fb.model, nil, 3), nil
	})
	if err != nil {
		return forecastDeals{}, err
	}
	if len(scores) > limit {
		scores = scores[:limit]
	}
	if scores == nil {
		scores = []forecast.DealScore{}
	}
	return forecastDeals{Model: fb.model, Deals: scores}, nil
}

func (srv *Server) handleForecastDealsAPI(w http.ResponseWriter, r *http.Request) {
	d, err := srv.forecastDeals(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (srv *Server) handleForecastModelAPI(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r).Err(); err != nil {
		srv.writeError(w, r, err)
		return
	}
	fb, err := srv.forecastBook(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fb.model)
}

// backtestOptions reads ?grain=quarter&periods=4&days_in=0&by_team=1&win_probability=1&as_of=2026-01-01.
func backtestOptions(r *http.Request) (forecast.BacktestOptions, error) {
	probs := onlyParams(r, "grain", "periods", "days_in", "by_team", "win_probability", "as_of")
	q := r.URL.Query()
	o := forecast.BacktestOptions{Grain: crm.GrainQuarter, Periods: 4, WinProb: true}
	if v := q.Get("as_of"); v != "" {
		d, err := crm.ParseDate(v)
		if err != nil || d.After(time.Now()) {
			probs.Add("as_of", "%q is not a day like 2026-03-31, today or before", v)
		}
		o.AsOf = d.Time
	}
	if v := q.Get("grain"); v != "" {
		g, err := crm.ParseGrain(v)
		if err != nil {
			probs.Add("grain", "%v", err)
		}
		o.Grain = g
	}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"periods", &o.Periods, 24}, {"days_in", &o.DaysIn, 366}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > f.max || (f.name == "periods" && n == 0) {
				probs.Add(f.name, "must be a whole number up to %d", f.max)
			}
			*f.dst = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"by_team", &o.ByTeam}, {"win_probability", &o.WinProb}} {
		if v := q.Get(f.name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				probs.Add(f.name, "must be 1 or 0")
			}
			*f.dst = b
		}
	}
	return o, probs.Err()
}

func (srv *Server) forecastBacktest(r *http.Request, o forecast.BacktestOptions) (forecast.Backtest, error) {
	fb, err := srv.forecastBook(r)
	if err != nil {
		return forecast.Backtest{}, err
	}
	return cached(srv, r, fmt.Sprintf("backtest|%s|%d|%d|%t|%t|%s", o.Grain, o.Periods, o.DaysIn, o.ByTeam, o.WinProb, crm.NewDate(o.AsOf)), func(ctx context.Context) (forecast.Backtest, error) {
		if o.ByTeam {
			teams, err := forecast.TeamNames(r.Context(), srv.store)
			if err != nil {
				return forecast.Backtest{}, err
			}
			o.Teams = teams
		}
		return fb.book.RunBacktest(o), nil
	})
}

func (srv *Server) handleForecastBacktestAPI(w http.ResponseWriter, r *http.Request) {
	o, err := backtestOptions(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	bt, err := srv.forecastBacktest(r, o)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bt)
}

// forecastPeriod reads ?period= (default the current quarter) and checks it.
func (srv *Server) forecastPeriod(r *http.Request) (string, error) {
	if err := onlyParams(r, "period").Err(); err != nil {
		return "", err
	}
	cal, err := srv.store.Calendar(r.Context())
	if err != nil {
		return "", err
	}
	v := r.URL.Query().Get("period")
	if v == "" {
		return cal.PeriodOf(time.Now(), crm.GrainQuarter).String(), nil
	}
	per, err := cal.ParsePeriod(v)
	if err != nil {
		return "", crm.Invalid("query", "period", fmt.Sprintf("%q is not a fiscal period like FY2026-Q1: %v", v, err))
	}
	return per.String(), nil
}

// handleForecastSubmissionsAPI is GET /api/forecast/submissions?period=:
// every version of the calls the caller may see, oldest first.
func (srv *Server) handleForecastSubmissionsAPI(w http.ResponseWriter, r *http.Request) {
	period, err := srv.forecastPeriod(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	subs, err := srv.store.ForecastSubmissions(r.Context(), authOf(r).principal(), period, false)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if subs == nil {
		subs = []crm.ForecastSubmission{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"period": period, "items": subs})
}

// callInput is the body of POST /api/forecast/submissions: the caller's own call.
type callInput struct {
	Period   string          `json:"period"`
	Commit   decimal.Decimal `json:"commit"`
	BestCase decimal.Decimal `json:"best_case"`
	Pipeline decimal.Decimal `json:"pipeline"`
	Reason   string          `json:"reason"`
}

func (srv *Server) submitCall(r *http.Request, in callInput) (*crm.ForecastSubmission, error) {
	sub := &crm.ForecastSubmission{UserID: authOf(r).user.ID, Period: in.Period, Commit: in.Commit, BestCase: in.BestCase,
		Pipeline: in.Pipeline, Reason: in.Reason}
	if err := srv.store.SubmitForecast(r.Context(), authOf(r).principal(), sub); err != nil {
		return nil, err
	}
	return sub, nil
}

func (srv *Server) handleSubmitForecastAPI(w http.ResponseWriter, r *http.Request) {
	if authOf(r).user.Role == crm.RoleViewer {
		srv.writeError(w, r, crm.ErrForbidden)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var in callInput
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	sub, err := srv.submitCall(r, in)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sub)
}

// handleForecastSnapshotsAPI is GET /api/forecast/snapshots?period=: the
// daily snapshots summed over the owners the caller may see.
func (srv *Server) handleForecastSnapshotsAPI(w http.ResponseWriter, r *http.Request) {
	period, err := srv.forecastPeriod(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	snaps, err := srv.store.ForecastSnapshots(r.Context(), authOf(r).principal(), period)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"period": period, "items": snaps})
}

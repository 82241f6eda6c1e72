package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// homeData is what the home page shows, and what GET /api/home returns. Its
// figures come from the same call as the dashboard's (metrics.Compute over
// the current fiscal quarter, and over all time for all open pipeline), so
// a figure with the same label is the same number on both pages.
type homeData struct {
	Period   string       `json:"period"`
	Scope    string       `json:"scope"`
	Currency string       `json:"currency"`
	Quarter  metrics.KPIs `json:"quarter"`  // the current fiscal quarter
	AllTime  metrics.KPIs `json:"all_time"` // for all open pipeline, whatever its close date
	// ByCurrency is the open pipeline and the quarter's bookings per deal
	// currency, in that currency (unconverted).
	ByCurrency []store.PipelineSummary `json:"by_currency"`
	Recent     []recentDeal            `json:"recent"`
}

// recentDeal is a deal as a person reads it: names, not ids.
type recentDeal struct {
	crm.Opportunity
	AccountName string `json:"account_name"`
	OwnerName   string `json:"owner_name"`
}

func (srv *Server) homeData(r *http.Request) (homeData, error) {
	a := authOf(r)
	p := a.principal()
	f, err := srv.metricsFilter(r)
	if err != nil {
		return homeData{}, err
	}
	// Kept like the dashboard's: the landing page should not recompute two
	// overviews of a million deals at every visit.
	return cached(srv, r, fmt.Sprintf("home|%+v", f), func(ctx context.Context) (homeData, error) { return srv.computeHome(ctx, a, p, f) })
}

func (srv *Server) computeHome(ctx context.Context, a *authInfo, p crm.Principal, f metrics.Filter) (homeData, error) {
	var err error
	d := homeData{Period: f.Period, Scope: scopeLabel(a.user.Role), Recent: []recentDeal{}}
	if d.Quarter, err = metrics.Compute(ctx, srv.store, p, f); err != nil {
		return homeData{}, err
	}
	all := f
	all.Period = ""
	if d.AllTime, err = metrics.Compute(ctx, srv.store, p, all); err != nil {
		return homeData{}, err
	}
	d.Currency = d.Quarter.Currency
	if d.Quarter.PeriodStart != nil && d.Quarter.PeriodEnd != nil {
		if d.ByCurrency, err = srv.store.Summary(ctx, p, d.Quarter.PeriodStart.Time, d.Quarter.PeriodEnd.Time.AddDate(0, 0, 1)); err != nil {
			return homeData{}, err
		}
	}
	if seesIndividuals(a.user.Role) {
		if d.Recent, err = srv.recentDeals(ctx, p); err != nil {
			return homeData{}, err
		}
	}
	return d, nil
}

// recentDeals are the ten deals the principal may see most recently added, with names.
func (srv *Server) recentDeals(ctx context.Context, p crm.Principal) ([]recentDeal, error) {
	page, err := srv.store.Opportunities.List(ctx, p, store.ListQuery{Limit: 10, Newest: true})
	if err != nil {
		return nil, err
	}
	accounts, owners := map[int64]string{}, map[int64]string{}
	out := make([]recentDeal, 0, len(page.Items))
	for _, o := range page.Items {
		if _, ok := accounts[o.AccountID]; !ok {
			if acc, err := srv.store.Accounts.Get(ctx, p, o.AccountID); err == nil {
				accounts[o.AccountID] = acc.Name
			}
		}
		if _, ok := owners[o.OwnerID]; !ok {
			if u, err := srv.store.Users.Get(ctx, p, o.OwnerID); err == nil {
				owners[o.OwnerID] = u.Name
			}
		}
		out = append(out, recentDeal{Opportunity: o, AccountName: accounts[o.AccountID], OwnerName: owners[o.OwnerID]})
	}
	return out, nil
}

func scopeLabel(r crm.Role) string {
	switch r {
	case crm.RoleRep:
		return "Your own deals"
	case crm.RoleManager:
		return "Your team's deals"
	case crm.RoleViewer:
		return "Whole organisation, aggregates only"
	}
	return "Whole organisation"
}

func (srv *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	d, err := srv.homeData(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	q, all := d.Quarter, d.AllTime
	per := periodLabel(q)
	cur := d.Currency
	wonLabel := "Won in " + per
	if running(q, time.Now()) {
		wonLabel += " to date"
	}
	tiles := []tile{
		{Label: wonLabel, Value: formatMoney(q.WonAmount, cur), Note: pluralDeals(q.WonCount, "won") + ", " + pluralDeals(q.LostCount, "lost")},
		{Label: "Open pipeline closing in " + per, Value: formatMoney(q.OpenPipeline, cur), Note: pluralDeals(q.OpenCount, "open") + "; weighted " + formatMoney(q.WeightedPipeline, cur)},
		{Label: "All open pipeline", Value: formatMoney(all.OpenPipeline, cur), Note: pluralDeals(all.OpenCount, "open") + ", whatever their expected close"},
		{Label: "Quota attainment", Value: pctString(q.QuotaAttainment), Note: "of quota " + moneyPtr(q.Quota, cur)},
	}
	var ts tables
	ts.add(tilesTable("summary", "Summary", tiles), tableOpts{})
	byCur := export.Table{ID: "by-currency", Title: "By deal currency", Columns: []export.Column{
		{Key: "currency", Label: "Currency"}, {Key: "open_count", Label: "Open deals", Kind: export.Count},
		{Key: "open", Label: "All open pipeline", Kind: export.Number}, {Key: "won_count", Label: "Won in " + per, Kind: export.Count},
		{Key: "won", Label: "Won amount in " + per, Kind: export.Number}}}
	for _, s := range d.ByCurrency {
		byCur.Rows = append(byCur.Rows, []export.Cell{export.TextCell(s.Currency), export.CountCell(s.OpenCount),
			export.MoneyCell(&s.OpenAmount, formatMoney(s.OpenAmount, s.Currency)), export.CountCell(s.WonCount), export.MoneyCell(&s.WonAmount, formatMoney(s.WonAmount, s.Currency))})
	}
	ts.add(byCur, tableOpts{})
	if seesIndividuals(authOf(r).user.Role) {
		recent := export.Table{ID: "recent", Title: "Latest opportunities", Columns: []export.Column{
			{Key: "name", Label: "Name"}, {Key: "account", Label: "Account"}, {Key: "owner", Label: "Owner"}, {Key: "stage", Label: "Stage"},
			{Key: "amount", Label: "Amount", Kind: export.Number}, {Key: "currency", Label: "Currency"}, {Key: "expected", Label: "Expected close"}, {Key: "closed", Label: "Closed"}}}
		for _, o := range d.Recent {
			recent.Rows = append(recent.Rows, []export.Cell{export.TextCell(o.Name), export.TextCell(o.AccountName), export.TextCell(o.OwnerName),
				export.TextCell(o.Stage), export.MoneyCell(&o.Amount, formatMoney(o.Amount, o.Currency)), export.TextCell(o.Currency),
				dateCell(o.ExpectedClose), dateCell(o.ClosedAt)})
		}
		ts.add(recent, tableOpts{})
	}
	if srv.serveExport(w, r, "home", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "home", map[string]any{"D": d, "Tiles": tiles, "T": ts.views(r),
		"CanSeeRecords": seesIndividuals(authOf(r).user.Role), "Multi": len(d.ByCurrency) > 1})
}

// dateCell is a date, or a dash on the page and an empty field in files.
func dateCell(d *crm.Date) export.Cell {
	if d == nil {
		return export.Cell{Display: "–"}
	}
	return export.TextCell(d.String())
}

func (srv *Server) handleHomeAPI(w http.ResponseWriter, r *http.Request) {
	d, err := srv.homeData(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

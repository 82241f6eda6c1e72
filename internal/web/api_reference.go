package web

import (
	"net/http"
	"strconv"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// Reference data and organisation settings, the audit log, and who am I.

func (srv *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, authOf(r).user)
}

func (srv *Server) handleStages(w http.ResponseWriter, r *http.Request) {
	st, err := srv.store.Stages(r.Context())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": st})
}

func (srv *Server) handlePutStage(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	st := crm.Stage{Name: r.PathValue("name")}
	if err := decodeInto(body, &st); err != nil {
		srv.writeError(w, r, err)
		return
	}
	st.Name = r.PathValue("name")
	if err := srv.store.PutStage(r.Context(), authOf(r).principal(), st); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (srv *Server) handleCurrencies(w http.ResponseWriter, r *http.Request) {
	c, err := srv.store.Currencies(r.Context())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": c})
}

func (srv *Server) handlePutCurrency(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	c := crm.Currency{Code: r.PathValue("code"), Name: in.Name}
	if err := srv.store.PutCurrency(r.Context(), authOf(r).principal(), c); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// rateJSON is an exchange rate as the API shows it.
type rateJSON struct {
	Currency  string   `json:"currency"`
	ValidFrom crm.Date `json:"valid_from"`
	Rate      string   `json:"rate"`
}

func (srv *Server) handleRates(w http.ResponseWriter, r *http.Request) {
	rates, err := srv.store.ExchangeRates(r.Context())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	out := make([]rateJSON, len(rates))
	for i, x := range rates {
		out[i] = rateJSON{Currency: x.Currency, ValidFrom: crm.NewDate(x.ValidFrom), Rate: x.Rate.String()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (srv *Server) handlePutRate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	var in struct {
		Currency  string          `json:"currency"`
		ValidFrom crm.Date        `json:"valid_from"`
		Rate      decimal.Decimal `json:"rate"`
	}
	if err := decodeInto(body, &in); err != nil {
		srv.writeError(w, r, err)
		return
	}
	rate := crm.ExchangeRate{Currency: in.Currency, ValidFrom: in.ValidFrom.Time, Rate: in.Rate}
	if err := srv.store.PutExchangeRate(r.Context(), authOf(r).principal(), rate); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rateJSON{Currency: rate.Currency, ValidFrom: in.ValidFrom, Rate: rate.Rate.String()})
}

func (srv *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	st, err := srv.store.Settings(r.Context())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (srv *Server) handlePutSettings(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	st, err := srv.store.Settings(r.Context())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	if err := decodeInto(body, &st); err != nil {
		srv.writeError(w, r, err)
		return
	}
	if err := srv.store.UpdateSettings(r.Context(), authOf(r).principal(), st); err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (srv *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var id int64
	if v := q.Get("entity_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			srv.writeError(w, r, crm.Invalid("query", "entity_id", "must be a record id"))
			return
		}
		id = n
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	entries, err := srv.store.AuditLog(r.Context(), authOf(r).principal(), q.Get("entity"), id, limit)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": entries})
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// maxBody bounds every request body; CRM records are small.
const maxBody = 1 << 20

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error     string           `json:"error"`
	Fields    []crm.FieldError `json:"fields,omitempty"`
	RequestID string           `json:"request_id,omitempty"` // on 500s, to find the log line
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeCachedJSON answers 200 with the JSON of what compute returns, kept
// encoded in the report cache per principal, key and data version (see
// cached): a list or KPI asked for again before the next write costs neither
// the query nor the encoding.
func (srv *Server) writeCachedJSON(w http.ResponseWriter, r *http.Request, key string, compute func(ctx context.Context) (any, error)) {
	b, err := cached(srv, r, key, func(ctx context.Context) ([]byte, error) {
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(b, '\n'))
}

// writeError turns an error into its HTTP status. Only this layer knows statuses.
func (srv *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *crm.ValidationError
	var tooBig *http.MaxBytesError
	var refusal *crm.Refusal
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: ve.Error(), Fields: ve.Fields})
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body larger than %d bytes", tooBig.Limit)})
	case errors.Is(err, crm.ErrNotFound):
		srv.logRefusal(r, err)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not found"})
	case errors.As(err, &refusal):
		srv.logRefusal(r, err)
		writeJSON(w, http.StatusForbidden, errorBody{Error: refusal.Error()})
	case errors.Is(err, crm.ErrForbidden):
		srv.logRefusal(r, err)
		writeJSON(w, http.StatusForbidden, errorBody{Error: "forbidden: your role may not do this"})
	case errors.Is(err, crm.ErrConflict):
		writeJSON(w, http.StatusConflict, errorBody{Error: conflictText(err)})
	case errors.Is(err, store.ErrBadCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="quarterdeck"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "authentication required"})
	case errors.Is(err, crm.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	default:
		srv.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error", RequestID: requestID(r)})
	}
}

// conflictText is a conflict's message without the sentinel's ": conflict".
func conflictText(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+crm.ErrConflict.Error())
}

// logRefusal logs a request refused for what it asked to see or do (an id,
// a filter, a role's limit), with who asked and why: the answer itself says
// no more than "not found" or "forbidden".
func (srv *Server) logRefusal(r *http.Request, err error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "request_id", requestID(r), "reason", err.Error()}
	if a := authOf(r); a != nil {
		attrs = append(attrs, "user", a.user.ID, "role", string(a.user.Role))
	}
	srv.log.Warn("refused", attrs...)
}

// readBody reads the whole (bounded) body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, crm.Invalid("request", "body", "could not be read")
	}
	return b, nil
}

// decodeBody reads the (bounded) body and applies it onto dst (decodeInto).
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeInto(body, dst)
}

// decodeInto applies a JSON object onto dst (a pointer to a struct), field by
// field, so that every problem is reported with its field: malformed JSON,
// unknown fields, wrong types, bad values. Fields absent from the body keep
// dst's values, which is what makes PATCH work. Nothing is applied on error.
func decodeInto(body []byte, dst any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return crm.Invalid("request", "body", "is empty: send a JSON object")
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return crm.Invalid("request", "body", fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn))
		}
		return crm.Invalid("request", "body", "must be a JSON object")
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return crm.Invalid("request", "body", "has data after the JSON object")
	}
	if obj == nil {
		return crm.Invalid("request", "body", "must be a JSON object, not null")
	}
	known := jsonFields(reflect.TypeOf(dst).Elem(), nil)
	probs := crm.NewProblems("request")
	staged := reflect.New(reflect.TypeOf(dst).Elem())
	staged.Elem().Set(reflect.ValueOf(dst).Elem())
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		idx, ok := known[k]
		if !ok {
			probs.Add(k, "unknown field")
			continue
		}
		// Zero the field first: json.Unmarshal would otherwise write through a
		// pointer shared with dst (and merge into maps) instead of replacing.
		staged.Elem().FieldByIndex(idx).SetZero()
		one, _ := json.Marshal(map[string]json.RawMessage{k: obj[k]})
		if err := json.Unmarshal(one, staged.Interface()); err != nil {
			probs.Add(k, "%s", fieldReason(err, staged.Elem().Type().FieldByIndex(idx).Type, obj[k]))
		}
	}
	if err := probs.Err(); err != nil {
		return err
	}
	reflect.ValueOf(dst).Elem().Set(staged.Elem())
	return nil
}

// fieldReason says why one field's value did not decode into a field of
// type want. Types that parse their own text (decimals, dates) report their
// library's wording; the answer names the type wanted instead.
func fieldReason(err error, want reflect.Type, raw json.RawMessage) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("wrong type: want %s, got %s", friendlyType(te.Type), te.Value)
	}
	if len(raw) > 60 {
		raw = append(raw[:60:60], "..."...)
	}
	return fmt.Sprintf("want %s, got %s", friendlyType(want), raw)
}

func friendlyType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.String() {
	case "decimal.Decimal":
		return "a decimal number"
	case "time.Time":
		return "an RFC 3339 time"
	case "crm.Date":
		return "a date YYYY-MM-DD"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return "an object"
	}
	return t.String()
}

// jsonFields maps the JSON names a struct accepts to their field index,
// including embedded structs' fields.
func jsonFields(t reflect.Type, prefix []int) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(slices.Clone(prefix), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(f.Type, idx))
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = idx
	}
	return out
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, crm.Invalid("request", "id", fmt.Sprintf("%q is not a record id", r.PathValue("id")))
	}
	return id, nil
}

// listQuery reads limit, after and order from the query string; every other
// parameter is a filter the store checks.
func listQuery(r *http.Request) (store.ListQuery, error) {
	lq := store.ListQuery{Filters: map[string]string{}}
	probs := crm.NewProblems("query")
	for k, vs := range r.URL.Query() {
		if len(vs) != 1 {
			probs.Add(k, "give it once")
			continue
		}
		v := vs[0]
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > store.MaxPageSize {
				probs.Add(k, "must be a whole number from 1 to %d", store.MaxPageSize)
			}
			lq.Limit = n
		case "after":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				probs.Add(k, "must be a record id")
			}
			lq.After = n
		case "order":
			switch v {
			case "newest":
				lq.Newest = true
			case "oldest":
			default:
				probs.Add(k, "must be newest or oldest")
			}
		default:
			lq.Filters[k] = v
		}
	}
	return lq, probs.Err()
}

package web

// Fuzz targets for what the API reads from a request before any database
// is involved: JSON bodies (decodeInto, for every record type a handler
// decodes), query parameters (the list, forecast, backtest, run,
// notification, lead-score and fairness parsers and the bad-text guard in
// front of them) and a table's URL state. Run one with
//
//	go test -run '^$' -fuzz '^FuzzDecodeInto$' -fuzztime 30s ./internal/web
//
// or all of the repository's with scripts/fuzz.sh. The seeds below (and any
// file under testdata/fuzz/<name>/) run as ordinary tests with go test.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// ---------------------------------------------------------------- bodies

// The bodies of handlers that decode into an anonymous struct, with the
// same fields and tags (api_automation.go, api_reference.go, api_segments.go).
type (
	fuzzWorkflowTest struct {
		RecordID int64  `json:"record_id"`
		Source   string `json:"source"`
	}
	fuzzWorkflowRun struct {
		RecordIDs []int64 `json:"record_ids"`
	}
	fuzzHook struct {
		RecordID int64 `json:"record_id"`
	}
	fuzzCurrency struct {
		Name string `json:"name"`
	}
	fuzzRate struct {
		Currency  string          `json:"currency"`
		ValidFrom crm.Date        `json:"valid_from"`
		Rate      decimal.Decimal `json:"rate"`
	}
	fuzzDefinition struct {
		File   string `json:"file"`
		Source string `json:"source"`
	}
)

// decodeTarget is one type the API decodes bodies into. start builds the
// value a handler decodes onto (a fresh zero value, or a stored record for
// a PATCH), anew at each call, so that two calls are deeply equal.
type decodeTarget struct {
	name  string
	zero  func() any
	start []func() any
}

func decodeFor[T any](name string, stored ...func() T) decodeTarget {
	d := decodeTarget{name: name, zero: func() any { return new(T) }}
	d.start = append(d.start, d.zero)
	for _, s := range stored {
		d.start = append(d.start, func() any { v := s(); return &v })
	}
	return d
}

func fzPtr[T any](v T) *T { return &v }

func fzDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func fzDate(s string) crm.Date {
	d, err := crm.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

var fzWhen = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// decodeTargets is every type a handler decodes a body into, with a stored
// record where the API updates one (PATCH applies the body onto it).
var decodeTargets = []decodeTarget{
	decodeFor("team", func() crm.Team {
		return crm.Team{ID: 4, Name: "EMEA Enterprise", ParentID: fzPtr[int64](1), Region: "EMEA", ManagerID: fzPtr[int64](7)}
	}),
	decodeFor("user", func() crm.User {
		return crm.User{ID: 9, Email: "ana@example.com", Name: "Ana Lima", Role: crm.RoleRep, ManagerID: fzPtr[int64](7),
			TeamID: fzPtr[int64](4), HireDate: fzPtr(fzDate("2024-02-29")), Active: true, CreatedAt: fzWhen}
	}),
	// handleCreateUser starts from an active user.
	decodeFor("new user", func() newUserJSON { return newUserJSON{User: crm.User{Active: true}} }),
	decodeFor("account", func() crm.Account {
		return crm.Account{ID: 12, ExternalID: fzPtr("SF-0012"), Name: "Globex", Domain: "globex.example", Industry: "Manufacturing",
			Employees: fzPtr[int64](1200), AnnualRevenue: fzPtr(fzDec("125000000.50")), Country: "DE", City: "Berlin",
			Latitude: fzPtr(52.52), Longitude: fzPtr(13.405), OwnerID: fzPtr[int64](9), Segment: "enterprise", CreatedAt: fzWhen}
	}),
	decodeFor("contact", func() crm.Contact {
		return crm.Contact{ID: 30, AccountID: fzPtr[int64](12), FirstName: "Jo", LastName: "Park", Email: "jo@globex.example",
			Phone: "+49 30 1234", Title: "CFO", OwnerID: fzPtr[int64](9), CreatedAt: fzWhen}
	}),
	decodeFor("lead", func() crm.Lead {
		return crm.Lead{ID: 77, FirstName: "Sam", LastName: "Ortiz", Email: "sam@initech.example", Company: "Initech",
			Employees: fzPtr[int64](80), AnnualRevenue: fzPtr(fzDec("4e6")), Country: "US", State: "TX", Source: "web",
			Channel: "organic", Status: crm.LeadStatus("working"), OwnerID: fzPtr[int64](9), CreatedAt: fzWhen,
			FirstResponseAt: fzPtr(fzWhen.Add(time.Hour)), CustomFields: crm.CustomFields{"tier": "gold", "tags": "a,b"}}
	}),
	decodeFor("lead event", func() crm.LeadEvent {
		return crm.LeadEvent{ID: 5, LeadID: 77, Kind: "web_visit", OccurredAt: fzWhen, Detail: "/pricing"}
	}),
	decodeFor("product", func() crm.Product {
		return crm.Product{ID: 3, Name: "Platform", Family: "core", ListPrice: fzDec("1200.00"), Currency: "USD", Active: true}
	}),
	decodeFor("stage", func() crm.Stage {
		return crm.Stage{Name: "Negotiation", Position: 4, Probability: 0.6, Kind: crm.StageOpen, ForecastCategory: crm.ForecastCategory("commit")}
	}),
	decodeFor("opportunity", func() crm.Opportunity {
		return crm.Opportunity{ID: 101, Name: "Globex renewal", AccountID: 12, OwnerID: 9, Amount: fzDec("250000"), Currency: "EUR",
			Stage: "Negotiation", Probability: fzPtr(0.6), Type: crm.DealRenewal, CreatedAt: fzWhen,
			ExpectedClose: fzPtr(fzDate("2026-06-30")), UpdatedAt: fzWhen}
	}),
	decodeFor("line item", func() crm.LineItem {
		return crm.LineItem{ID: 2, OpportunityID: 101, ProductID: 3, Quantity: fzDec("3"), UnitPrice: fzDec("99.90"), TotalPrice: fzDec("299.70")}
	}),
	decodeFor("activity", func() crm.Activity {
		return crm.Activity{ID: 400, Kind: crm.ActivityKind("call"), Subject: "Discovery", OwnerID: 9, AccountID: fzPtr[int64](12),
			OpportunityID: fzPtr[int64](101), OccurredAt: fzWhen, DurationMinutes: 30, Direction: crm.Direction("outbound"), Captured: true}
	}),
	decodeFor("quota", func() crm.Quota {
		return crm.Quota{ID: 8, UserID: fzPtr[int64](9), Period: "FY2026-Q1", Amount: fzDec("500000"), Currency: "USD"}
	}),
	decodeFor("cost", func() crm.Cost {
		return crm.Cost{ID: 6, Period: "FY2026-Q1", Category: crm.CostSales, Amount: fzDec("80000"), Currency: "USD", Note: "SDR team"}
	}),
	decodeFor("settings", func() crm.Settings { return crm.Settings{FiscalYearStartMonth: 2, CorporateCurrency: "USD"} }),
	decodeFor("forecast submission", func() crm.ForecastSubmission {
		return crm.ForecastSubmission{ID: 1, UserID: 9, Period: "FY2026-Q1", Version: 2, Commit: fzDec("400000"), BestCase: fzDec("550000"),
			Pipeline: fzDec("900000"), RollupCommit: fzPtr(fzDec("380000")), Reason: "late deal", SubmittedBy: 9, SubmittedAt: fzWhen}
	}),
	decodeFor[callInput]("forecast call"),
	// handleNewToken starts from the default name.
	decodeFor("token request", func() tokenRequest { return tokenRequest{Name: "api"} }),
	decodeFor[routing.Availability]("availability"),
	decodeFor[leads.Membership]("segment members"),
	decodeFor[leads.PredictiveOptions]("predictive options"),
	decodeFor[fuzzWorkflowTest]("workflow test"),
	decodeFor[fuzzWorkflowRun]("workflow run"),
	decodeFor[fuzzHook]("webhook trigger"),
	decodeFor[fuzzCurrency]("currency"),
	decodeFor[fuzzRate]("exchange rate"),
	decodeFor[fuzzDefinition]("definition"),
}

var decodeSeeds = []string{
	// Valid records.
	`{"name":"EMEA","region":"EMEA","parent_id":null,"manager_id":7}`,
	`{"email":"Ana@Example.com","name":"Ana","role":"rep","manager_id":3,"team_id":2,"hire_date":"2024-02-29","active":true,"password":"correct horse battery staple"}`,
	`{"name":"Globex","domain":"globex.example","employees":1200,"annual_revenue":"12500000.50","latitude":52.52,"longitude":-0.0,"created_at":"2025-01-02T03:04:05Z"}`,
	`{"first_name":"Sam","status":"new","custom_fields":{"tier":"gold","":""},"first_response_at":"2025-01-01T10:00:00.5+05:30","converted_at":null}`,
	`{"name":"Deal","account_id":12,"owner_id":9,"amount":"125000","probability":0.4,"expected_close":"2026-03-31","stage":"Proposal","type":"new"}`,
	`{"kind":"call","subject":"Intro","owner_id":9,"occurred_at":"2026-01-05T16:00:00-05:00","duration_minutes":30,"direction":"inbound"}`,
	`{"user_id":9,"period":"FY2026-Q1","amount":500000,"currency":"USD"}`,
	`{"period":"FY2026-Q2","category":"marketing","amount":"1e4","note":"events"}`,
	`{"opportunity_id":101,"product_id":3,"quantity":"3","unit_price":"99.90","total_price":"299.70"}`,
	`{"lead_id":77,"kind":"form","occurred_at":"2026-02-01T00:00:00Z","detail":"demo request"}`,
	`{"period":"FY2026-Q1","commit":"1000000","best_case":"1.5e6","pipeline":3000000,"reason":"late deal","rollup_commit":null}`,
	`{"name":"ci","expires_days":30}`,
	`{"time_zone":"Europe/Berlin","away":[{"from":"2026-07-01T00:00:00Z","to":"2026-07-15T00:00:00+02:00","note":"holiday"}]}`,
	`{"add":[1,2,3],"remove":[4]}`,
	`{"exclude":["custom.tags","source"],"factors":5}`,
	`{"position":3,"probability":0.6,"kind":"open","forecast_category":"pipeline"}`,
	`{"fiscal_year_start_month":2,"corporate_currency":"EUR"}`,
	`{"currency":"EUR","valid_from":"2026-01-01","rate":"1.0842"}`,
	`{"record_id":42,"source":"name: x\non: created\n"}`,
	`{"record_ids":[1,2,9223372036854775807]}`,
	`{"file":"segments.yaml","source":"name: icp\n"}`,
	// Unknown fields, names that differ only in case, escaped names, duplicates.
	`{"name":"x","colour":"red","ID":5}`,
	`{"n\u0061me":"escaped","name":"plain"}`,
	`{"name":"a","name":"b"}`,
	`{"":1}`,
	// Wrong types.
	`{"employees":"many","active":"yes","amount":true,"hire_date":20240101,"custom_fields":{"a":1},"record_ids":[1,"2"]}`,
	`{"away":{"from":"x"},"add":"1","exclude":"source","parent_id":{},"latitude":[]}`,
	// Huge and odd numbers.
	`{"employees":1e400,"latitude":1e400,"amount":1e400,"annual_revenue":"1e10001","id":9223372036854775808,"expires_days":-1e309}`,
	`{"amount":"1e10000","list_price":"-0.000","quantity":"−5","unit_price":".5","total_price":"5."}`,
	`{"amount":"0.0000000000000000000000000000000000001","rate":"1E-10000","commit":"+7"}`,
	`{"id":-9223372036854775808,"position":1.5,"factors":1e2,"fiscal_year_start_month":0x10}`,
	// Dates and times.
	`{"created_at":"2025-13-01T00:00:00Z","hire_date":"2024-02-30","valid_from":"2026-1-1"}`,
	`{"occurred_at":"0000-01-01T00:00:00+01:00","submitted_at":"9999-12-31T23:59:59.999999999-23:59"}`,
	`{"hire_date":null,"created_at":null,"expected_close":"","updated_at":"2026-03-14T09:30:00"}`,
	// Text the store refuses later: invalid UTF-8, NUL, control characters.
	"{\"name\":\"\xff\xfe\",\"\xff\":1}",
	`{"name":"a\u0000b","custom_fields":{"\u0000":"\u0000"},"note":"\ud800"}`,
	"{\"subject\":\"line\\nbreak\\t\\u2028\",\"detail\":\"\x00\"}",
	// Nested junk, not objects, trailing data.
	`{"name":{"first":[{"x":null}]},"custom_fields":{"a":{"b":"c"}}}`,
	`[[[[{}]]]]`, `{}`, ``, `   `, `null`, `true`, `"str"`, `12`, `{"name":"x"`, `{"name":"x"} {"name":"y"}`,
	`{"a":{"b":{"c":[1,2,{"d":"e"}]}}}`, "\ufeff{}", "{\"name\":\"x\"}\n\n",
}

// FuzzDecodeInto applies any body to every decoded type, onto a zero value
// and onto a stored record, and checks what decodeInto promises:
//
//   - an error is a *crm.ValidationError with at least one field, each the
//     body or one of the body's top-level keys, and dst is left as it was;
//   - a success leaves every field the body does not name as it was (PATCH),
//     writes nothing through pointers or maps dst shares with its caller,
//     and only happens for a body that is one JSON object (nothing after it);
//   - what was decoded, encoded with encoding/json and decoded again onto a
//     fresh value, is the same value, and encodes the same. "The same" is
//     sameValue: decimals compare by value (1.50 encodes as "1.5") and times
//     by instant and offset (time.Location pointers are not compared), the
//     rest deeply; nil and empty slices and maps are told apart.
func FuzzDecodeInto(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, tg := range decodeTargets {
			for i, start := range tg.start {
				checkDecode(t, fmt.Sprintf("%s (start %d)", tg.name, i), tg.zero, start, body)
			}
		}
	})
}

func checkDecode(t *testing.T, what string, zero, start func() any, body []byte) {
	t.Helper()
	dst := start()
	// A shallow copy shares dst's pointers and maps, as the copy of a stored
	// record a PATCH is applied to shares them with the stored one.
	shallow := reflect.New(reflect.TypeOf(dst).Elem())
	shallow.Elem().Set(reflect.ValueOf(dst).Elem())

	err := decodeInto(body, dst)
	if !reflect.DeepEqual(shallow.Interface(), start()) {
		t.Fatalf("%s: decodeInto(%q) wrote through a pointer or map the value shares: %+v", what, body, shallow.Elem().Interface())
	}
	keys := topLevelKeys(body)
	if err != nil {
		var ve *crm.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, crm.ErrInvalid) || len(ve.Fields) == 0 {
			t.Fatalf("%s: decodeInto(%q) = %v (%T), want a *crm.ValidationError with fields", what, body, err, err)
		}
		for _, fe := range ve.Fields {
			if fe.Reason == "" || (fe.Field != "body" && !slices.Contains(keys, fe.Field)) {
				t.Fatalf("%s: decodeInto(%q): problem %+v does not name the body or one of its keys %q", what, body, fe, keys)
			}
		}
		if !reflect.DeepEqual(dst, start()) {
			t.Fatalf("%s: decodeInto(%q) failed (%v) but changed dst to %+v", what, body, err, dst)
		}
		if again := decodeInto(body, start()); again == nil || again.Error() != err.Error() {
			t.Fatalf("%s: decodeInto(%q) is not deterministic: %v, then %v", what, body, err, again)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("%s: decodeInto(%q) accepted a body that is not one JSON value (data after the object?)", what, body)
	}
	known := jsonFields(reflect.TypeOf(dst).Elem(), nil)
	before := reflect.ValueOf(start()).Elem()
	for name, idx := range known {
		if slices.Contains(keys, name) {
			continue
		}
		if got, was := reflect.ValueOf(dst).Elem().FieldByIndex(idx), before.FieldByIndex(idx); !reflect.DeepEqual(got.Interface(), was.Interface()) {
			t.Fatalf("%s: decodeInto(%q) changed %s, which the body does not name: %v, was %v", what, body, name, got, was)
		}
	}
	for _, k := range keys {
		if _, ok := known[k]; !ok {
			t.Fatalf("%s: decodeInto(%q) accepted the unknown field %q", what, body, k)
		}
	}

	enc, err := json.Marshal(dst)
	if err != nil {
		t.Fatalf("%s: decodeInto(%q) gave a value encoding/json cannot encode: %v (%+v)", what, body, err, dst)
	}
	fresh := zero()
	if err := decodeInto(enc, fresh); err != nil {
		t.Fatalf("%s: decodeInto(%q) = %+v, whose encoding %s does not decode: %v", what, body, dst, enc, err)
	}
	if ok, where := sameValue(reflect.ValueOf(dst), reflect.ValueOf(fresh), ""); !ok {
		t.Fatalf("%s: decodeInto(%q) = %+v, encoded %s, decodes to %+v: differs at %s", what, body, dst, enc, fresh, where)
	}
	if enc2, err := json.Marshal(fresh); err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("%s: the encoding of decodeInto(%q) is not a fixed point:\n%s\n%s (%v)", what, body, enc, enc2, err)
	}
}

// topLevelKeys are the keys of body as a JSON object (nil when it is not one).
func topLevelKeys(body []byte) []string {
	var obj map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(bytes.TrimSpace(body))).Decode(&obj) != nil {
		return nil
	}
	return slices.Collect(maps.Keys(obj))
}

var (
	fzDecimalType = reflect.TypeFor[decimal.Decimal]()
	fzTimeType    = reflect.TypeFor[time.Time]()
)

// sameValue compares decoded values: decimals by value, times by instant and
// offset, the rest as reflect.DeepEqual does (nil and empty told apart). It
// reports the path of the first difference.
func sameValue(a, b reflect.Value, path string) (bool, string) {
	if a.Type() != b.Type() {
		return false, path + " (type)"
	}
	switch a.Type() {
	case fzDecimalType:
		return a.Interface().(decimal.Decimal).Equal(b.Interface().(decimal.Decimal)), path
	case fzTimeType:
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		return ta.Equal(tb) && oa == ob, path
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil(), path
		}
		return sameValue(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				return reflect.DeepEqual(a.Interface(), b.Interface()), path
			}
			if ok, where := sameValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); !ok {
				return false, where
			}
		}
		return true, path
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false, path
		}
		for i := range a.Len() {
			if ok, where := sameValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); !ok {
				return false, where
			}
		}
		return true, path
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false, path
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return false, fmt.Sprintf("%s[%v]", path, k)
			}
			if ok, where := sameValue(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); !ok {
				return false, where
			}
		}
		return true, path
	}
	return reflect.DeepEqual(a.Interface(), b.Interface()), path
}

// ---------------------------------------------------------------- queries

var querySeeds = []string{
	"", "limit=50", "limit=1000&after=120&order=newest", "limit=0", "limit=1001", "limit=-1", "limit=+5", "limit=05",
	"after=-1", "after=9223372036854775808", "order=sideways", "limit=1&limit=2", "owner_id=9&stage=Proposal&created_at_from=2026-01-01",
	"period=FY2026-Q1&team_id=4&by=team", "period=&by=rep", "by=region", "team_id=0", "team_id=abc", "team_id=4&team_id=5",
	"grain=Month&periods=24&days_in=366&by_team=1&win_probability=false&as_of=2025-12-31", "grain=week", "periods=0", "periods=25",
	"days_in=-1", "as_of=2999-01-01", "as_of=2026-02-30", "by_team=maybe",
	"workflow=stale-deal&entity=opportunity&record_id=101&state=failed&limit=1000", "record_id=0", "limit=1001&state=x",
	"channel=sales-alerts&event=lead.hot&state=dead&limit=1000", "job=3", "reps.sort=-won&reps.page=2&reps.q=ann&reps.zeros=1",
	"model=inbound&grade=A&mql=true&limit=100000&version=7&segment=icp&status=new&industry=Retail", "mql=perhaps", "version=0",
	"limit=100001", "from=2026-01-01&to=2026-01-31", "from=2026-02-01&to=2026-01-01", "from=2026-13-01", "to=x",
	"export=reps&format=csv", "=1", "&&&", "a=%zz", "a=%00", "a=%ff", "%ff=1", "a;b=c", "a=1;b=2", "+=+", "limit=%2B5",
	"t.page=9223372036854775807&t.sort=--won", "t.sort=-&t.q=%20%20&t.zeros=0",
}

// FuzzQueryParams feeds any query string to the pure query parsers, as the
// handlers see it (r.URL.Query()), after checking the bad-text guard in
// front of every handler (refuseBadText): it passes exactly the queries
// that parse and hold clean text, and refuses the rest naming the query,
// "parameter name" or the parameter. Each parser must not panic; an error
// is a validation error each of whose fields is a parameter of the query;
// an accepted query, written back from what was parsed, parses to the same.
func FuzzQueryParams(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	srv := &Server{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/opportunities", RawQuery: raw}, Header: http.Header{}}
		checkBadTextGuard(t, srv, r)
		q := r.URL.Query()

		lq, err := listQuery(r)
		checkQueryErr(t, "listQuery", q, err)
		if err == nil {
			if lq.Limit < 0 || lq.Limit > store.MaxPageSize || lq.After < 0 {
				t.Fatalf("listQuery(%q) = %+v: out of range", raw, lq)
			}
			v := url.Values{}
			for k, s := range lq.Filters {
				v.Set(k, s)
			}
			if lq.Limit != 0 {
				v.Set("limit", strconv.Itoa(lq.Limit))
			}
			if lq.After != 0 {
				v.Set("after", strconv.FormatInt(lq.After, 10))
			}
			if lq.Newest {
				v.Set("order", "newest")
			}
			again, err := listQuery(fzRequest(v))
			if err != nil || !reflect.DeepEqual(lq, again) {
				t.Fatalf("listQuery(%q) = %+v, but written back as %q it is %+v, %v", raw, lq, v.Encode(), again, err)
			}
		}

		fq, err := forecastQuery(r)
		checkQueryErr(t, "forecastQuery", q, err)
		if err == nil {
			if fq.TeamID < 0 || (fq.By != "" && fq.By != "team" && fq.By != "rep") {
				t.Fatalf("forecastQuery(%q) = %+v: out of range", raw, fq)
			}
			v := url.Values{}
			fzSetNonEmpty(v, "period", fq.Period)
			fzSetNonEmpty(v, "by", fq.By)
			if fq.TeamID != 0 {
				v.Set("team_id", strconv.FormatInt(fq.TeamID, 10))
			}
			again, err := forecastQuery(fzRequest(v))
			if err != nil || !reflect.DeepEqual(fq, again) {
				t.Fatalf("forecastQuery(%q) = %+v, but written back as %q it is %+v, %v", raw, fq, v.Encode(), again, err)
			}
		}

		bo, err := backtestOptions(r)
		checkQueryErr(t, "backtestOptions", q, err)
		if err == nil {
			if bo.Periods < 1 || bo.Periods > 24 || bo.DaysIn < 0 || bo.DaysIn > 366 || bo.AsOf.After(time.Now()) {
				t.Fatalf("backtestOptions(%q) = %+v: out of range", raw, bo)
			}
			v := url.Values{"grain": {bo.Grain.String()}, "periods": {strconv.Itoa(bo.Periods)}, "days_in": {strconv.Itoa(bo.DaysIn)},
				"by_team": {strconv.FormatBool(bo.ByTeam)}, "win_probability": {strconv.FormatBool(bo.WinProb)}}
			if !bo.AsOf.IsZero() {
				v.Set("as_of", crm.NewDate(bo.AsOf).String())
			}
			again, err := backtestOptions(fzRequest(v))
			if err != nil || !reflect.DeepEqual(bo, again) {
				t.Fatalf("backtestOptions(%q) = %+v, but written back as %q it is %+v, %v", raw, bo, v.Encode(), again, err)
			}
		}

		for _, page := range []bool{false, true} {
			rq, err := runQuery(q, page)
			checkQueryErr(t, "runQuery", q, err)
			if err == nil {
				if rq.RecordID < 0 || rq.Limit < 0 || rq.Limit > 1000 {
					t.Fatalf("runQuery(%q, %t) = %+v: out of range", raw, page, rq)
				}
				v := url.Values{}
				fzSetNonEmpty(v, "workflow", rq.Workflow)
				fzSetNonEmpty(v, "entity", rq.Entity)
				fzSetNonEmpty(v, "state", rq.State)
				if rq.RecordID != 0 {
					v.Set("record_id", strconv.FormatInt(rq.RecordID, 10))
				}
				if rq.Limit != 0 {
					v.Set("limit", strconv.Itoa(rq.Limit))
				}
				again, err := runQuery(v, page)
				if err != nil || again != rq {
					t.Fatalf("runQuery(%q, %t) = %+v, but written back as %q it is %+v, %v", raw, page, rq, v.Encode(), again, err)
				}
			}

			nq, err := notificationQuery(q, page)
			checkQueryErr(t, "notificationQuery", q, err)
			if err == nil {
				if nq.Limit < 0 || nq.Limit > notify.MaxLimit {
					t.Fatalf("notificationQuery(%q, %t) = %+v: out of range", raw, page, nq)
				}
				v := url.Values{}
				fzSetNonEmpty(v, "channel", nq.Channel)
				fzSetNonEmpty(v, "event", nq.Event)
				fzSetNonEmpty(v, "state", nq.State)
				if nq.Limit != 0 {
					v.Set("limit", strconv.Itoa(nq.Limit))
				}
				again, err := notificationQuery(v, page)
				if err != nil || again != nq {
					t.Fatalf("notificationQuery(%q, %t) = %+v, but written back as %q it is %+v, %v", raw, page, nq, v.Encode(), again, err)
				}
			}
		}

		sq, err := scoreQuery(r)
		checkQueryErr(t, "scoreQuery", q, err)
		if err == nil {
			if sq.Limit < 0 || sq.Limit > 100000 || sq.ModelID < 0 {
				t.Fatalf("scoreQuery(%q) = %+v: out of range", raw, sq)
			}
			v := url.Values{}
			fzSetNonEmpty(v, "model", sq.Model)
			fzSetNonEmpty(v, "grade", sq.Grade)
			fzSetNonEmpty(v, "segment", sq.Segment)
			if sq.MQL {
				v.Set("mql", "true")
			}
			if sq.Limit != 0 {
				v.Set("limit", strconv.Itoa(sq.Limit))
			}
			if sq.ModelID != 0 {
				v.Set("version", strconv.FormatInt(sq.ModelID, 10))
			}
			for k, s := range sq.Fields {
				v.Set(k, s)
			}
			again, err := scoreQuery(fzRequest(v))
			if err != nil || !reflect.DeepEqual(sq, again) {
				t.Fatalf("scoreQuery(%q) = %+v, but written back as %q it is %+v, %v", raw, sq, v.Encode(), again, err)
			}
		}

		// The fairness report's period. Its error may name "to" when only
		// from is given (a from after today), so fields are checked against
		// the two parameters rather than the query's.
		since, until, err := routing.AuditPeriod(q.Get("from"), q.Get("to"), fzWhen)
		checkQueryErr(t, "routing.AuditPeriod", url.Values{"from": nil, "to": nil}, err)
		if err == nil && !since.Before(until) {
			t.Fatalf("routing.AuditPeriod(%q, %q) = %v, %v: not a period", q.Get("from"), q.Get("to"), since, until)
		}
	})
}

// checkBadTextGuard runs refuseBadText on r: it must let r through exactly
// when its query parses and every name and value is clean text, and refuse
// it otherwise with a 400 naming the query, a parameter name or a parameter.
func checkBadTextGuard(t *testing.T, srv *Server, r *http.Request) {
	t.Helper()
	passed := false
	rec := httptest.NewRecorder()
	srv.refuseBadText(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed = true })).ServeHTTP(rec, r)
	v, perr := url.ParseQuery(r.URL.RawQuery)
	clean := perr == nil
	for k, vs := range v {
		clean = clean && cleanText(k)
		for _, s := range vs {
			clean = clean && cleanText(s)
		}
	}
	if passed != clean {
		t.Fatalf("refuseBadText(%q): let the request through: %t, want %t (every name and value clean text, parse error %v)", r.URL.RawQuery, passed, clean, perr)
	}
	if passed {
		return
	}
	var body errorBody
	if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &body) != nil || len(body.Fields) != 1 {
		t.Fatalf("refuseBadText(%q): %d %s, want 400 with one field", r.URL.RawQuery, rec.Code, rec.Body)
	}
	if fe := body.Fields[0].Field; fe != "query" && fe != "parameter name" && !v.Has(fe) {
		t.Fatalf("refuseBadText(%q): refused naming %q, not the query or one of its parameters", r.URL.RawQuery, fe)
	}
}

// checkQueryErr: a parser's error is a validation error whose every field
// is a parameter of the query.
func checkQueryErr(t *testing.T, parser string, q url.Values, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, crm.ErrInvalid) || len(ve.Fields) == 0 {
		t.Fatalf("%s(%q) = %v (%T), want a *crm.ValidationError with fields", parser, q.Encode(), err, err)
	}
	for _, fe := range ve.Fields {
		if !q.Has(fe.Field) || fe.Reason == "" {
			t.Fatalf("%s(%q): problem %+v does not name a parameter of the query", parser, q.Encode(), fe)
		}
	}
}

func fzRequest(v url.Values) *http.Request {
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/x", RawQuery: v.Encode()}, Header: http.Header{}}
}

func fzSetNonEmpty(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// ---------------------------------------------------------------- tables

// fuzzTable has a text column, two numeric ones with empty and zero cells,
// and enough rows for three pages.
func fuzzTable() export.Table {
	t := export.Table{ID: "t", Title: "T", Columns: []export.Column{
		{Key: "name", Label: "Name"}, {Key: "won", Label: "Won", Kind: export.Money, Currency: "USD"}, {Key: "deals", Label: "Deals", Kind: export.Count}}}
	names := []string{"Cora", "ann", "Bea", "dan", "Ève", "", "Zoë", "cora"}
	for i := range 60 {
		won := export.TextCell("")
		if i%7 != 0 {
			won = moneyCell(decimal.NewFromInt(int64(i*37%11)*100), "USD")
		}
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(names[i%len(names)] + strings.Repeat("x", i/len(names))), won, export.CountCell(int64(i % 3))})
	}
	return t
}

var tableSeeds = []string{
	"", "t.sort=-won", "t.sort=name&t.page=2", "t.sort=deals&t.page=3&t.zeros=1", "t.q=cora", "t.q=%20ANN%20&t.sort=-name",
	"t.page=0", "t.page=-3", "t.page=9223372036854775807", "t.page=99999999999999999999", "t.sort=--won", "t.sort=-", "t.sort=nope",
	"t.zeros=true", "export=t&format=xlsx&t.page=2", "t.page=2&t.page=1", "other=1&t.q=x&t.q=y", "t.q=%ff", "period=FY2026-Q1&t.sort=won",
}

// FuzzTableState reads any query as a table's state (readTableState and
// newTableView, with and without hiding zero rows) and checks the view is
// consistent: the page is within the pages, the rows shown are the page's
// slice of the matched rows in the sort's order, and every link it renders
// (sort, previous, next, zeros, exports) parses, and following one gives the
// state it promises.
func FuzzTableState(f *testing.F) {
	for _, s := range tableSeeds {
		f.Add(s)
	}
	tbl := fuzzTable()
	f.Fuzz(func(t *testing.T, raw string) {
		for _, opt := range []tableOpts{{}, {HideZeros: true, DefaultSort: "-won"}, {PageSize: 7, DefaultSort: "name"}} {
			r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/x", RawQuery: raw}, Header: http.Header{}}
			checkTableView(t, r, tbl, opt)
		}
	})
}

func checkTableView(t *testing.T, r *http.Request, tbl export.Table, opt tableOpts) {
	t.Helper()
	raw := r.URL.RawQuery
	st := readTableState(r.URL.Query(), tbl, opt)
	if st.page < 1 || (st.sortKey != "" && !slices.ContainsFunc(tbl.Columns, func(c export.Column) bool { return c.Key == st.sortKey })) ||
		(st.sortKey == "" && st.desc) {
		t.Fatalf("readTableState(%q, %+v) = %+v", raw, opt, st)
	}
	tv := newTableView(r, tbl, opt)
	size := opt.PageSize
	if size == 0 {
		size = tablePageSize
	}
	if tv.Pages < 1 || tv.PageNo < 1 || tv.PageNo > tv.Pages || tv.Pages != max(1, (tv.Matched+size-1)/size) ||
		tv.Matched+tv.ZerosHidden > tv.Total || tv.Total != len(tbl.Rows) || len(tv.Rows) > size {
		t.Fatalf("newTableView(%q, %+v): page %d of %d, %d rows shown, %d matched, %d hidden, %d in all", raw, opt, tv.PageNo, tv.Pages, len(tv.Rows), tv.Matched, tv.ZerosHidden, tv.Total)
	}
	if len(tv.Rows) > 0 && (tv.From != (tv.PageNo-1)*size+1 || tv.To != tv.From+len(tv.Rows)-1) ||
		len(tv.Rows) == 0 && (tv.From != 0 || tv.To != 0 || tv.Matched > 0) {
		t.Fatalf("newTableView(%q, %+v): rows %d to %d, %d shown on page %d", raw, opt, tv.From, tv.To, len(tv.Rows), tv.PageNo)
	}
	if tv.Search != strings.TrimSpace(r.URL.Query().Get("t.q")) {
		t.Fatalf("newTableView(%q): search %q", raw, tv.Search)
	}
	sorted := 0
	for i, c := range tv.Cols {
		switch c.Sorted {
		case "":
			continue
		case "ascending", "descending":
		default:
			t.Fatalf("newTableView(%q): column %s sorted %q", raw, c.Key, c.Sorted)
		}
		sorted++
		for j := 1; j < len(tv.Rows); j++ {
			a, b := tv.Rows[j-1][i].Cell, tv.Rows[j][i].Cell
			if a.Empty() || b.Empty() {
				if a.Empty() && !b.Empty() {
					t.Fatalf("newTableView(%q): an empty %s before a value", raw, c.Key)
				}
				continue
			}
			cmp := compareCells(a, b, c.Num)
			if c.Sorted == "descending" {
				cmp = -cmp
			}
			if cmp > 0 {
				t.Fatalf("newTableView(%q): %s not %s at rows %d, %d: %q, %q", raw, c.Key, c.Sorted, j-1, j, a.Display, b.Display)
			}
		}
	}
	if sorted > 1 {
		t.Fatalf("newTableView(%q): %d columns sorted", raw, sorted)
	}
	if !slices.IsSortedFunc(tv.KeepFields, func(a, b keepField) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatalf("newTableView(%q): keep fields not sorted: %v", raw, tv.KeepFields)
	}
	for _, kf := range tv.KeepFields {
		if kf.Name == "t.q" || kf.Name == "t.page" || kf.Name == "export" || kf.Name == "format" {
			t.Fatalf("newTableView(%q): the search form keeps %s", raw, kf.Name)
		}
	}
	follow := func(link, what string) tableView {
		t.Helper()
		v, err := url.ParseQuery(strings.TrimPrefix(link, "?"))
		if !strings.HasPrefix(link, "?") || err != nil {
			t.Fatalf("newTableView(%q): %s link %q does not parse: %v", raw, what, link, err)
		}
		if what != "CSV" && what != "XLSX" && (v.Has("export") || v.Has("format")) {
			t.Fatalf("newTableView(%q): %s link %q exports", raw, what, link)
		}
		return newTableView(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/x", RawQuery: v.Encode()}, Header: http.Header{}}, tbl, opt)
	}
	if tv.NextURL != "" {
		if next := follow(tv.NextURL, "next"); next.PageNo != tv.PageNo+1 || next.Matched != tv.Matched {
			t.Fatalf("newTableView(%q): next %q shows page %d of %d matched, not %d of %d", raw, tv.NextURL, next.PageNo, next.Matched, tv.PageNo+1, tv.Matched)
		}
	} else if tv.PageNo != tv.Pages {
		t.Fatalf("newTableView(%q): no next link on page %d of %d", raw, tv.PageNo, tv.Pages)
	}
	if tv.PrevURL != "" {
		if prev := follow(tv.PrevURL, "previous"); prev.PageNo != tv.PageNo-1 || prev.Matched != tv.Matched {
			t.Fatalf("newTableView(%q): previous %q shows page %d, not %d", raw, tv.PrevURL, prev.PageNo, tv.PageNo-1)
		}
	} else if tv.PageNo != 1 {
		t.Fatalf("newTableView(%q): no previous link on page %d", raw, tv.PageNo)
	}
	for _, c := range tv.Cols {
		s := follow(c.SortURL, "sort "+c.Key)
		var now string
		for _, sc := range s.Cols {
			if sc.Sorted != "" {
				now = sc.Key
			}
		}
		if now != c.Key || s.PageNo != 1 {
			t.Fatalf("newTableView(%q): sort link %q of %s sorts by %q on page %d", raw, c.SortURL, c.Key, now, s.PageNo)
		}
	}
	if tv.ZerosURL != "" {
		if z := follow(tv.ZerosURL, "zeros"); z.ShowingZeros == tv.ShowingZeros || z.PageNo != 1 {
			t.Fatalf("newTableView(%q): zeros link %q does not toggle (showing %t)", raw, tv.ZerosURL, tv.ShowingZeros)
		}
	}
	for what, link := range map[string]string{"CSV": tv.CSVURL, "XLSX": tv.XLSXURL} {
		follow(link, what)
		v, _ := url.ParseQuery(strings.TrimPrefix(link, "?"))
		if v.Get("export") != "t" || v.Get("format") != strings.ToLower(what) || v.Has("t.page") {
			t.Fatalf("newTableView(%q): %s link %q", raw, what, link)
		}
	}
}

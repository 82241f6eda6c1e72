package store

// FuzzListFilter runs without a database: it builds the repositories
// (initRepos only declares them) and fuzzes how a list's query parameters
// become SQL conditions. Run it with
//
//	go test -run '^$' -fuzz '^FuzzListFilter$' -fuzztime 30s ./internal/store
//
// or every fuzz target of the repository with scripts/fuzz.sh.

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listFilters is what List reads of a repository's filters.
type listFilters interface {
	lookupFilter(name string) (filter, string, bool)
	filterNames() []string
}

func fuzzRepos() map[string]listFilters {
	s := &Store{}
	s.initRepos()
	return map[string]listFilters{"teams": s.Teams, "users": s.Users, "accounts": s.Accounts, "contacts": s.Contacts,
		"leads": s.Leads, "products": s.Products, "opportunities": s.Opportunities, "activities": s.Activities,
		"quotas": s.Quotas, "costs": s.Costs}
}

var sqlColumn = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// FuzzListFilter checks, for every repository, a filter name and value as
// List reads them from ?name=value:
//
//   - a name is accepted exactly when it is one of the names the "unknown
//     filter" error lists (filterNames), with = for plain filters and >= or
//     < for the _from and _to of time filters; its column is a plain SQL
//     identifier (List writes it into the query);
//   - parseFilter never panics; it gives an int64, a bool, a UTC time or
//     the text unchanged, as the filter's kind says, or an error quoting
//     the value; and the value written back (strconv, RFC 3339) parses to
//     the same.
func FuzzListFilter(f *testing.F) {
	for _, seed := range []struct{ name, raw string }{
		{"owner_id", "9"}, {"owner_id", "-1"}, {"owner_id", "9223372036854775808"}, {"owner_id", "0x10"}, {"owner_id", " 9"},
		{"active", "true"}, {"active", "1"}, {"active", "yes"}, {"active", "T"},
		{"created_at_from", "2026-01-01"}, {"created_at_to", "2026-01-01T10:00:00+02:00"}, {"created_at_from", "2026-01-01T10:00:00.123456789Z"},
		{"created_at_from", "2026-02-30"}, {"created_at_to", "0000-01-01T00:00:00+01:00"}, {"occurred_at_to", "9999-12-31T23:59:59-23:59"},
		{"created_at", "2026-01-01"}, {"created_at_from_to", "x"}, {"_from", "x"}, {"region", "EMEA"}, {"email", "\x00\xff"},
		{"stage", ""}, {"", ""}, {"status_from", "new"}, {"expected_close_from", "2026-03-31"}, {"closed_at_to", "2026-03-31T24:00:00Z"},
	} {
		f.Add(seed.name, seed.raw)
	}
	repos := fuzzRepos()
	f.Fuzz(func(t *testing.T, name, raw string) {
		for entity, r := range repos {
			names := r.filterNames()
			flt, op, ok := r.lookupFilter(name)
			if ok != slices.Contains(names, name) {
				t.Fatalf("%s: lookupFilter(%q) = %t, but the known filters %v say %t", entity, name, ok, names, !ok)
			}
			if !ok {
				continue
			}
			if !sqlColumn.MatchString(flt.column) {
				t.Fatalf("%s: filter %q has the column %q", entity, name, flt.column)
			}
			switch {
			case flt.kind == filterTime && strings.HasSuffix(name, "_from") && op == ">=":
			case flt.kind == filterTime && strings.HasSuffix(name, "_to") && op == "<":
			case flt.kind != filterTime && op == "=":
			default:
				t.Fatalf("%s: filter %q (kind %d) compares with %q", entity, name, flt.kind, op)
			}
			checkParseFilter(t, flt.kind, raw)
		}
	})
}

func checkParseFilter(t *testing.T, kind filterKind, raw string) {
	t.Helper()
	val, err := parseFilter(kind, raw)
	if err != nil {
		if kind == filterText || !strings.Contains(err.Error(), strconv.Quote(raw)) {
			t.Fatalf("parseFilter(%d, %q): %v", kind, raw, err)
		}
		return
	}
	var back string
	switch kind {
	case filterInt:
		n, ok := val.(int64)
		if !ok {
			t.Fatalf("parseFilter(int, %q) = %T", raw, val)
		}
		back = strconv.FormatInt(n, 10)
	case filterBool:
		b, ok := val.(bool)
		if !ok {
			t.Fatalf("parseFilter(bool, %q) = %T", raw, val)
		}
		back = strconv.FormatBool(b)
	case filterTime:
		tm, ok := val.(time.Time)
		if !ok || tm.Location() != time.UTC {
			t.Fatalf("parseFilter(time, %q) = %#v, want a UTC time", raw, val)
		}
		if y := tm.Year(); y < 0 || y > 9999 {
			return // an offset moved it out of what RFC 3339 writes; the databases take it
		}
		back = tm.Format(time.RFC3339Nano)
	case filterText:
		if s, ok := val.(string); !ok || s != raw {
			t.Fatalf("parseFilter(text, %q) = %#v", raw, val)
		}
		return
	}
	again, err := parseFilter(kind, back)
	if err != nil {
		t.Fatalf("parseFilter(%d, %q) = %v, written back as %q: %v", kind, raw, val, back, err)
	}
	if tm, ok := val.(time.Time); ok {
		if !tm.Equal(again.(time.Time)) {
			t.Fatalf("parseFilter(time, %q) = %v, written back as %q: %v", raw, tm, back, again)
		}
	} else if again != val {
		t.Fatalf("parseFilter(%d, %q) = %v, written back as %q: %v", kind, raw, val, back, again)
	}
}

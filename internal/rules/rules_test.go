package rules

import (
	"strings"
	"testing"
	"time"
)

var fields = Fields{"industry": Text, "employees": Number, "active": Bool, "created_at": Time, "segments": List, "custom": Map}

func rec() Record {
	return Record{"industry": "Software", "employees": 250.0, "active": true, "created_at": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"segments": []string{"ICP"}, "custom": map[string]any{"visits": 12.0, "tag": "hot lead"}}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "empty"},
		{"industy == \"x\"", "unknown name industy"},
		{"employees == \"many\"", "invalid operation"},
		{"employees + 1", "expected bool"},
		{"industry ==", "unexpected token"},
	} {
		if _, err := Compile(c.src, fields); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, err, c.want)
		}
	}
}

func TestExpressions(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{`industry == "Software" and employees >= 250`, true},
		{`industry in ["Retail", "Software"]`, true},
		{`not active`, false},
		{`"ICP" in segments`, true},
		{`custom.visits > 10 and custom.tag contains "hot"`, true},
		{`custom.nothing > 1`, false}, // missing: false, not an error
		{`days_since(created_at) > 30`, true},
	} {
		cond, err := Compile(c.src, fields)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if got := cond.Match(rec()); got != c.want {
			t.Errorf("%q = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestTestErrors(t *testing.T) {
	no := false
	for _, c := range []struct {
		t       Test
		key, in string
	}{
		{Test{}, "field", "name the field"},
		{Test{Field: "nope", Equals: "x"}, "field", `unknown field "nope"`},
		{Test{Field: "custom", Equals: "x"}, "field", "needs a key"},
		{Test{Field: "industry.x", Equals: "x"}, "field", "has no keys"},
		{Test{Field: "industry"}, "field", "needs one operator"},
		{Test{Field: "industry", Equals: "a", Missing: &no}, "field", "several operators"},
		{Test{Field: "employees", Equals: "many"}, "equals", "not a number"},
		{Test{Field: "active", Equals: "yes"}, "equals", "not true or false"},
		{Test{Field: "created_at", Equals: "2026"}, "equals", "compare dates with an expression"},
		{Test{Field: "industry", In: []any{}}, "in", "empty"},
		{Test{Field: "industry", Between: []float64{1, 2}}, "between", "not a number"},
		{Test{Field: "employees", Between: []float64{3}}, "between", "want [low, high]"},
		{Test{Field: "employees", Contains: "x"}, "contains", "not text"},
		{Test{Field: "employees", Regex: "x"}, "regex", "not text"},
		{Test{Field: "industry", Regex: "("}, "regex", "missing closing"},
	} {
		_, err := c.t.Compile(fields)
		fe, ok := err.(*FieldError)
		if !ok || fe.Key != c.key || !strings.Contains(fe.Reason, c.in) {
			t.Errorf("%+v: %v, want %s: ...%s...", c.t, err, c.key, c.in)
		}
	}
}

func TestTests(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		t    Test
		want bool
	}{
		{Test{Field: "industry", Equals: " software "}, true},
		{Test{Field: "employees", Equals: 250}, true},
		{Test{Field: "employees", In: []any{100, 250.0}}, true},
		{Test{Field: "active", Equals: true}, true},
		{Test{Field: "segments", Contains: "icp"}, true},
		{Test{Field: "segments", Equals: "ICP"}, true},
		{Test{Field: "custom.visits", Equals: "12"}, true},
		{Test{Field: "custom.visits", Between: []float64{12, 12}}, true},
		{Test{Field: "custom.tag", Regex: "^HOT"}, true},
		{Test{Field: "custom.tag", Missing: &yes}, false},
		{Test{Field: "custom.other", Missing: &yes}, true},
		{Test{Field: "industry", Missing: &no}, true},
		{Test{Field: "employees", Between: []float64{251, 1000}}, false},
	} {
		cond, err := c.t.Compile(fields)
		if err != nil {
			t.Fatalf("%+v: %v", c.t, err)
		}
		if got := cond.Match(rec()); got != c.want {
			t.Errorf("%s = %v, want %v", cond.Source, got, c.want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`industry == "x"`, `employees > 3 and not active`, `custom.a in ["b"]`, `days_since(created_at) < 2`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Compile(src, fields)
		if err != nil {
			return
		}
		c.Match(rec())    // must not panic on a full record
		c.Match(Record{}) // nor on an empty one
	})
}

// Records that name fields after their object ("opportunity.amount") are
// written the natural way in expressions and structured tests, and a
// misspelt member is refused when compiled.
func TestDottedFields(t *testing.T) {
	fields := Fields{"opportunity.amount": Number, "account.segment": Text, "lead.custom": Map}
	rec := Record{"opportunity.amount": 60000.0, "account.segment": "enterprise", "lead.custom": map[string]any{"tier": "gold"}}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`opportunity.amount > 50000 and account.segment == "enterprise"`, true},
		{`opportunity.amount > 50000 and account.segment == "smb"`, false},
		{`lead.custom.tier == "gold"`, true},
		{`"a.b" == "a.b"`, true},
	} {
		c, err := Compile(tc.src, fields)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := c.Match(rec); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.src, got, tc.want)
		}
	}
	for _, bad := range []string{`opportunity.amout > 5`, `account.segment > 5`} {
		if _, err := Compile(bad, fields); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}
	c, err := Test{Field: "lead.custom.tier", Equals: "Gold"}.Compile(fields)
	if err != nil || !c.Match(rec) {
		t.Errorf("structured test on a dotted map field: %v", err)
	}
	if _, err := (Test{Field: "account.segmnt", Equals: "x"}).Compile(fields); err == nil {
		t.Error("an unknown dotted field compiled")
	}
}

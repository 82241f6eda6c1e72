package quality

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// check is one data-quality check: its query in checks.sql (named by id) and
// how its findings are explained.
type check struct {
	id       string
	title    string // may hold one %d: the stale-deal threshold in days
	severity Severity
	fix      string
	query    *namedQuery
	// detail explains one example from the query's columns after the first four.
	detail func(e *env, v row) string
}

// checkList is every check, in report order: errors, then warnings, then
// info. Use loadChecks, which attaches the queries.
var checkList = []check{
	{id: "unknown_account", title: "References to unknown accounts", severity: SeverityError,
		fix: "Import the missing accounts (or re-import with stubs) or point these records at the right account; " +
			"until then their deals drop out of account, segment and territory reports.",
		detail: refDetail("account")},
	{id: "unknown_owner", title: "References to unknown owners", severity: SeverityError,
		fix: "Create the missing users (or map the source CRM's owner ids in the import) or reassign the records to an active user; " +
			"a deal without a known owner counts towards nobody's quota.",
		detail: refDetail("user")},
	{id: "unknown_product", title: "Line items with unknown products", severity: SeverityError,
		fix: "Add the product, or fix the product mapping of the import (often a misspelt product name) and re-import; " +
			"product reports leave these items out.",
		detail: func(e *env, v row) string {
			return fmt.Sprintf("product_id %d does not exist (on opportunity %d)", v.int(0), v.int(1))
		}},
	{id: "unknown_opportunity", title: "References to unknown opportunities", severity: SeverityError,
		fix:    "Import the missing opportunities, or delete the orphaned line items and relink the activities and converted leads.",
		detail: refDetail("opportunity")},
	{id: "unknown_contact", title: "Activities on unknown contacts", severity: SeverityError,
		fix:    "Import the missing contacts, or clear or correct the contact of these activities.",
		detail: refDetail("contact")},
	{id: "unknown_lead", title: "References to unknown leads", severity: SeverityError,
		fix:    "Import the missing leads, or clear or correct the lead of these activities and engagement events.",
		detail: refDetail("lead")},
	{id: "unknown_stage", title: "Deals in an unknown stage", severity: SeverityError,
		fix: "Add the stage (with its kind, open, won or lost, and its probability) under the pipeline stages, " +
			"or map the source's stage names in the import; win rates and funnels skip these deals.",
		detail: func(e *env, v row) string { return fmt.Sprintf("stage %q is not a pipeline stage", v.str(0)) }},
	{id: "open_deal_no_close_date", title: "Open deals without an expected close date", severity: SeverityError,
		fix: "Set an expected close date; forecasts and pipeline coverage by period leave these deals out.",
		detail: func(e *env, v row) string {
			return fmt.Sprintf("open (%s) with no expected close date; created %s", v.str(0), date(v.time(1)))
		}},
	{id: "won_deal_zero_amount", title: "Won deals without an amount", severity: SeverityError,
		fix: "Enter the amount the deal was won for (or its line items); bookings, average deal size and quota attainment are understated.",
		detail: func(e *env, v row) string {
			won := "won"
			if !v.null(2) {
				won += " on " + date(v.time(2))
			}
			return fmt.Sprintf("%s with amount %s %s", won, money(v.float(0)), v.str(1))
		}},
	{id: "closed_deal_no_close_date", title: "Closed deals without a close date", severity: SeverityError,
		fix:    "Set the date the deal was won or lost; win rates, bookings and sales cycles by period leave these deals out.",
		detail: func(e *env, v row) string { return fmt.Sprintf("closed (%s) with no close date", v.str(0)) }},
	{id: "closed_before_created", title: "Deals closed before they were created", severity: SeverityError,
		fix: "Correct the creation or the close date (imports often lose the real creation date); " +
			"these deals have negative sales cycles.",
		detail: func(e *env, v row) string {
			closed, created := v.time(0), v.time(1)
			return fmt.Sprintf("closed %s, %s before it was created on %s", date(closed), days(daysBetween(closed, created)), date(created))
		}},
	{id: "duplicate_accounts", title: "Duplicate accounts", severity: SeverityWarning,
		fix: "Merge each group into one account in the source CRM (moving its contacts and deals) and re-import, " +
			"or correct the name or domain; duplicates split a customer's history and can put it in two territories.",
		detail: func(e *env, v row) string {
			// columns: group_key, name_key, name_count, domain_key, domain_count
			var parts []string
			if !v.null(1) {
				parts = append(parts, fmt.Sprintf("name matches %d accounts (%q)", v.int(2), v.str(1)))
			}
			if !v.null(3) {
				parts = append(parts, fmt.Sprintf("domain %q is shared by %d accounts", v.str(3), v.int(4)))
			}
			return strings.Join(parts, "; ")
		}},
	{id: "duplicate_contacts", title: "Duplicate contacts", severity: SeverityWarning,
		fix:    "Merge contacts that share an email address; duplicates split a person's activity and engagement history.",
		detail: func(e *env, v row) string { return fmt.Sprintf("email %q is used by %d contacts", v.str(0), v.int(1)) }},
	{id: "duplicate_leads", title: "Duplicate leads", severity: SeverityWarning,
		fix: "Merge leads that share an email address; duplicates inflate lead counts and conversion rates' denominators " +
			"and can be routed to two reps.",
		detail: func(e *env, v row) string { return fmt.Sprintf("email %q is used by %d leads", v.str(0), v.int(1)) }},
	{id: "open_deal_zero_amount", title: "Open deals without an amount", severity: SeverityWarning,
		fix: "Enter the amount each deal is expected to close for; the open and weighted pipeline, pipeline coverage and " +
			"the pipeline forecasts count these deals as nothing.",
		detail: func(e *env, v row) string {
			return fmt.Sprintf("open (%s) with amount %s %s; created %s", v.str(0), money(v.float(1)), v.str(2), date(v.time(3)))
		}},
	{id: "past_close_date", title: "Open deals with an expected close date in the past", severity: SeverityWarning,
		fix: "Have the owner close the deal as won or lost, or move its expected close date; " +
			"overdue deals inflate the pipeline of periods that are over.",
		detail: func(e *env, v row) string {
			d := v.time(0)
			return fmt.Sprintf("expected to close %s, %s ago (stage %s)", date(d), days(daysBetween(d, e.today)), v.str(1))
		}},
	{id: "stale_deals", title: "Open deals without activity for %d days", severity: SeverityWarning,
		fix: "Log the calls, emails and meetings on these deals (or capture them automatically), " +
			"or close the deals that are no longer being worked.",
		detail: func(e *env, v row) string {
			// columns: last_activity, created_at, since
			if v.null(0) {
				c := v.time(1)
				return fmt.Sprintf("no activity logged since it was created on %s, %s ago", date(c), days(daysBetween(c, e.opt.Now)))
			}
			a := v.time(0)
			return fmt.Sprintf("last activity on %s, %s ago", date(a), days(daysBetween(a, e.opt.Now)))
		}},
	{id: "reps_without_quota", title: "Active reps without a quota this quarter", severity: SeverityWarning,
		fix: "Set a quota for the current fiscal quarter (or its year or months) for each active rep; " +
			"attainment, coverage and capacity plans need one.",
		detail: func(e *env, v row) string {
			return fmt.Sprintf("no quota for %s, for FY%04d or for a month of the quarter", e.quarter, e.quarter.Year)
		}},
	{id: "leads_never_responded", title: "Leads never responded to", severity: SeverityWarning,
		fix: "Have the owner respond and log it (the first call or email on the lead), or disqualify leads nobody will work; " +
			"lead response time leaves them out.",
		detail: func(e *env, v row) string {
			c := v.time(1)
			return fmt.Sprintf("%s lead created %s, %s ago, with no response time and no activity", v.str(0), date(c), days(daysBetween(c, e.opt.Now)))
		}},
	{id: "product_amount_outliers", title: "Line items priced far from their product's usual price", severity: SeverityInfo,
		fix: "Check the unit price and currency for a typo (an extra zero, the total entered as the unit price, the wrong product); " +
			"a genuine special price can stay.",
		detail: func(e *env, v row) string {
			// columns: opportunity_id, product, amount, currency, median, n, z, rank
			product := v.str(1)
			if v.null(1) {
				product = "product"
			}
			return fmt.Sprintf("%s at %s %s a unit is %s the median %s of %d line items (robust z %.1f), on opportunity %d",
				product, money(v.float(2)), v.str(3), ratio(v.float(2), v.float(4)), money(v.float(4)), v.int(5), v.float(6), v.int(0))
		}},
	{id: "deal_amount_outliers", title: "Deal amounts far from similar deals", severity: SeverityInfo,
		fix: "Check the amount and currency for a typo (an extra zero, cents entered as units); a genuine outlier can stay. " +
			"Deals are compared with deals without line items in the same stage, account segment and currency.",
		detail: func(e *env, v row) string {
			// columns: stage, segment, amount, currency, median, n, z, rank
			segment := "no segment"
			if v.str(1) != "" {
				segment = "segment " + v.str(1)
			}
			return fmt.Sprintf("%s %s is %s the median %s of %d %s deals in %s (robust z %.1f)",
				money(v.float(2)), v.str(3), ratio(v.float(2), v.float(4)), money(v.float(4)), v.int(5), v.str(0), segment, v.float(6))
		}},
}

// loadChecks parses checks.sql once and gives every check its query.
var loadChecks = sync.OnceValues(func() ([]check, error) {
	queries, err := parseQueries(checksSQL)
	if err != nil {
		return nil, fmt.Errorf("checks.sql: %w", err)
	}
	cs := slices.Clone(checkList)
	for i := range cs {
		q, ok := queries[cs[i].id]
		if !ok {
			return nil, fmt.Errorf("checks.sql has no query %s", cs[i].id)
		}
		cs[i].query = q
		delete(queries, cs[i].id)
	}
	for name := range queries {
		return nil, fmt.Errorf("checks.sql: query %s belongs to no check", name)
	}
	return cs, nil
})

// refDetail explains a reference (columns: field, id) to a missing record.
func refDetail(target string) func(e *env, v row) string {
	return func(e *env, v row) string {
		return fmt.Sprintf("%s %d: no %s has that id", v.str(0), v.int(1), target)
	}
}

// row is the scanned detail columns of one example, normalised across
// drivers: nil, string, int64, float64, bool or time.Time.
type row []any

func values(raw []any) row {
	out := make(row, len(raw))
	for i, v := range raw {
		switch x := v.(type) {
		case []byte:
			out[i] = string(x)
		case int32:
			out[i] = int64(x)
		case int:
			out[i] = int64(x)
		case float32:
			out[i] = float64(x)
		case time.Time:
			out[i] = x.UTC()
		default:
			out[i] = v
		}
	}
	return out
}

func (r row) null(i int) bool { return i >= len(r) || r[i] == nil }

func (r row) str(i int) string {
	if r.null(i) {
		return ""
	}
	if s, ok := r[i].(string); ok {
		return s
	}
	return fmt.Sprint(r[i])
}

func (r row) int(i int) int64 {
	switch x := r.at(i).(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func (r row) float(i int) float64 {
	switch x := r.at(i).(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func (r row) time(i int) time.Time {
	t, _ := r.at(i).(time.Time)
	return t
}

func (r row) at(i int) any {
	if r.null(i) {
		return nil
	}
	return r[i]
}

// date writes a day as YYYY-MM-DD.
func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// daysBetween counts whole days from a to b (negative when b is before a).
func daysBetween(a, b time.Time) int {
	return int(math.Floor(b.Sub(a).Hours() / 24))
}

func days(n int) string {
	if n == 1 || n == -1 {
		return "1 day"
	}
	if n < 0 {
		n = -n
	}
	return strconv.Itoa(n) + " days"
}

// money writes an amount with two decimals and thousands separators: 1,234,567.80.
func money(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + "." + frac
}

// ratio says how far v is from the median m, as a multiple: "12.0× " or "1/8.0 of".
func ratio(v, m float64) string {
	if m <= 0 {
		return "far from"
	}
	if v >= m {
		return fmt.Sprintf("%.1f×", v/m)
	}
	return fmt.Sprintf("1/%.1f of", m/v)
}

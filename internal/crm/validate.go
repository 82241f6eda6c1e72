package crm

import (
	"fmt"
	"net/mail"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Validate methods check what a record must satisfy on its own. References to
// other records (does the account exist?) are checked by the store, which sees them.

// MaxText is the longest text any field holds, in characters.
const MaxText = 1000

// TextProblem says what makes v unfit to store as text, or "" when nothing
// does: invalid UTF-8, a NUL byte (PostgreSQL cannot store one), or more than
// MaxText characters. Every writer checks with it: the API and pages through
// Validate, the importer on every cell it reads.
func TextProblem(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8 text"
	case strings.ContainsRune(v, 0):
		return "holds a NUL byte"
	case len(v) > MaxText && utf8.RuneCountInString(v) > MaxText:
		return fmt.Sprintf("is longer than %d characters", MaxText)
	}
	return ""
}

// checkStrings checks every text field of the record v points to with
// TextProblem, naming fields as the JSON does.
func checkStrings(p *Problems, v any) {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		val := rv.Field(i)
		if val.Kind() == reflect.Pointer && !val.IsNil() {
			val = val.Elem()
		}
		if !f.IsExported() || val.Kind() != reflect.String {
			continue
		}
		if why := TextProblem(val.String()); why != "" {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			p.Add(name, "%s", why)
		}
	}
}

func checkEmail(p *Problems, field, v string, required bool) {
	if v == "" {
		if required {
			p.Add(field, "is required")
		}
		return
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		p.Add(field, "%q is not an email address", v)
	}
}

// The valid ranges of money and quantities, chosen so that nothing accepted
// can overflow where it is stored (DECIMAL(18,2), rates DECIMAL(18,8)) or
// added up: the KPI queries convert and sum in DECIMAL(38), which holds
// MaxAmount × MaxExchangeRate over ten billion deals.
var (
	MaxAmount       = decimal.RequireFromString("999999999999999.99") // below 10^15 in any currency
	MaxQuantity     = decimal.New(1, 9)
	MaxExchangeRate = decimal.New(1, 6)
	MinExchangeRate = decimal.New(1, -8) // the stored precision: anything smaller would read as 0
)

// MaxDurationMinutes is a year: no activity lasts longer.
const MaxDurationMinutes = 366 * 24 * 60

// CheckAmount adds a problem when a money value is negative or above MaxAmount.
func CheckAmount(p *Problems, field string, v decimal.Decimal) {
	switch {
	case v.IsNegative():
		p.Add(field, "must not be negative")
	case v.GreaterThan(MaxAmount):
		p.Add(field, "%s is above the largest amount, %s", v, MaxAmount)
	}
}

// CheckRate adds a problem when an exchange rate is outside its range.
func CheckRate(p *Problems, field string, v decimal.Decimal) {
	if v.LessThan(MinExchangeRate) || v.GreaterThan(MaxExchangeRate) {
		p.Add(field, "%s is outside the valid range %s to %s", v, MinExchangeRate, MaxExchangeRate)
	}
}

func checkOptionalAmount(p *Problems, field string, v *decimal.Decimal) {
	if v != nil {
		CheckAmount(p, field, *v)
	}
}

func checkNonNegative(p *Problems, field string, v *int64) {
	if v != nil && *v < 0 {
		p.Add(field, "must not be negative")
	}
}

func checkProbability(p *Problems, field string, v *float64) {
	if v != nil && (*v < 0 || *v > 1) {
		p.Add(field, "must be between 0 and 1")
	}
}

func checkCurrency(p *Problems, field, v string) {
	if !ValidCurrencyCode(v) {
		p.Add(field, "%q is not a 3-letter ISO 4217 currency code", v)
	}
}

func checkExternalID(p *Problems, v *string) {
	if v != nil && strings.TrimSpace(*v) == "" {
		p.Add("external_id", "must not be blank (omit it instead)")
	}
}

// Validate checks a team.
func (t *Team) Validate() error {
	p := NewProblems("team")
	checkStrings(p, t)
	p.Require(strings.TrimSpace(t.Name) != "", "name", "is required")
	if t.ParentID != nil && *t.ParentID == t.ID && t.ID != 0 {
		p.Add("parent_id", "a team cannot be its own parent")
	}
	return p.Err()
}

// Validate checks a user.
func (u *User) Validate() error {
	p := NewProblems("user")
	checkStrings(p, u)
	checkEmail(p, "email", u.Email, true)
	p.Require(strings.TrimSpace(u.Name) != "", "name", "is required")
	if !u.Role.Valid() {
		p.Add("role", "%q is not one of admin, ops, manager, rep, viewer", u.Role)
	}
	if u.ManagerID != nil && *u.ManagerID == u.ID && u.ID != 0 {
		p.Add("manager_id", "a user cannot be their own manager")
	}
	return p.Err()
}

// Validate checks an account.
func (a *Account) Validate() error {
	p := NewProblems("account")
	checkStrings(p, a)
	checkExternalID(p, a.ExternalID)
	p.Require(strings.TrimSpace(a.Name) != "", "name", "is required")
	checkNonNegative(p, "employees", a.Employees)
	checkOptionalAmount(p, "annual_revenue", a.AnnualRevenue)
	if a.Latitude != nil && (*a.Latitude < -90 || *a.Latitude > 90) {
		p.Add("latitude", "must be between -90 and 90")
	}
	if a.Longitude != nil && (*a.Longitude < -180 || *a.Longitude > 180) {
		p.Add("longitude", "must be between -180 and 180")
	}
	if (a.Latitude == nil) != (a.Longitude == nil) {
		p.Add("latitude", "latitude and longitude go together")
	}
	if a.ParentID != nil && *a.ParentID == a.ID && a.ID != 0 {
		p.Add("parent_id", "an account cannot be its own parent")
	}
	return p.Err()
}

// Validate checks a contact.
func (c *Contact) Validate() error {
	p := NewProblems("contact")
	checkStrings(p, c)
	checkExternalID(p, c.ExternalID)
	p.Require(strings.TrimSpace(c.FirstName+c.LastName) != "", "last_name", "a contact needs a name")
	checkEmail(p, "email", c.Email, false)
	return p.Err()
}

// Validate checks a lead.
func (l *Lead) Validate() error {
	p := NewProblems("lead")
	checkStrings(p, l)
	checkExternalID(p, l.ExternalID)
	p.Require(strings.TrimSpace(l.FirstName+l.LastName+l.Email+l.Company) != "", "last_name", "a lead needs a name, an email or a company")
	checkEmail(p, "email", l.Email, false)
	checkNonNegative(p, "employees", l.Employees)
	checkOptionalAmount(p, "annual_revenue", l.AnnualRevenue)
	if !l.Status.Valid() {
		p.Add("status", "%q is not one of new, working, qualified, disqualified, converted", l.Status)
	}
	if l.CreatedAt.IsZero() {
		p.Add("created_at", "is required")
	}
	if l.FirstResponseAt != nil && l.FirstResponseAt.Before(l.CreatedAt) {
		p.Add("first_response_at", "is before created_at")
	}
	if l.ConvertedAt != nil && l.ConvertedAt.Before(l.CreatedAt) {
		p.Add("converted_at", "is before created_at")
	}
	return p.Err()
}

// Validate checks a lead event.
func (e *LeadEvent) Validate() error {
	p := NewProblems("lead event")
	checkStrings(p, e)
	p.Require(e.LeadID != 0, "lead_id", "is required")
	p.Require(strings.TrimSpace(e.Kind) != "", "kind", "is required")
	p.Require(!e.OccurredAt.IsZero(), "occurred_at", "is required")
	return p.Err()
}

// Validate checks a product.
func (pr *Product) Validate() error {
	p := NewProblems("product")
	checkStrings(p, pr)
	checkExternalID(p, pr.ExternalID)
	p.Require(strings.TrimSpace(pr.Name) != "", "name", "is required")
	CheckAmount(p, "list_price", pr.ListPrice)
	checkCurrency(p, "currency", pr.Currency)
	return p.Err()
}

// Validate checks a stage definition.
func (s *Stage) Validate() error {
	p := NewProblems("stage")
	checkStrings(p, s)
	p.Require(strings.TrimSpace(s.Name) != "", "name", "is required")
	p.Require(s.Probability >= 0 && s.Probability <= 1, "probability", "must be between 0 and 1")
	if !s.Kind.Valid() {
		p.Add("kind", "%q is not one of open, won, lost", s.Kind)
	}
	if !s.ForecastCategory.Valid() {
		p.Add("forecast_category", "%q is not a forecast category", s.ForecastCategory)
	}
	return p.Err()
}

// Validate checks an opportunity on its own.
func (o *Opportunity) Validate() error {
	p := NewProblems("opportunity")
	checkStrings(p, o)
	checkExternalID(p, o.ExternalID)
	p.Require(strings.TrimSpace(o.Name) != "", "name", "is required")
	p.Require(o.AccountID != 0, "account_id", "is required")
	p.Require(o.OwnerID != 0, "owner_id", "is required")
	CheckAmount(p, "amount", o.Amount)
	checkCurrency(p, "currency", o.Currency)
	p.Require(strings.TrimSpace(o.Stage) != "", "stage", "is required")
	checkProbability(p, "probability", o.Probability)
	if o.ForecastCategory != "" && !o.ForecastCategory.Valid() {
		p.Add("forecast_category", "%q is not one of pipeline, best_case, commit, closed, omitted", o.ForecastCategory)
	}
	if !o.Type.Valid() {
		p.Add("type", "%q is not one of new, expansion, renewal", o.Type)
	}
	if o.ClosedAt != nil && !o.CreatedAt.IsZero() && o.ClosedAt.Before(NewDate(o.CreatedAt).Time) {
		p.Add("closed_at", "is before the opportunity was created")
	}
	return p.Err()
}

// Validate checks a line item.
func (li *LineItem) Validate() error {
	p := NewProblems("line item")
	checkStrings(p, li)
	p.Require(li.OpportunityID != 0, "opportunity_id", "is required")
	p.Require(li.ProductID != 0, "product_id", "is required")
	switch {
	case !li.Quantity.IsPositive():
		p.Add("quantity", "must be positive")
	case li.Quantity.GreaterThan(MaxQuantity):
		p.Add("quantity", "%s is above the largest quantity, %s", li.Quantity, MaxQuantity)
	}
	CheckAmount(p, "unit_price", li.UnitPrice)
	CheckAmount(p, "total_price", li.TotalPrice)
	return p.Err()
}

// Validate checks an activity.
func (a *Activity) Validate() error {
	p := NewProblems("activity")
	checkStrings(p, a)
	checkExternalID(p, a.ExternalID)
	if !a.Kind.Valid() {
		p.Add("kind", "%q is not one of call, email, meeting, demo, task, other", a.Kind)
	}
	p.Require(a.OwnerID != 0, "owner_id", "is required")
	p.Require(!a.OccurredAt.IsZero(), "occurred_at", "is required")
	if a.DurationMinutes < 0 || a.DurationMinutes > MaxDurationMinutes {
		p.Add("duration_minutes", "must be 0 to %d (a year)", MaxDurationMinutes)
	}
	if !a.Direction.Valid() {
		p.Add("direction", "%q is not one of inbound, outbound or empty", a.Direction)
	}
	return p.Err()
}

// Validate checks a quota; cal says which periods exist.
func (q *Quota) Validate(cal FiscalCalendar) error {
	p := NewProblems("quota")
	checkStrings(p, q)
	p.Require((q.UserID == nil) != (q.TeamID == nil), "user_id", "a quota belongs to exactly one user or one team")
	if _, err := cal.ParsePeriod(q.Period); err != nil {
		p.Add("period", "%v", err)
	}
	CheckAmount(p, "amount", q.Amount)
	checkCurrency(p, "currency", q.Currency)
	return p.Err()
}

// Validate checks a cost; cal says which periods exist.
func (c *Cost) Validate(cal FiscalCalendar) error {
	p := NewProblems("cost")
	checkStrings(p, c)
	if _, err := cal.ParsePeriod(c.Period); err != nil {
		p.Add("period", "%v", err)
	}
	if !c.Category.Valid() {
		p.Add("category", "%q is not one of sales, marketing", c.Category)
	}
	CheckAmount(p, "amount", c.Amount)
	checkCurrency(p, "currency", c.Currency)
	return p.Err()
}

// Validate checks the organisation settings.
func (s *Settings) Validate() error {
	p := NewProblems("settings")
	checkStrings(p, s)
	p.Require(s.FiscalYearStartMonth >= 1 && s.FiscalYearStartMonth <= 12, "fiscal_year_start_month", "must be 1 to 12")
	checkCurrency(p, "corporate_currency", s.CorporateCurrency)
	return p.Err()
}

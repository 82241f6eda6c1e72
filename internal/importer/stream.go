package importer

import (
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// The big tables (contacts, leads, opportunities, their history and line
// items, activities) stream: each row is converted, validated and appended
// to a staging table (or, for a first load, straight to the table), never
// held in memory with the others. streamSpec says, per entity, the columns,
// how a row converts, and what a re-import may change.

type streamSpec struct {
	entity *entityDef
	table  string
	cols   []string // the table's columns, in row order
	// extra are staging-only columns after cols: line, is_new (keyed
	// entities), then the keys of references resolved in SQL.
	extra   []string
	keyed   bool // rows carry an external_id and upsert by it
	update  []updCol
	bigRefs []bigRefCol
	// direct: a first load (no stored row has an external id) may skip staging.
	direct  bool
	convert func(c *rowCtx, row []any) bool
}

// keepCreated keeps the stored creation time when the row had none (and so
// got the import's time, $1).
const keepCreated = "CASE WHEN s.created_at = CAST($1 AS TIMESTAMP) THEN T.created_at ELSE s.created_at END"

// updCol is a column a re-import sets when one of its fields is mapped.
type updCol struct {
	col    string
	fields []int  // set when any is mapped; none = always
	expr   string // SQL for the new value, "T." = the stored row; default s.<col>
	// tracked columns write a stage-history row when they change.
	tracked bool
	// quiet columns change without counting the row as changed (updated_at).
	quiet bool
}

// bigRefCol is a reference resolved in SQL: the staged key in refCol, the
// resolved id in col.
type bigRefCol struct {
	field  int
	col    string
	refCol string
	table  string
}

var (
	contactCols     = []string{"id", "external_id", "account_id", "first_name", "last_name", "email", "phone", "title", "owner_id", "created_at"}
	leadCols        = []string{"id", "external_id", "first_name", "last_name", "email", "company", "title", "industry", "employees", "annual_revenue", "country", "state", "city", "source", "channel", "status", "owner_id", "created_at", "first_response_at", "converted_at", "converted_opportunity_id", "custom_fields"}
	opportunityCols = []string{"id", "external_id", "name", "account_id", "owner_id", "amount", "currency", "stage", "probability", "forecast_category", "deal_type", "source", "created_at", "expected_close", "closed_at", "is_closed", "is_won", "loss_reason", "updated_at"}
	historyCols     = []string{"id", "opportunity_id", "changed_at", "stage", "amount", "expected_close", "forecast_category", "probability", "changed_by"}
	lineItemCols    = []string{"id", "opportunity_id", "product_id", "quantity", "unit_price", "total_price"}
	leadEventCols   = []string{"id", "lead_id", "kind", "occurred_at", "detail"}
	activityCols    = []string{"id", "external_id", "kind", "subject", "owner_id", "account_id", "contact_id", "lead_id", "opportunity_id", "occurred_at", "duration_minutes", "direction", "outcome", "captured"}
)

var streamSpecs map[*entityDef]*streamSpec

func init() {
	streamSpecs = map[*entityDef]*streamSpec{
		entContact: {entity: entContact, table: "contacts", cols: contactCols, extra: []string{"line", "is_new"}, keyed: true, direct: true,
			convert: convContact,
			update: []updCol{{col: "account_id", fields: []int{coAccount}}, {col: "first_name", fields: []int{coFirstName, coName}},
				{col: "last_name", fields: []int{coLastName, coName}}, {col: "email", fields: []int{coEmail}}, {col: "phone", fields: []int{coPhone}},
				{col: "title", fields: []int{coTitle}}, {col: "owner_id", fields: []int{coOwner}}, {col: "created_at", fields: []int{coCreatedAt}, expr: keepCreated}}},
		entLead: {entity: entLead, table: "leads", cols: leadCols, extra: []string{"line", "is_new", "converted_opportunity_ref"}, keyed: true, direct: true,
			convert: convLead,
			bigRefs: []bigRefCol{{field: leConvertedOpportunity, col: "converted_opportunity_id", refCol: "converted_opportunity_ref", table: "opportunities"}},
			update: []updCol{{col: "first_name", fields: []int{leFirstName, leName}}, {col: "last_name", fields: []int{leLastName, leName}},
				{col: "email", fields: []int{leEmail}}, {col: "company", fields: []int{leCompany}}, {col: "title", fields: []int{leTitle}},
				{col: "industry", fields: []int{leIndustry}}, {col: "employees", fields: []int{leEmployees}}, {col: "annual_revenue", fields: []int{leAnnualRevenue}},
				{col: "country", fields: []int{leCountry}}, {col: "state", fields: []int{leState}}, {col: "city", fields: []int{leCity}},
				{col: "source", fields: []int{leSource}}, {col: "channel", fields: []int{leChannel}}, {col: "status", fields: []int{leStatus, leIsConverted}},
				{col: "owner_id", fields: []int{leOwner}}, {col: "created_at", fields: []int{leCreatedAt}, expr: keepCreated}, {col: "first_response_at", fields: []int{leFirstResponseAt}},
				{col: "converted_at", fields: []int{leConvertedAt}}, {col: "converted_opportunity_id", fields: []int{leConvertedOpportunity}},
				{col: "custom_fields", fields: []int{leCustomFields}}}},
		entOpportunity: {entity: entOpportunity, table: "opportunities", cols: opportunityCols, extra: []string{"line", "is_new"}, keyed: true, direct: true,
			convert: convOpportunity,
			update: []updCol{{col: "name", fields: []int{opName}}, {col: "account_id", fields: []int{opAccount}}, {col: "owner_id", fields: []int{opOwner}},
				{col: "amount", fields: []int{opAmount}, tracked: true}, {col: "currency", fields: []int{opCurrency}},
				{col: "stage", fields: []int{opStage}, tracked: true}, {col: "probability", fields: []int{opProbability}, tracked: true},
				{col: "forecast_category", fields: []int{opStage, opForecastCategory}, tracked: true}, {col: "deal_type", fields: []int{opType}},
				{col: "source", fields: []int{opSource}}, {col: "created_at", fields: []int{opCreatedAt}, expr: keepCreated},
				{col: "expected_close", fields: []int{opExpectedClose}, tracked: true},
				{col: "closed_at", fields: []int{opClosedAt}, tracked: true},
				{col: "closed_at", fields: []int{opStage}, tracked: true, expr: "CASE WHEN NOT s.is_closed THEN NULL WHEN T.is_closed THEN T.closed_at ELSE s.closed_at END"},
				{col: "is_closed", fields: []int{opStage}}, {col: "is_won", fields: []int{opStage}}, {col: "loss_reason", fields: []int{opLossReason}},
				{col: "loss_reason", fields: []int{opStage}, expr: "CASE WHEN s.is_closed THEN T.loss_reason ELSE '' END"},
				{col: "updated_at", quiet: true, expr: "CAST($1 AS TIMESTAMP)"}}},
		entHistory: {entity: entHistory, table: "opportunity_history", cols: historyCols, extra: []string{"line", "opportunity_ref"},
			convert: convHistory,
			bigRefs: []bigRefCol{{field: hiOpportunity, col: "opportunity_id", refCol: "opportunity_ref", table: "opportunities"}}},
		entLineItem: {entity: entLineItem, table: "line_items", cols: lineItemCols, extra: []string{"line", "opportunity_ref"},
			convert: convLineItem,
			bigRefs: []bigRefCol{{field: liOpportunity, col: "opportunity_id", refCol: "opportunity_ref", table: "opportunities"}}},
		entActivity: {entity: entActivity, table: "activities", cols: activityCols, extra: []string{"line", "is_new", "contact_ref", "lead_ref", "opportunity_ref"}, keyed: true,
			convert: convActivity,
			bigRefs: []bigRefCol{{field: atContact, col: "contact_id", refCol: "contact_ref", table: "contacts"},
				{field: atLead, col: "lead_id", refCol: "lead_ref", table: "leads"},
				{field: atOpportunity, col: "opportunity_id", refCol: "opportunity_ref", table: "opportunities"}},
			update: []updCol{{col: "kind", fields: []int{atKind}}, {col: "subject", fields: []int{atSubject}}, {col: "owner_id", fields: []int{atOwner}},
				{col: "account_id", fields: []int{atAccount}}, {col: "contact_id", fields: []int{atContact}}, {col: "lead_id", fields: []int{atLead}},
				{col: "opportunity_id", fields: []int{atOpportunity}}, {col: "occurred_at", fields: []int{atOccurredAt}},
				{col: "duration_minutes", fields: []int{atDurationMinutes, atDurationSeconds}}, {col: "direction", fields: []int{atDirection}},
				{col: "outcome", fields: []int{atOutcome}}, {col: "captured", fields: []int{atCaptured}}}},
		entLeadEvent: {entity: entLeadEvent, table: "lead_events", cols: leadEventCols, extra: []string{"line", "lead_ref"},
			convert: convLeadEvent,
			bigRefs: []bigRefCol{{field: evLead, col: "lead_id", refCol: "lead_ref", table: "leads"}}},
	}
}

// splitName splits "Ada Lovelace" into first and last name.
func splitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	if i := strings.LastIndexByte(full, ' '); i > 0 {
		return strings.TrimSpace(full[:i]), full[i+1:]
	}
	return "", full
}

// names reads first and last name, or splits a full name.
func (c *rowCtx) names(fFirst, fLast, fName int) (string, string) {
	first, last := c.str(fFirst), c.str(fLast)
	if first == "" && last == "" {
		return splitName(c.str(fName))
	}
	return first, last
}

func (c *rowCtx) createdAt(f int) time.Time {
	if t, ok := c.timestamp(f); ok {
		return t
	}
	return c.rn.now
}

func convContact(c *rowCtx, row []any) bool {
	v := crm.Contact{ExternalID: c.ext(coExternalID), AccountID: c.account(coAccount), Email: c.str(coEmail),
		Phone: c.str(coPhone), Title: c.str(coTitle), OwnerID: c.user(coOwner), CreatedAt: c.createdAt(coCreatedAt)}
	v.FirstName, v.LastName = c.names(coFirstName, coLastName, coName)
	c.validation(v.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	copy(row, []any{id, strOrNil(v.ExternalID), ptrOrNil(v.AccountID), v.FirstName, v.LastName, v.Email, v.Phone, v.Title, ptrOrNil(v.OwnerID), v.CreatedAt})
	row[len(contactCols)+1] = true
	return true
}

func convLead(c *rowCtx, row []any) bool {
	v := crm.Lead{ExternalID: c.ext(leExternalID), Email: c.str(leEmail), Company: c.str(leCompany), Title: c.str(leTitle),
		Industry: c.str(leIndustry), Country: c.str(leCountry), State: c.str(leState), City: c.str(leCity), Source: c.str(leSource),
		Channel: c.str(leChannel), Status: leadStatus(c.str(leStatus)), OwnerID: c.user(leOwner), CreatedAt: c.createdAt(leCreatedAt)}
	v.FirstName, v.LastName = c.names(leFirstName, leLastName, leName)
	if conv, ok := c.boolean(leIsConverted); ok && conv {
		v.Status = crm.LeadConverted
	}
	employees := c.optInt(leEmployees)
	if n, ok := employees.(int64); ok {
		v.Employees = &n
	}
	revenue := c.optMoney(leAnnualRevenue)
	if t, ok := c.timestamp(leFirstResponseAt); ok {
		v.FirstResponseAt = &t
	}
	if t, ok := c.timestamp(leConvertedAt); ok {
		v.ConvertedAt = &t
	}
	if len(c.p.custom) > 0 || len(c.p.named) > 0 {
		v.CustomFields = crm.CustomFields{}
		for _, i := range c.p.custom {
			if s := strings.TrimSpace(c.rec[i]); s != "" {
				v.CustomFields[c.p.header[i]] = s
			}
		}
		for _, n := range c.p.named {
			if s, ok := n.col.raw(c.rec); ok {
				v.CustomFields[n.name] = s
			}
		}
	}
	oppRef, _ := c.refKey(leConvertedOpportunity)
	c.validation(v.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	custom, _ := v.CustomFields.Value()
	copy(row, []any{id, strOrNil(v.ExternalID), v.FirstName, v.LastName, v.Email, v.Company, v.Title, v.Industry, employees, revenue,
		v.Country, v.State, v.City, v.Source, v.Channel, string(v.Status), ptrOrNil(v.OwnerID), v.CreatedAt,
		ptrOrNil(v.FirstResponseAt), ptrOrNil(v.ConvertedAt), nil, custom})
	n := len(leadCols)
	row[n+1] = true
	row[n+2] = nilIfEmpty(oppRef)
	return true
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func convOpportunity(c *rowCtx, row []any) bool {
	p := c.p
	v := crm.Opportunity{ExternalID: c.ext(opExternalID), Name: c.str(opName), Currency: c.currency(opCurrency),
		Type: c.rn.dealTypes.get(c.str(opType)), Source: c.str(opSource), LossReason: c.str(opLossReason), UpdatedAt: c.rn.now}
	if a := c.account(opAccount); a != nil {
		v.AccountID = *a
	} else if _, given := c.raw(opAccount); !given && c.rn.opt.CreateMissing && !c.bad {
		v.AccountID = c.rn.noAccount()
	}
	if u := c.user(opOwner); u != nil {
		v.OwnerID = *u
	}
	v.Amount, _ = c.money(opAmount)
	v.CreatedAt = c.createdAt(opCreatedAt)
	expected, hasExpected := c.date(opExpectedClose)
	if hasExpected {
		d := crm.Date{Time: expected}
		v.ExpectedClose = &d
	}
	closedAt, hasClosedAt := c.date(opClosedAt)
	prob, hasProb := c.probability(opProbability)
	var cat crm.ForecastCategory
	if s, ok := c.raw(opForecastCategory); ok {
		if fc, ok := forecastCategory(s); ok {
			cat = fc
		} else {
			c.fail(opForecastCategory, s, "not a forecast category (pipeline, best case, commit, closed, omitted)")
		}
	}
	st := c.stage(opStage, fieldIf(p, opIsClosed), fieldIf(p, opIsWon), fieldIf(p, opProbability), fieldIf(p, opForecastCategory))
	if st != nil {
		v.Stage = st.Name
		v.IsClosed = st.Kind != crm.StageOpen
		v.IsWon = st.Kind == crm.StageWon
		v.ForecastCategory = st.ForecastCategory
		if cat != "" && !v.IsClosed {
			v.ForecastCategory = cat
		}
		if hasProb && math64Differs(prob, st.Probability) {
			v.Probability = &prob
		}
		if v.IsClosed {
			var d crm.Date
			switch {
			case hasClosedAt:
				d = crm.Date{Time: closedAt}
			case hasExpected:
				d = crm.Date{Time: expected}
			default:
				d = crm.NewDate(c.rn.now)
			}
			v.ClosedAt = &d
		} else {
			v.LossReason = ""
		}
	} else if _, ok := c.raw(opStage); !ok {
		v.Stage = "" // Validate says it is required
	}
	c.validation(v.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	row[0], row[1], row[2], row[3], row[4] = id, strOrNil(v.ExternalID), v.Name, v.AccountID, v.OwnerID
	row[5], row[6], row[7], row[8], row[9] = v.Amount, v.Currency, v.Stage, ptrOrNil(v.Probability), string(v.ForecastCategory)
	row[10], row[11], row[12], row[13] = string(v.Type), v.Source, v.CreatedAt, dateOrNil(v.ExpectedClose)
	row[14], row[15], row[16], row[17], row[18] = dateOrNil(v.ClosedAt), v.IsClosed, v.IsWon, v.LossReason, v.UpdatedAt
	row[len(opportunityCols)+1] = true
	return true
}

func dateOrNil(d *crm.Date) any {
	if d == nil {
		return nil
	}
	return d.Time
}

// fieldIf is f when the plan maps it, else -1.
func fieldIf(p *filePlan, f int) int {
	if p.mapped(f) {
		return f
	}
	return -1
}

func math64Differs(a, b float64) bool { return a-b > 1e-9 || b-a > 1e-9 }

func convHistory(c *rowCtx, row []any) bool {
	ref, _ := c.refKey(hiOpportunity)
	if ref == "" {
		c.fail(hiOpportunity, "", "is required")
	}
	changed, ok := c.timestamp(hiChangedAt)
	if !ok && !c.bad {
		c.fail(hiChangedAt, "", "is required")
	}
	amount, _ := c.money(hiAmount)
	if amount.IsNegative() {
		c.fail(hiAmount, amount.String(), "must not be negative")
	}
	prob, hasProb := c.probability(hiProbability)
	var cat crm.ForecastCategory
	if s, ok := c.raw(hiForecastCategory); ok {
		if fc, ok := forecastCategory(s); ok {
			cat = fc
		} else {
			c.fail(hiForecastCategory, s, "not a forecast category (pipeline, best case, commit, closed, omitted)")
		}
	}
	var st *crm.Stage
	if name, ok := c.raw(hiStage); ok {
		st = c.rn.refs.stages[strings.ToLower(name)]
		if st == nil && !c.bad {
			// History rows carry no closed / won flags: read the kind from
			// the forecast category (Closed = won, Omitted at 0% = lost).
			kind := guessKind(name)
			if cat == crm.ForecastClosed {
				kind = crm.StageWon
			} else if cat == crm.ForecastOmitted && hasProb && prob == 0 {
				kind = crm.StageLost
			}
			def := crm.Stage{Name: name, Kind: kind, Probability: defaultProbability(kind), ForecastCategory: defaultCategory(kind)}
			if hasProb {
				def.Probability = prob
			}
			if cat != "" {
				def.ForecastCategory = cat
			}
			if err := def.Validate(); err != nil {
				c.fail(hiStage, name, err.Error())
			} else {
				st = c.rn.addStage(def)
			}
		}
	} else {
		c.fail(hiStage, "", "is required")
	}
	expected := c.optDate(hiExpectedClose)
	changedBy := c.user(hiChangedBy)
	if c.bad || st == nil {
		return false
	}
	if cat == "" {
		cat = st.ForecastCategory
	}
	var probability any
	if hasProb {
		probability = prob
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	copy(row, []any{id, nil, changed, st.Name, amount, expected, string(cat), probability, ptrOrNil(changedBy)})
	row[len(historyCols)+1] = ref
	return true
}

func convLineItem(c *rowCtx, row []any) bool {
	ref, _ := c.refKey(liOpportunity)
	product := c.product(liProduct)
	qty, hasQty := c.money(liQuantity)
	if !hasQty {
		qty = decimal.NewFromInt(1)
	}
	unit, hasUnit := c.money(liUnitPrice)
	total, hasTotal := c.money(liTotalPrice)
	if !hasUnit {
		switch {
		case hasTotal && qty.IsPositive():
			unit = total.DivRound(qty, 2)
		case product != nil:
			unit = c.rn.refs.productPrice[*product]
		}
	}
	if !hasTotal || hasUnit {
		total = qty.Mul(unit).Round(2)
	}
	li := crm.LineItem{OpportunityID: -1, Quantity: qty, UnitPrice: unit, TotalPrice: total}
	if ref == "" {
		li.OpportunityID = 0
	}
	if product != nil {
		li.ProductID = *product
	}
	c.validation(li.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	copy(row, []any{id, nil, li.ProductID, li.Quantity, li.UnitPrice, li.TotalPrice})
	row[len(lineItemCols)+1] = ref
	return true
}

func convActivity(c *rowCtx, row []any) bool {
	def := crm.ActivityTask
	if c.p.eventKinds {
		def = crm.ActivityMeeting
	}
	v := crm.Activity{ExternalID: c.ext(atExternalID), Kind: activityKind(c.str(atKind), def), Subject: c.str(atSubject),
		AccountID: c.account(atAccount), Direction: direction(c.str(atDirection)), Outcome: c.str(atOutcome)}
	if u := c.user(atOwner); u != nil {
		v.OwnerID = *u
	}
	if t, ok := c.timestamp(atOccurredAt); ok {
		v.OccurredAt = t
	}
	if m, ok := c.integer(atDurationMinutes); ok {
		v.DurationMinutes = m
	} else if s, ok := c.integer(atDurationSeconds); ok {
		v.DurationMinutes = (s + 59) / 60
	}
	if b, ok := c.boolean(atCaptured); ok {
		v.Captured = b
	}
	contact, _ := c.refKey(atContact)
	lead, _ := c.refKey(atLead)
	opp, _ := c.refKey(atOpportunity)
	c.validation(v.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	copy(row, []any{id, strOrNil(v.ExternalID), string(v.Kind), v.Subject, v.OwnerID, ptrOrNil(v.AccountID), nil, nil, nil,
		v.OccurredAt, v.DurationMinutes, string(v.Direction), v.Outcome, v.Captured})
	n := len(activityCols)
	row[n+1] = true
	row[n+2], row[n+3], row[n+4] = nilIfEmpty(contact), nilIfEmpty(lead), nilIfEmpty(opp)
	return true
}

// convLeadEvent reads one engagement event of a lead. The lead is resolved in
// SQL; an event without a time gets its lead's created_at there. A row whose
// kind is empty is skipped: the file has no event for that lead.
func convLeadEvent(c *rowCtx, row []any) bool {
	kind := snakeCase(c.str(evKind))
	if kind == "" {
		c.skip = true
		return false
	}
	ref, _ := c.refKey(evLead)
	v := crm.LeadEvent{Kind: kind, Detail: c.str(evDetail), OccurredAt: c.rn.now}
	if ref != "" {
		v.LeadID = -1 // resolved in SQL
	}
	var occurred any
	if t, ok := c.timestamp(evOccurredAt); ok {
		v.OccurredAt, occurred = t, t
	}
	c.validation(v.Validate())
	if c.bad {
		return false
	}
	id, err := c.rn.newID()
	if err != nil {
		return false
	}
	copy(row, []any{id, nil, v.Kind, occurred, v.Detail})
	row[len(leadEventCols)+1] = ref
	return true
}

// snakeCase writes an event kind as an identifier: lower case, words joined
// by underscores ("Page Visited on Website" is page_visited_on_website,
// "EmailOpened" and "email-opened" are email_opened, "SMS Sent" sms_sent).
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	gap := false
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			gap = true
			continue
		}
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			next := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && next) {
				gap = true // a word starts inside: EmailOpened, HTMLForm
			}
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

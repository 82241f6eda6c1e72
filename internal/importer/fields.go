package importer

import (
	"slices"
	"strings"
)

// The fields a file can feed, per entity. A mapping names them; the built-in
// Salesforce and HubSpot plans use the same names. References (kRef) hold
// the other record's key in the file: an external id, a name or an email.

type fieldKind int

const (
	kText fieldKind = iota
	kInt
	kMoney
	kFloat
	kProbability // 0–1, or a percentage with percent: true or a % sign
	kDate
	kTime
	kBool
	kRef
	kList // several columns, e.g. a lead's custom fields
)

func (k fieldKind) String() string {
	return [...]string{"text", "whole number", "amount", "number", "probability", "date", "date-time", "true/false", "reference", "list"}[k]
}

type fieldDef struct {
	name string
	kind fieldKind
	ref  string // the referenced entity, for kRef
	// crm is the field name the crm types' Validate uses, when it differs.
	crm string
	doc string
}

type entityDef struct {
	name   string
	plural string // PerEntity key and the table name
	fields []fieldDef
	// keys lists how rows match stored records on re-import, first = default.
	keys []string
	doc  string
}

func (e *entityDef) field(name string) int {
	for i, f := range e.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func (e *entityDef) fieldNames() []string {
	out := make([]string, len(e.fields))
	for i, f := range e.fields {
		out[i] = f.name
	}
	return out
}

// Field indexes, per entity, in the order of the fields lists below.
const (
	tmName = iota
	tmRegion
	tmParent
	tmManager
)

const (
	usExternalID = iota
	usName
	usFirstName
	usLastName
	usEmail
	usRole
	usManager
	usTeam
	usRegion
	usHireDate
	usActive
)

const (
	acExternalID = iota
	acName
	acDomain
	acIndustry
	acEmployees
	acAnnualRevenue
	acCountry
	acState
	acCity
	acPostalCode
	acLatitude
	acLongitude
	acOwner
	acParent
	acSegment
	acCreatedAt
)

const (
	prExternalID = iota
	prName
	prFamily
	prListPrice
	prCurrency
	prActive
)

const (
	coExternalID = iota
	coAccount
	coFirstName
	coLastName
	coName
	coEmail
	coPhone
	coTitle
	coOwner
	coCreatedAt
)

const (
	leExternalID = iota
	leFirstName
	leLastName
	leName
	leEmail
	leCompany
	leTitle
	leIndustry
	leEmployees
	leAnnualRevenue
	leCountry
	leState
	leCity
	leSource
	leChannel
	leStatus
	leIsConverted
	leOwner
	leCreatedAt
	leFirstResponseAt
	leConvertedAt
	leConvertedOpportunity
	leCustomFields
)

const (
	opExternalID = iota
	opName
	opAccount
	opOwner
	opAmount
	opCurrency
	opStage
	opIsClosed
	opIsWon
	opProbability
	opForecastCategory
	opType
	opSource
	opCreatedAt
	opExpectedClose
	opClosedAt
	opLossReason
)

const (
	hiOpportunity = iota
	hiChangedAt
	hiStage
	hiAmount
	hiExpectedClose
	hiForecastCategory
	hiProbability
	hiChangedBy
)

const (
	liOpportunity = iota
	liProduct
	liQuantity
	liUnitPrice
	liTotalPrice
)

const (
	atExternalID = iota
	atKind
	atSubject
	atOwner
	atAccount
	atContact
	atLead
	atOpportunity
	atOccurredAt
	atDurationMinutes
	atDurationSeconds
	atDirection
	atOutcome
	atCaptured
)

const (
	evLead = iota
	evKind
	evOccurredAt
	evDetail
)

var (
	entTeam = &entityDef{name: "team", plural: "teams", keys: []string{"name"},
		doc: "a node of the sales organisation; created when users name a team or region",
		fields: []fieldDef{
			{name: "name", kind: kText, doc: "team name (the key)"},
			{name: "region", kind: kText},
			{name: "parent", kind: kRef, ref: "team", crm: "parent_id", doc: "parent team by name"},
			{name: "manager", kind: kRef, ref: "user", crm: "manager_id", doc: "the team's manager (user by email, name or id)"},
		}}
	entUser = &entityDef{name: "user", plural: "users", keys: []string{"email"},
		doc: "a person who sells or manages; matched by email",
		fields: []fieldDef{
			{name: "external_id", kind: kText, doc: "the user's id in the source, to resolve owners in the same import"},
			{name: "name", kind: kText},
			{name: "first_name", kind: kText},
			{name: "last_name", kind: kText},
			{name: "email", kind: kText, doc: "the key; without it, built from the name and email_domain"},
			{name: "role", kind: kText, doc: "admin, ops, manager, rep or viewer (default: the entry's role, else rep)"},
			{name: "manager", kind: kRef, ref: "user", crm: "manager_id", doc: "created as a manager when not known"},
			{name: "team", kind: kText, crm: "team_id", doc: "team name; created under the region when missing"},
			{name: "region", kind: kText, doc: "regional office: a top-level team"},
			{name: "hire_date", kind: kDate},
			{name: "active", kind: kBool},
		}}
	entAccount = &entityDef{name: "account", plural: "accounts", keys: []string{"external_id", "name"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "name", kind: kText},
			{name: "domain", kind: kText},
			{name: "industry", kind: kText},
			{name: "employees", kind: kInt},
			{name: "annual_revenue", kind: kMoney},
			{name: "country", kind: kText},
			{name: "state", kind: kText},
			{name: "city", kind: kText},
			{name: "postal_code", kind: kText},
			{name: "latitude", kind: kFloat},
			{name: "longitude", kind: kFloat},
			{name: "owner", kind: kRef, ref: "user", crm: "owner_id"},
			{name: "parent", kind: kRef, ref: "account", crm: "parent_id"},
			{name: "segment", kind: kText},
			{name: "created_at", kind: kTime},
		}}
	entProduct = &entityDef{name: "product", plural: "products", keys: []string{"external_id", "name"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "name", kind: kText},
			{name: "family", kind: kText},
			{name: "list_price", kind: kMoney},
			{name: "currency", kind: kText},
			{name: "active", kind: kBool},
		}}
	entContact = &entityDef{name: "contact", plural: "contacts", keys: []string{"external_id"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "account", kind: kRef, ref: "account", crm: "account_id"},
			{name: "first_name", kind: kText},
			{name: "last_name", kind: kText},
			{name: "name", kind: kText, doc: "full name, split into first and last when those are not mapped"},
			{name: "email", kind: kText},
			{name: "phone", kind: kText},
			{name: "title", kind: kText},
			{name: "owner", kind: kRef, ref: "user", crm: "owner_id"},
			{name: "created_at", kind: kTime},
		}}
	entLead = &entityDef{name: "lead", plural: "leads", keys: []string{"external_id"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "first_name", kind: kText},
			{name: "last_name", kind: kText},
			{name: "name", kind: kText},
			{name: "email", kind: kText},
			{name: "company", kind: kText},
			{name: "title", kind: kText},
			{name: "industry", kind: kText},
			{name: "employees", kind: kInt},
			{name: "annual_revenue", kind: kMoney},
			{name: "country", kind: kText},
			{name: "state", kind: kText},
			{name: "city", kind: kText},
			{name: "source", kind: kText},
			{name: "channel", kind: kText},
			{name: "status", kind: kText, doc: "new, working, qualified, disqualified, converted (common CRM wordings are recognised)"},
			{name: "is_converted", kind: kBool},
			{name: "owner", kind: kRef, ref: "user", crm: "owner_id"},
			{name: "created_at", kind: kTime},
			{name: "first_response_at", kind: kTime},
			{name: "converted_at", kind: kTime},
			{name: "converted_opportunity", kind: kRef, ref: "opportunity", crm: "converted_opportunity_id"},
			{name: "custom_fields", kind: kList, doc: "columns kept as the lead's custom fields"},
		}}
	entOpportunity = &entityDef{name: "opportunity", plural: "opportunities", keys: []string{"external_id"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "name", kind: kText},
			{name: "account", kind: kRef, ref: "account", crm: "account_id"},
			{name: "owner", kind: kRef, ref: "user", crm: "owner_id"},
			{name: "amount", kind: kMoney},
			{name: "currency", kind: kText},
			{name: "stage", kind: kText, doc: "a stage name; unknown stages are created from the mapping's stages, or from is_closed / is_won"},
			{name: "is_closed", kind: kBool},
			{name: "is_won", kind: kBool},
			{name: "probability", kind: kProbability},
			{name: "forecast_category", kind: kText},
			{name: "type", kind: kText, doc: "new, expansion or renewal (common CRM wordings are recognised)"},
			{name: "source", kind: kText},
			{name: "created_at", kind: kTime},
			{name: "expected_close", kind: kDate},
			{name: "closed_at", kind: kDate, doc: "kept only for won or lost deals"},
			{name: "loss_reason", kind: kText},
		}}
	entHistory = &entityDef{name: "stage_change", plural: "opportunity_history", keys: []string{"none"},
		doc: "rows of an opportunity's stage history (Salesforce OpportunityHistory)",
		fields: []fieldDef{
			{name: "opportunity", kind: kRef, ref: "opportunity", crm: "opportunity_id"},
			{name: "changed_at", kind: kTime},
			{name: "stage", kind: kText},
			{name: "amount", kind: kMoney},
			{name: "expected_close", kind: kDate},
			{name: "forecast_category", kind: kText},
			{name: "probability", kind: kProbability},
			{name: "changed_by", kind: kRef, ref: "user"},
		}}
	entLineItem = &entityDef{name: "line_item", plural: "line_items", keys: []string{"none"},
		doc: "products on opportunities; an opportunity's line items are replaced by those in the file",
		fields: []fieldDef{
			{name: "opportunity", kind: kRef, ref: "opportunity", crm: "opportunity_id"},
			{name: "product", kind: kRef, ref: "product", crm: "product_id"},
			{name: "quantity", kind: kMoney},
			{name: "unit_price", kind: kMoney, doc: "default: total_price ÷ quantity, else the product's list price"},
			{name: "total_price", kind: kMoney},
		}}
	entActivity = &entityDef{name: "activity", plural: "activities", keys: []string{"external_id"},
		fields: []fieldDef{
			{name: "external_id", kind: kText},
			{name: "kind", kind: kText, doc: "call, email, meeting, demo, task or other"},
			{name: "subject", kind: kText},
			{name: "owner", kind: kRef, ref: "user", crm: "owner_id"},
			{name: "account", kind: kRef, ref: "account", crm: "account_id"},
			{name: "contact", kind: kRef, ref: "contact", crm: "contact_id"},
			{name: "lead", kind: kRef, ref: "lead", crm: "lead_id"},
			{name: "opportunity", kind: kRef, ref: "opportunity", crm: "opportunity_id"},
			{name: "occurred_at", kind: kTime},
			{name: "duration_minutes", kind: kInt},
			{name: "duration_seconds", kind: kInt, doc: "converted to minutes, rounded up"},
			{name: "direction", kind: kText},
			{name: "outcome", kind: kText},
			{name: "captured", kind: kBool},
		}}
	entLeadEvent = &entityDef{name: "lead_event", plural: "lead_events", keys: []string{"none"},
		doc: "engagement events of leads (email opened, page visited, ...); an event already stored (same lead, kind, time and detail) is not added again",
		fields: []fieldDef{
			{name: "lead", kind: kRef, ref: "lead", crm: "lead_id", doc: "the lead's external id"},
			{name: "kind", kind: kText, doc: "written in snake_case (Email Opened: email_opened); a row whose kind is empty is skipped"},
			{name: "occurred_at", kind: kTime, doc: "default: the lead's created_at"},
			{name: "detail", kind: kText},
		}}
)

// entities in load order: everything a row references is loaded before it.
var entities = []*entityDef{entTeam, entUser, entAccount, entProduct, entContact, entLead, entOpportunity, entHistory, entLineItem, entActivity, entLeadEvent}

func entityByName(name string) *entityDef {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, e := range entities {
		if e.name == n || e.plural == n || (e == entHistory && (n == "opportunity_history" || n == "history")) {
			return e
		}
	}
	return nil
}

func entityNames() string {
	var names []string
	for _, e := range entities {
		names = append(names, e.name)
	}
	return strings.Join(names, ", ")
}

func entityOrder(e *entityDef) int { return slices.Index(entities, e) }

package crm

import "slices"

// Role decides what a user may read and change.
type Role string

const (
	RoleAdmin   Role = "admin"   // everything, including users
	RoleOps     Role = "ops"     // all sales data and settings
	RoleManager Role = "manager" // their team's records (the hierarchy below them)
	RoleRep     Role = "rep"     // their own records
	RoleViewer  Role = "viewer"  // aggregates only
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOps, RoleManager, RoleRep, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// SeesAll reports whether the role reads every record.
func (r Role) SeesAll() bool { return r == RoleAdmin || r == RoleOps }

// StageKind says whether a stage is open or ends the deal.
type StageKind string

const (
	StageOpen StageKind = "open"
	StageWon  StageKind = "won"
	StageLost StageKind = "lost"
)

// Valid reports whether k is known.
func (k StageKind) Valid() bool { return k == StageOpen || k == StageWon || k == StageLost }

// ForecastCategory is the rep's call on a deal.
type ForecastCategory string

const (
	ForecastPipeline ForecastCategory = "pipeline"
	ForecastBestCase ForecastCategory = "best_case"
	ForecastCommit   ForecastCategory = "commit"
	ForecastClosed   ForecastCategory = "closed"
	ForecastOmitted  ForecastCategory = "omitted"
)

// ForecastCategories lists every forecast category.
var ForecastCategories = []ForecastCategory{ForecastPipeline, ForecastBestCase, ForecastCommit, ForecastClosed, ForecastOmitted}

// Valid reports whether c is known.
func (c ForecastCategory) Valid() bool { return slices.Contains(ForecastCategories, c) }

// DealType tells new business from expansion and renewal.
type DealType string

const (
	DealNew       DealType = "new"
	DealExpansion DealType = "expansion"
	DealRenewal   DealType = "renewal"
)

// Valid reports whether t is known.
func (t DealType) Valid() bool { return t == DealNew || t == DealExpansion || t == DealRenewal }

// LeadStatus is where a lead is in qualification.
type LeadStatus string

const (
	LeadNew          LeadStatus = "new"
	LeadWorking      LeadStatus = "working"
	LeadQualified    LeadStatus = "qualified"
	LeadDisqualified LeadStatus = "disqualified"
	LeadConverted    LeadStatus = "converted"
)

// LeadStatuses lists every lead status.
var LeadStatuses = []LeadStatus{LeadNew, LeadWorking, LeadQualified, LeadDisqualified, LeadConverted}

// Valid reports whether s is known.
func (s LeadStatus) Valid() bool { return slices.Contains(LeadStatuses, s) }

// ActivityKind is the type of logged work.
type ActivityKind string

const (
	ActivityCall    ActivityKind = "call"
	ActivityEmail   ActivityKind = "email"
	ActivityMeeting ActivityKind = "meeting"
	ActivityDemo    ActivityKind = "demo"
	ActivityTask    ActivityKind = "task"
	ActivityOther   ActivityKind = "other"
)

// ActivityKinds lists every activity kind.
var ActivityKinds = []ActivityKind{ActivityCall, ActivityEmail, ActivityMeeting, ActivityDemo, ActivityTask, ActivityOther}

// Valid reports whether k is known.
func (k ActivityKind) Valid() bool { return slices.Contains(ActivityKinds, k) }

// Selling reports whether the activity counts as time spent selling.
func (k ActivityKind) Selling() bool {
	return k == ActivityCall || k == ActivityEmail || k == ActivityMeeting || k == ActivityDemo
}

// Direction of a call or email.
type Direction string

const (
	DirectionNone     Direction = ""
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// Valid reports whether d is known.
func (d Direction) Valid() bool {
	return d == DirectionNone || d == DirectionInbound || d == DirectionOutbound
}

// CostCategory splits acquisition cost.
type CostCategory string

const (
	CostSales     CostCategory = "sales"
	CostMarketing CostCategory = "marketing"
)

// Valid reports whether c is known.
func (c CostCategory) Valid() bool { return c == CostSales || c == CostMarketing }

// LeadEventKinds lists the engagement events a lead can have.
var LeadEventKinds = []string{"email_open", "email_click", "web_visit", "form_submit", "content_download", "webinar", "event", "reply"}

package crm

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// The sales data model. Field tags: `json` is the API name, `db` the column.
// Optional references and facts are pointers (NULL in the database); free text
// is a plain string where empty means "not known".

// Team is a node of the sales organisation (a region, a team under it, ...).
type Team struct {
	ID        int64  `json:"id" db:"id"`
	Name      string `json:"name" db:"name"`
	ParentID  *int64 `json:"parent_id" db:"parent_id"`
	Region    string `json:"region" db:"region"`
	ManagerID *int64 `json:"manager_id" db:"manager_id"`
}

// User is a person who logs in: admin, ops, manager, rep or viewer.
type User struct {
	ID        int64     `json:"id" db:"id"`
	Email     string    `json:"email" db:"email"`
	Name      string    `json:"name" db:"name"`
	Role      Role      `json:"role" db:"role"`
	ManagerID *int64    `json:"manager_id" db:"manager_id"`
	TeamID    *int64    `json:"team_id" db:"team_id"`
	HireDate  *Date     `json:"hire_date" db:"hire_date"`
	Active    bool      `json:"active" db:"active"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// Account is a customer or prospect company.
type Account struct {
	ID            int64            `json:"id" db:"id"`
	ExternalID    *string          `json:"external_id" db:"external_id"`
	Name          string           `json:"name" db:"name"`
	Domain        string           `json:"domain" db:"domain"`
	Industry      string           `json:"industry" db:"industry"`
	Employees     *int64           `json:"employees" db:"employees"`
	AnnualRevenue *decimal.Decimal `json:"annual_revenue" db:"annual_revenue"`
	Country       string           `json:"country" db:"country"`
	State         string           `json:"state" db:"state"`
	City          string           `json:"city" db:"city"`
	PostalCode    string           `json:"postal_code" db:"postal_code"`
	Latitude      *float64         `json:"latitude" db:"latitude"`
	Longitude     *float64         `json:"longitude" db:"longitude"`
	OwnerID       *int64           `json:"owner_id" db:"owner_id"`
	ParentID      *int64           `json:"parent_id" db:"parent_id"`
	Segment       string           `json:"segment" db:"segment"`
	CreatedAt     time.Time        `json:"created_at" db:"created_at"`
}

// Contact is a person at an account.
type Contact struct {
	ID         int64     `json:"id" db:"id"`
	ExternalID *string   `json:"external_id" db:"external_id"`
	AccountID  *int64    `json:"account_id" db:"account_id"`
	FirstName  string    `json:"first_name" db:"first_name"`
	LastName   string    `json:"last_name" db:"last_name"`
	Email      string    `json:"email" db:"email"`
	Phone      string    `json:"phone" db:"phone"`
	Title      string    `json:"title" db:"title"`
	OwnerID    *int64    `json:"owner_id" db:"owner_id"`
	CreatedAt  time.Time `json:"created_at" db:"created_at"`
}

// Lead is a not-yet-qualified prospect, with the company facts used for scoring.
type Lead struct {
	ID                     int64            `json:"id" db:"id"`
	ExternalID             *string          `json:"external_id" db:"external_id"`
	FirstName              string           `json:"first_name" db:"first_name"`
	LastName               string           `json:"last_name" db:"last_name"`
	Email                  string           `json:"email" db:"email"`
	Company                string           `json:"company" db:"company"`
	Title                  string           `json:"title" db:"title"`
	Industry               string           `json:"industry" db:"industry"`
	Employees              *int64           `json:"employees" db:"employees"`
	AnnualRevenue          *decimal.Decimal `json:"annual_revenue" db:"annual_revenue"`
	Country                string           `json:"country" db:"country"`
	State                  string           `json:"state" db:"state"`
	City                   string           `json:"city" db:"city"`
	Source                 string           `json:"source" db:"source"`
	Channel                string           `json:"channel" db:"channel"`
	Status                 LeadStatus       `json:"status" db:"status"`
	OwnerID                *int64           `json:"owner_id" db:"owner_id"`
	CreatedAt              time.Time        `json:"created_at" db:"created_at"`
	FirstResponseAt        *time.Time       `json:"first_response_at" db:"first_response_at"`
	ConvertedAt            *time.Time       `json:"converted_at" db:"converted_at"`
	ConvertedOpportunityID *int64           `json:"converted_opportunity_id" db:"converted_opportunity_id"`
	CustomFields           CustomFields     `json:"custom_fields" db:"custom_fields"`
}

// LeadEvent is one engagement of a lead (email open, web visit, form, ...).
type LeadEvent struct {
	ID         int64     `json:"id" db:"id"`
	LeadID     int64     `json:"lead_id" db:"lead_id"`
	Kind       string    `json:"kind" db:"kind"`
	OccurredAt time.Time `json:"occurred_at" db:"occurred_at"`
	Detail     string    `json:"detail" db:"detail"`
}

// Product is something sold on opportunity line items.
type Product struct {
	ID         int64           `json:"id" db:"id"`
	ExternalID *string         `json:"external_id" db:"external_id"`
	Name       string          `json:"name" db:"name"`
	Family     string          `json:"family" db:"family"`
	ListPrice  decimal.Decimal `json:"list_price" db:"list_price"`
	Currency   string          `json:"currency" db:"currency"`
	Active     bool            `json:"active" db:"active"`
}

// Stage is one step of the pipeline with its default win probability.
type Stage struct {
	Name             string           `json:"name" db:"name"`
	Position         int64            `json:"position" db:"stage_order"`
	Probability      float64          `json:"probability" db:"probability"`
	Kind             StageKind        `json:"kind" db:"kind"`
	ForecastCategory ForecastCategory `json:"forecast_category" db:"forecast_category"`
}

// Opportunity is a deal. IsClosed and IsWon follow from the stage's kind.
type Opportunity struct {
	ID               int64            `json:"id" db:"id"`
	ExternalID       *string          `json:"external_id" db:"external_id"`
	Name             string           `json:"name" db:"name"`
	AccountID        int64            `json:"account_id" db:"account_id"`
	OwnerID          int64            `json:"owner_id" db:"owner_id"`
	Amount           decimal.Decimal  `json:"amount" db:"amount"`
	Currency         string           `json:"currency" db:"currency"`
	Stage            string           `json:"stage" db:"stage"`
	Probability      *float64         `json:"probability" db:"probability"`
	ForecastCategory ForecastCategory `json:"forecast_category" db:"forecast_category"`
	Type             DealType         `json:"type" db:"deal_type"`
	Source           string           `json:"source" db:"source"`
	CreatedAt        time.Time        `json:"created_at" db:"created_at"`
	ExpectedClose    *Date            `json:"expected_close" db:"expected_close"`
	ClosedAt         *Date            `json:"closed_at" db:"closed_at"`
	IsClosed         bool             `json:"is_closed" db:"is_closed"`
	IsWon            bool             `json:"is_won" db:"is_won"`
	LossReason       string           `json:"loss_reason" db:"loss_reason"`
	UpdatedAt        time.Time        `json:"updated_at" db:"updated_at"`
}

// StageChange is one row of an opportunity's history: the state it had from ChangedAt on.
type StageChange struct {
	ID               int64            `json:"id" db:"id"`
	OpportunityID    int64            `json:"opportunity_id" db:"opportunity_id"`
	ChangedAt        time.Time        `json:"changed_at" db:"changed_at"`
	Stage            string           `json:"stage" db:"stage"`
	Amount           decimal.Decimal  `json:"amount" db:"amount"`
	ExpectedClose    *Date            `json:"expected_close" db:"expected_close"`
	ForecastCategory ForecastCategory `json:"forecast_category" db:"forecast_category"`
	Probability      *float64         `json:"probability" db:"probability"`
	ChangedBy        *int64           `json:"changed_by" db:"changed_by"`
}

// LineItem is a product on an opportunity.
type LineItem struct {
	ID            int64           `json:"id" db:"id"`
	OpportunityID int64           `json:"opportunity_id" db:"opportunity_id"`
	ProductID     int64           `json:"product_id" db:"product_id"`
	Quantity      decimal.Decimal `json:"quantity" db:"quantity"`
	UnitPrice     decimal.Decimal `json:"unit_price" db:"unit_price"`
	TotalPrice    decimal.Decimal `json:"total_price" db:"total_price"`
}

// Activity is a call, email, meeting, demo, task or other logged work.
type Activity struct {
	ID              int64        `json:"id" db:"id"`
	ExternalID      *string      `json:"external_id" db:"external_id"`
	Kind            ActivityKind `json:"kind" db:"kind"`
	Subject         string       `json:"subject" db:"subject"`
	OwnerID         int64        `json:"owner_id" db:"owner_id"`
	AccountID       *int64       `json:"account_id" db:"account_id"`
	ContactID       *int64       `json:"contact_id" db:"contact_id"`
	LeadID          *int64       `json:"lead_id" db:"lead_id"`
	OpportunityID   *int64       `json:"opportunity_id" db:"opportunity_id"`
	OccurredAt      time.Time    `json:"occurred_at" db:"occurred_at"`
	DurationMinutes int64        `json:"duration_minutes" db:"duration_minutes"`
	Direction       Direction    `json:"direction" db:"direction"`
	Outcome         string       `json:"outcome" db:"outcome"`
	Captured        bool         `json:"captured" db:"captured"`
}

// Quota is a target for one user or one team over one fiscal period.
type Quota struct {
	ID       int64           `json:"id" db:"id"`
	UserID   *int64          `json:"user_id" db:"user_id"`
	TeamID   *int64          `json:"team_id" db:"team_id"`
	Period   string          `json:"period" db:"period"`
	Amount   decimal.Decimal `json:"amount" db:"amount"`
	Currency string          `json:"currency" db:"currency"`
}

// Cost is sales or marketing spend in a fiscal period (for acquisition cost).
type Cost struct {
	ID       int64           `json:"id" db:"id"`
	Period   string          `json:"period" db:"period"`
	Category CostCategory    `json:"category" db:"category"`
	Amount   decimal.Decimal `json:"amount" db:"amount"`
	Currency string          `json:"currency" db:"currency"`
	Note     string          `json:"note" db:"note"`
}

// Settings are the organisation-wide choices every report depends on.
type Settings struct {
	FiscalYearStartMonth int    `json:"fiscal_year_start_month"`
	CorporateCurrency    string `json:"corporate_currency"`
}

// AuditEntry records who changed what; every write to the data is audited.
// Before and After are the record as JSON (objects in the API's JSON); nil,
// JSON null, when there is none (no Before for a creation).
type AuditEntry struct {
	ID       int64           `json:"id" db:"id"`
	At       time.Time       `json:"at" db:"at_time"`
	ActorID  *int64          `json:"actor_id" db:"actor_id"`
	Action   string          `json:"action" db:"action"`
	Entity   string          `json:"entity" db:"entity"`
	EntityID int64           `json:"entity_id" db:"entity_id"`
	Before   json.RawMessage `json:"before" db:"before_json"`
	After    json.RawMessage `json:"after" db:"after_json"`
}

// ForecastSubmission is one version of a seller's or manager's forecast call
// for a fiscal period, in the corporate currency. For a manager RollupCommit
// is the sum of their direct reports' latest commits when they submitted; a
// commit that differs from it is an override and carries a reason.
type ForecastSubmission struct {
	ID           int64            `json:"id" db:"id"`
	UserID       int64            `json:"user_id" db:"user_id"`
	Period       string           `json:"period" db:"period"`
	Version      int64            `json:"version" db:"version"`
	Commit       decimal.Decimal  `json:"commit" db:"commit_amount"`
	BestCase     decimal.Decimal  `json:"best_case" db:"best_case"`
	Pipeline     decimal.Decimal  `json:"pipeline" db:"pipeline"`
	RollupCommit *decimal.Decimal `json:"rollup_commit" db:"rollup_commit"`
	Reason       string           `json:"reason" db:"reason"`
	SubmittedBy  int64            `json:"submitted_by" db:"submitted_by"`
	SubmittedAt  time.Time        `json:"submitted_at" db:"submitted_at"`
}

// ForecastSnapshot is one method's forecast of one period as it stood on one
// day, for one owner's deals (OwnerID nil: the organisation as a whole).
type ForecastSnapshot struct {
	TakenOn    Date     `json:"taken_on" db:"taken_on"`
	Period     string   `json:"period" db:"period"`
	Method     string   `json:"method" db:"method"`
	OwnerID    *int64   `json:"owner_id" db:"owner_id"`
	Forecast   float64  `json:"forecast" db:"forecast"`
	Lo80       *float64 `json:"lo80" db:"lo80"`
	Hi80       *float64 `json:"hi80" db:"hi80"`
	OpenCount  int64    `json:"open_count" db:"open_count"`
	OpenAmount float64  `json:"open_amount" db:"open_amount"`
	WonAmount  float64  `json:"won_amount" db:"won_amount"`
}

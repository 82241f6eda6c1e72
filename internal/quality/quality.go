// Package quality checks the sales data before anyone trusts numbers built
// on it: duplicates, broken references, fields a stage requires, stale and
// overdue deals, open deals without an amount, outlier amounts, reps without
// quota, leads never answered.
//
// Every check is one set-based SQL query over whole tables, written once for
// DuckDB and PostgreSQL in checks.sql, that counts what it finds and returns
// the first ten examples in the same pass. Run applies the principal's
// visibility: ops, admin and viewer get the whole organisation (a viewer the
// counts only, never records); a manager or a rep gets the findings about
// records owned within their scope.
package quality

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Options tune a run. Zero values take the defaults.
type Options struct {
	// Now is the time the report is as of (default: the current time, UTC).
	Now time.Time
	// StaleDays is how long an open deal may go without activity (default 30).
	StaleDays int
	// OutlierZ is the robust z-score beyond which an amount is an outlier (default 3).
	OutlierZ float64
}

// Defaults of Options.
const (
	DefaultStaleDays = 30
	DefaultOutlierZ  = 3.0
)

// Fixed rules of the checks.
const (
	// MaxExamples is how many example records a finding lists at most.
	MaxExamples = 10
	// MinOutlierSample is the fewest amounts a group (a product, or a stage,
	// segment and currency) needs before its outliers are looked for.
	MinOutlierSample = 10
	// MinOutlierRatio is how far from its group's median an amount must be,
	// as a factor either way, to be an outlier whatever its z-score: when most
	// items sell at list price, a usual discount is unusual but no error.
	MinOutlierRatio = 2.0
	// LeadResponseGrace is how old an unanswered lead must be to be reported.
	LeadResponseGrace = 24 * time.Hour
)

// parallelChecks is how many checks run at once.
const parallelChecks = 4

// Severity says how much a finding undermines the numbers.
type Severity string

// Severities, worst first.
const (
	SeverityError   Severity = "error"   // numbers built on these records are wrong
	SeverityWarning Severity = "warning" // numbers are doubtful or the pipeline is not being kept up
	SeverityInfo    Severity = "info"    // worth a look; may well be right
)

// Severities lists every severity, worst first.
var Severities = []Severity{SeverityError, SeverityWarning, SeverityInfo}

// Example is one record a check found.
type Example struct {
	Entity     string `json:"entity"` // "opportunity", "account", "line_item", ...
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"` // the id in the source CRM, "" when none
	Label      string `json:"label"`       // the record's name, for people
	Detail     string `json:"detail"`      // what is wrong with it
}

// Finding is the outcome of one check.
type Finding struct {
	Check    string    `json:"check"` // stable id, e.g. "duplicate_accounts"
	Title    string    `json:"title"`
	Severity Severity  `json:"severity"`
	Count    int64     `json:"count"`    // records found
	Passed   bool      `json:"passed"`   // the check found nothing (Count is 0): show it as passed, whatever its severity
	Examples []Example `json:"examples"` // at most MaxExamples; none for a viewer
	Fix      string    `json:"fix"`      // how to put it right
}

// Report is every check's finding, in a stable order (worst severity first),
// including the checks that found nothing (Passed).
type Report struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Findings    []Finding          `json:"findings"`
	Totals      map[Severity]int64 `json:"totals"` // sum of the counts per severity (a record may be in several)
}

// Run runs every check over the data p may see.
func Run(ctx context.Context, s *store.Store, p crm.Principal, opt Options) (Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Report{}, err
	}
	filter, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return Report{}, fmt.Errorf("data quality: %w", err)
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("data quality: %w", err)
	}
	checks, err := loadChecks()
	if err != nil {
		return Report{}, fmt.Errorf("data quality: %w", err)
	}
	env := newEnv(opt, cal)
	withExamples := p.Role != crm.RoleViewer
	rep := Report{GeneratedAt: opt.Now, Findings: make([]Finding, 0, len(checks)), Totals: map[Severity]int64{}}
	for _, sev := range Severities {
		rep.Totals[sev] = 0
	}
	// The checks are independent read-only queries: run a few at a time, each
	// on its own connection (PostgreSQL runs one query per core; DuckDB
	// shares its threads among them), and keep the report's order.
	findings := make([]Finding, len(checks))
	errs := make([]error, len(checks))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, parallelChecks)
	var wg sync.WaitGroup
	for i := range checks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c := &checks[i]
			findings[i], errs[i] = c.run(ctx, s.DB(), filter, env, withExamples)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("data quality check %s: %w", c.id, errs[i])
				cancel()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	for _, f := range findings {
		f.Passed = f.Count == 0
		rep.Findings = append(rep.Findings, f)
		rep.Totals[f.Severity] += f.Count
	}
	return rep, nil
}

func (o Options) withDefaults() (Options, error) {
	probs := crm.NewProblems("quality options")
	probs.Require(o.StaleDays >= 0, "stale_days", "must not be negative")
	probs.Require(o.OutlierZ >= 0, "outlier_z", "must not be negative")
	if err := probs.Err(); err != nil {
		return o, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	if o.StaleDays == 0 {
		o.StaleDays = DefaultStaleDays
	}
	if o.OutlierZ == 0 {
		o.OutlierZ = DefaultOutlierZ
	}
	return o, nil
}

// env is what the queries' parameters and the details are computed from.
type env struct {
	opt     Options
	today   time.Time  // Now's date, 00:00 UTC
	quarter crm.Period // the fiscal quarter containing Now
	params  map[string]any
}

func newEnv(opt Options, cal crm.FiscalCalendar) *env {
	today := crm.NewDate(opt.Now).Time
	q := cal.PeriodOf(opt.Now, crm.GrainQuarter)
	months := cal.Periods(q.Start, q.End, crm.GrainMonth)
	e := &env{opt: opt, today: today, quarter: q}
	e.params = map[string]any{
		"today":         today,
		"stale_before":  opt.Now.AddDate(0, 0, -opt.StaleDays),
		"lead_before":   opt.Now.Add(-LeadResponseGrace),
		"z":             opt.OutlierZ,
		"min_sample":    int64(MinOutlierSample),
		"min_log_ratio": math.Log(MinOutlierRatio),
		"quarter":       q.String(),
		"quarter_end":   q.End,
		"year":          cal.PeriodOf(opt.Now, crm.GrainYear).String(),
		"month1":        months[0].String(),
		"month2":        months[1].String(),
		"month3":        months[2].String(),
	}
	return e
}

// run counts what the check finds and reads the first examples, in one
// query: the count is a window over every row found, so the data is read once.
// Without examples (a viewer) it is a plain COUNT(*).
func (c *check) run(ctx context.Context, db *sql.DB, filter store.OwnerFilter, e *env, withExamples bool) (Finding, error) {
	title := c.title
	if strings.Contains(title, "%d") {
		title = fmt.Sprintf(title, e.opt.StaleDays)
	}
	f := Finding{Check: c.id, Title: title, Severity: c.severity, Fix: c.fix, Examples: []Example{}}
	q, args, err := c.query.bind(filter, e.params)
	if err != nil {
		return f, err
	}
	if !withExamples {
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+q+") m", args...).Scan(&f.Count); err != nil {
			return f, fmt.Errorf("count: %w", err)
		}
		return f, nil
	}
	query := fmt.Sprintf("SELECT m.*, COUNT(*) OVER () AS found FROM (%s) m ORDER BY %s LIMIT %d", q, c.query.order, MaxExamples)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var entity string
		var id int64
		var ext, label sql.NullString
		extra := make([]any, len(cols)-5)
		targets := []any{&entity, &id, &ext, &label}
		for i := range extra {
			targets = append(targets, &extra[i])
		}
		if err := rows.Scan(append(targets, &f.Count)...); err != nil {
			return f, err
		}
		ex := Example{Entity: entity, ID: id, ExternalID: ext.String, Label: label.String}
		if ex.Label == "" {
			ex.Label = fmt.Sprintf("%s %d", entity, id)
		}
		ex.Detail = c.detail(e, values(extra))
		f.Examples = append(f.Examples, ex)
	}
	return f, rows.Err()
}

package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/learn"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Predictive scoring: a conversion model trained on the organisation's own
// leads whose outcome is known (converted is a positive, disqualified a
// negative), chosen on a holdout by internal/learn's TrainAuto, and used to
// give every lead a probability to convert with the factors behind it.
//
// The features are the lead's fields (PredictiveLeadFields), every custom
// field ("custom.KEY") and its engagement: the number of its events of each
// kind ("events.KIND"). A converted lead's events count only up to its
// converted_at, when that is set, so the conversion's own traces do not
// teach the model the outcome. The user may exclude fields (fields filled
// in after sales contact, which record the outcome rather than predict it);
// the run then trains twice, with every field and without the excluded
// ones, reports both AUCs, and scores the leads with the second.

// PredictiveLeadFields are the lead fields the model reads, as features are
// named. email_domain is the part after @ (lower case); free_mail is yes
// when it is a personal mailbox (gmail, outlook, yahoo, ...).
var PredictiveLeadFields = []string{"industry", "employees", "annual_revenue", "country", "state", "city",
	"source", "channel", "title", "email_domain", "free_mail"}

// DefaultPredictiveFactors is how many contributions are kept per lead.
const DefaultPredictiveFactors = 5

// PredictiveOptions are what a training run was asked to do.
type PredictiveOptions struct {
	// Exclude names features not to use in the model that scores the
	// leads: "custom.tags", "source", or a prefix with a trailing *
	// ("custom.asymmetrique_*"). Case is ignored. A name that matches no
	// feature is refused, so a typo does not silently keep a field in.
	Exclude []string `json:"exclude"`
	// Factors is how many contributions are kept per lead (default 5).
	Factors int `json:"factors"`
}

// TooFewLeadsError refuses training on too few decided leads. It unwraps
// to crm.ErrInvalid (a 400 in the API).
type TooFewLeadsError struct {
	Converted, Disqualified, Min int
}

func (e *TooFewLeadsError) Error() string {
	return fmt.Sprintf("too few decided leads to train a predictive model: %d converted and %d disqualified; training needs at least %d of each",
		e.Converted, e.Disqualified, e.Min)
}

// Unwrap makes errors.Is(err, crm.ErrInvalid) true.
func (e *TooFewLeadsError) Unwrap() error { return crm.ErrInvalid }

// PredictiveRun is one training run and its report, as stored.
type PredictiveRun struct {
	ID        int64             `json:"id"`
	TrainedAt time.Time         `json:"trained_at"`
	TrainedBy *int64            `json:"trained_by"`
	Options   PredictiveOptions `json:"options"`
	// Excluded are the features the Exclude patterns matched, left out of
	// Model (and in AllFields).
	Excluded     []string `json:"excluded"`
	Converted    int      `json:"converted"`    // positives trained on
	Disqualified int      `json:"disqualified"` // negatives trained on
	TrainedOn    int      `json:"trained_on"`
	Scored       int      `json:"scored"` // leads given a probability: every lead
	Open         int      `json:"open"`   // of which not yet decided
	// AUC and AUCAllFields are the holdout AUCs of Model and AllFields.
	AUC          *float64 `json:"auc"`
	AUCAllFields *float64 `json:"auc_all_fields"`
	// Model is the model without the excluded fields: the one whose
	// probabilities and factors are stored for each lead. AllFields is the
	// same training with every field (equal to Model when nothing is
	// excluded), for the comparison.
	Model     PredictiveFit `json:"model"`
	AllFields PredictiveFit `json:"all_fields"`
	Seconds   float64       `json:"seconds"` // reading, both trainings, scoring and writing
}

// PredictiveFit is how one of a run's trainings went.
type PredictiveFit struct {
	Chosen      string                `json:"chosen"` // logistic, gbt or blend
	Trees       int                   `json:"trees,omitempty"`
	BlendWeight float64               `json:"blend_weight,omitempty"` // the trees' share of a blend
	Holdout     HoldoutReport         `json:"holdout"`
	Candidates  []CandidateReport     `json:"candidates"` // best AUC first
	Columns     []learn.Column        `json:"columns"`    // the features used
	Dropped     []learn.DroppedColumn `json:"dropped"`    // features without signal, and why
}

// The model reports are learn's.
type (
	HoldoutReport   = learn.HoldoutReport
	ReliabilityRow  = learn.ReliabilityRow
	CandidateReport = learn.CandidateReport
)

// LeadPrediction is a lead's probability to convert under the latest run.
type LeadPrediction struct {
	LeadID      int64   `json:"lead_id"`
	Name        string  `json:"name,omitempty"`
	Company     string  `json:"company,omitempty"`
	Status      string  `json:"status,omitempty"`
	OwnerID     *int64  `json:"owner_id,omitempty"`
	RunID       int64   `json:"run_id"`
	Probability float64 `json:"probability"`
	// Decided: the lead's outcome was known, so the model was trained on
	// it and its probability is not a forecast.
	Decided   bool           `json:"decided"`
	Factors   []learn.Factor `json:"factors"`
	TrainedAt time.Time      `json:"trained_at"`
}

// Column names of the training table besides the features.
const (
	predictiveID     = "lead_id"
	predictiveTarget = "outcome"
)

// leadTable is every lead as a table of feature cells.
type leadTable struct {
	learn.Table
	features []string
	decided  []bool
	pos, neg int
}

// readPredictiveTable reads every lead with its fields, custom fields and
// event counts.
func readPredictiveTable(ctx context.Context, db *sql.DB) (*leadTable, error) {
	kinds, err := distinctKinds(ctx, db)
	if err != nil {
		return nil, err
	}
	kindIdx := make(map[string]int, len(kinds))
	for i, k := range kinds {
		kindIdx[k] = i
	}
	// Events per lead and kind. A converted lead's events count only up
	// to its conversion.
	counts := map[int64][]int64{}
	rows, err := db.QueryContext(ctx, `SELECT e.lead_id, e.kind, COUNT(*) FROM lead_events e JOIN leads l ON l.id = e.lead_id
		WHERE l.converted_at IS NULL OR e.occurred_at < l.converted_at GROUP BY e.lead_id, e.kind`)
	if err != nil {
		return nil, fmt.Errorf("count lead events: %w", err)
	}
	for rows.Next() {
		var id, n int64
		var kind string
		if err := rows.Scan(&id, &kind, &n); err != nil {
			rows.Close()
			return nil, err
		}
		c := counts[id]
		if c == nil {
			c = make([]int64, len(kinds))
			counts[id] = c
		}
		c[kindIdx[kind]] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	type leadRow struct {
		id     int64
		status string
		fields []string
		custom map[string]string
	}
	var leads []leadRow
	customKeys := map[string]bool{}
	rows, err = db.QueryContext(ctx, `SELECT l.id, l.status, l.email, l.industry, l.employees, CAST(l.annual_revenue AS VARCHAR),
		l.country, l.state, l.city, l.source, l.channel, l.title, l.custom_fields FROM leads l ORDER BY l.id`)
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r leadRow
		var email, industry, country, state, city, source, channel, title, custom string
		var emp sql.NullInt64
		var rev sql.NullString
		if err := rows.Scan(&r.id, &r.status, &email, &industry, &emp, &rev, &country, &state, &city, &source, &channel, &title, &custom); err != nil {
			return nil, err
		}
		domain := emailDomain(email)
		free := ""
		if domain != "" {
			free = "no"
			if isFreeMail(domain) {
				free = "yes"
			}
		}
		empS, revS := "", ""
		if emp.Valid {
			empS = strconv.FormatInt(emp.Int64, 10)
		}
		if rev.Valid {
			revS = rev.String
		}
		// In the order of PredictiveLeadFields.
		r.fields = []string{industry, empS, revS, country, state, city, source, channel, title, domain, free}
		if custom != "" && custom != "{}" {
			if err := json.Unmarshal([]byte(custom), &r.custom); err != nil {
				return nil, fmt.Errorf("lead %d custom fields: %w", r.id, err)
			}
			for k := range r.custom {
				customKeys[k] = true
			}
		}
		leads = append(leads, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	keys := make([]string, 0, len(customKeys))
	for k := range customKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t := &leadTable{}
	t.features = slices.Clone(PredictiveLeadFields)
	for _, k := range keys {
		t.features = append(t.features, "custom."+k)
	}
	for _, k := range kinds {
		t.features = append(t.features, "events."+k)
	}
	t.Name = "leads"
	t.Header = append([]string{predictiveID, predictiveTarget}, t.features...)
	t.Rows = make([][]string, len(leads))
	t.decided = make([]bool, len(leads))
	width := len(t.Header)
	cells := make([]string, len(leads)*width) // one backing array
	for i, l := range leads {
		row := cells[i*width : (i+1)*width : (i+1)*width]
		row[0] = strconv.FormatInt(l.id, 10)
		switch crm.LeadStatus(l.status) {
		case crm.LeadConverted:
			row[1] = "1"
			t.pos++
			t.decided[i] = true
		case crm.LeadDisqualified:
			row[1] = "0"
			t.neg++
			t.decided[i] = true
		}
		copy(row[2:], l.fields)
		j := 2 + len(l.fields)
		for _, k := range keys {
			row[j] = l.custom[k]
			j++
		}
		c := counts[l.id]
		for k := range kinds {
			if c == nil {
				row[j] = "0"
			} else {
				row[j] = strconv.FormatInt(c[k], 10)
			}
			j++
		}
		t.Rows[i] = row
	}
	return t, nil
}

func distinctKinds(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT kind FROM lead_events ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("lead event kinds: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// freeMail are the first labels of personal mailbox domains.
var freeMail = map[string]bool{"gmail": true, "googlemail": true, "yahoo": true, "ymail": true, "rocketmail": true,
	"outlook": true, "hotmail": true, "live": true, "msn": true, "aol": true, "icloud": true, "gmx": true,
	"protonmail": true, "proton": true, "yandex": true, "zoho": true, "fastmail": true, "qq": true, "163": true}

func isFreeMail(domain string) bool {
	first, _, _ := strings.Cut(domain, ".")
	return freeMail[first]
}

// matchExcluded resolves exclusion patterns to feature names. Every
// pattern must match at least one feature.
func matchExcluded(patterns, features []string) ([]string, error) {
	probs := crm.NewProblems("predictive model")
	seen := map[string]bool{}
	var out []string
	for _, pat := range patterns {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if pat == "" {
			continue
		}
		prefix, wild := strings.CutSuffix(pat, "*")
		if strings.Contains(prefix, "*") {
			probs.Add("exclude", "%q: only a trailing * is a pattern", pat)
			continue
		}
		n := 0
		for _, f := range features {
			lf := strings.ToLower(f)
			if lf == pat || (wild && strings.HasPrefix(lf, prefix)) {
				n++
				if !seen[f] {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
		if n == 0 {
			probs.Add("exclude", "%q matches no field; the fields are %s", pat, strings.Join(features, ", "))
		}
	}
	return out, probs.Err()
}

// fitFrame detects the features of the decided leads (without exclude),
// then chooses and trains the model.
func fitFrame(train learn.Table, exclude []string) (*learn.Frame, *learn.AutoResult, error) {
	fr, td, err := learn.NewFrame(train, learn.FrameOptions{Target: predictiveTarget, ID: predictiveID, Exclude: exclude})
	if err != nil {
		return nil, nil, err
	}
	if len(fr.Columns) == 0 {
		return nil, nil, crm.Invalid("predictive model", "exclude", "no field with any signal is left to learn from")
	}
	schema := fr.Schema
	for _, name := range schema.Numeric { // counts and amounts have long tails
		if name == "employees" || name == "annual_revenue" || strings.HasPrefix(name, "events.") {
			schema.Log = append(schema.Log, name)
		}
	}
	fr.Schema = schema
	res, err := learn.TrainAuto(schema, td.Rows, learn.AutoOptions{Keys: td.IDs})
	if err != nil {
		var few *learn.TooFewDealsError
		if errors.As(err, &few) {
			return nil, nil, &TooFewLeadsError{Converted: few.Won, Disqualified: few.Lost, Min: few.Min}
		}
		return nil, nil, fmt.Errorf("train the predictive model: %w", err)
	}
	return fr, res, nil
}

func fitReport(fr *learn.Frame, res *learn.AutoResult) PredictiveFit {
	f := PredictiveFit{Chosen: res.Chosen, BlendWeight: res.BlendWeight, Columns: fr.Columns, Dropped: fr.Dropped}
	f.Holdout, f.Candidates = res.Report()
	if res.Chosen != "logistic" {
		f.Trees = res.Trees
	}
	if f.Dropped == nil {
		f.Dropped = []learn.DroppedColumn{}
	}
	return f
}

// TrainPredictive trains the conversion model on every decided lead, with
// every field and without the excluded ones, scores every lead with the
// second and stores the run, its report and each lead's probability and
// top factors (replacing the previous run's), in one transaction. Only ops
// and admin train. Fewer than learn.MinDealsPerClass converted or
// disqualified leads is a *TooFewLeadsError.
func TrainPredictive(ctx context.Context, s *store.Store, p crm.Principal, o PredictiveOptions, now time.Time) (*PredictiveRun, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	start := time.Now()
	if o.Factors <= 0 {
		o.Factors = DefaultPredictiveFactors
	}
	if o.Exclude == nil {
		o.Exclude = []string{}
	}
	t, err := readPredictiveTable(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	if t.pos < learn.MinDealsPerClass || t.neg < learn.MinDealsPerClass {
		return nil, &TooFewLeadsError{Converted: t.pos, Disqualified: t.neg, Min: learn.MinDealsPerClass}
	}
	excluded, err := matchExcluded(o.Exclude, t.features)
	if err != nil {
		return nil, err
	}
	train := learn.Table{Name: t.Name, Header: t.Header}
	for i, r := range t.Rows {
		if t.decided[i] {
			train.Rows = append(train.Rows, r)
		}
	}
	allFr, allRes, err := fitFrame(train, nil)
	if err != nil {
		return nil, err
	}
	fr, res := allFr, allRes
	if len(excluded) > 0 {
		if fr, res, err = fitFrame(train, excluded); err != nil {
			return nil, err
		}
	}
	run := &PredictiveRun{TrainedAt: now, Options: o, Excluded: excluded, Converted: t.pos, Disqualified: t.neg,
		TrainedOn: len(train.Rows), Scored: len(t.Rows), Open: len(t.Rows) - len(train.Rows),
		Model: fitReport(fr, res), AllFields: fitReport(allFr, allRes)}
	if run.Excluded == nil {
		run.Excluded = []string{}
	}
	run.AUC, run.AUCAllFields = run.Model.Holdout.AUC, run.AllFields.Holdout.AUC
	if p.UserID != 0 {
		run.TrainedBy = &p.UserID
	}

	// Score every lead with the model in use.
	all, err := fr.Encode(t.Table)
	if err != nil {
		return nil, fmt.Errorf("encode the leads: %w", err)
	}
	probs := learn.ScoreAll(res.Model, all.Rows)
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		id, err := b.AllocIDs(ctx, 1)
		if err != nil {
			return err
		}
		run.ID = id
		if _, err := b.Exec(ctx, `DELETE FROM lead_predictions`); err != nil {
			return fmt.Errorf("clear the previous predictions: %w", err)
		}
		rows := func(yield func([]any, error) bool) {
			row := make([]any, 5)
			for i, r := range all.Rows {
				lead, _ := strconv.ParseInt(all.IDs[i], 10, 64)
				fs, err := json.Marshal(res.Model.Explain(r, o.Factors))
				if err != nil {
					yield(nil, err)
					return
				}
				row[0], row[1], row[2], row[3], row[4] = run.ID, lead, probs[i], t.decided[i], string(fs)
				if !yield(row, nil) {
					return
				}
			}
		}
		if _, err := b.Load(ctx, "lead_predictions", []string{"run_id", "lead_id", "probability", "decided", "factors"}, rows); err != nil {
			return fmt.Errorf("write the predictions: %w", err)
		}
		run.Seconds = time.Since(start).Seconds()
		opts, _ := json.Marshal(o)
		rep, err := json.Marshal(run)
		if err != nil {
			return err
		}
		if _, err := b.Exec(ctx, `INSERT INTO lead_prediction_runs (id, trained_at, trained_by, options, model, auc, auc_all_fields, converted, disqualified, leads_scored, report)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			run.ID, run.TrainedAt, run.TrainedBy, string(opts), run.Model.Chosen, run.AUC, run.AUCAllFields, run.Converted, run.Disqualified, run.Scored, string(rep)); err != nil {
			return fmt.Errorf("store the training run: %w", err)
		}
		return b.Audit(ctx, p, "train", "lead_prediction_run", run.ID, nil,
			map[string]any{"exclude": o.Exclude, "model": run.Model.Chosen, "auc": run.AUC, "leads": run.Scored})
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// mayReadPredictions: every role but the viewer, who sees no leads.
func mayReadPredictions(p crm.Principal) error {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return crm.ErrForbidden
	}
	return nil
}

// errNoRun says how to get a first run.
var errNoRun = fmt.Errorf("no predictive model has been trained yet (quarterdeck leads predictive train): %w", crm.ErrNotFound)

// LatestPredictive is the latest training run's report. Everyone but the
// viewer reads it; with no run yet it is crm.ErrNotFound.
func LatestPredictive(ctx context.Context, s *store.Store, p crm.Principal) (*PredictiveRun, error) {
	if err := mayReadPredictions(p); err != nil {
		return nil, err
	}
	var rep string
	err := s.DB().QueryRowContext(ctx, `SELECT report FROM lead_prediction_runs ORDER BY trained_at DESC, id DESC LIMIT 1`).Scan(&rep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoRun
	}
	if err != nil {
		return nil, fmt.Errorf("read the predictive model: %w", err)
	}
	run := &PredictiveRun{}
	if err := json.Unmarshal([]byte(rep), run); err != nil {
		return nil, fmt.Errorf("read the predictive model's report: %w", err)
	}
	return run, nil
}

// PredictionFor is a lead's probability and top factors under the latest
// run. The lead must be visible to p (crm.ErrNotFound otherwise, as for a
// lead that does not exist); a lead the run did not score (created since)
// is crm.ErrNotFound too.
func PredictionFor(ctx context.Context, s *store.Store, p crm.Principal, leadID int64) (*LeadPrediction, error) {
	if err := mayReadPredictions(p); err != nil {
		return nil, err
	}
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return nil, err
	}
	list, err := predictions(ctx, s, `WHERE lp.lead_id = $1`, []any{leadID}, 1)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("lead %d has no prediction: it is newer than the latest training run, or no model has been trained (quarterdeck leads predictive train): %w", leadID, crm.ErrNotFound)
	}
	return &list[0], nil
}

// PredictionQuery selects leads for a list of predictions.
type PredictionQuery struct {
	Open  bool // only leads not yet decided
	Limit int  // 0: all
}

// Predictions lists the leads p may see with their probability: the leads
// not yet decided first (whom to call), then the decided ones, each highest
// first. A rep sees their own leads, a manager their team's, ops all; the
// viewer none.
func Predictions(ctx context.Context, s *store.Store, p crm.Principal, q PredictionQuery) ([]LeadPrediction, error) {
	if err := mayReadPredictions(p); err != nil {
		return nil, err
	}
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if !f.Individuals() {
		return nil, crm.ErrForbidden
	}
	where := "WHERE " + f.Condition("l.owner_id")
	if q.Open {
		where += " AND NOT lp.decided"
	}
	return predictions(ctx, s, where, nil, q.Limit)
}

func predictions(ctx context.Context, s *store.Store, where string, args []any, limit int) ([]LeadPrediction, error) {
	lim := ""
	if limit > 0 {
		lim = fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT lp.lead_id, TRIM(l.first_name || ' ' || l.last_name), l.company, l.status, l.owner_id,
		lp.run_id, lp.probability, lp.decided, lp.factors, r.trained_at
		FROM lead_predictions lp JOIN leads l ON l.id = lp.lead_id JOIN lead_prediction_runs r ON r.id = lp.run_id
		`+where+` ORDER BY lp.decided, lp.probability DESC, lp.lead_id`+lim, args...)
	if err != nil {
		return nil, fmt.Errorf("lead predictions: %w", err)
	}
	defer rows.Close()
	var out []LeadPrediction
	for rows.Next() {
		var lp LeadPrediction
		var owner sql.NullInt64
		var factors string
		if err := rows.Scan(&lp.LeadID, &lp.Name, &lp.Company, &lp.Status, &owner, &lp.RunID, &lp.Probability, &lp.Decided, &factors, &lp.TrainedAt); err != nil {
			return nil, err
		}
		if owner.Valid {
			lp.OwnerID = &owner.Int64
		}
		if err := json.Unmarshal([]byte(factors), &lp.Factors); err != nil {
			return nil, fmt.Errorf("lead %d prediction factors: %w", lp.LeadID, err)
		}
		out = append(out, lp)
	}
	return out, rows.Err()
}

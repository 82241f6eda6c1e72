package leads

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// LeadScore is one lead's current score under one model, for lists.
type LeadScore struct {
	LeadID      int64      `json:"lead_id"`
	Name        string     `json:"name"`
	Company     string     `json:"company"`
	Source      string     `json:"source"`
	Country     string     `json:"country"`
	Status      string     `json:"status"`
	OwnerID     *int64     `json:"owner_id"`
	CreatedAt   time.Time  `json:"created_at"`
	ModelID     int64      `json:"model_id"`
	Model       string     `json:"model"`
	Score       float64    `json:"score"`
	Fit         float64    `json:"fit"`
	Engagement  float64    `json:"engagement"`
	Grade       string     `json:"grade"`
	MQL         bool       `json:"mql"`
	LastEngaged *time.Time `json:"last_engaged_at"`
	ScoredAt    time.Time  `json:"scored_at"`
}

// ScoreQuery selects leads for a list.
type ScoreQuery struct {
	ModelID int64  // a version; 0: the active version of Model
	Model   string // a model name; "" with ModelID 0: the first active model
	Grade   string
	MQL     bool // only marketing-qualified leads
	// Fields keeps the leads whose field equals the value (ignoring case):
	// any of FilterFields.
	Fields map[string]string
	// Segment keeps the leads of the ICP segment of this name.
	Segment string
	Limit   int // 0: all
}

// FilterFields are the lead fields a list filters on.
var FilterFields = []string{"status", "source", "channel", "country", "title", "industry"}

// Scores lists the leads p may see with their score, highest first. A rep
// sees the leads they own, a manager their team's, ops and admin all; the
// viewer sees no leads.
func Scores(ctx context.Context, s *store.Store, p crm.Principal, q ScoreQuery) ([]LeadScore, *Version, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if !f.Individuals() {
		return nil, nil, crm.ErrForbidden
	}
	v, err := pickVersion(ctx, s, q.ModelID, q.Model)
	if err != nil {
		return nil, nil, err
	}
	where := []string{"s.model_id = $1", f.Condition("l.owner_id")}
	args := []any{v.ID}
	if q.Grade != "" {
		args = append(args, q.Grade)
		where = append(where, fmt.Sprintf("s.grade = $%d", len(args)))
	}
	for _, name := range FilterFields { // a fixed list: column names never come from the caller
		if v := q.Fields[name]; v != "" {
			args = append(args, strings.ToLower(strings.TrimSpace(v)))
			where = append(where, fmt.Sprintf("LOWER(l.%s) = $%d", name, len(args)))
		}
	}
	if q.MQL {
		where = append(where, "s.mql")
	}
	if q.Segment != "" {
		args = append(args, q.Segment)
		where = append(where, fmt.Sprintf("l.id IN (SELECT m.lead_id FROM lead_segment_members m JOIN lead_segments g ON g.id = m.segment_id WHERE g.name = $%d)", len(args)))
	}
	limit := ""
	if q.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT l.id, TRIM(l.first_name || ' ' || l.last_name), l.company, l.source, l.country, l.status, l.owner_id, l.created_at,
		s.score, s.fit, s.engagement, s.grade, s.mql, s.last_engaged_at, s.scored_at
		FROM lead_scores s JOIN leads l ON l.id = s.lead_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY s.score DESC, l.id`+limit, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("lead scores: %w", err)
	}
	defer rows.Close()
	var out []LeadScore
	for rows.Next() {
		ls := LeadScore{ModelID: v.ID, Model: v.Name}
		var owner sql.NullInt64
		var last sql.NullTime
		if err := rows.Scan(&ls.LeadID, &ls.Name, &ls.Company, &ls.Source, &ls.Country, &ls.Status, &owner, &ls.CreatedAt,
			&ls.Score, &ls.Fit, &ls.Engagement, &ls.Grade, &ls.MQL, &last, &ls.ScoredAt); err != nil {
			return nil, nil, err
		}
		if owner.Valid {
			ls.OwnerID = &owner.Int64
		}
		if last.Valid {
			ls.LastEngaged = &last.Time
		}
		out = append(out, ls)
	}
	return out, v, rows.Err()
}

// pickVersion finds a version by id, or the active version of a name, or
// the first active model.
func pickVersion(ctx context.Context, s *store.Store, id int64, name string) (*Version, error) {
	var vs []*Version
	var err error
	switch {
	case id != 0:
		vs, err = versions(ctx, s.DB(), `WHERE id = $1`, id)
	case name != "":
		vs, err = versions(ctx, s.DB(), `WHERE name = $1 AND active`, name)
	default:
		// The model that scored the most leads when last applied: the
		// general one, not one for a segment.
		vs, err = versions(ctx, s.DB(), `WHERE active ORDER BY COALESCE(m.scored_leads, 0) DESC, name LIMIT 1`)
	}
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		what := "no scoring model is applied yet (quarterdeck leads model apply FILE)"
		if id != 0 {
			what = fmt.Sprintf("scoring model version %d", id)
		} else if name != "" {
			what = fmt.Sprintf("no active scoring model named %q", name)
		}
		return nil, fmt.Errorf("%s: %w", what, crm.ErrNotFound)
	}
	v := vs[0]
	if v.model, err = Parse(v.File, []byte(v.Source)); err != nil {
		return nil, err
	}
	return v, nil
}

// Explanation is a lead's score under one model version with its why-log.
type Explanation struct {
	ModelID  int64     `json:"model_id"`
	Model    string    `json:"model"`
	Version  int64     `json:"version"`
	Active   bool      `json:"active"`
	ScoredAt time.Time `json:"scored_at"`
	Result
}

// Explain returns a lead's stored scores and why-log lines, for the active
// models (or one version by id, old ones included). The lead must be
// visible to p.
func Explain(ctx context.Context, s *store.Store, p crm.Principal, leadID, versionID int64) ([]Explanation, error) {
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return nil, err
	}
	where, args := "s.lead_id = $1 AND m.active", []any{leadID}
	if versionID != 0 {
		where, args = "s.lead_id = $1 AND m.id = $2", []any{leadID, versionID}
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT m.id, m.name, m.version, m.active, s.scored_at, s.score, s.fit, s.engagement, s.grade, s.mql, s.last_engaged_at
		FROM lead_scores s JOIN scoring_models m ON m.id = s.model_id WHERE `+where+` ORDER BY m.name, m.version`, args...)
	if err != nil {
		return nil, fmt.Errorf("lead score: %w", err)
	}
	var out []Explanation
	for rows.Next() {
		e := Explanation{}
		var last sql.NullTime
		if err := rows.Scan(&e.ModelID, &e.Model, &e.Version, &e.Active, &e.ScoredAt, &e.Score, &e.Fit, &e.Engagement, &e.Grade, &e.MQL, &last); err != nil {
			rows.Close()
			return nil, err
		}
		e.LeadID = leadID
		if last.Valid {
			e.LastEngaged = &last.Time
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Lines, err = logLines(ctx, s.DB(), out[i].ModelID, leadID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func logLines(ctx context.Context, db *sql.DB, modelID, leadID int64) ([]Line, error) {
	rows, err := db.QueryContext(ctx, `SELECT part, rule, points, raw_points, cause, event_id, at_time FROM lead_score_log
		WHERE lead_id = $1 AND model_id = $2 ORDER BY at_time, part, rule`, leadID, modelID)
	if err != nil {
		return nil, fmt.Errorf("why-log: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		var ev sql.NullInt64
		if err := rows.Scan(&l.Part, &l.Rule, &l.Points, &l.RawPoints, &l.Cause, &ev, &l.At); err != nil {
			return nil, err
		}
		if ev.Valid {
			l.EventID = &ev.Int64
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// HistoryPoint is a lead's score on a day.
type HistoryPoint struct {
	Day   time.Time `json:"day"`
	Score float64   `json:"score"`
}

// History works a lead's score out again as of each day from its creation
// to asOf (at most points days, evenly spaced), under the active version of
// a model: the score history chart.
func History(ctx context.Context, s *store.Store, p crm.Principal, leadID int64, model string, asOf time.Time, points int) ([]HistoryPoint, error) {
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return nil, err
	}
	v, err := pickVersion(ctx, s, 0, model)
	if err != nil {
		return nil, err
	}
	subs, err := loadSubjects(ctx, s.DB(), `WHERE l.id = `+fmt.Sprint(leadID), `WHERE e.lead_id = `+fmt.Sprint(leadID), v.model.EventKinds())
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	sub := &subs[0]
	start := sub.Created.Truncate(24 * time.Hour)
	span := asOf.Sub(start)
	if span < 0 || points < 2 {
		return nil, nil
	}
	out := make([]HistoryPoint, 0, points)
	for i := range points {
		t := start.Add(time.Duration(float64(span) * float64(i) / float64(points-1)))
		out = append(out, HistoryPoint{Day: t, Score: v.model.Score(sub, t).Score})
	}
	return out, nil
}

package leads

import (
	"context"
	"fmt"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/learn"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// GradeRow is how the leads of one grade turned out.
type GradeRow struct {
	Grade        string   `json:"grade"`
	Leads        int64    `json:"leads"`
	Converted    int64    `json:"converted"`
	Disqualified int64    `json:"disqualified"`
	Open         int64    `json:"open"`
	Conversion   *float64 `json:"conversion"` // converted ÷ (converted + disqualified); nil when none is decided
	AvgScore     float64  `json:"avg_score"`
}

// ModelReport says whether a point model sorts leads the way they turned
// out: conversion by grade, and the AUC of the score over the leads whose
// outcome is known (converted vs disqualified), 0.5 being no better than chance.
type ModelReport struct {
	Version       *Version   `json:"version"`
	Grades        []GradeRow `json:"grades"`
	Leads         int64      `json:"leads"`
	MQLs          int64      `json:"mqls"`
	Decided       int64      `json:"decided"`
	AUC           *float64   `json:"auc"`
	AUCNote       string     `json:"auc_note"`
	MinPerOutcome int        `json:"min_per_outcome"`
}

// minForAUC is the fewest converted and disqualified leads for an AUC worth showing.
const minForAUC = 30

// Report measures a model version over the leads p may see (all for ops,
// the team's for a manager, one's own for a rep; not the viewer).
func Report(ctx context.Context, s *store.Store, p crm.Principal, versionID int64, model string) (*ModelReport, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if !f.Individuals() {
		return nil, crm.ErrForbidden
	}
	v, err := pickVersion(ctx, s, versionID, model)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT sc.grade, sc.score, sc.mql, l.status FROM lead_scores sc JOIN leads l ON l.id = sc.lead_id
		WHERE sc.model_id = $1 AND `+f.Condition("l.owner_id"), v.ID)
	if err != nil {
		return nil, fmt.Errorf("model report: %w", err)
	}
	defer rows.Close()
	rep := &ModelReport{Version: v, MinPerOutcome: minForAUC}
	byGrade := map[string]*GradeRow{}
	sums := map[string]float64{}
	var scores []float64
	var won []bool
	var pos, neg int
	for rows.Next() {
		var grade, status string
		var score float64
		var mql bool
		if err := rows.Scan(&grade, &score, &mql, &status); err != nil {
			return nil, err
		}
		g := byGrade[grade]
		if g == nil {
			g = &GradeRow{Grade: grade}
			byGrade[grade] = g
		}
		g.Leads++
		sums[grade] += score
		rep.Leads++
		if mql {
			rep.MQLs++
		}
		switch crm.LeadStatus(status) {
		case crm.LeadConverted:
			g.Converted++
			scores, won = append(scores, score), append(won, true)
			pos++
		case crm.LeadDisqualified:
			g.Disqualified++
			scores, won = append(scores, score), append(won, false)
			neg++
		default:
			g.Open++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	order := make([]string, 0, len(v.model.Doc.Grades)+1)
	for _, g := range v.model.Doc.Grades {
		order = append(order, g.Grade)
	}
	if _, ok := byGrade[""]; ok {
		order = append(order, "")
	}
	for _, name := range order {
		g, ok := byGrade[name]
		if !ok {
			g = &GradeRow{Grade: name}
		}
		if g.Leads > 0 {
			g.AvgScore = sums[name] / float64(g.Leads)
		}
		if d := g.Converted + g.Disqualified; d > 0 {
			c := float64(g.Converted) / float64(d)
			g.Conversion = &c
		}
		rep.Grades = append(rep.Grades, *g)
	}
	rep.Decided = int64(pos + neg)
	if pos >= minForAUC && neg >= minForAUC {
		a := learn.AUC(scores, won)
		rep.AUC = &a
		rep.AUCNote = fmt.Sprintf("over %d converted and %d disqualified leads", pos, neg)
	} else {
		rep.AUCNote = fmt.Sprintf("too few decided leads to measure: %d converted and %d disqualified (need %d of each)", pos, neg, minForAUC)
	}
	return rep, nil
}

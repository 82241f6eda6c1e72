package learn

import "math"

// HoldoutReport is the chosen candidate of TrainAuto measured on the rows
// it set aside, fitted on the others, ready for JSON: metrics that are
// undefined (no positives in the holdout, say) are null, not NaN.
type HoldoutReport struct {
	Rows        int              `json:"rows"`
	FittedOn    int              `json:"fitted_on"`
	Positives   int              `json:"positives"`
	BaseRate    *float64         `json:"base_rate"`
	AUC         *float64         `json:"auc"`
	Brier       *float64         `json:"brier"`
	LogLoss     *float64         `json:"log_loss"`
	Reliability []ReliabilityRow `json:"reliability"`
}

// ReliabilityRow is one bin of predicted probability on the holdout: how
// many rows, their mean probability and the share that were positive.
type ReliabilityRow struct {
	Lo            float64  `json:"lo"`
	Hi            float64  `json:"hi"`
	Count         int      `json:"count"`
	MeanPredicted *float64 `json:"mean_predicted"`
	ObservedRate  *float64 `json:"observed_rate"`
}

// CandidateReport is one candidate model on the holdout.
type CandidateReport struct {
	Model   string   `json:"model"`
	AUC     *float64 `json:"auc"`
	Brier   *float64 `json:"brier"`
	LogLoss *float64 `json:"log_loss"`
}

// Report describes the result for people and JSON: the chosen model on the
// holdout and every candidate on it.
func (r *AutoResult) Report() (HoldoutReport, []CandidateReport) {
	ev := r.Holdout
	h := HoldoutReport{Rows: ev.N, FittedOn: r.TrainRows, Positives: ev.Won, BaseRate: Finite(ev.BaseRate),
		AUC: Finite(ev.AUC), Brier: Finite(ev.Brier), LogLoss: Finite(ev.LogLoss)}
	for _, b := range ev.Reliability {
		h.Reliability = append(h.Reliability, ReliabilityRow{Lo: b.Lo, Hi: b.Hi, Count: b.Count,
			MeanPredicted: Finite(b.MeanPredicted), ObservedRate: Finite(b.ObservedRate)})
	}
	cands := make([]CandidateReport, 0, len(r.Candidates))
	for _, c := range r.Candidates {
		cands = append(cands, CandidateReport{Model: c.Model, AUC: Finite(c.AUC), Brier: Finite(c.Brier), LogLoss: Finite(c.LogLoss)})
	}
	return h, cands
}

// Finite is v, or nil for NaN and infinities (JSON has neither).
func Finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

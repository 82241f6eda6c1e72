package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/learn"
)

// WinModel is the per-deal win-probability model trained as of a day, with
// how it and the naive-Bayes baseline did on a time-ordered holdout.
type WinModel struct {
	Model     learn.Model  `json:"-"`                     // nil when there were too few closed deals
	Chosen    string       `json:"model,omitempty"`       // logistic, gbt or naive_bayes
	Label     string       `json:"model_label,omitempty"` // in words: "gradient-boosted trees"
	TrainedAt time.Time    `json:"trained_as_of"`
	Note      string       `json:"note"`
	Holdout   []ModelScore `json:"holdout,omitempty"`
	// Signal, when set, says in words that the held-out deals showed the
	// model tells won from lost no better than chance, and what to trust.
	Signal     string  `json:"signal,omitempty"`
	TrainedOn  int     `json:"trained_on"`
	HoldoutFor float64 `json:"holdout_fraction"`
	// bounds are the numeric features' ranges in training: a value outside
	// is taken at the nearest end (see bounds.clamp).
	bounds bounds
}

// ModelLabels name the models in words, for people.
var ModelLabels = map[string]string{"logistic": "logistic regression", "gbt": "gradient-boosted trees", "naive_bayes": "naive Bayes (baseline)"}

// ModelScore is one model's accuracy on the holdout. AUC is absent when
// the holdout has a single class.
type ModelScore struct {
	Model       string        `json:"model"`
	Label       string        `json:"model_label"`
	N           int           `json:"n"`
	Won         int           `json:"won"`
	BaseRate    float64       `json:"base_rate"`
	AUC         *float64      `json:"auc"`
	Brier       float64       `json:"brier"`
	LogLoss     float64       `json:"log_loss"`
	Reliability []Reliability `json:"reliability"`
}

// Reliability is one bin of the calibration table.
type Reliability struct {
	Lo            float64  `json:"lo"`
	Hi            float64  `json:"hi"`
	Count         int      `json:"count"`
	MeanPredicted *float64 `json:"mean_predicted"`
	ObservedRate  *float64 `json:"observed_rate"`
}

// holdoutFraction is the latest share of closed deals (by close date) kept
// out of training to measure the models.
const holdoutFraction = 0.2

// MaxTrainingDeals caps the closed deals the models learn from to the most
// recently closed ones: beyond this the scores barely move, while training
// time grows with every deal, and recent deals say most about today's.
const MaxTrainingDeals = 200_000

// TrainWinModel trains logistic regression, gradient-boosted trees and the
// naive-Bayes baseline on the organisation's deals closed before asOf (a
// scoped book learns from all of them, as ScopedTo explains), measures them on
// the latest fifth, and refits the best of them (by Brier score) on every
// closed deal for scoring. With fewer than 200 won and 200 lost deals it
// trains nothing and says so: forecasts then rely on the history-weighted
// method.
func (b *Book) TrainWinModel(asOf time.Time) *WinModel {
	cycle := b.MedianCycle(asOf)
	rows := b.TrainingRows(asOf, cycle)
	if len(rows) > MaxTrainingDeals {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Time.Before(rows[j].Time) })
		rows = rows[len(rows)-MaxTrainingDeals:]
	}
	wm := &WinModel{TrainedAt: asOf, TrainedOn: len(rows), HoldoutFor: holdoutFraction}
	trainers := []func([]learn.Row) (learn.Model, error){
		func(r []learn.Row) (learn.Model, error) {
			return learn.TrainLogistic(FeatureSchema, r, learn.LogisticOptions{})
		},
		func(r []learn.Row) (learn.Model, error) {
			return learn.TrainGBT(FeatureSchema, r, learn.GBTOptions{})
		},
		func(r []learn.Row) (learn.Model, error) {
			return learn.TrainNaiveBayes(FeatureSchema, r, naiveBayesOptions(b))
		},
	}
	train, holdout, err := learn.TimeSplit(rows, holdoutFraction)
	holdout = boundsOf(train).clampAll(holdout) // measured as it will be used
	best := -1
	for i, fit := range trainers {
		if err != nil {
			break
		}
		var m learn.Model
		if m, err = fit(train); err == nil {
			wm.Holdout = append(wm.Holdout, scoreOf(learn.Evaluate(m, holdout)))
			if best < 0 || wm.Holdout[i].Brier < wm.Holdout[best].Brier {
				best = i
			}
		}
	}
	if err == nil {
		wm.Chosen, wm.Label = wm.Holdout[best].Model, wm.Holdout[best].Label
		wm.Model, err = trainers[best](rows)
		wm.bounds = boundsOf(rows)
	}
	if err != nil {
		wm.Model, wm.Chosen, wm.Label = nil, "", ""
		if errors.Is(err, learn.ErrTooFewDeals) {
			wm.Note = fmt.Sprintf("no win-probability model: it needs at least %d won and %d lost closed deals in training (%v); the history-weighted method stands in", learn.MinDealsPerClass, learn.MinDealsPerClass, err)
		} else {
			wm.Note = "no win-probability model: " + err.Error()
		}
		return wm
	}
	wm.Note = fmt.Sprintf("%s, learned from %d closed deals: the best of %d models on the latest %d%% held out", wm.Label, len(rows), len(trainers), int(holdoutFraction*100))
	wm.Signal = noSignal(wm.Holdout[best])
	return wm
}

// minUsefulAUC is the holdout AUC below which a model is taken to have
// found nothing: 0.5 is a coin toss.
const minUsefulAUC = 0.55

// noSignal explains, for a model that ranks held-out deals about as well as
// chance, that the data holds nothing to learn from before the close.
func noSignal(h ModelScore) string {
	if h.AUC != nil && *h.AUC >= minUsefulAUC {
		return ""
	}
	auc := "cannot be measured: the held-out deals are all won or all lost"
	if h.AUC != nil {
		auc = fmt.Sprintf("is %.2f, where 0.5 is a coin toss and 1 is perfect", *h.AUC)
	}
	return fmt.Sprintf("No signal before the close: on the latest %d closed deals, held out, the best model tells won from lost no better than chance (its AUC %s). "+
		"The deals carry too little of what happens before they close (a stage history, dated amounts, activities) for any model to learn from. "+
		"Do not rely on per-deal win probabilities here: trust the history-weighted forecast for the pipeline, or the time series of past bookings.", h.N, auc)
}

// bounds are each numeric feature's smallest and largest value in
// training. A model has learned nothing about values beyond them, and a
// linear one would extrapolate without limit (a deal open for nine years
// would score a certain win from its age alone), so every row is clamped
// to them before it is scored.
type bounds struct{ lo, hi []float64 }

func boundsOf(rows []learn.Row) bounds {
	n := len(FeatureSchema.Numeric)
	b := bounds{lo: make([]float64, n), hi: make([]float64, n)}
	for k := range n {
		b.lo[k], b.hi[k] = math.Inf(1), math.Inf(-1)
	}
	for _, r := range rows {
		for k, x := range r.Num {
			if !math.IsNaN(x) {
				b.lo[k], b.hi[k] = math.Min(b.lo[k], x), math.Max(b.hi[k], x)
			}
		}
	}
	return b
}

// clamp returns r with every numeric value inside the bounds (a copy when
// any was outside; r is not modified). Missing values stay missing.
func (b bounds) clamp(r learn.Row) learn.Row {
	if b.lo == nil {
		return r
	}
	copied := false
	for k, x := range r.Num {
		if math.IsNaN(x) || b.lo[k] > b.hi[k] { // missing, or never seen in training
			continue
		}
		if c := math.Max(b.lo[k], math.Min(b.hi[k], x)); c != x {
			if !copied {
				r.Num, copied = slices.Clone(r.Num), true
			}
			r.Num[k] = c
		}
	}
	return r
}

func (b bounds) clampAll(rows []learn.Row) []learn.Row {
	out := make([]learn.Row, len(rows))
	for i, r := range rows {
		out[i] = b.clamp(r)
	}
	return out
}

// score is the deal's win probability, its features clamped to the range
// the model learned from.
func (m *WinModel) score(r learn.Row) float64 { return m.Model.Score(m.bounds.clamp(r)) }

func naiveBayesOptions(b *Book) learn.NaiveBayesOptions {
	return learn.NaiveBayesOptions{StageFeature: "stage", StageOrder: b.Open}
}

func scoreOf(ev learn.Evaluation) ModelScore {
	s := ModelScore{Model: ev.Model, Label: ModelLabels[ev.Model], N: ev.N, Won: ev.Won, BaseRate: ev.BaseRate, AUC: learn.Finite(ev.AUC), Brier: ev.Brier, LogLoss: ev.LogLoss}
	for _, bin := range ev.Reliability {
		s.Reliability = append(s.Reliability, Reliability{Lo: bin.Lo, Hi: bin.Hi, Count: bin.Count,
			MeanPredicted: learn.Finite(bin.MeanPredicted), ObservedRate: learn.Finite(bin.ObservedRate)})
	}
	return s
}

// DealScore is an open deal's win probability with its reasons.
type DealScore struct {
	DealID      int64    `json:"opportunity_id"`
	OwnerID     int64    `json:"owner_id"`
	Stage       string   `json:"stage"`
	Amount      float64  `json:"amount"`
	Expected    string   `json:"expected_close"`
	Probability float64  `json:"win_probability"`
	StageProb   float64  `json:"stage_probability"`
	Factors     []Factor `json:"factors,omitempty"`
}

// ScoreOpen scores the deals open on the book's day (all, or those keep
// lets through), most valuable expected win first, explaining each with
// its top k factors.
func (b *Book) ScoreOpen(m *WinModel, keep func(*Deal) bool, k int) []DealScore {
	if m == nil || m.Model == nil || b.AggregatesOnly {
		return nil
	}
	cycle := b.MedianCycle(b.Today)
	f := b.featurizer()
	var out []DealScore
	for i := range b.Deals {
		d := &b.Deals[i]
		if !b.shows(d, keep) || !d.OpenAt(b.Today) {
			continue
		}
		st := b.StateAt(d, b.Today, cycle)
		row := f.row(d, st, b.Today)
		ds := DealScore{DealID: d.ID, OwnerID: d.OwnerID, Stage: st.Stage, Amount: round2(st.Amount), Expected: st.Expected.Format(time.DateOnly),
			Probability: m.score(row), StageProb: b.Stages[st.Stage].Probability}
		if k > 0 {
			used := m.bounds.clamp(row)
			for _, f := range m.Model.Explain(used, k) {
				ds.Factors = append(ds.Factors, explain(f, row, used, b.Currency))
			}
		}
		out = append(out, ds)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Probability*out[i].Amount > out[j].Probability*out[j].Amount
	})
	return out
}

package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/forecast/winprob"
)

// WinModel is the per-deal win-probability model trained as of a day, with
// how it and the naive-Bayes baseline did on a time-ordered holdout.
type WinModel struct {
	Model      winprob.Model `json:"-"` // nil when there were too few closed deals
	Chosen     string        `json:"model,omitempty"`
	TrainedAt  time.Time     `json:"trained_as_of"`
	Note       string        `json:"note"`
	Holdout    []ModelScore  `json:"holdout,omitempty"`
	TrainedOn  int           `json:"trained_on"`
	HoldoutFor float64       `json:"holdout_fraction"`
}

// ModelScore is one model's accuracy on the holdout. AUC is absent when
// the holdout has a single class.
type ModelScore struct {
	Model       string        `json:"model"`
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
	trainers := []func([]winprob.Row) (winprob.Model, error){
		func(r []winprob.Row) (winprob.Model, error) {
			return winprob.TrainLogistic(FeatureSchema, r, winprob.LogisticOptions{})
		},
		func(r []winprob.Row) (winprob.Model, error) {
			return winprob.TrainGBT(FeatureSchema, r, winprob.GBTOptions{})
		},
		func(r []winprob.Row) (winprob.Model, error) {
			return winprob.TrainNaiveBayes(FeatureSchema, r, naiveBayesOptions(b))
		},
	}
	train, holdout, err := winprob.TimeSplit(rows, holdoutFraction)
	best := -1
	for i, fit := range trainers {
		if err != nil {
			break
		}
		var m winprob.Model
		if m, err = fit(train); err == nil {
			wm.Holdout = append(wm.Holdout, scoreOf(winprob.Evaluate(m, holdout)))
			if best < 0 || wm.Holdout[i].Brier < wm.Holdout[best].Brier {
				best = i
			}
		}
	}
	if err == nil {
		wm.Chosen = wm.Holdout[best].Model
		wm.Model, err = trainers[best](rows)
	}
	if err != nil {
		wm.Model, wm.Chosen = nil, ""
		if errors.Is(err, winprob.ErrTooFewDeals) {
			wm.Note = fmt.Sprintf("no win-probability model: it needs at least %d won and %d lost closed deals in training (%v); the history-weighted method stands in", winprob.MinDealsPerClass, winprob.MinDealsPerClass, err)
		} else {
			wm.Note = "no win-probability model: " + err.Error()
		}
		return wm
	}
	wm.Note = fmt.Sprintf("%s model on %d closed deals, the best of %d on the latest %d%% held out", wm.Chosen, len(rows), len(trainers), int(holdoutFraction*100))
	return wm
}

func naiveBayesOptions(b *Book) winprob.NaiveBayesOptions {
	return winprob.NaiveBayesOptions{StageFeature: "stage", StageOrder: b.Open}
}

func scoreOf(ev winprob.Evaluation) ModelScore {
	s := ModelScore{Model: ev.Model, N: ev.N, Won: ev.Won, BaseRate: ev.BaseRate, AUC: finite(ev.AUC), Brier: ev.Brier, LogLoss: ev.LogLoss}
	for _, bin := range ev.Reliability {
		s.Reliability = append(s.Reliability, Reliability{Lo: bin.Lo, Hi: bin.Hi, Count: bin.Count,
			MeanPredicted: finite(bin.MeanPredicted), ObservedRate: finite(bin.ObservedRate)})
	}
	return s
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// DealScore is an open deal's win probability with its reasons.
type DealScore struct {
	DealID      int64            `json:"opportunity_id"`
	OwnerID     int64            `json:"owner_id"`
	Stage       string           `json:"stage"`
	Amount      float64          `json:"amount"`
	Expected    string           `json:"expected_close"`
	Probability float64          `json:"win_probability"`
	StageProb   float64          `json:"stage_probability"`
	Factors     []winprob.Factor `json:"factors,omitempty"`
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
			Probability: m.Model.Score(row), StageProb: b.Stages[st.Stage].Probability}
		if k > 0 {
			ds.Factors = m.Model.Explain(row, k)
		}
		out = append(out, ds)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Probability*out[i].Amount > out[j].Probability*out[j].Amount
	})
	return out
}

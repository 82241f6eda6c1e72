package learn

import (
	"math"
	"slices"
	"sort"
	"strconv"
)

// NaiveBayesOptions tunes TrainNaiveBayes. The zero value selects the defaults.
type NaiveBayesOptions struct {
	// Bins is the number of training-quantile bins per numeric feature
	// (fewer when values tie). Default 10 (deciles).
	Bins int
	// Smoothing is added to every won and lost count of each value.
	// Default 0.1, Odoo's choice ("should be +1 but it weights too much on
	// small recordset").
	Smoothing float64
	// StageFeature optionally names the categorical pipeline-stage feature
	// and StageOrder lists its values in pipeline order. The stage is then
	// counted cumulatively as Odoo does: a won deal counts for every stage,
	// a lost deal for its stage and all earlier ones. Stage values not in
	// StageOrder are ignored. Leave empty to treat stage like any other
	// categorical.
	StageFeature string
	StageOrder   []string
}

// NaiveBayes is a baseline in the style of Odoo's CRM predictive lead
// scoring (crm.lead._pls_get_naive_bayes_probabilities over the
// crm.lead.scoring.frequency table). As in Odoo:
//
//   - for each feature value, won and lost counts are tallied over closed
//     deals and each is increased by Smoothing (0.1);
//   - P(value|won) = won(value) / Σ_values won(value) of that feature, so the
//     denominator only covers deals where the feature was set; likewise for
//     lost; for the stage feature the denominators are the won/lost totals;
//   - unset values ("" or NaN) and values never seen in training are skipped
//     at scoring time (they neither help nor hurt);
//   - the prior is won/(won+lost), score = S_won/(S_won+S_lost) with
//     S = prior·Π P(value|class), clamped to [0.0001, 0.9999] (Odoo clamps
//     to 0.01..99.99 %).
//
// Differences: Odoo splits frequencies per sales team (train one model per
// team to get that), only uses fields configured in crm.pls_fields, drops
// tags with fewer than 50 closed leads (there are no multi-valued features
// here), rounds to 0.01 %, and has no numeric features: here numeric values
// are binned into training quantiles and treated as categories. Arithmetic is
// done in log space, which is equivalent but cannot underflow.
type NaiveBayes struct {
	schema   Schema
	logPrior float64     // log(won/lost)
	cuts     [][]float64 // per numeric feature: upper bin edges
	numLLR   [][]float64 // per numeric feature and bin: log P(bin|won)/P(bin|lost)
	catLLR   []map[string]float64
	stageK   int // index of the stage feature in Categorical, or -1
	stageLLR map[string]float64
}

// Name implements Model.
func (m *NaiveBayes) Name() string { return "naive_bayes" }

type wl struct{ won, lost float64 }

// TrainNaiveBayes tallies frequencies on closed deals. It returns a
// *TooFewDealsError (matching ErrTooFewDeals) when either class has fewer
// than MinDealsPerClass rows.
func TrainNaiveBayes(schema Schema, rows []Row, opts NaiveBayesOptions) (*NaiveBayes, error) {
	if err := checkRows(schema, rows); err != nil {
		return nil, err
	}
	if opts.Bins <= 0 {
		opts.Bins = 10
	}
	if opts.Smoothing <= 0 {
		opts.Smoothing = 0.1
	}
	s := opts.Smoothing
	m := &NaiveBayes{schema: schema, stageK: -1}
	var won, lost float64
	for i := range rows {
		if rows[i].Won {
			won++
		} else {
			lost++
		}
	}
	m.logPrior = math.Log(won / lost)

	// llr turns per-value counts into log likelihood ratios with the
	// feature-wide (smoothed) totals as denominators, as Odoo does.
	llr := func(counts map[string]*wl) map[string]float64 {
		// Sum in key order: map order would make the last bits, and so
		// the scores, vary from run to run.
		keys := make([]string, 0, len(counts))
		for v := range counts {
			keys = append(keys, v)
		}
		slices.Sort(keys)
		var tw, tl float64
		for _, v := range keys {
			tw += counts[v].won + s
			tl += counts[v].lost + s
		}
		out := make(map[string]float64, len(counts))
		for v, c := range counts {
			out[v] = math.Log((c.won+s)/tw) - math.Log((c.lost+s)/tl)
		}
		return out
	}

	m.cuts = make([][]float64, len(schema.Numeric))
	m.numLLR = make([][]float64, len(schema.Numeric))
	// Features are independent, so bin them in parallel; each writes only
	// its own slot, keeping results deterministic.
	forEachParallel(len(schema.Numeric), func(k int) {
		cuts := quantileCuts(rows, k, opts.Bins)
		m.cuts[k] = cuts
		counts := make([]wl, len(cuts)+1)
		for i := range rows {
			x := rows[i].Num[k]
			if isMissing(x) {
				continue
			}
			c := &counts[binOf(cuts, x)]
			if rows[i].Won {
				c.won++
			} else {
				c.lost++
			}
		}
		// A bin with no training values (possible only with heavy ties) is
		// absent from the table, like a value Odoo never saw: it adds
		// nothing to the totals and NaN marks it as skipped at scoring.
		var tw, tl float64
		for _, c := range counts {
			if c.won+c.lost > 0 {
				tw += c.won + s
				tl += c.lost + s
			}
		}
		m.numLLR[k] = make([]float64, len(counts))
		for b, c := range counts {
			m.numLLR[k][b] = math.NaN()
			if c.won+c.lost > 0 {
				m.numLLR[k][b] = math.Log((c.won+s)/tw) - math.Log((c.lost+s)/tl)
			}
		}
	})

	m.catLLR = make([]map[string]float64, len(schema.Categorical))
	for k, name := range schema.Categorical {
		if opts.StageFeature != "" && name == opts.StageFeature && len(opts.StageOrder) > 0 {
			m.stageK = k
			m.stageLLR = stageLLR(rows, k, opts.StageOrder, s)
			continue
		}
		counts := map[string]*wl{}
		for i := range rows {
			v := rows[i].Cat[k]
			if v == "" {
				continue
			}
			c := counts[v]
			if c == nil {
				c = &wl{}
				counts[v] = c
			}
			if rows[i].Won {
				c.won++
			} else {
				c.lost++
			}
		}
		m.catLLR[k] = llr(counts)
	}
	return m, nil
}

// stageLLR mirrors Odoo's cumulative stage counting: a won deal passed
// through every stage; a lost one reached its stage and all before it. The
// denominators are the (smoothed) totals of deals with a known stage, which
// Odoo reads off the first stage's counts.
func stageLLR(rows []Row, k int, order []string, s float64) map[string]float64 {
	rank := make(map[string]int, len(order))
	for i, v := range order {
		if _, dup := rank[v]; !dup {
			rank[v] = i
		}
	}
	reachedLost := make([]float64, len(order))
	var lost float64
	for i := range rows {
		r, ok := rank[rows[i].Cat[k]]
		if !ok || rows[i].Won {
			continue
		}
		lost++
		reachedLost[r]++
	}
	// Suffix sums: lost deals that reached stage j or beyond.
	for j := len(order) - 2; j >= 0; j-- {
		reachedLost[j] += reachedLost[j+1]
	}
	out := make(map[string]float64, len(order))
	for v, j := range rank {
		// Every won deal counts for every stage, so P(stage|won) is 1 and
		// only the lost side discriminates.
		out[v] = -math.Log((reachedLost[j] + s) / (lost + s))
	}
	return out
}

// binOf returns the index of the quantile bin holding x: bin b covers
// (cuts[b-1], cuts[b]].
func binOf(cuts []float64, x float64) int {
	return sort.SearchFloat64s(cuts, x)
}

const nbClamp = 1e-4

// LogOdds returns the unclamped naive-Bayes log-odds for the row.
func (m *NaiveBayes) LogOdds(r Row) float64 {
	z := m.logPrior
	for _, f := range m.factors(r) {
		z += f.Contribution
	}
	return z
}

// BaseLogOdds is the prior log-odds; Explain's contributions over all
// features sum to LogOdds(row) - BaseLogOdds().
func (m *NaiveBayes) BaseLogOdds() float64 { return m.logPrior }

// Score implements Model.
func (m *NaiveBayes) Score(r Row) float64 {
	checkRowShape(m.schema, r)
	z := m.logPrior
	for k, x := range r.Num {
		if isMissing(x) {
			continue
		}
		if v := m.numLLR[k][binOf(m.cuts[k], x)]; !math.IsNaN(v) {
			z += v
		}
	}
	for k, v := range r.Cat {
		z += m.catContribution(k, v)
	}
	return min(max(sigmoid(z), nbClamp), 1-nbClamp)
}

func (m *NaiveBayes) catContribution(k int, v string) float64 {
	if v == "" {
		return 0
	}
	table := m.catLLR[k]
	if k == m.stageK {
		table = m.stageLLR
	}
	return table[v] // missing key -> 0: unseen values are skipped
}

// Explain implements Model. Contributions are log P(value|won)/P(value|lost)
// (relative to the prior, not to an average deal); skipped values
// contribute 0 and are still listed so the caller can show "unknown".
func (m *NaiveBayes) Explain(r Row, k int) []Factor {
	checkRowShape(m.schema, r)
	return topK(m.factors(r), k)
}

func (m *NaiveBayes) factors(r Row) []Factor {
	out := make([]Factor, 0, len(r.Num)+len(r.Cat))
	for k, x := range r.Num {
		f := Factor{Feature: m.schema.Numeric[k]}
		if isMissing(x) {
			f.Value = "missing"
		} else {
			b := binOf(m.cuts[k], x)
			if v := m.numLLR[k][b]; !math.IsNaN(v) {
				f.Contribution = v
			}
			f.Value = strconv.FormatFloat(x, 'g', 6, 64)
		}
		f.Name = f.Feature
		out = append(out, f)
	}
	for k, v := range r.Cat {
		f := Factor{Feature: m.schema.Categorical[k], Value: v, Contribution: m.catContribution(k, v)}
		if v == "" {
			f.Value = missingLevel
		}
		f.Name = f.Feature + " = " + f.Value
		out = append(out, f)
	}
	return out
}

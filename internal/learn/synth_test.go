package learn

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Synthetic data generators shared by tests and benchmarks. Each returns
// rows plus the true probability of each row (the oracle score).

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// trueLogistic: 5 numeric N(0,1) features with known coefficients, one
// heavy-tailed amount (logit effect on log scale), two categoricals.
var (
	trueNumCoef = []float64{1.5, -1.0, 0.5, 0.0, -2.0}
	trueStage   = map[string]float64{"Qualify": -1.0, "Propose": 0.0, "Negotiate": 1.0, "Commit": 2.0}
	trueSource  = map[string]float64{"web": 0.3, "partner": 0.6, "outbound": -0.5, "event": 0.0}
	stages      = []string{"Qualify", "Propose", "Negotiate", "Commit"}
	sources     = []string{"web", "partner", "outbound", "event"}
)

var logisticSchema = Schema{
	Numeric:     []string{"x0", "x1", "x2", "x3", "x4"},
	Categorical: []string{"stage", "source"},
}

func genLogistic(n int, seed uint64) ([]Row, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	rows := make([]Row, n)
	truth := make([]float64, n)
	for i := range rows {
		num := make([]float64, 5)
		z := -0.5
		for k := range num {
			num[k] = rng.NormFloat64()
			z += trueNumCoef[k] * num[k]
		}
		st := stages[rng.IntN(len(stages))]
		src := sources[rng.IntN(len(sources))]
		z += trueStage[st] + trueSource[src]
		p := sigmoid(z)
		rows[i] = Row{
			ID:   int64(i),
			Time: t0.Add(time.Duration(i) * time.Minute),
			Num:  num,
			Cat:  []string{st, src},
			Won:  rng.Float64() < p,
		}
		truth[i] = p
	}
	return rows, truth
}

var interactSchema = Schema{Numeric: []string{"a", "b"}}

// genInteract: a and b are strongly correlated and only their difference
// matters, so each feature alone is nearly useless — the case where naive
// Bayes' independence assumption breaks down.
func genInteract(n int, seed uint64) ([]Row, []float64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	rows := make([]Row, n)
	truth := make([]float64, n)
	for i := range rows {
		c := 3 * rng.NormFloat64()
		a := c + 0.3*rng.NormFloat64()
		b := c + 0.3*rng.NormFloat64()
		p := sigmoid(4 * (a - b))
		rows[i] = Row{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Minute), Num: []float64{a, b}, Won: rng.Float64() < p}
		truth[i] = p
	}
	return rows, truth
}

var indepCatSchema = Schema{Categorical: []string{"c0", "c1", "c2", "c3"}}

// genIndepCat: independent categoricals whose effects are additive in
// log-odds given the class — naive Bayes' home ground.
func genIndepCat(n int, seed uint64) ([]Row, []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	effects := [][]float64{{-1, 0, 1}, {0.5, -0.5}, {-0.8, 0, 0.4, 0.8, 1.2}, {0.2, -0.2, 0, 0.6}}
	rows := make([]Row, n)
	truth := make([]float64, n)
	for i := range rows {
		cat := make([]string, len(effects))
		z := -0.3
		for k, eff := range effects {
			l := rng.IntN(len(eff))
			cat[k] = "L" + strconv.Itoa(l)
			z += eff[l]
		}
		p := sigmoid(z)
		rows[i] = Row{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Minute), Cat: cat, Won: rng.Float64() < p}
		truth[i] = p
	}
	return rows, truth
}

// benchSchema: 10 numeric (two heavy-tailed, some missing) + 5
// categoricals, ~15 features like a real deal extract.
func benchSchema() Schema {
	s := Schema{Log: []string{"amount", "activities"}}
	s.Numeric = []string{"amount", "activities", "days_open", "days_in_stage", "n_contacts", "n_meetings", "discount", "emails_30d", "age_account", "n_products"}
	s.Categorical = []string{"stage", "source", "owner", "industry", "region"}
	return s
}

func genBench(n int, seed uint64) []Row {
	rng := rand.New(rand.NewPCG(seed, 4))
	ncat := []int{6, 8, 40, 25, 6}
	rows := make([]Row, n)
	for i := range rows {
		num := make([]float64, 10)
		z := -0.4
		for k := range num {
			v := rng.NormFloat64()
			switch k {
			case 0:
				num[k] = math.Exp(10 + 1.5*v)
			case 1:
				num[k] = math.Floor(math.Exp(2 + v))
			default:
				num[k] = v
			}
			z += 0.3 * float64(k%3-1) * v
			if k == 3 && rng.IntN(10) == 0 {
				num[k] = math.NaN()
			}
		}
		cat := make([]string, len(ncat))
		for k, m := range ncat {
			l := rng.IntN(m)
			cat[k] = "v" + strconv.Itoa(l)
			z += 0.2 * float64(l%3-1)
		}
		rows[i] = Row{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Second), Num: num, Cat: cat, Won: rng.Float64() < sigmoid(z)}
	}
	return rows
}

var xorSchema = Schema{Numeric: []string{"a", "days_in_stage"}, Categorical: []string{"stage"}}

// genXOR: the effect of days_in_stage flips sign with stage (a stale deal
// is bad early but fine late) plus an additive numeric — an interaction no
// additive model can represent.
func genXOR(n int, seed uint64) ([]Row, []float64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	rows := make([]Row, n)
	truth := make([]float64, n)
	for i := range rows {
		a := rng.NormFloat64()
		d := rng.NormFloat64()
		st := "early"
		z := 0.8*a - 2*d
		if rng.IntN(2) == 0 {
			st = "late"
			z = 0.8*a + 2*d
		}
		p := sigmoid(z)
		rows[i] = Row{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Minute), Num: []float64{a, d}, Cat: []string{st}, Won: rng.Float64() < p}
		truth[i] = p
	}
	return rows, truth
}

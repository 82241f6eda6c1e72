package learn

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"
)

func mustLogistic(t testing.TB, s Schema, rows []Row) *Logistic {
	t.Helper()
	m, err := TrainLogistic(s, rows, LogisticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustNB(t testing.TB, s Schema, rows []Row, o NaiveBayesOptions) *NaiveBayes {
	t.Helper()
	m, err := TrainNaiveBayes(s, rows, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustGBT(t testing.TB, s Schema, rows []Row) *GBT {
	t.Helper()
	m, err := TrainGBT(s, rows, GBTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func coef(m *Logistic, name string) float64 {
	for _, c := range m.Coefficients() {
		if c.Name == name {
			return c.Value
		}
	}
	panic("no coefficient " + name)
}

func TestLogisticRecoversKnownModel(t *testing.T) {
	rows, _ := genLogistic(40000, 1)
	m := mustLogistic(t, logisticSchema, rows)
	if it, ok := m.Iterations(); !ok || it > 15 {
		t.Errorf("Newton: %d iterations, converged=%v", it, ok)
	}
	// Features are N(0,1), so standardised coefficients ≈ the true ones.
	for k, want := range trueNumCoef {
		got := coef(m, logisticSchema.Numeric[k])
		if math.Abs(got-want) > 0.1 {
			t.Errorf("coef %s = %.3f, want %.3f ± 0.1", logisticSchema.Numeric[k], got, want)
		}
	}
	// Stage levels must come out in the true order.
	for i := 1; i < len(stages); i++ {
		lo, hi := coef(m, "stage = "+stages[i-1]), coef(m, "stage = "+stages[i])
		if !(hi > lo) {
			t.Errorf("stage %s (%.3f) should exceed %s (%.3f)", stages[i], hi, stages[i-1], lo)
		}
	}
	if d := coef(m, "source = partner") - coef(m, "source = outbound"); math.Abs(d-1.1) > 0.15 {
		t.Errorf("partner - outbound = %.3f, want ≈ 1.1", d)
	}

	hold, truth := genLogistic(20000, 2)
	ev := Evaluate(m, hold)
	oracle := AUC(truth, labels(hold))
	if ev.AUC < oracle-0.005 {
		t.Errorf("AUC %.4f vs oracle %.4f", ev.AUC, oracle)
	}
	t.Logf("logistic AUC %.4f oracle %.4f brier %.4f logloss %.4f", ev.AUC, oracle, ev.Brier, ev.LogLoss)
}

func TestModelComparison(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		gen    func(int, uint64) ([]Row, []float64)
		check  func(t *testing.T, lr, nb, gbt, oracle float64)
	}{
		{"correlated numeric: logistic beats NB", interactSchema, genInteract, func(t *testing.T, lr, nb, gbt, oracle float64) {
			if lr < oracle-0.01 {
				t.Errorf("logistic AUC %.4f far from oracle %.4f", lr, oracle)
			}
			if lr < nb+0.1 {
				t.Errorf("logistic AUC %.4f should clearly beat NB %.4f", lr, nb)
			}
		}},
		{"independent categorical: NB does fine", indepCatSchema, genIndepCat, func(t *testing.T, lr, nb, gbt, oracle float64) {
			if nb < oracle-0.01 {
				t.Errorf("NB AUC %.4f far from oracle %.4f", nb, oracle)
			}
		}},
		{"linear logistic: GBT close to logistic", logisticSchema, genLogistic, func(t *testing.T, lr, nb, gbt, oracle float64) {
			if gbt < lr-0.01 {
				t.Errorf("GBT AUC %.4f vs logistic %.4f", gbt, lr)
			}
		}},
		{"stage x days interaction: GBT beats logistic", xorSchema, genXOR, func(t *testing.T, lr, nb, gbt, oracle float64) {
			if gbt < oracle-0.01 || gbt < lr+0.1 {
				t.Errorf("GBT AUC %.4f, logistic %.4f, oracle %.4f", gbt, lr, oracle)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, truth := tt.gen(30000, 7)
			train, hold, err := TimeSplit(rows, 0.3)
			if err != nil {
				t.Fatal(err)
			}
			truthHold := truth[len(train):] // IDs are time-ordered
			lr := mustLogistic(t, tt.schema, train)
			nb := mustNB(t, tt.schema, train, NaiveBayesOptions{})
			gbt := mustGBT(t, tt.schema, train)
			evs := Compare(hold, lr, nb, gbt)
			oracle := AUC(truthHold, labels(hold))
			t.Logf("AUC logistic %.4f, NB %.4f, GBT %.4f, oracle %.4f; Brier %.4f / %.4f / %.4f",
				evs[0].AUC, evs[1].AUC, evs[2].AUC, oracle, evs[0].Brier, evs[1].Brier, evs[2].Brier)
			tt.check(t, evs[0].AUC, evs[1].AUC, evs[2].AUC, oracle)
		})
	}
}

func TestTooFewDeals(t *testing.T) {
	rows, _ := genLogistic(3000, 3)
	var won, lost []Row
	for _, r := range rows {
		if r.Won {
			won = append(won, r)
		} else {
			lost = append(lost, r)
		}
	}
	tests := []struct {
		name      string
		won, lost int
		wantErr   bool
	}{
		{"enough", 200, 200, false},
		{"few won", 199, 1000, true},
		{"few lost", 1000, 150, true},
		{"none", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := append(slices.Clone(won[:tt.won]), lost[:tt.lost]...)
			_, errLR := TrainLogistic(logisticSchema, data, LogisticOptions{})
			_, errNB := TrainNaiveBayes(logisticSchema, data, NaiveBayesOptions{})
			_, errGBT := TrainGBT(logisticSchema, data, GBTOptions{})
			for _, err := range []error{errLR, errNB, errGBT} {
				if !tt.wantErr {
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				if !errors.Is(err, ErrTooFewDeals) {
					t.Fatalf("err = %v, want ErrTooFewDeals", err)
				}
				var tf *TooFewDealsError
				if !errors.As(err, &tf) || tf.Won != tt.won || tf.Lost != tt.lost || tf.Min != 200 {
					t.Fatalf("err = %#v", err)
				}
			}
		})
	}
}

func TestShapeMismatch(t *testing.T) {
	rows, _ := genLogistic(1000, 3)
	rows[5].Num = rows[5].Num[:2]
	if _, err := TrainLogistic(logisticSchema, rows, LogisticOptions{}); err == nil || errors.Is(err, ErrTooFewDeals) {
		t.Fatalf("err = %v, want shape error", err)
	}
}

// Missing numerics, missing/rare/unseen categoricals and skewed features
// must train and score without NaNs, and the missing indicator must carry
// the signal when missingness itself is informative.
func TestMissingAndUnseen(t *testing.T) {
	rows, _ := genLogistic(20000, 4)
	for i := range rows {
		r := &rows[i]
		r.Num = slices.Clone(r.Num)
		r.Cat = slices.Clone(r.Cat)
		switch {
		case i%7 == 0 && r.Won: // informative missingness
			r.Num[3] = math.NaN()
		case i%11 == 0:
			r.Num[0] = math.Inf(1)
		case i%13 == 0:
			r.Cat[1] = ""
		case i%500 == 0:
			r.Cat[1] = "rare-" + string(rune('a'+(i/500)%5)) // < 20 of each: pooled
		}
	}
	m := mustLogistic(t, logisticSchema, rows)
	nb := mustNB(t, logisticSchema, rows, NaiveBayesOptions{})
	gbt := mustGBT(t, logisticSchema, rows)
	if c := coef(m, "x3 missing"); c < 1 {
		t.Errorf("x3 missing coef = %.3f, want strongly positive", c)
	}
	coef(m, "source = other")
	coef(m, "source = (missing)")

	probe := Row{Num: []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}, Cat: []string{"NeverSeen", ""}}
	for _, mod := range []Model{m, nb, gbt} {
		p := mod.Score(probe)
		if math.IsNaN(p) || p <= 0 || p >= 1 {
			t.Errorf("%s: score %v", mod.Name(), p)
		}
		for _, f := range mod.Explain(probe, 0) {
			if math.IsNaN(f.Contribution) {
				t.Errorf("%s: NaN contribution %+v", mod.Name(), f)
			}
		}
	}
	// Unseen stage maps to nothing (no rare stages in training), so it
	// scores like the intercept-only baseline for that block.
	if got := m.catCol(0, "NeverSeen"); got != -1 {
		t.Errorf("unseen stage column = %d, want -1", got)
	}
	if got, want := m.catCol(1, "NeverSeen"), m.catCol(1, "rare-a"); got != want || got < 0 {
		t.Errorf("unseen source column = %d, want other (%d)", got, want)
	}
}

func TestAutoLog(t *testing.T) {
	rows, _ := genLogistic(5000, 5)
	for i := range rows {
		rows[i].Num = slices.Clone(rows[i].Num)
		rows[i].Num[2] = math.Exp(3 * rows[i].Num[2]) // skew ≫ 2
	}
	m := mustLogistic(t, logisticSchema, rows)
	if !m.num[2].log || m.num[0].log {
		t.Errorf("auto log: x2=%v x0=%v, want true/false", m.num[2].log, m.num[0].log)
	}
	off, err := TrainLogistic(logisticSchema, rows, LogisticOptions{AutoLogSkew: -1})
	if err != nil {
		t.Fatal(err)
	}
	if off.num[2].log {
		t.Error("AutoLogSkew < 0 should disable")
	}
	explicit, err := TrainLogistic(Schema{Numeric: logisticSchema.Numeric, Categorical: logisticSchema.Categorical, Log: []string{"x0"}}, rows, LogisticOptions{AutoLogSkew: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !explicit.num[0].log {
		t.Error("Schema.Log not honoured")
	}
}

func TestExplainSumsToLogOdds(t *testing.T) {
	rows, _ := genLogistic(10000, 6)
	for i := 0; i < len(rows); i += 9 {
		rows[i].Num = slices.Clone(rows[i].Num)
		rows[i].Num[1] = math.NaN()
	}
	lr := mustLogistic(t, logisticSchema, rows)
	nb := mustNB(t, logisticSchema, rows, NaiveBayesOptions{})
	gbt := mustGBT(t, logisticSchema, rows)
	type explainer interface {
		Model
		LogOdds(Row) float64
		BaseLogOdds() float64
	}
	for _, m := range []explainer{lr, nb, gbt} {
		for _, r := range rows[:200] {
			fs := m.Explain(r, 0)
			if len(fs) != 7 {
				t.Fatalf("%s: %d factors, want 7", m.Name(), len(fs))
			}
			sum := m.BaseLogOdds()
			for i, f := range fs {
				sum += f.Contribution
				if i > 0 && math.Abs(f.Contribution) > math.Abs(fs[i-1].Contribution) {
					t.Fatalf("%s: not sorted by |contribution|: %+v", m.Name(), fs)
				}
			}
			if z := m.LogOdds(r); math.Abs(sum-z) > 1e-9 {
				t.Fatalf("%s: base+Σ = %.12f, log-odds = %.12f", m.Name(), sum, z)
			}
			if lr, ok := m.(*Logistic); ok {
				if p := lr.Score(r); math.Abs(sigmoid(sum)-p) > 1e-12 {
					t.Fatalf("sigmoid(sum) %.12f != score %.12f", sigmoid(sum), p)
				}
			}
		}
	}
	fs := lr.Explain(rows[1], 3)
	if len(fs) != 3 {
		t.Fatalf("top-3 returned %d", len(fs))
	}
	// x4 has the largest true effect; check naming of both kinds.
	names := map[string]bool{}
	for _, f := range lr.Explain(rows[1], 0) {
		names[f.Name] = true
	}
	if !names["x4"] || !names["stage = "+rows[1].Cat[0]] {
		t.Errorf("factor names %v", names)
	}
}

func TestDeterministic(t *testing.T) {
	rows := genBench(30000, 9)
	s := benchSchema()
	a := mustLogistic(t, s, rows)
	// Fixed chunking makes results independent of the core count too.
	prev := runtime.GOMAXPROCS(1)
	b := mustLogistic(t, s, slices.Clone(rows))
	g1 := mustGBT(t, s, rows)
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(a.beta, b.beta) {
		t.Fatal("logistic coefficients differ between runs")
	}
	na := mustNB(t, s, rows, NaiveBayesOptions{})
	nb := mustNB(t, s, rows, NaiveBayesOptions{})
	pa, pb := ScoreAll(na, rows[:1000]), ScoreAll(nb, rows[:1000])
	if !slices.Equal(pa, pb) {
		t.Fatal("NB scores differ between runs")
	}
	if ea, eb := Evaluate(a, rows[:5000]), Evaluate(b, rows[:5000]); ea.AUC != eb.AUC || ea.LogLoss != eb.LogLoss {
		t.Fatal("evaluations differ")
	}
	ga := mustGBT(t, s, rows)
	if !slices.Equal(ScoreAll(ga, rows[:1000]), ScoreAll(g1, rows[:1000])) {
		t.Fatal("GBT scores differ between runs")
	}
}

// Hand-computed Odoo-style frequencies on a tiny table.
func TestNaiveBayesMatchesOdooFormula(t *testing.T) {
	s := Schema{Categorical: []string{"source", "stage"}}
	var rows []Row
	add := func(n int, src, stage string, won bool) {
		for range n {
			rows = append(rows, Row{Cat: []string{src, stage}, Won: won})
		}
	}
	// won: 300 (web 200, ads 100); lost: 400 (web 100, ads 250, "" 50)
	// stages (lost): A 150, B 150, C 100; won all at C.
	add(200, "web", "C", true)
	add(100, "ads", "C", true)
	add(100, "web", "A", false)
	add(150, "ads", "B", false)
	add(100, "ads", "A", false)
	add(50, "", "C", false)
	m := mustNB(t, s, rows, NaiveBayesOptions{})
	ms := mustNB(t, s, rows, NaiveBayesOptions{StageFeature: "stage", StageOrder: []string{"A", "B", "C"}})

	prior := math.Log(300.0 / 400.0)
	// source totals exclude the 50 unset: won 300.2, lost 350.2.
	web := math.Log((200.1/300.2)/(100.1/350.2)) + prior
	// plain stage C: won 300.1/300.3, lost 50.1/400.3
	plainC := math.Log((300.1 / 300.3) / (50.1 / 400.3))
	// cumulative stage B: lost deals reaching B or later = 150+50 = 200
	cumB := -math.Log(200.1 / 400.1)
	tests := []struct {
		name string
		m    *NaiveBayes
		row  Row
		want float64
	}{
		{"web, no stage", m, Row{Cat: []string{"web", ""}}, sigmoid(web)},
		{"unseen source skipped", m, Row{Cat: []string{"tv", ""}}, sigmoid(prior)},
		{"plain stage", m, Row{Cat: []string{"web", "C"}}, sigmoid(web + plainC)},
		{"cumulative stage", ms, Row{Cat: []string{"web", "B"}}, sigmoid(web + cumB)},
		// Every closed deal reached the first stage: no evidence either way.
		{"cumulative first stage is neutral", ms, Row{Cat: []string{"", "A"}}, sigmoid(prior)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Score(tt.row); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("score %.12f, want %.12f", got, tt.want)
			}
		})
	}
	// Clamp as Odoo does (0.01 %..99.99 %).
	extreme := mustNB(t, Schema{Categorical: []string{"f"}}, append(repeat(Row{Cat: []string{"x"}, Won: true}, 2000), repeat(Row{Cat: []string{"y"}}, 2000)...), NaiveBayesOptions{})
	if p := extreme.Score(Row{Cat: []string{"x"}}); p != 1-nbClamp {
		t.Errorf("clamp: %v", p)
	}
}

func repeat(r Row, n int) []Row {
	out := make([]Row, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func TestNaiveBayesNumericBins(t *testing.T) {
	// Win rate rises with x; bins must pick that up monotonically-ish.
	rows, _ := genLogistic(20000, 8)
	m := mustNB(t, logisticSchema, rows, NaiveBayesOptions{})
	if len(m.cuts[0]) != 9 {
		t.Fatalf("x0 has %d cuts, want 9 (deciles)", len(m.cuts[0]))
	}
	llr := m.numLLR[0]
	if !(llr[9] > llr[5] && llr[5] > llr[0]) {
		t.Errorf("x0 bin log-ratios not increasing: %v", llr)
	}
	// Tied values collapse bins rather than creating empty ones.
	for i := range rows {
		rows[i].Num = slices.Clone(rows[i].Num)
		rows[i].Num[3] = math.Floor(math.Abs(rows[i].Num[3]))
	}
	m = mustNB(t, logisticSchema, rows, NaiveBayesOptions{})
	if len(m.cuts[3]) > 3 {
		t.Errorf("tied feature has %d cuts: %v", len(m.cuts[3]), m.cuts[3])
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		won  []bool
		want float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all ties", []float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		{"one tie across classes", []float64{0.1, 0.5, 0.5, 0.9}, []bool{false, false, true, true}, 0.875},
		{"mixed", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{"one class", []float64{0.1, 0.2}, []bool{true, true}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AUC(tt.p, tt.won)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-12) {
				t.Errorf("AUC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateScores(t *testing.T) {
	tests := []struct {
		name             string
		p                []float64
		won              []bool
		brier, base, auc float64
	}{
		{"perfect confident", []float64{0, 1}, []bool{false, true}, 0, 0.5, 1},
		{"all 0.5", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, false, false}, 0.25, 0.25, 0.5},
		{"known", []float64{0.9, 0.2, 0.6}, []bool{true, false, false}, (0.01 + 0.04 + 0.36) / 3, 1.0 / 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := EvaluateScores("x", tt.p, tt.won)
			if math.Abs(e.Brier-tt.brier) > 1e-12 || math.Abs(e.BaseRate-tt.base) > 1e-12 || math.Abs(e.AUC-tt.auc) > 1e-12 {
				t.Errorf("got brier %v base %v auc %v", e.Brier, e.BaseRate, e.AUC)
			}
			if math.IsNaN(e.LogLoss) || math.IsInf(e.LogLoss, 0) {
				t.Errorf("log loss %v", e.LogLoss)
			}
		})
	}
	e := EvaluateScores("x", []float64{0.5, 0.5}, []bool{true, false})
	if math.Abs(e.LogLoss-math.Ln2) > 1e-12 {
		t.Errorf("log loss %v, want ln 2", e.LogLoss)
	}
}

func TestReliability(t *testing.T) {
	rows, _ := genLogistic(20000, 10)
	train, hold, err := TimeSplit(rows, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	m := mustLogistic(t, logisticSchema, train)
	e := Evaluate(m, hold)
	total, won := 0, 0.0
	for _, b := range e.Reliability {
		total += b.Count
		if b.Count > 0 {
			won += b.ObservedRate * float64(b.Count)
			if b.MeanPredicted < b.Lo || b.MeanPredicted > b.Hi {
				t.Errorf("bin [%v,%v) mean %v", b.Lo, b.Hi, b.MeanPredicted)
			}
			// A well-specified model is calibrated within noise.
			if b.Count > 300 && math.Abs(b.MeanPredicted-b.ObservedRate) > 0.06 {
				t.Errorf("bin [%v,%v): predicted %.3f observed %.3f (n=%d)", b.Lo, b.Hi, b.MeanPredicted, b.ObservedRate, b.Count)
			}
		}
	}
	if total != e.N || e.N != len(hold) || math.Abs(won-float64(e.Won)) > 1e-6 {
		t.Errorf("bins sum to %d/%v, want %d/%d", total, won, e.N, e.Won)
	}
	// Edge probabilities land in the first and last bins.
	e = EvaluateScores("x", []float64{0, 0.1, 0.999, 1}, []bool{false, false, true, true})
	if e.Reliability[0].Count != 1 || e.Reliability[1].Count != 1 || e.Reliability[9].Count != 2 {
		t.Errorf("edge bins: %+v", e.Reliability)
	}
}

func TestTimeSplit(t *testing.T) {
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	rows := []Row{
		{ID: 5, Time: day(4)}, {ID: 1, Time: day(0)}, {ID: 3, Time: day(2)},
		{ID: 4, Time: day(3)}, {ID: 2, Time: day(1)}, {ID: 6, Time: day(4)},
		{ID: 7, Time: day(5)}, {ID: 8, Time: day(6)}, {ID: 9, Time: day(7)}, {ID: 10, Time: day(8)},
	}
	orig := slices.Clone(rows)
	ids := func(rs []Row) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		frac        float64
		train, hold []int64
	}{
		{0.3, []int64{1, 2, 3, 4, 5, 6, 7}, []int64{8, 9, 10}},
		// The cut would fall between IDs 5 and 6, which share a
		// timestamp: both go to holdout.
		{0.5, []int64{1, 2, 3, 4}, []int64{5, 6, 7, 8, 9, 10}},
		// Rounds to an empty holdout.
		{0.01, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, nil},
	}
	for _, tt := range tests {
		train, hold, err := TimeSplit(rows, tt.frac)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(train), tt.train) || !slices.Equal(ids(hold), tt.hold) {
			t.Errorf("frac %v: train %v hold %v", tt.frac, ids(train), ids(hold))
		}
		for _, h := range hold {
			for _, tr := range train {
				if !tr.Time.Before(h.Time) {
					t.Errorf("leak: train %d at %v not before holdout %d at %v", tr.ID, tr.Time, h.ID, h.Time)
				}
			}
		}
	}
	if !slices.EqualFunc(rows, orig, func(a, b Row) bool { return a.ID == b.ID }) {
		t.Error("input reordered")
	}
	for _, bad := range []float64{0, 1, -0.1, math.NaN()} {
		if _, _, err := TimeSplit(rows, bad); err == nil {
			t.Errorf("frac %v accepted", bad)
		}
	}
}

func BenchmarkTrainLogistic(b *testing.B) {
	rows := genBench(500000, 11)
	s := benchSchema()
	b.ResetTimer()
	for b.Loop() {
		m, err := TrainLogistic(s, rows, LogisticOptions{})
		if err != nil {
			b.Fatal(err)
		}
		it, _ := m.Iterations()
		b.ReportMetric(float64(it), "iters")
		b.ReportMetric(float64(len(m.beta)), "cols")
	}
}

func BenchmarkTrainNaiveBayes(b *testing.B) {
	rows := genBench(500000, 11)
	s := benchSchema()
	b.ResetTimer()
	for b.Loop() {
		if _, err := TrainNaiveBayes(s, rows, NaiveBayesOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrainGBT(b *testing.B) {
	rows := genBench(500000, 11)
	s := benchSchema()
	b.ResetTimer()
	for b.Loop() {
		if _, err := TrainGBT(s, rows, GBTOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	s := benchSchema()
	train := genBench(50000, 12)
	open := genBench(200000, 13)
	lr := mustLogistic(b, s, train)
	nb := mustNB(b, s, train, NaiveBayesOptions{})
	gbt := mustGBT(b, s, train)
	for _, m := range []Model{lr, nb, gbt} {
		b.Run(m.Name()+"/200k", func(b *testing.B) {
			for b.Loop() {
				ScoreAll(m, open)
			}
		})
	}
}

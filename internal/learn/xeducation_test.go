package learn

import (
	"encoding/csv"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// The measurement behind docs/benchmarks.md ("Predictive lead scoring"):
// X Education's leads (shared/data/leads/leads_train.csv) split 70/30 by a
// hash of Prospect ID; everything is chosen on the 70% (TrainAuto's own
// holdout inside it picks the model and the number of trees), and the 30%
// is scored once.
//
// The issue's reference, XGBoost (300 trees of depth 4, one-hot encoding,
// median imputation), reached AUC 0.983 with all fields and 0.915 without
// the post-contact fields on another holdout of about 2,800 leads that is
// not in shared/data. testdata/xgboost_reference.py runs that XGBoost on
// this split: 0.9802 and 0.8883. With all fields the test asks for the
// issue's 0.983; without the post-contact fields this split is harder than
// the issue's holdout (XGBoost loses 0.027 on it), and the test asks for at
// least XGBoost's figure on the same split, logging the gap to 0.915.
const (
	xgbAllIssue        = 0.983
	xgbAllSplit        = 0.9802
	xgbPreContactIssue = 0.915
	xgbPreContactSplit = 0.8883
)

// postContact are X Education's fields filled in only after sales has
// spoken to the lead.
var postContact = []string{"Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index",
	"Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"}

// leadsCSV walks up from the working directory to shared/data/leads, or
// skips the test where it is not laid out.
func leadsCSV(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data", "leads", "leads_train.csv")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("shared/data/leads not found above the working directory")
		}
		dir = parent
	}
}

func readTable(tb testing.TB, path string) Table {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return Table{Name: path, Header: recs[0], Rows: recs[1:]}
}

// inHoldout puts a key in the 30% holdout by a hash of it, so the split
// does not depend on the file's order.
func inHoldout(key string) bool {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()%10 < 3
}

func splitTable(t Table, idCol int) (train, test Table) {
	train = Table{Name: t.Name, Header: t.Header}
	test = Table{Name: t.Name, Header: t.Header}
	for _, r := range t.Rows {
		if inHoldout(r[idCol]) {
			test.Rows = append(test.Rows, r)
		} else {
			train.Rows = append(train.Rows, r)
		}
	}
	return train, test
}

type xeduResult struct {
	auc, brier float64
	chosen     string
	trees      int
}

func xeducation(tb testing.TB, exclude []string) xeduResult {
	tb.Helper()
	tab := readTable(tb, leadsCSV(tb))
	train, test := splitTable(tab, slices.Index(tab.Header, "Prospect ID"))
	fr, td, err := NewFrame(train, FrameOptions{Target: "Converted", ID: "Prospect ID", Exclude: exclude})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := TrainAuto(fr.Schema, td.Rows, AutoOptions{Keys: td.IDs})
	if err != nil {
		tb.Fatal(err)
	}
	sd, err := fr.Encode(test)
	if err != nil {
		tb.Fatal(err)
	}
	ev := Evaluate(res.Model, sd.Rows)
	tb.Logf("train %d, test %d leads; %d numeric, %d categorical features; %s (%d trees, weight %.2f): test AUC %.4f, Brier %.4f",
		len(td.Rows), len(sd.Rows), len(fr.Schema.Numeric), len(fr.Schema.Categorical), res.Chosen, res.Trees, res.BlendWeight, ev.AUC, ev.Brier)
	return xeduResult{ev.AUC, ev.Brier, res.Chosen, res.Trees}
}

func TestXEducationAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 4,500 leads twice")
	}
	all := xeducation(t, nil)
	if want := max(xgbAllIssue, xgbAllSplit); all.auc < want {
		t.Errorf("all fields: AUC %.4f < %.3f (XGBoost: %.3f in the issue, %.4f on this split)", all.auc, want, xgbAllIssue, xgbAllSplit)
	}
	pre := xeducation(t, postContact)
	if pre.auc < xgbPreContactSplit {
		t.Errorf("without post-contact fields: AUC %.4f < XGBoost's %.4f on this split", pre.auc, xgbPreContactSplit)
	}
	if pre.auc < xgbPreContactIssue {
		t.Logf("without post-contact fields: AUC %.4f is %.4f above XGBoost on this split, %.4f below the issue's %.3f on its own holdout",
			pre.auc, pre.auc-xgbPreContactSplit, xgbPreContactIssue-pre.auc, xgbPreContactIssue)
	}
	if all.brier > 0.05 || pre.brier > 0.13 {
		t.Errorf("Brier %.4f / %.4f", all.brier, pre.brier)
	}
}

// BenchmarkTrainScore10k trains on 10,000 leads and scores 10,000: X
// Education's rows repeated under new ids (so the columns, missing values
// and "Select" cells are real), from the parsed CSV to the probabilities.
func BenchmarkTrainScore10k(b *testing.B) {
	tab := readTable(b, leadsCSV(b))
	idc := slices.Index(tab.Header, "Prospect ID")
	big := Table{Name: tab.Name, Header: tab.Header}
	for i := range 10_000 {
		r := slices.Clone(tab.Rows[i%len(tab.Rows)])
		r[idc] = r[idc] + "-" + strconv.Itoa(i)
		big.Rows = append(big.Rows, r)
	}
	b.ResetTimer()
	for b.Loop() {
		fr, td, err := NewFrame(big, FrameOptions{Target: "Converted", ID: "Prospect ID"})
		if err != nil {
			b.Fatal(err)
		}
		res, err := TrainAuto(fr.Schema, td.Rows, AutoOptions{Keys: td.IDs})
		if err != nil {
			b.Fatal(err)
		}
		sd, err := fr.Encode(big)
		if err != nil {
			b.Fatal(err)
		}
		ScoreAll(res.Model, sd.Rows)
	}
}

package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/learn"
	"github.com/spf13/cobra"
)

// leadsPredictCommand trains a conversion model on one lead file and scores
// another, like forecast series does for time series; it needs no database.
func (c cli) leadsPredictCommand() *cobra.Command {
	var trainPath, scorePath, target, id, exclude, missing string
	var asJSON, timing bool
	var factors int
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Train a lead-conversion model on one CSV file and score another",
		Long: `Train on --train (leads with a known outcome in --target: 0/1, true/false or
yes/no) and print id,probability for every row of --score, in its order. The
file to score has the same columns; it may lack the target.

Every column other than --target, --id and --exclude is a feature. Numeric and
categorical columns are told apart from the training file's values; empty
cells and the usual "no value" markers (NA, N/A, NaN, NULL, None, and a web
form's unchosen "Select", "Please select", "Choose one", "--") are missing
values; --missing replaces that list. Columns with a single value, and
categorical columns that are nearly all distinct (free text, another id), are
left out and listed in the --json report.

The model is chosen on a holdout of a fifth of the training rows (picked by a
hash of the id, so not by file order): logistic regression, gradient-boosted
trees (the number of trees chosen on the same holdout) or a blend of both,
whichever has the highest AUC; it is then refitted on every training row.
Training needs at least 200 converted and 200 unconverted leads.

Exclude the fields that are filled in only after sales has contacted a lead
(at X Education: Tags, Lead Quality, Lead Profile, Asymmetrique*) to predict
conversion before that contact.

--json prints the report instead of CSV: the chosen model, every candidate's
holdout AUC, Brier score and log-loss, the chosen model's reliability table,
the columns used, and the predictions, each with its --factors largest
contributions in log-odds.`,
		Example: `  quarterdeck leads predict --train ../shared/data/leads/leads_train.csv \
    --score new_leads.csv --target Converted --id "Prospect ID" \
    --exclude "Tags,Lead Quality,Lead Profile,Asymmetrique Activity Index,Asymmetrique Profile Index,Asymmetrique Activity Score,Asymmetrique Profile Score"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if trainPath == "" || scorePath == "" || target == "" || id == "" {
				return errors.New("leads predict: --train, --score, --target and --id are all required")
			}
			if factors < 0 {
				return errors.New("leads predict: --factors must be 0 or more")
			}
			opts := learn.FrameOptions{Target: target, ID: id, Exclude: splitList(exclude)}
			if cmd.Flags().Changed("missing") {
				opts.MissingTokens = splitList(missing)
				if opts.MissingTokens == nil {
					opts.MissingTokens = []string{}
				}
			}
			start := time.Now()
			trainTab, err := readLeadTable(trainPath)
			if err != nil {
				return err
			}
			scoreTab, err := readLeadTable(scorePath)
			if err != nil {
				return err
			}
			p, err := predictLeads(trainTab, scoreTab, opts, factors)
			if err != nil {
				return err
			}
			if timing {
				fmt.Fprintf(c.stderr, "leads predict: read, trained on %d and scored %d leads in %.3fs\n",
					len(trainTab.Rows), len(scoreTab.Rows), time.Since(start).Seconds())
			}
			fmt.Fprintf(c.stderr, "leads predict: model %s, holdout AUC %.4f, Brier %.4f on %d of %d training leads\n",
				p.res.Chosen, p.res.Holdout.AUC, p.res.Holdout.Brier, p.res.HoldoutRows, len(trainTab.Rows))
			if asJSON {
				return writeJSON(c.stdout, p.report(trainPath, scorePath, opts))
			}
			return writePredictionsCSV(c.stdout, p)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&trainPath, "train", "", "CSV file of leads with a known outcome")
	fl.StringVar(&scorePath, "score", "", "CSV file of leads to score (same columns; the target may be absent)")
	fl.StringVar(&target, "target", "", "outcome column: 0/1, true/false or yes/no")
	fl.StringVar(&id, "id", "", "column identifying a lead, printed next to its probability")
	fl.StringVar(&exclude, "exclude", "", "columns not to use, comma-separated")
	fl.StringVar(&missing, "missing", "", "values read as missing besides empty cells, comma-separated (replaces the default list)")
	fl.BoolVar(&asJSON, "json", false, "print the model report and the predictions as JSON")
	fl.IntVar(&factors, "factors", 0, "with --json, the largest contributions shown per lead")
	fl.BoolVar(&timing, "timing", false, "print the time spent reading, training and scoring to stderr")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// readLeadTable reads a whole CSV file, keeping each row's line number for
// error messages. Every row must have the header's number of fields.
func readLeadTable(path string) (learn.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return learn.Table{}, fmt.Errorf("leads predict: %w", err)
	}
	defer f.Close()
	return parseLeadTable(path, f)
}

func parseLeadTable(name string, r io.Reader) (learn.Table, error) {
	cr := csv.NewReader(r)
	t := learn.Table{Name: name}
	header, err := cr.Read()
	if err == io.EOF {
		return t, fmt.Errorf("leads predict: %s: the file is empty; it needs a header row", name)
	}
	if err != nil {
		return t, fmt.Errorf("leads predict: %s: %w", name, err)
	}
	t.Header = header
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return t, fmt.Errorf("leads predict: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		t.Rows = append(t.Rows, rec)
		t.Lines = append(t.Lines, line)
	}
	return t, nil
}

// prediction is a trained model and its scores for the file to score.
type prediction struct {
	frame   *learn.Frame
	res     *learn.AutoResult
	train   int
	ids     []string
	probs   []float64
	factors [][]learn.Factor
}

// predictLeads builds the frame on train, chooses and trains a model and
// scores the score table.
func predictLeads(train, score learn.Table, opts learn.FrameOptions, factors int) (*prediction, error) {
	fr, td, err := learn.NewFrame(train, opts)
	if err != nil {
		return nil, fmt.Errorf("leads predict: %w", err)
	}
	if len(fr.Columns) == 0 {
		return nil, fmt.Errorf("leads predict: %s: no feature columns left to learn from (dropped: %s)", train.Name, droppedList(fr.Dropped))
	}
	sd, err := fr.Encode(score)
	if err != nil {
		return nil, fmt.Errorf("leads predict: %w", err)
	}
	res, err := learn.TrainAuto(fr.Schema, td.Rows, learn.AutoOptions{Keys: td.IDs})
	var few *learn.TooFewDealsError
	if errors.As(err, &few) {
		return nil, fmt.Errorf("leads predict: %s: %d rows have %s = 1 and %d have %s = 0; training needs at least %d of each",
			train.Name, few.Won, opts.Target, few.Lost, opts.Target, few.Min)
	}
	if err != nil {
		return nil, fmt.Errorf("leads predict: %s: %w", train.Name, err)
	}
	p := &prediction{frame: fr, res: res, train: len(td.Rows), ids: sd.IDs, probs: learn.ScoreAll(res.Model, sd.Rows)}
	if factors > 0 {
		p.factors = make([][]learn.Factor, len(sd.Rows))
		for i, r := range sd.Rows {
			p.factors[i] = res.Model.Explain(r, factors)
		}
	}
	return p, nil
}

func droppedList(ds []learn.DroppedColumn) string {
	if len(ds) == 0 {
		return "none"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name + " (" + d.Reason + ")"
	}
	return strings.Join(names, ", ")
}

func writePredictionsCSV(w io.Writer, p *prediction) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "probability"})
	for i, id := range p.ids {
		_ = cw.Write([]string{id, strconv.FormatFloat(p.probs[i], 'f', 6, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// The JSON report. Metrics that are undefined (a reliability bin with no
// leads) are null, since JSON has no NaN.
type predictReport struct {
	Train       string                  `json:"train"`
	Score       string                  `json:"score"`
	Target      string                  `json:"target"`
	ID          string                  `json:"id"`
	Excluded    []string                `json:"excluded"`
	Model       string                  `json:"model"`
	Trees       int                     `json:"trees,omitempty"`
	BlendWeight float64                 `json:"blend_weight,omitempty"`
	Holdout     learn.HoldoutReport     `json:"holdout"`
	Candidates  []learn.CandidateReport `json:"candidates"`
	TrainRows   int                     `json:"train_rows"`
	ScoreRows   int                     `json:"score_rows"`
	Columns     []learn.Column          `json:"columns"`
	Dropped     []learn.DroppedColumn   `json:"dropped"`
	Predictions []predictionRow         `json:"predictions"`
}

type predictionRow struct {
	ID          string         `json:"id"`
	Probability float64        `json:"probability"`
	Factors     []learn.Factor `json:"factors,omitempty"`
}

// finite is v, or nil for NaN and infinities.

func (p *prediction) report(trainPath, scorePath string, opts learn.FrameOptions) predictReport {
	r := predictReport{
		Train: trainPath, Score: scorePath, Target: opts.Target, ID: opts.ID, Excluded: opts.Exclude,
		Model: p.res.Chosen, BlendWeight: p.res.BlendWeight,
		TrainRows: p.train, ScoreRows: len(p.ids), Columns: p.frame.Columns, Dropped: p.frame.Dropped,
	}
	r.Holdout, r.Candidates = p.res.Report()
	if r.Excluded == nil {
		r.Excluded = []string{}
	}
	if r.Dropped == nil {
		r.Dropped = []learn.DroppedColumn{}
	}
	if p.res.Chosen != "logistic" {
		r.Trees = p.res.Trees
	}
	r.Predictions = make([]predictionRow, len(p.ids))
	for i, id := range p.ids {
		r.Predictions[i] = predictionRow{ID: id, Probability: p.probs[i]}
		if p.factors != nil {
			r.Predictions[i].Factors = p.factors[i]
		}
	}
	return r
}

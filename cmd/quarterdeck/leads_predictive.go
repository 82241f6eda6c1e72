package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/spf13/cobra"
)

// leadsPredictiveCommand groups predictive scoring on the database's own
// leads: train, show the latest report, one lead's probability.
func (c cli) leadsPredictiveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "predictive",
		Short: "Predictive scoring on your own leads: train on converted vs disqualified, the report, one lead's chance to convert",
	}
	cmd.AddCommand(c.leadsPredictiveTrainCommand(), c.leadsPredictiveShowCommand(), c.leadsPredictiveLeadCommand())
	return cmd
}

func (c cli) leadsPredictiveTrainCommand() *cobra.Command {
	var as, exclude string
	var factors int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the conversion model on every decided lead and give every lead its probability to convert",
		Long: `Train a conversion model on the leads whose outcome is known (converted against
disqualified) and score every lead with it, storing each lead's probability and
its largest factors (replacing the previous run's) and the run's report.

The features are the lead's fields (industry, employees, annual revenue, country,
state, city, source, channel, title, email domain and whether it is a free-mail
address), every custom field (custom.NAME) and the number of its events of each
kind (events.KIND), counted before converted_at for a converted lead. The model
(logistic regression, gradient-boosted trees or a blend) is chosen on a holdout
of a fifth of the leads, by a hash of the lead id.

--exclude leaves fields out, e.g. the ones sales fills in after contacting a lead
(a trailing * matches a prefix). The run then trains twice, with every field and
without those, and reports both AUCs; the leads are scored without them.

Needs at least 200 converted and 200 disqualified leads. Ops and admin only.`,
		Example: `  quarterdeck leads predictive train --exclude 'custom.tags,custom.lead_quality,custom.lead_profile,custom.asymmetrique_*'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			run, err := leads.TrainPredictive(cmd.Context(), s, p, leads.PredictiveOptions{Exclude: splitList(exclude), Factors: factors}, time.Now().UTC())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, run)
			}
			printPredictiveRun(c.stdout, run)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "train as this user (email); ops or admin")
	cmd.Flags().StringVar(&exclude, "exclude", "", "fields to leave out, comma-separated (custom.NAME, events.KIND, a lead field; a trailing * matches a prefix)")
	cmd.Flags().IntVar(&factors, "factors", leads.DefaultPredictiveFactors, "largest contributions kept per lead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run's report as JSON")
	return cmd
}

func (c cli) leadsPredictiveShowCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "The latest predictive training run: AUC with and without the excluded fields, Brier score, reliability",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			run, err := leads.LatestPredictive(cmd.Context(), s, p)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, run)
			}
			printPredictiveRun(c.stdout, run)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "show as this user (email)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) leadsPredictiveLeadCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lead LEAD-ID",
		Short: "A lead's probability to convert under the latest run, with its largest factors",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return crm.Invalid("lead", "id", fmt.Sprintf("%q is not a lead id", args[0]))
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			lp, err := leads.PredictionFor(cmd.Context(), s, p, id)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, lp)
			}
			note := "not yet decided"
			if lp.Decided {
				note = "decided (" + lp.Status + "): the model was trained on it, so this is not a forecast"
			}
			fmt.Fprintf(c.stdout, "lead %d: %.1f%% chance to convert (run %d of %s; %s)\n", id, 100*lp.Probability, lp.RunID,
				lp.TrainedAt.Format("2006-01-02 15:04"), note)
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  LOG-ODDS\tFACTOR")
			for _, f := range lp.Factors {
				fmt.Fprintf(tw, "  %+.3f\t%s\n", f.Contribution, factorText(f.Name, f.Value))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "read as this user (email)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// factorText is a factor as read: "custom.tags = Will revert",
// "events.email_opened = 3", "annual_revenue = 653100000".
func factorText(name, value string) string {
	if strings.Contains(name, " = ") {
		return name
	}
	if x, err := strconv.ParseFloat(value, 64); err == nil {
		value = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return name + " = " + value
}

func fmtMetric(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func fmtShare(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(100**v, 'f', 1, 64) + "%"
}

func printPredictiveRun(w io.Writer, run *leads.PredictiveRun) {
	fmt.Fprintf(w, "run %d, %s UTC: trained on %d decided leads (%d converted, %d disqualified) in %.1fs; %d leads scored, %d not yet decided\n",
		run.ID, run.TrainedAt.Format("2006-01-02 15:04"), run.TrainedOn, run.Converted, run.Disqualified, run.Seconds, run.Scored, run.Open)
	if len(run.Excluded) > 0 {
		fmt.Fprintf(w, "excluded (%s): %s\n", strings.Join(run.Options.Exclude, ", "), strings.Join(run.Excluded, ", "))
	} else {
		fmt.Fprintln(w, "excluded: nothing")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELDS\tMODEL\tHOLDOUT AUC\tBRIER\tLOG-LOSS\tHOLDOUT LEADS")
	row := func(label string, f leads.PredictiveFit) {
		h := f.Holdout
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", label, modelLabel(f), fmtMetric(h.AUC), fmtMetric(h.Brier), fmtMetric(h.LogLoss), h.Rows)
	}
	if len(run.Excluded) > 0 {
		row("without the excluded (scores the leads)", run.Model)
		row("with every field", run.AllFields)
	} else {
		row("every field (scores the leads)", run.Model)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nreliability on the holdout (%d leads set aside, the model fitted on the other %d):\n", run.Model.Holdout.Rows, run.Model.Holdout.FittedOn)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PREDICTED\tLEADS\tMEAN PREDICTED\tCONVERTED\t")
	for _, b := range run.Model.Holdout.Reliability {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", binLabel(b), b.Count, fmtShare(b.MeanPredicted), fmtShare(b.ObservedRate))
	}
	tw.Flush()

	fmt.Fprintln(w, "\ncandidates (the model in use, same holdout, best AUC first):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tAUC\tBRIER\tLOG-LOSS")
	for _, c := range run.Model.Candidates {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Model, fmtMetric(c.AUC), fmtMetric(c.Brier), fmtMetric(c.LogLoss))
	}
	tw.Flush()
	if len(run.Model.Dropped) > 0 {
		names := make([]string, len(run.Model.Dropped))
		for i, d := range run.Model.Dropped {
			names[i] = d.Name + " (" + d.Reason + ")"
		}
		fmt.Fprintf(w, "\nnot used: %s\n", strings.Join(names, "; "))
	}
}

func modelLabel(f leads.PredictiveFit) string {
	switch f.Chosen {
	case "gbt":
		return fmt.Sprintf("gbt, %d trees", f.Trees)
	case "blend":
		return fmt.Sprintf("blend, %.0f%% on %d trees", 100*f.BlendWeight, f.Trees)
	}
	return f.Chosen
}

func binLabel(b leads.ReliabilityRow) string {
	return fmt.Sprintf("%.0f–%.0f%%", 100*b.Lo, 100*b.Hi)
}

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/spf13/cobra"
)

// leadsModelCommand groups the scoring model commands.
func (c cli) leadsModelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Scoring models: apply a YAML model (a new version, every lead rescored), list versions, show one",
	}
	cmd.AddCommand(c.leadsModelApplyCommand(), c.leadsModelListCommand(), c.leadsModelShowCommand(), c.leadsModelReportCommand())
	return cmd
}

func (c cli) leadsModelApplyCommand() *cobra.Command {
	var as string
	var asJSON, check bool
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Validate scoring models and apply each as its next version, rescoring every lead from its history",
		Long: `Validate each scoring model file (see docs/leads.md and examples/scoring/) and
apply it: it becomes the active version of its name, and every lead is scored again
from its fields and whole event history, in one transaction. A model with an error
changes nothing; every error names file, line and field. --check only validates.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type doc struct {
				file string
				data []byte
			}
			var docs []doc
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				if _, err := leads.Parse(f, data); err != nil {
					return err
				}
				docs = append(docs, doc{f, data})
			}
			if check {
				fmt.Fprintf(c.stdout, "%d scoring model(s) valid\n", len(docs))
				return nil
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			var out []*leads.Version
			for _, d := range docs {
				t0 := time.Now()
				v, err := leads.Apply(cmd.Context(), s, p, d.file, d.data, time.Now().UTC())
				if err != nil {
					return err
				}
				out = append(out, v)
				if !asJSON {
					fmt.Fprintf(c.stdout, "applied %s version %d: %d leads scored in %v\n", v.Name, v.Version, v.Leads, time.Since(t0).Round(time.Millisecond))
				}
			}
			if asJSON {
				return writeJSON(c.stdout, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "apply as this user (email); ops or admin")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the applied versions as JSON")
	cmd.Flags().BoolVar(&check, "check", false, "only validate the files")
	return cmd
}

func (c cli) leadsModelListCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Every applied version of every scoring model, the active ones marked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			vs, err := leads.Versions(cmd.Context(), s, p)
			if err != nil {
				return err
			}
			if asJSON {
				for _, v := range vs {
					v.Source = ""
				}
				return writeJSON(c.stdout, vs)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMODEL\tVERSION\tACTIVE\tLEADS\tAPPLIED\tFILE")
			for _, v := range vs {
				active := ""
				if v.Active {
					active = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%s\t%s\n", v.ID, v.Name, v.Version, active, v.Leads, v.AppliedAt.Format("2006-01-02 15:04"), v.File)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "list as this user (email)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) leadsModelShowCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "show VERSION-ID",
		Short: "Print the YAML of one applied model version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return crm.Invalid("scoring model", "id", fmt.Sprintf("%q is not a version id (see quarterdeck leads model list)", args[0]))
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := leads.VersionByID(cmd.Context(), s, p, id)
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.stdout, v.Source)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "show as this user (email)")
	return cmd
}

func (c cli) leadsModelReportCommand() *cobra.Command {
	var as, model string
	var version int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "How a model's grades turned out, and the AUC of its score over decided leads",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := leads.Report(cmd.Context(), s, p, version, model)
			if err != nil {
				return err
			}
			rep.Version.Source = ""
			if asJSON {
				return writeJSON(c.stdout, rep)
			}
			fmt.Fprintf(c.stdout, "%s version %d: %d leads scored, %d marketing-qualified\n", rep.Version.Name, rep.Version.Version, rep.Leads, rep.MQLs)
			if rep.AUC != nil {
				fmt.Fprintf(c.stdout, "AUC of the score %.3f %s\n", *rep.AUC, rep.AUCNote)
			} else {
				fmt.Fprintf(c.stdout, "AUC: %s\n", rep.AUCNote)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "GRADE\tLEADS\tAVG SCORE\tCONVERTED\tDISQUALIFIED\tOPEN\tCONVERSION\t")
			for _, g := range rep.Grades {
				conv := "-"
				if g.Conversion != nil {
					conv = fmt.Sprintf("%.1f%%", 100**g.Conversion)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%d\t%d\t%s\t\n", g.Grade, g.Leads, g.AvgScore, g.Converted, g.Disqualified, g.Open, conv)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "over the leads this user (email) may see")
	cmd.Flags().StringVar(&model, "model", "", "the active version of this model (default: the one scoring the most leads)")
	cmd.Flags().Int64Var(&version, "version", 0, "a version id, old ones too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) leadsScoreCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "score",
		Short: "Score every lead again with the active models as of now (decay moves on with time)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			t0 := time.Now()
			n, err := leads.RescoreAll(cmd.Context(), s, p, time.Now().UTC())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d leads scored in %v\n", n, time.Since(t0).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "score as this user (email); ops or admin")
	return cmd
}

func (c cli) leadsListCommand() *cobra.Command {
	var as string
	var q leads.ScoreQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Leads by score, highest first, under the active model (or --model NAME)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			list, v, err := leads.Scores(cmd.Context(), s, p, q)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			fmt.Fprintf(c.stdout, "%s version %d: %d leads\n", v.Name, v.Version, len(list))
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "LEAD\tSCORE\tGRADE\tMQL\tFIT\tENGAGEMENT\t NAME\t COMPANY\t")
			for _, l := range list {
				mql := ""
				if l.MQL {
					mql = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t %s\t %s\t\n", l.LeadID, leads.FormatPoints(l.Score), l.Grade, mql, leads.FormatPoints(l.Fit), leads.FormatPoints(l.Engagement), l.Name, l.Company)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "list what this user (email) may see")
	cmd.Flags().StringVar(&q.Model, "model", "", "model name (default: the first active model)")
	cmd.Flags().StringVar(&q.Grade, "grade", "", "only this grade")
	var status, source, country string
	cmd.Flags().StringVar(&status, "status", "", "only leads of this status")
	cmd.Flags().StringVar(&source, "source", "", "only leads of this source")
	cmd.Flags().StringVar(&country, "country", "", "only leads of this country")
	cmd.PreRun = func(*cobra.Command, []string) {
		q.Fields = map[string]string{"status": status, "source": source, "country": country}
	}
	cmd.Flags().BoolVar(&q.MQL, "mql", false, "only marketing-qualified leads")
	cmd.Flags().StringVar(&q.Segment, "segment", "", "only the leads of this ICP segment")
	cmd.Flags().IntVar(&q.Limit, "limit", 50, "at most this many leads (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) leadsExplainCommand() *cobra.Command {
	var as string
	var version int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain LEAD-ID",
		Short: "A lead's score under each active model with every line of its why-log",
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
			ex, err := leads.Explain(cmd.Context(), s, p, id, version)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, ex)
			}
			if len(ex) == 0 {
				fmt.Fprintf(c.stdout, "lead %d has no score: no active model applies to it\n", id)
			}
			for _, e := range ex {
				printExplanation(c.stdout, e)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "explain as this user (email)")
	cmd.Flags().Int64Var(&version, "version", 0, "a model version id (old versions too; default: the active models)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printExplanation(w io.Writer, e leads.Explanation) {
	mql := ""
	if e.MQL {
		mql = ", marketing-qualified"
	}
	fmt.Fprintf(w, "%s v%d: score %s (fit %s, engagement %s), grade %s%s, as of %s\n",
		e.Model, e.Version, leads.FormatPoints(e.Score), leads.FormatPoints(e.Fit), leads.FormatPoints(e.Engagement), e.Grade, mql, e.ScoredAt.Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range e.Lines {
		raw := ""
		if l.RawPoints != l.Points {
			raw = " (of " + leads.FormatPoints(l.RawPoints) + ", decayed)"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\t%s\t%s\n", withSign(l.Points), l.Part, raw, l.Rule, l.Cause)
	}
	tw.Flush()
	fmt.Fprintln(w, "  "+strings.Repeat("-", 8))
	fmt.Fprintf(w, "  %s\ttotal\n", withSign(e.Score))
}

func withSign(x float64) string {
	if x >= 0 {
		return "+" + leads.FormatPoints(x)
	}
	return leads.FormatPoints(x)
}

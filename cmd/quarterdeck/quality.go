package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/quality"
	"github.com/spf13/cobra"
)

func (c cli) qualityCommand() *cobra.Command {
	var opt quality.Options
	var asJSON, examples bool
	cmd := &cobra.Command{
		Use:   "quality",
		Short: "Check the data before trusting the numbers: duplicates, broken references, stale deals, ...",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			opt.Now = time.Now().UTC()
			rep, err := quality.Run(cmd.Context(), s, crm.System, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, rep)
			}
			tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEVERITY\tCOUNT\tCHECK")
			for _, f := range rep.Findings {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", f.Severity, f.Count, f.Title)
			}
			tw.Flush()
			for _, f := range rep.Findings {
				if f.Count == 0 || !examples {
					continue
				}
				fmt.Fprintf(c.stdout, "\n%s (%d): %s\n", f.Title, f.Count, f.Fix)
				for _, e := range f.Examples {
					fmt.Fprintf(c.stdout, "  %s %d %s: %s\n", e.Entity, e.ID, e.Label, e.Detail)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opt.StaleDays, "stale-days", quality.DefaultStaleDays, "an open deal without activity for this many days is stale")
	f.Float64Var(&opt.OutlierZ, "outlier-z", quality.DefaultOutlierZ, "how many standard deviations from its product's mean make an amount an outlier")
	f.BoolVar(&examples, "examples", true, "list up to 10 example records per finding")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/spf13/cobra"
)

func (c cli) leadsRouteCommand() *cobra.Command {
	var as, rulesFile string
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "route --dry-run --rules FILE LEADS.csv",
		Short: "Show where each lead of a CSV would be routed by a rule set, and why, without assigning",
		Long: `Route each lead of a CSV file (header: lead fields such as email, company,
industry, employees, country, source; other columns are custom fields) with the
rule set in --rules, as if the leads arrived now one after the other, and print
who would get each and why: the account it matched or the rule and pool, and the
reps passed over with the reason. Nothing is assigned: --dry-run is required
until routing rule sets are stored and applied (docs/routing.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun {
				return crm.Invalid("leads route", "dry-run", "routing is a preview for now: pass --dry-run (storing and applying rule sets is the next step)")
			}
			data, err := os.ReadFile(rulesFile)
			if err != nil {
				return err
			}
			set, err := routing.Parse(rulesFile, data)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			ls, err := routing.ReadLeads(args[0], f)
			if err != nil {
				return err
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			decisions, err := routing.DryRun(cmd.Context(), s, p, set, ls, time.Now().UTC())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, decisions)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "LEAD\tTO\tWHY\tPASSED OVER")
			for i, d := range decisions {
				// Passed over, by reason: a team of departed reps reads as
				// "inactive ×12", not twelve names.
				var reasons []string
				count := map[string]int{}
				for _, cand := range d.Considered {
					if cand.Skipped != "" {
						if count[cand.Skipped] == 0 {
							reasons = append(reasons, cand.Skipped)
						}
						count[cand.Skipped]++
					}
				}
				var skipped []string
				for _, r := range reasons {
					skipped = append(skipped, fmt.Sprintf("%s ×%d", r, count[r]))
				}
				name := strings.TrimSpace(ls[i].FirstName + " " + ls[i].LastName)
				fmt.Fprintf(tw, "%d %s\t%s\t%s\t%s\n", i+1, name, d.Owner, d.Reason, strings.Join(skipped, "; "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "route as this user (email); ops or admin")
	cmd.Flags().StringVar(&rulesFile, "rules", "", "the routing rule set (YAML; see examples/routing/)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only show where the leads would go")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	cmd.MarkFlagRequired("rules")
	return cmd
}

package main

import (
	"fmt"
	"os"
	"strconv"
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
reps passed over with the reason. Nothing is assigned (--dry-run is required):
to route stored leads use leads rules apply and leads assign (docs/routing.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun {
				return crm.Invalid("leads route", "dry-run", "route previews a CSV file: pass --dry-run; to assign stored leads use leads assign LEAD-ID")
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

func (c cli) leadsRulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Routing rule sets: apply one (the next version, active at once) or list the versions",
	}
	var as string
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Validate a routing rule set against the organisation and make it the active one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := routing.Apply(cmd.Context(), s, p, args[0], data, time.Now().UTC())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "applied routing rule set %s version %d\n", v.Name, v.Version)
			return nil
		},
	}
	apply.Flags().StringVar(&as, "as", "", "apply as this user (email); ops or admin")
	var listAs string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Every applied rule set version, the active one marked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, listAs)
			if err != nil {
				return err
			}
			defer s.Close()
			vs, err := routing.Versions(cmd.Context(), s, p)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, vs)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRULE SET\tVERSION\tACTIVE\tAPPLIED\tFILE")
			for _, v := range vs {
				active := ""
				if v.Active {
					active = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", v.ID, v.Name, v.Version, active, v.AppliedAt.Format("2006-01-02 15:04"), v.File)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listAs, "as", "", "list as this user (email)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(apply, list)
	return cmd
}

func (c cli) leadsAssignCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "assign LEAD-ID...",
		Short: "Route stored leads with the active rule set, assign them and log why",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			if !p.Role.SeesAll() {
				return crm.ErrForbidden
			}
			for _, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil {
					return crm.Invalid("lead", "id", fmt.Sprintf("%q is not a lead id", arg))
				}
				a, err := routing.Assign(cmd.Context(), s, p, id, time.Now().UTC())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "lead %d: %s (%s)\n", id, a.Decision.Owner, a.Decision.Reason)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "assign as this user (email); ops or admin")
	return cmd
}

func (c cli) leadsSLACommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sla",
		Short: "Response-time SLAs of routed leads",
	}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Warn of the leads about to breach their SLA, record the breaches due by now, and alert their channels (serve does this every minute)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			now := time.Now().UTC()
			warned, err := routing.WarnSLA(cmd.Context(), s, now)
			if err != nil {
				return err
			}
			br, err := routing.CheckSLA(cmd.Context(), s, now)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, map[string]any{"warnings": warned, "breaches": br})
			}
			fmt.Fprintf(c.stdout, "%d leads about to breach their SLA\n", len(warned))
			for _, b := range warned {
				fmt.Fprintf(c.stdout, "  lead %d %s: %s, due %s (rule %q)\n", b.LeadID, b.Lead, b.Owner, b.DueAt.Format("2006-01-02 15:04"), b.Rule)
			}
			fmt.Fprintf(c.stdout, "%d new SLA breaches\n", len(br))
			for _, b := range br {
				fmt.Fprintf(c.stdout, "  lead %d %s: %s, due %s (rule %q)\n", b.LeadID, b.Lead, b.Owner, b.DueAt.Format("2006-01-02 15:04"), b.Rule)
			}
			return nil
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(check)
	return cmd
}

func (c cli) leadsPoolsCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "The active rule set's pools: method, caps, whose turn it is, and each member's open leads, leads today and why they would be passed over now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			pools, err := routing.Pools(cmd.Context(), s, p, time.Now().UTC())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, pools)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			for _, pl := range pools {
				fmt.Fprintf(tw, "pool %s (%s", pl.Name, strings.ReplaceAll(pl.Method, "_", " "))
				if pl.Next != "" {
					fmt.Fprintf(tw, ", next: %s", pl.Next)
				}
				if pl.Overflow != "" {
					fmt.Fprintf(tw, ", overflow: %s", pl.Overflow)
				}
				fmt.Fprintln(tw, ")")
				fmt.Fprintln(tw, "  REP\tWEIGHT\tOPEN\tTODAY\tNOW")
				for _, m := range pl.Members {
					now := "available"
					if m.Skipped != "" {
						now = m.Skipped
					}
					fmt.Fprintf(tw, "  %s\t%g\t%d\t%d\t%s\n", m.Email, m.Weight, m.Open, m.Today, now)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "show as this user (email); ops or admin")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) leadsAuditCommand() *cobra.Command {
	var as, from, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The fairness audit: each rep's share of a pool's leads against their weight, how often they were passed over and why, and drift",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			since, until, err := routing.AuditPeriod(from, to, time.Now().UTC())
			if err != nil {
				return err
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			rows, err := routing.Fairness(cmd.Context(), s, p, since, until)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, rows)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "assignments from %s to %s\n", since.Format(time.DateOnly), until.Add(-time.Nanosecond).Format(time.DateOnly))
			fmt.Fprintln(tw, "POOL\tREP\tLEADS\tSHARE\tBY WEIGHT\tDRIFT\tPASSED OVER")
			for _, f := range rows {
				drift := ""
				if f.Drift {
					drift = "drift"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f%%\t%s\t%s\n", f.Pool, f.Rep, f.Leads, 100*f.Share, 100*f.Expected, drift, f.SkipReasons())
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "audit as this user (email); ops or admin")
	cmd.Flags().StringVar(&from, "from", "", "first day (YYYY-MM-DD; default 30 days before --to)")
	cmd.Flags().StringVar(&to, "to", "", "last day, included (YYYY-MM-DD; default today)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/cobra"
)

// demoDatabase is where `quarterdeck demo` puts its organisation unless told otherwise.
const demoDatabase = "quarterdeck-demo.db"

func (c cli) demoCommand() *cobra.Command {
	var size string
	var seed int64
	var opps, acts int
	var noServe bool
	def := defaultConfig()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a realistic demo sales organisation in a fresh database and serve it",
		Long: `Generate a realistic demo sales organisation (teams, reps, accounts on real US
counties, leads, opportunities with stage histories, activities, quotas, costs)
and serve it, printing a login for each role.

Without --database the demo goes to ` + demoDatabase + `, made anew at each run.
A database given with --database must have no users yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("database") && c.getenv("QUARTERDECK_DATABASE_URL") == "" {
				cfg.Database = demoDatabase
				for _, f := range []string{demoDatabase, demoDatabase + ".wal"} {
					if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
						return fmt.Errorf("remove the previous demo: %w", err)
					}
				}
			}
			dc, err := demo.SizeConfig(size)
			if err != nil {
				return err
			}
			if opps > 0 {
				dc.Opportunities, dc.Activities = opps, 10*opps
			}
			if acts > 0 {
				dc.Activities = acts
			}
			dc.Seed = seed // Now stays zero: today at midnight, so a seed gives the same data all day
			sum, err := c.generateDemo(cmd, cfg, dc)
			if err != nil {
				return err
			}
			c.printDemo(sum)
			if noServe {
				return nil
			}
			return c.serve(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&size, "size", "small", "small (5,000 deals), medium (100,000) or large (1,000,000 deals and 10,000,000 activities)")
	f.IntVar(&opps, "opportunities", 0, "number of opportunities (overrides --size; activities default to 10 per deal)")
	f.IntVar(&acts, "activities", 0, "number of activities")
	f.Int64Var(&seed, "seed", 1, "random seed: the same seed makes the same organisation")
	f.BoolVar(&noServe, "no-serve", false, "generate only, do not serve")
	f.String("addr", def.Addr, "listen address")
	f.String("secure-cookies", def.SecureCookies, "mark cookies Secure: auto, always or never")
	f.String("notify-channels", "", "YAML file of notification channels (examples/notify/local.yaml); without it the demo's alerts wait in the queue")
	return cmd
}

func (c cli) generateDemo(cmd *cobra.Command, cfg Config, dc demo.Config) (demo.Summary, error) {
	s, err := store.Open(cmd.Context(), cfg.Database, c.newLogger(cfg))
	if err != nil {
		return demo.Summary{}, err
	}
	defer s.Close()
	if n, err := s.CountUsers(cmd.Context()); err != nil {
		return demo.Summary{}, err
	} else if n > 0 {
		return demo.Summary{}, fmt.Errorf("%s already has users: the demo needs a fresh database", cfg.Database)
	}
	// One bar per stage: each stage has its own total.
	var bar *progress
	var current string
	dc.Progress = func(stage string, done, total int64) {
		if stage != current {
			if bar != nil {
				bar.done()
			}
			current, bar = stage, c.newProgress(cfg.Quiet, stage, "rows", total)
		}
		bar.set(done)
	}
	sum, err := demo.Generate(cmd.Context(), s, dc)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return sum, err
	}
	now := time.Now().UTC()
	if sum.Calls, err = demo.SubmitCalls(cmd.Context(), s, now, dc.Seed); err != nil {
		return sum, err
	}
	if sum.Scored, err = demo.ApplyScoring(cmd.Context(), s, now); err != nil {
		return sum, err
	}
	if err := demo.ApplyRouting(cmd.Context(), s, now); err != nil {
		return sum, err
	}
	// Before the predictive model: the morning's new leads get a chance too.
	if sum.Runs, err = demo.ApplyAutomation(cmd.Context(), s, now); err != nil {
		return sum, err
	}
	if sum.Counts["lead_predictions"], err = demo.TrainPredictive(cmd.Context(), s, now); err != nil {
		return sum, err
	}
	// An accuracy history from day one: the snapshots the last months'
	// first days would have taken, replayed from the stage history, and
	// today's. At the large sizes none, to keep the demo within its minute:
	// serve takes today's in the background as it starts.
	if dc.Opportunities > 200_000 {
		return sum, nil
	}
	var days []time.Time
	for i := 6; i >= 1; i-- {
		days = append(days, time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, time.UTC))
	}
	snaps, err := forecast.Backfill(cmd.Context(), s, now, append(days, now))
	sum.Snapshots = len(snaps)
	return sum, err
}

func (c cli) printDemo(sum demo.Summary) {
	fmt.Fprintf(c.stdout, "Demo organisation ready in %s: %d opportunities, %d activities, %d accounts, %d leads.\n\n",
		sum.Elapsed.Round(time.Millisecond), sum.Counts["opportunities"], sum.Counts["activities"], sum.Counts["accounts"], sum.Counts["leads"])
	fmt.Fprintf(c.stdout, "%d forecast calls submitted; forecast snapshots of %d days taken; %d leads scored; %d given a predicted chance to convert; %d workflow runs.\n\n",
		sum.Calls, sum.Snapshots, sum.Scored, sum.Counts["lead_predictions"], sum.Runs)
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tEMAIL\tPASSWORD\tSEES")
	for _, l := range sum.Logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Role, l.Email, l.Password, l.Sees)
	}
	tw.Flush()
	fmt.Fprintln(c.stdout)
}

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/cobra"
)

func (c cli) automationCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "automation",
		Short: "Workflows: when something happens to a record, do something (docs/automation.md)",
	}
	cmd.AddCommand(c.automationApplyCommand(), c.automationListCommand(), c.automationSwitchCommand(true), c.automationSwitchCommand(false),
		c.automationTestCommand(), c.automationRunCommand(), c.automationRunsCommand())
	return cmd
}

// configuredChannels are the notification channels of the configuration
// (--notify-channels or notify_channels), none when it names no file.
func (c cli) configuredChannels(cmd *cobra.Command) ([]notify.Channel, error) {
	cfg, err := c.config(cmd)
	if err != nil {
		return nil, err
	}
	return loadChannels(cfg, c.getenv)
}

func (c cli) automationApplyCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Validate workflows and store each as the next version of its name",
		Long: `Validate each workflow file and store it as the next version of its name; a
new name starts enabled, a new version keeps its name's switch. Every problem
is reported as file:line: field: reason and nothing is stored. With
--notify-channels (or notify_channels in the configuration), the channels
that notify steps name must exist in it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			chs, err := c.configuredChannels(cmd)
			if err != nil {
				return err
			}
			// Without a channels file the names are checked when a run sends.
			var channels []string
			for _, ch := range chs {
				channels = append(channels, ch.Name)
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			for _, file := range args {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				v, err := automation.Apply(cmd.Context(), s, p, file, data, channels, time.Now())
				if err != nil {
					return err
				}
				state := "enabled"
				if !v.Enabled {
					state = "disabled"
				}
				fmt.Fprintf(c.stdout, "applied %s v%d (%s on %s, %s)\n", v.Name, v.Version, v.Trigger, v.Entity, state)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "apply as this user (e-mail); a manager may apply workflows scoped to their team")
	cmd.Flags().String("notify-channels", "", "YAML file of notification channels to check notify steps against")
	return cmd
}

func (c cli) automationListCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the workflows: latest version, trigger, switch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			vs, err := automation.List(cmd.Context(), s, p)
			if err != nil {
				return err
			}
			if asJSON {
				for _, v := range vs {
					v.Source = ""
				}
				return writeJSON(c.stdout, nonNil(vs))
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tTRIGGER\tENTITY\tENABLED\tAPPLIED (UTC)\tFILE")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%v\t%s\t%s\n", v.Name, v.Version, v.Trigger, v.Entity, v.Enabled, v.AppliedAt.UTC().Format("2006-01-02 15:04"), v.File)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "read as this user (e-mail)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) automationSwitchCommand(on bool) *cobra.Command {
	var as string
	use, short := "disable NAME", "Switch a workflow off: its triggers start no runs (runs already going finish)"
	if on {
		use, short = "enable NAME", "Switch a workflow on"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := automation.SetEnabled(cmd.Context(), s, p, args[0], on)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s %sd\n", v.Name, strings.Fields(use)[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "act as this user (e-mail)")
	return cmd
}

func (c cli) automationTestCommand() *cobra.Command {
	var as, file string
	var record int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test NAME|--file FILE --record ID [--json]",
		Short: "Dry run: what a workflow would do to one record, changing nothing",
		Long: `Walk a workflow's steps on one record as a run would: every condition is
tested on the record as it is now, and each action says what it would do
(the task it would create, the field it would set, the message it would send).
Nothing is written, sent or waited for. Name an applied workflow, or give
--file to try a document before applying it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (file != "") {
				return crm.Invalid("automation test", "file", "name an applied workflow or give --file, one of them")
			}
			if record <= 0 {
				return crm.Invalid("automation test", "record", "give the id of the record to try it on")
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			var wf *automation.Workflow
			if file != "" {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if wf, err = automation.Parse(file, data, nil); err != nil {
					return err
				}
			} else {
				v, err := automation.Get(cmd.Context(), s, p, args[0])
				if err != nil {
					return err
				}
				wf = v.Workflow()
			}
			dr, err := automation.Test(cmd.Context(), s, p, wf, record, time.Now().UTC())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, dr)
			}
			enters := "enters"
			if !dr.Enters {
				enters = "does not enter (its condition is false); the steps it would take if it did:"
			}
			fmt.Fprintf(c.stdout, "%s %d %s\n", dr.Entity, dr.RecordID, enters)
			if dr.When != "" {
				fmt.Fprintf(c.stdout, "  when: %s\n", dr.When)
			}
			printSteps(c, dr.Steps)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "try as this user (e-mail), who must see the record")
	cmd.Flags().StringVar(&file, "file", "", "a workflow document to try without applying it")
	cmd.Flags().Int64Var(&record, "record", 0, "the record's id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printSteps(c cli, steps []automation.Step) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tKIND\tTRY\tOUTCOME\tDETAIL\tERROR")
	for _, st := range steps {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", st.Step, st.Kind, st.Attempt, st.Outcome, st.Detail, st.Error)
	}
	tw.Flush()
}

func (c cli) automationRunCommand() *cobra.Command {
	var as, records string
	var now bool
	cmd := &cobra.Command{
		Use:   "run NAME --record ID[,ID...] [--now]",
		Short: "Start a workflow by hand on a selection of records",
		Long: `Start a workflow's run on each record named (its condition and re-entry
policy apply as for a trigger). serve runs the queued steps; with --now this
command runs them itself, together with any other due workflow work, before it
returns (notify steps need --notify-channels).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(records)
			if err != nil {
				return err
			}
			channels, err := c.configuredChannels(cmd)
			if err != nil {
				return err
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			runs, err := automation.RunManually(cmd.Context(), s, p, args[0], ids, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "started %d runs %v\n", len(runs), runs)
			if !now {
				return nil
			}
			n, err := runDueWork(cmd.Context(), s, channels)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "ran %d step jobs\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "run as this user (e-mail)")
	cmd.Flags().StringVar(&records, "record", "", "the records' ids, comma-separated")
	cmd.Flags().BoolVar(&now, "now", false, "run the queued steps in this process before returning")
	cmd.Flags().String("notify-channels", "", "YAML file of notification channels for notify steps run with --now")
	return cmd
}

// runDueWork dispatches pending triggers and runs the due workflow steps
// until none is left.
func runDueWork(ctx context.Context, s *store.Store, channels []notify.Channel) (int, error) {
	w := jobs.NewWorker(s, jobs.Options{})
	var dl *notify.Deliverer
	if len(channels) > 0 {
		var err error
		if dl, err = notify.NewDeliverer(s, channels, notify.Options{}); err != nil {
			return 0, err
		}
	}
	automation.Register(w, s, dl, automation.Options{})
	total := 0
	for {
		n, err := automation.Dispatch(ctx, s, time.Now())
		if err != nil {
			return total, err
		}
		ran, err := w.RunDue(ctx)
		total += ran
		if err != nil || (n == 0 && ran == 0) {
			return total, err
		}
	}
}

func parseIDs(list string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, crm.Invalid("automation run", "record", fmt.Sprintf("%q is not a record id", f))
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, crm.Invalid("automation run", "record", "name at least one record id")
	}
	return ids, nil
}

func (c cli) automationRunsCommand() *cobra.Command {
	var as, workflow, entity, state string
	var record, runID int64
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs [--workflow W] [--entity E --record ID] [--state S] | --run ID [--json]",
		Short: "The run log: runs newest first, or one run's steps with --run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			if runID != 0 {
				r, err := automation.RunByID(cmd.Context(), s, p, runID)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, r)
				}
				fmt.Fprintf(c.stdout, "run %d of %s on %s %d: %s %s\n  event: %s\n", r.ID, r.Workflow, r.Entity, r.RecordID, r.State, r.Error, r.Event)
				printSteps(c, r.Steps)
				return nil
			}
			runs, err := automation.Runs(cmd.Context(), s, p, automation.RunQuery{Workflow: workflow, Entity: entity, RecordID: record, State: state, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, runs)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTARTED (UTC)\tWORKFLOW\tRECORD\tDEPTH\tSTATE\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s %d\t%d\t%s\t%s\n", r.ID, r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.Workflow, r.Entity, r.RecordID, r.Depth, r.State, r.Error)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "read as this user (e-mail): reps see the runs on their records, managers their team's")
	f.StringVar(&workflow, "workflow", "", "only this workflow's runs")
	f.StringVar(&entity, "entity", "", "only runs on this record type")
	f.Int64Var(&record, "record", 0, "only runs on this record")
	f.StringVar(&state, "state", "", "only runs in this state: "+strings.Join(automation.States, ", "))
	f.IntVar(&limit, "limit", 0, "at most this many runs [100]")
	f.Int64Var(&runID, "run", 0, "show this run's steps")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

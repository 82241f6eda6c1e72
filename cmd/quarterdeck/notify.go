package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/notify"
	"github.com/spf13/cobra"
)

func (c cli) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notifications to Slack, webhooks and e-mail: the delivery log, and a local receiver to try them",
	}
	cmd.AddCommand(c.notifyLogCommand(), c.notifyReceiveCommand())
	return cmd
}

func (c cli) notifyLogCommand() *cobra.Command {
	var as, channel, event, state string
	var limit int
	var job int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "log [--channel C] [--event E] [--state S] [--limit N] [--json]",
		Short: "List notifications newest first with where each delivery stands, or one's attempts with --job",
		Long: `List the notifications, newest first: channel, event, dedupe key, the job's
state (queued: not tried yet or waiting for a retry; running; done; failed:
refused by the receiver; dead: every attempt failed), the attempts so far, the
latest attempt's outcome, status code and error, and when a queued one is tried
next. With --job ID, list that notification's attempts, oldest first: outcome,
status code, duration and error. It reads as the system unless --as names a
user, who must be ops or admin (docs/notifications.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if job != 0 && (channel != "" || event != "" || state != "" || limit != 0) {
				return crm.Invalid("notify log", "job", "lists one notification's attempts: leave out --channel, --event, --state and --limit")
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			if job != 0 {
				attempts, err := notify.Attempts(cmd.Context(), s, p, job)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, nonNil(attempts))
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ATTEMPT\tAT (UTC)\tOUTCOME\tSTATUS\tMS\tERROR")
				for _, a := range attempts {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.1f\t%s\n", a.Attempt, a.At.UTC().Format("2006-01-02 15:04:05"), a.Outcome,
						statusText(a.StatusCode), a.DurationMS, a.Error)
				}
				return tw.Flush()
			}
			list, err := notify.Notifications(cmd.Context(), s, p, notify.Query{Channel: channel, Event: event, State: state, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, nonNil(list))
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tQUEUED (UTC)\tCHANNEL\tEVENT\tDEDUPE KEY\tSTATE\tATTEMPTS\tLAST\tSTATUS\tNEXT TRY (UTC)\tTITLE\tERROR")
			for _, n := range list {
				next := ""
				if n.NextRunAt != nil {
					next = n.NextRunAt.UTC().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", n.JobID, n.CreatedAt.UTC().Format("2006-01-02 15:04:05"),
					n.Channel, n.Event, n.DedupeKey, n.State, n.Attempts, n.LastOutcome, statusText(n.LastStatus), next, n.Title, n.LastError)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "read as this user (email); ops or admin")
	f.StringVar(&channel, "channel", "", "only this channel")
	f.StringVar(&event, "event", "", "only this event, e.g. lead.routed, lead.hot or lead.sla_breach")
	f.StringVar(&state, "state", "", "only this state: queued, running, done, failed or dead")
	f.IntVar(&limit, "limit", 0, fmt.Sprintf("the newest N notifications, at most %d [100]", notify.MaxLimit))
	f.Int64Var(&job, "job", 0, "list this notification's attempts instead")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// statusText is a status code, or empty when the receiver did not answer.
func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/spf13/cobra"
)

func (c cli) usersAvailabilityCommand() *cobra.Command {
	var as, tz string
	var away []string
	var clear bool
	cmd := &cobra.Command{
		Use:   "availability EMAIL",
		Short: "Show or set when a user takes leads: their time zone and out-of-office days",
		Long: `Without flags, print the user's time zone and out-of-office periods. With
--time-zone or --away (FROM:TO, whole days, TO included; repeatable) or --clear,
replace them. Routing passes over a rep who is away, and reads a pool's working
hours in the rep's time zone. A user sets their own; managers their team's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			u, err := s.UserByEmail(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			a, err := routing.GetAvailability(cmd.Context(), s, p, u.ID)
			if err != nil {
				return err
			}
			if tz != "" || len(away) > 0 || clear {
				if tz != "" {
					a.TimeZone = tz
				}
				if clear || len(away) > 0 {
					a.Away = nil
				}
				for _, span := range away {
					from, to, ok := strings.Cut(span, ":")
					f, err1 := time.Parse(time.DateOnly, from)
					t, err2 := time.Parse(time.DateOnly, to)
					if !ok || err1 != nil || err2 != nil {
						return crm.Invalid("availability", "away", fmt.Sprintf("%q is not FROM:TO, e.g. 2026-12-20:2027-01-03", span))
					}
					a.Away = append(a.Away, routing.AwayPeriod{From: f, To: t.AddDate(0, 0, 1)})
				}
				if err := routing.SetAvailability(cmd.Context(), s, p, a, time.Now().UTC()); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.stdout, "%s: time zone %s\n", u.Email, a.TimeZone)
			for _, w := range a.Away {
				fmt.Fprintf(c.stdout, "  away %s to %s %s\n", w.From.Format(time.DateOnly), w.To.AddDate(0, 0, -1).Format(time.DateOnly), w.Note)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "act as this user (email)")
	cmd.Flags().StringVar(&tz, "time-zone", "", "IANA time zone, e.g. Europe/Berlin")
	cmd.Flags().StringArrayVar(&away, "away", nil, "out of office FROM:TO (dates, TO included); replaces the periods")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove every out-of-office period")
	return cmd
}

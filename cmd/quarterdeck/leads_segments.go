package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/spf13/cobra"
)

func (c cli) leadsSegmentsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "ICP segments: saved filters on lead fields (or manual lists) that scoring rules, routing and workflows can test",
	}
	cmd.AddCommand(c.segmentsListCommand(), c.segmentsSaveCommand(), c.segmentsShowCommand(), c.segmentsDeleteCommand(),
		c.segmentsMembersCommand("add"), c.segmentsMembersCommand("remove"))
	return cmd
}

func (c cli) segmentsListCommand() *cobra.Command {
	var as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Each segment with its leads, conversion and average score (of the leads you may see)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			stats, err := leads.Segments(cmd.Context(), s, p)
			if err != nil {
				return err
			}
			if asJSON {
				for _, st := range stats {
					st.Source = ""
				}
				return writeJSON(c.stdout, stats)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEGMENT\tLEADS\tCONVERTED\tDISQUALIFIED\tCONVERSION\tAVG SCORE")
			for _, st := range stats {
				conv, avg := "-", "-"
				if st.Conversion != nil {
					conv = fmt.Sprintf("%.1f%%", 100**st.Conversion)
				}
				if st.AvgScore != nil {
					avg = fmt.Sprintf("%.1f (%s)", *st.AvgScore, st.Model)
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%s\n", st.ID, st.Name, st.Leads, st.Converted, st.Disqualified, conv, avg)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "count the leads this user (email) may see")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) segmentsSaveCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "save FILE...",
		Short: "Save segments from YAML (a segment of the same name is replaced) and place every lead again",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var docs [][]byte
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				if _, err := leads.ParseSegment(f, data); err != nil {
					return err
				}
				docs = append(docs, data)
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			for i, data := range docs {
				sg, err := leads.SaveSegment(cmd.Context(), s, p, args[i], data, time.Now().UTC())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "saved segment %q (id %d)\n", sg.Name, sg.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "save as this user (email); ops or admin")
	return cmd
}

func (c cli) segmentsShowCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a segment's YAML",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			sg, err := leads.SegmentByName(cmd.Context(), s, p, args[0])
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.stdout, sg.Source)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "show as this user (email)")
	return cmd
}

func (c cli) segmentsDeleteCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a segment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			sg, err := leads.SegmentByName(cmd.Context(), s, p, args[0])
			if err != nil {
				return err
			}
			if err := leads.DeleteSegment(cmd.Context(), s, p, sg.ID); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted segment %q\n", sg.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "delete as this user (email); ops or admin")
	return cmd
}

// segmentsMembersCommand adds leads to a manual segment, or removes them.
func (c cli) segmentsMembersCommand(verb string) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   verb + " NAME LEAD_ID...",
		Short: map[string]string{"add": "Add leads to a manual segment", "remove": "Remove leads from a manual segment"}[verb],
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args)-1)
			for i, a := range args[1:] {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return fmt.Errorf("lead id %q is not a number", a)
				}
				ids[i] = id
			}
			s, p, err := c.openAs(cmd, as)
			if err != nil {
				return err
			}
			defer s.Close()
			m := leads.Membership{Add: ids}
			if verb == "remove" {
				m = leads.Membership{Remove: ids}
			}
			n, err := leads.ChangeMembers(cmd.Context(), s, p, args[0], m, time.Now().UTC())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s %q: %d of %d leads moved (the rest were already so)\n", verb, args[0], n, len(ids))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "act as this user (email); they must see the leads")
	return cmd
}

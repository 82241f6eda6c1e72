package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"
)

func (c cli) kpiCommand() *cobra.Command {
	var f metrics.Filter
	var by, as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "kpi",
		Short: "Sales KPIs for a fiscal period, optionally sliced by rep, team, region, product, ...",
		Long: `Sales KPIs exactly as defined in docs/kpis.md, for one fiscal period
(--period FY2025, FY2025-Q3 or FY2025-M07; all time without it), over the whole
organisation or, with --as EMAIL, over what that user may see.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if by != "" && !slices.Contains(metrics.Dimensions, by) {
				return crm.Invalid("kpi", "by", fmt.Sprintf("%q is not one of %s", by, strings.Join(metrics.Dimensions, ", ")))
			}
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			p, err := principalFor(cmd, s, as)
			if err != nil {
				return err
			}
			var out any
			if by == "" {
				k, err := metrics.Compute(cmd.Context(), s, p, f)
				if err != nil {
					return err
				}
				out = k
				if !asJSON {
					printKPIs(c.stdout, k)
					return nil
				}
			} else {
				sl, err := metrics.ComputeBy(cmd.Context(), s, p, f, by)
				if err != nil {
					return err
				}
				out = sl
				if !asJSON {
					printSlices(c.stdout, by, sl)
					return nil
				}
			}
			return writeJSON(c.stdout, out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Period, "period", "", "fiscal period: FY2025, FY2025-Q3 or FY2025-M07 (default: all time)")
	fl.StringVar(&by, "by", "", "slice by: "+strings.Join(metrics.Dimensions, ", "))
	fl.Int64Var(&f.RepID, "rep-id", 0, "only this rep's records")
	fl.Int64Var(&f.TeamID, "team-id", 0, "only this team's records (with the teams below it)")
	fl.StringVar(&f.Region, "region", "", "only this region")
	fl.StringVar(&f.Product, "product", "", "only deals with this product (name or family)")
	fl.StringVar(&f.Segment, "segment", "", "only accounts of this segment")
	fl.StringVar(&f.Industry, "industry", "", "only accounts of this industry")
	fl.StringVar(&f.Source, "source", "", "only this lead source")
	fl.StringVar(&f.Type, "type", "", "only this deal type: new, expansion or renewal")
	fl.StringVar(&as, "as", "", "compute as this user sees it (email)")
	fl.BoolVar(&asJSON, "json", false, "print JSON (keys as in docs/kpis.md)")
	return cmd
}

func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func num(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%s", *v, unit)
}

func money(d *decimal.Decimal, cur string) string {
	if d == nil {
		return "–"
	}
	return cur + " " + d.StringFixed(2)
}

// accuracy is the forecast accuracy KPI in a line: the signed error, the
// absolute one, and what was compared; "–" when it does not apply.
func accuracy(a *metrics.ForecastAccuracy, cur string) string {
	if a == nil {
		return "–"
	}
	forecast, actual := decimal.NewFromFloat(a.Forecast), decimal.NewFromFloat(a.Actual)
	return fmt.Sprintf("%+.1f%% error, %.1f%% absolute (%s forecast of %s: %s; won: %s)",
		a.ErrorPct, a.AbsErrorPct, a.Method, a.SnapshotDay, money(&forecast, cur), money(&actual, cur))
}

func printKPIs(w io.Writer, k metrics.KPIs) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	row("Period", k.Period)
	row("Won", fmt.Sprintf("%s (%d deals)", money(&k.WonAmount, k.Currency), k.WonCount))
	row("Lost", fmt.Sprint(k.LostCount))
	row("Win rate", pct(k.WinRate))
	row("Cohort close rate", pct(k.CohortCloseRate))
	row("Average deal size", money(k.AverageDealSize, k.Currency))
	row("Sales cycle (won), mean / median", num(k.AverageSalesCycleDays, " d")+" / "+num(k.MedianSalesCycleDays, " d"))
	row("Sales cycle (lost), mean / median", num(k.AverageLostCycleDays, " d")+" / "+num(k.MedianLostCycleDays, " d"))
	row("Quota", money(k.Quota, k.Currency))
	row("Quota attainment", pct(k.QuotaAttainment))
	row("Quota attainment rate", fmt.Sprintf("%s (%d of %d reps)", pct(k.QuotaAttainmentRate), k.RepsAtQuota, k.QuotaCarryingReps))
	row("Open pipeline", fmt.Sprintf("%s (%d open deals)", money(&k.OpenPipeline, k.Currency), k.OpenCount))
	row("Weighted pipeline", money(&k.WeightedPipeline, k.Currency))
	row("Pipeline coverage", num(k.PipelineCoverage, "×"))
	row("Pipeline velocity", money(k.PipelineVelocity, k.Currency)+" per day")
	if lr := k.LeadResponse; lr != nil {
		row("Lead response, median", num(lr.MedianMinutes, " min"))
		row("Leads answered within 5 min / 1 h", pct(lr.Within5Minutes)+" / "+pct(lr.Within1Hour))
	}
	if lc := k.LeadConversion; lc != nil {
		row("Leads → qualified → opportunity → won", fmt.Sprintf("%d → %d → %d → %d", lc.Leads, lc.Qualified, lc.Opportunities, lc.Won))
		row("Leads → demos → sales", fmt.Sprintf("%d → %d → %d", lc.Leads, lc.Demos, lc.Sales))
	}
	if ts := k.TimeSpentSelling; ts != nil {
		row("Time spent selling", pct(ts.Share))
	}
	row("Meetings per seller", num(k.MeetingsPerSeller, ""))
	row("Customer acquisition cost", money(k.CustomerAcquisitionCost, k.Currency))
	if g := k.SalesGrowth; g != nil {
		row("Growth vs "+g.PreviousPeriod, pct(g.VsPreviousPeriod))
		row("Growth vs "+g.SamePeriodLastYear, pct(g.VsSamePeriodLastYear))
	}
	row("Forecast accuracy", accuracy(k.ForecastAccuracy, k.Currency))
	if k.UnconvertedAmounts > 0 {
		row("Left out (no exchange rate)", fmt.Sprint(k.UnconvertedAmounts))
	}
	tw.Flush()
}

func printSlices(w io.Writer, by string, sl []metrics.Slice) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tWON\tDEALS WON\tWIN RATE\tAVG DEAL\tCYCLE (D)\tATTAINMENT\tOPEN PIPELINE\t\n", strings.ToUpper(by))
	for _, s := range sl {
		k := s.KPIs
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", s.Label, k.WonAmount.StringFixed(0), k.WonCount, pct(k.WinRate),
			money(k.AverageDealSize, ""), num(k.AverageSalesCycleDays, ""), pct(k.QuotaAttainment), k.OpenPipeline.StringFixed(0))
	}
	tw.Flush()
}

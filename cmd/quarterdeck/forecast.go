package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/forecast"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"
)

func (c cli) forecastCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Forecast bookings: pipeline methods, win probability, time series, calls and backtests",
		Long: `Forecast bookings by period with every method side by side (see docs/forecasting.md):
stage-weighted and history-weighted pipeline, per-deal win probability, a time
series of past bookings, and the reps' submitted commits.`,
	}
	cmd.AddCommand(c.forecastShowCommand(), c.forecastDealsCommand(), c.forecastModelCommand(), c.forecastBacktestCommand(),
		c.forecastSubmitCommand(), c.forecastSeriesCommand())
	return cmd
}

// forecastEnv is what every forecast command opens: the store, the
// principal (--as), and the book of deals that principal may see.
type forecastEnv struct {
	s    *store.Store
	p    crm.Principal
	book *forecast.Book
}

func (c cli) openForecast(cmd *cobra.Command, as string, now time.Time, activities bool) (*forecastEnv, error) {
	s, _, err := c.openStore(cmd)
	if err != nil {
		return nil, err
	}
	p, err := principalFor(cmd, s, as)
	if err != nil {
		s.Close()
		return nil, err
	}
	b, err := forecast.Load(cmd.Context(), s, p, now, forecast.LoadOptions{Activities: activities})
	if err != nil {
		s.Close()
		return nil, err
	}
	return &forecastEnv{s: s, p: p, book: b}, nil
}

// dayFlag parses --today (default now): the day forecasts are made on.
func dayFlag(v string) (time.Time, error) {
	if v == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, crm.Invalid("forecast", "today", fmt.Sprintf("%q is not a date like 2026-03-31", v))
	}
	return t, nil
}

func (c cli) forecastShowCommand() *cobra.Command {
	var q forecast.Query
	var as, today, asOf string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Every method's forecast of a period against its quota, the recommended one, and actuals once it has ended",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := dayFlag(today)
			if err != nil {
				return err
			}
			if asOf != "" {
				if q.AsOf, err = time.Parse(time.DateOnly, asOf); err != nil {
					return crm.Invalid("forecast", "as-of", fmt.Sprintf("%q is not a date like 2026-03-31", asOf))
				}
			}
			env, err := c.openForecast(cmd, as, now, q.WinProb)
			if err != nil {
				return err
			}
			defer env.s.Close()
			rep, err := env.book.Report(cmd.Context(), env.s, env.p, q, nil)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, rep)
			}
			printReport(c.stdout, rep)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.Period, "period", "", "fiscal period, e.g. FY2026-Q1 or FY2026-M02 (default: the current quarter)")
	fl.StringVar(&today, "today", "", "take this day as today, YYYY-MM-DD (default: today)")
	fl.StringVar(&asOf, "as-of", "", "make the forecast as of this day, YYYY-MM-DD (default: today, or the period's first day once it has ended)")
	fl.Int64Var(&q.TeamID, "team-id", 0, "only this team's deals (with the teams below it)")
	fl.StringVar(&q.By, "by", "", "also per group: team or rep")
	fl.BoolVar(&q.WinProb, "win-probability", true, "train and apply the per-deal win-probability model")
	fl.StringVar(&as, "as", "", "see what this user (email) may see")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printReport(w io.Writer, r *forecast.Report) {
	fmt.Fprintf(w, "Forecast of %s as of %s, in %s: won to date %s, %d open deals worth %s\n", r.Period, r.AsOf, r.Currency, whole(r.Won), r.OpenCount, whole(r.OpenAmount))
	if r.Actual != nil {
		fmt.Fprintf(w, "Actual bookings: %s\n", whole(*r.Actual))
	}
	t := r.Target
	if t.Quota != nil {
		fmt.Fprintf(w, "Quota %s (%d quota carriers): gap %s, attainment %s, pipeline coverage %s", whole(*t.Quota), t.QuotaCarriers, whole(*t.Gap), percent(t.Attainment), times(t.Coverage))
		if t.ActualAttainment != nil {
			fmt.Fprintf(w, "; actual attainment %s", percent(t.ActualAttainment))
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "Quota: nobody in the selection carries one for the period")
	}
	if rec := r.Recommended; rec != nil {
		fmt.Fprintf(w, "Recommended: %s (%s of quota). %s\n", whole(rec.Forecast), percent(rec.VsQuota), rec.Why)
	}
	if c := r.CallRollup; c != nil {
		fmt.Fprintf(w, "Reps' calls (%d reps, in %s): commit %s (%s of quota), best case %s (%s), pipeline %s (%s)\n", c.Reps, c.Currency,
			whole(c.Commit), percent(c.CommitVsQuota), whole(c.BestCase), percent(c.BestCaseVsQuota), whole(c.Pipeline), percent(c.PipelineVsQuota))
	}
	for _, d := range r.ToDate {
		if d.Won == 0 && r.Won == 0 {
			continue // nothing won yet, then or now (a period's first day)
		}
		fmt.Fprintf(w, "Won in %s before %s: %s (now %s); the whole period: %s\n", d.Period, d.AsOf, whole(d.Won), signed(d.Change), whole(d.Total))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tforecast\t80% interval\terror %\t")
	for _, e := range r.Estimates {
		interval, errPct := "", ""
		if e.Lo80 != nil {
			interval = whole(*e.Lo80) + " – " + whole(*e.Hi80)
		}
		if r.Actual != nil {
			if pe := forecast.PercentError(*r.Actual, e.Forecast); pe != nil {
				errPct = fmt.Sprintf("%+.1f", *pe)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", e.Method, whole(e.Forecast), interval, errPct)
	}
	tw.Flush()
	for _, e := range r.Estimates {
		if e.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", e.Method, e.Note)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	if l := r.Leads; l != nil {
		fmt.Fprintf(w, "Leads expected in %s: %s (80%%: %s – %s; %s)", l.Period, whole(l.Leads.Forecast), whole(*l.Leads.Lo80), whole(*l.Leads.Hi80), l.Leads.Note)
		if l.Actual != nil {
			fmt.Fprintf(w, "; actual %s", whole(*l.Actual))
		}
		fmt.Fprintln(w)
	}
	if len(r.Groups) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\ngroup\twon\topen\tstage-weighted\thistory-weighted\t")
		for _, g := range r.Groups {
			st, _ := g.Estimate(forecast.MethodStage)
			hi, _ := g.Estimate(forecast.MethodHistory)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", g.Name, whole(g.Won), whole(g.OpenAmount), whole(st.Forecast), whole(hi.Forecast))
		}
		tw.Flush()
	}
	if len(r.Calls) > 0 {
		fmt.Fprintln(w, "\nCalls (latest version):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "who\trole\tcommit\tbest case\tpipeline\troll-up\tversion\treason")
		for _, l := range r.Calls {
			rollup := ""
			if l.Rollup != nil {
				rollup = whole(*l.Rollup)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", l.Name, l.Role, whole(l.Latest.Commit.InexactFloat64()), whole(l.Latest.BestCase.InexactFloat64()),
				whole(l.Latest.Pipeline.InexactFloat64()), rollup, l.Latest.Version, l.Latest.Reason)
		}
		tw.Flush()
	}
}

func whole(v float64) string { return decimal.NewFromFloat(v).Round(0).StringFixed(0) }

// percent shows a fraction as a percentage, "n/a" when undefined.
func percent(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

// signed shows a change (a fraction) with its sign, "n/a" when undefined.
func signed(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", *v*100)
}

// times shows a ratio as a multiple, "n/a" when undefined.
func times(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", *v)
}

func (c cli) forecastDealsCommand() *cobra.Command {
	var as string
	var limit, factors int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deals",
		Short: "Each open deal's win probability with the factors behind it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := c.openForecast(cmd, as, time.Now(), true)
			if err != nil {
				return err
			}
			defer env.s.Close()
			if env.book.AggregatesOnly {
				return crm.ErrForbidden
			}
			wm := env.book.TrainWinModel(env.book.Today)
			scores := env.book.ScoreOpen(wm, nil, factors)
			if limit > 0 && len(scores) > limit {
				scores = scores[:limit]
			}
			if asJSON {
				return writeJSON(c.stdout, map[string]any{"model": wm, "deals": scores})
			}
			fmt.Fprintln(c.stdout, wm.Note)
			if wm.Signal != "" {
				fmt.Fprintln(c.stdout, wm.Signal)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "deal\tstage\tamount\texpected\twin prob.\tstage prob.\ttop factors")
			for _, d := range scores {
				var why []string
				for _, f := range d.Factors {
					why = append(why, f.Description)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0f%%\t%.0f%%\t%s\n", d.DealID, d.Stage, whole(d.Amount), d.Expected, d.Probability*100, d.StageProb*100, strings.Join(why, ", "))
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&limit, "limit", 20, "show this many deals, largest expected win first (0: all)")
	fl.IntVar(&factors, "factors", 3, "top factors to explain each score with")
	fl.StringVar(&as, "as", "", "see what this user (email) may see")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) forecastModelCommand() *cobra.Command {
	var as, today string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Train the win-probability model and measure it against the naive-Bayes baseline on a time-ordered holdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := dayFlag(today)
			if err != nil {
				return err
			}
			env, err := c.openForecast(cmd, as, now, true)
			if err != nil {
				return err
			}
			defer env.s.Close()
			wm := env.book.TrainWinModel(env.book.Today)
			if asJSON {
				return writeJSON(c.stdout, wm)
			}
			fmt.Fprintln(c.stdout, wm.Note)
			if wm.Signal != "" {
				fmt.Fprintln(c.stdout, wm.Signal)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "model\tholdout deals\twon\tAUC\tBrier\tlog loss\t")
			for _, m := range wm.Holdout {
				auc := "n/a"
				if m.AUC != nil {
					auc = fmt.Sprintf("%.3f", *m.AUC)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.4f\t%.4f\t\n", m.Label, m.N, m.Won, auc, m.Brier, m.LogLoss)
			}
			tw.Flush()
			for _, m := range wm.Holdout {
				fmt.Fprintf(c.stdout, "\nReliability of %s (predicted vs observed win rate):\n", m.Label)
				for _, r := range m.Reliability {
					if r.Count > 0 {
						fmt.Fprintf(c.stdout, "  %.1f–%.1f  n=%-7d predicted %.3f  observed %.3f\n", r.Lo, r.Hi, r.Count, *r.MeanPredicted, *r.ObservedRate)
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&today, "today", "", "train on deals closed before this day, YYYY-MM-DD (default: today)")
	fl.StringVar(&as, "as", "", "train on what this user (email) may see")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) forecastBacktestCommand() *cobra.Command {
	var o forecast.BacktestOptions
	var grain, as, today string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Replay the stage history: what each method would have forecast for past periods, against the actual",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := crm.ParseGrain(grain)
			if err != nil {
				return crm.Invalid("backtest", "grain", err.Error())
			}
			o.Grain = g
			now, err := dayFlag(today)
			if err != nil {
				return err
			}
			env, err := c.openForecast(cmd, as, now, o.WinProb)
			if err != nil {
				return err
			}
			defer env.s.Close()
			if o.ByTeam {
				if o.Teams, err = forecast.TeamNames(cmd.Context(), env.s); err != nil {
					return err
				}
			}
			bt := env.book.RunBacktest(o)
			if asJSON {
				return writeJSON(c.stdout, bt)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "team\tmethod\tperiod\tas of\tforecast\tactual\terror %\t")
			for _, p := range bt.Points {
				e := ""
				if p.ErrorPct != nil {
					e = fmt.Sprintf("%+.1f", *p.ErrorPct)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Team, p.Method, p.Period, p.AsOf, whole(p.Forecast), whole(p.Actual), e)
			}
			fmt.Fprintln(tw, "\nteam\tmethod\tperiods\tMAPE %\tbias %\t")
			for _, s := range bt.Summary {
				mape, bias := "n/a", "n/a"
				if s.MAPE != nil {
					mape, bias = fmt.Sprintf("%.1f", *s.MAPE), fmt.Sprintf("%+.1f", *s.Bias)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", s.Team, s.Method, s.Periods, mape, bias)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&grain, "grain", "quarter", "period length: month, quarter or year")
	fl.IntVar(&o.Periods, "periods", 4, "replay this many of the latest complete periods")
	fl.IntVar(&o.DaysIn, "days-in", 0, "forecast as of this many days after each period's start")
	fl.BoolVar(&o.ByTeam, "by-team", false, "also per team (the deal owner's team)")
	fl.BoolVar(&o.WinProb, "win-probability", true, "train the win-probability model as of each period")
	fl.StringVar(&today, "today", "", "take this day as today: replay the periods that ended before it, YYYY-MM-DD (default: today)")
	fl.StringVar(&as, "as", "", "replay what this user (email) may see")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c cli) forecastSubmitCommand() *cobra.Command {
	var sub crm.ForecastSubmission
	var as, commit, best, pipeline string
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Submit a forecast call (commit, best case, pipeline) for a period as a rep or manager",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			if as == "" {
				return crm.Invalid("forecast submission", "as", "say who submits: --as EMAIL")
			}
			p, err := principalFor(cmd, s, as)
			if err != nil {
				return err
			}
			pr := crm.NewProblems("forecast submission")
			for _, f := range []struct {
				name, raw string
				into      *decimal.Decimal
			}{{"commit", commit, &sub.Commit}, {"best_case", best, &sub.BestCase}, {"pipeline", pipeline, &sub.Pipeline}} {
				v, err := decimal.NewFromString(f.raw)
				if err != nil {
					pr.Add(f.name, "%q is not an amount", f.raw)
				}
				*f.into = v
			}
			if err := pr.Err(); err != nil {
				return err
			}
			if err := s.SubmitForecast(cmd.Context(), p, &sub); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Submitted version %d of the %s call for user %d.\n", sub.Version, sub.Period, sub.UserID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sub.Period, "period", "", "fiscal period, e.g. FY2026-Q1")
	fl.StringVar(&commit, "commit", "", "commit amount")
	fl.StringVar(&best, "best-case", "", "best-case amount")
	fl.StringVar(&pipeline, "pipeline", "", "pipeline amount")
	fl.StringVar(&sub.Reason, "reason", "", "why (required when a manager overrides the roll-up)")
	fl.StringVar(&as, "as", "", "the submitting user's email")
	return cmd
}

func (c cli) snapshotCommand() *cobra.Command {
	var today string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Record today's open pipeline and every method's forecast for the current and next periods",
		Long: `Record today's open pipeline and every method's forecast for the current and
next month and quarter. serve takes one every day by itself; a second snapshot
on the same day replaces the first. Forecast accuracy is measured from these.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := dayFlag(today)
			if err != nil {
				return err
			}
			s, _, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := forecast.TakeSnapshot(cmd.Context(), s, now)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, res)
			}
			fmt.Fprintf(c.stdout, "Snapshot of %s: %d rows for %s in %s.\n%s\n", res.Day, res.Rows, strings.Join(res.Periods, ", "), res.Elapsed, res.Model)
			return nil
		},
	}
	cmd.Flags().StringVar(&today, "today", "", "take the snapshot as of this day, YYYY-MM-DD (default: today)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/forecast/series"
	"github.com/quarterdeck/quarterdeck/internal/forecast/univar"
	"github.com/spf13/cobra"
)

// forecastSeriesCommand forecasts batches of plain time series (the
// M-competition CSV layout) by a univar method; it needs no database.
func (c cli) forecastSeriesCommand() *cobra.Command {
	var valuesPath, seriesPath, only, method string
	var asJSON, evaluate, timing bool
	var workers int
	cmd := &cobra.Command{
		Use:   "series",
		Short: "Forecast time series from CSV files (ETS, Theta, or their combination)",
		Long: `Fit --method to the train split of every series in --values and forecast each
series' horizon with 80% and 95% prediction intervals. Methods: combo (the
default: the mean of automatic ETS, Theta and the best damped-trend ETS), ets
(automatic exponential smoothing chosen by AICc, as R's forecast::ets does),
theta (as R's forecast::thetaf). --series describes the series
(series,period,type,frequency,horizon,start_year,start_sub,n); --values holds
them in long form (series,split,index,value, split train or test).

Prints CSV series,index,forecast,lo80,hi80,lo95,hi95 (index continues the train
split), or a JSON array with --json. --evaluate scores the forecasts on the test
split (sMAPE and MASE, next to seasonal naive), per series and per period type;
with --json the output is then {"forecasts": [...], "evaluation": {...}}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if valuesPath == "" || seriesPath == "" {
				return fmt.Errorf("forecast series: --values and --series are both required")
			}
			ss, vs, err := series.Load(seriesPath, valuesPath)
			if err != nil {
				return err
			}
			if only != "" {
				periods := strings.Split(only, ",")
				ss = series.Filter(ss, periods)
				if len(ss) == 0 {
					return fmt.Errorf("forecast series: --only %s matches no series", only)
				}
			}
			start := time.Now()
			res, err := series.Run(ss, vs, series.Options{Workers: workers, Method: method})
			if err != nil {
				return err
			}
			if timing {
				// On stderr, so benchmarks can time the fitting alone,
				// without process start-up and CSV parsing.
				fmt.Fprintf(c.stderr, "forecast series: fitted %d series in %.3fs\n", len(ss), time.Since(start).Seconds())
			}
			var ev *series.Evaluation
			if evaluate {
				e, err := series.Evaluate(ss, vs, res)
				if err != nil {
					return err
				}
				ev = &e
			}
			if asJSON {
				return writeForecastJSON(c.stdout, res, ev)
			}
			if err := writeForecastCSV(c.stdout, res); err != nil {
				return err
			}
			if ev != nil {
				return writeEvaluationCSV(c.stdout, ev)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&valuesPath, "values", "", "CSV of values: series,split,index,value")
	fl.StringVar(&seriesPath, "series", "", "CSV of series: series,period,type,frequency,horizon,start_year,start_sub,n")
	fl.StringVar(&only, "only", "", "only these period types, comma-separated (e.g. monthly,quarterly)")
	fl.StringVar(&method, "method", univar.Default, "forecasting method: "+strings.Join(univar.Methods, ", "))
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.BoolVar(&evaluate, "evaluate", false, "score the forecasts against the test split (sMAPE, MASE) next to seasonal naive")
	fl.IntVar(&workers, "workers", 0, "series fitted in parallel (default: GOMAXPROCS)")
	fl.BoolVar(&timing, "timing", false, "print the time spent fitting and forecasting to stderr")
	return cmd
}

// forecastRow is one output line; the interval columns are fixed at the
// default 80% and 95% levels.
type forecastRow struct {
	Series   string  `json:"series"`
	Index    int     `json:"index"`
	Forecast float64 `json:"forecast"`
	Lo80     float64 `json:"lo80"`
	Hi80     float64 `json:"hi80"`
	Lo95     float64 `json:"lo95"`
	Hi95     float64 `json:"hi95"`
	Model    string  `json:"model"`
}

func rows(res []series.Result) []forecastRow {
	out := make([]forecastRow, len(res))
	for i, r := range res {
		out[i] = forecastRow{Series: r.Series, Index: r.Index, Forecast: r.Forecast,
			Lo80: r.Lower[0], Hi80: r.Upper[0], Lo95: r.Lower[1], Hi95: r.Upper[1], Model: r.Model}
	}
	return out
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }

func writeForecastCSV(w io.Writer, res []series.Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"series", "index", "forecast", "lo80", "hi80", "lo95", "hi95"})
	for _, r := range rows(res) {
		_ = cw.Write([]string{r.Series, strconv.Itoa(r.Index), ftoa(r.Forecast), ftoa(r.Lo80), ftoa(r.Hi80), ftoa(r.Lo95), ftoa(r.Hi95)})
	}
	cw.Flush()
	return cw.Error()
}

// writeEvaluationCSV follows the forecasts with two more CSV blocks, each
// after a blank line: scores per series, then means per period type and
// overall ("ALL"), which scripts can pick out by their headers. coverN is
// the share of test values inside the N% prediction interval.
func writeEvaluationCSV(w io.Writer, ev *series.Evaluation) error {
	cw := csv.NewWriter(w)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	fmt.Fprintln(w)
	_ = cw.Write([]string{"series", "period", "model", "smape", "mase", "snaive_smape", "snaive_mase", "cover80", "cover95"})
	for _, s := range ev.Series {
		_ = cw.Write([]string{s.Series, s.Period, s.Model, f(s.SMAPE), f(s.MASE), f(s.NaiveSMAPE), f(s.NaiveMASE), f(s.Coverage[0]), f(s.Coverage[1])})
	}
	cw.Flush()
	fmt.Fprintln(w)
	_ = cw.Write([]string{"period", "series", "smape", "mase", "snaive_smape", "snaive_mase", "cover80", "cover95"})
	for _, s := range append(ev.ByPeriod, ev.Overall) {
		_ = cw.Write([]string{s.Period, strconv.Itoa(s.Series), f(s.SMAPE), f(s.MASE), f(s.NaiveSMAPE), f(s.NaiveMASE), f(s.Coverage[0]), f(s.Coverage[1])})
	}
	cw.Flush()
	return cw.Error()
}

func writeForecastJSON(w io.Writer, res []series.Result, ev *series.Evaluation) error {
	if ev == nil {
		return writeJSON(w, rows(res))
	}
	return writeJSON(w, struct {
		Forecasts  []forecastRow      `json:"forecasts"`
		Evaluation *series.Evaluation `json:"evaluation"`
	}{rows(res), ev})
}

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeSeriesFiles lays out a small M-competition style data set: a
// seasonal monthly series and a trending yearly one.
func writeSeriesFiles(t *testing.T) (seriesPath, valuesPath string) {
	t.Helper()
	dir := t.TempDir()
	seriesPath = filepath.Join(dir, "series.csv")
	valuesPath = filepath.Join(dir, "values.csv")
	meta := "series,period,type,frequency,horizon,start_year,start_sub,n\n" +
		"M1,MONTHLY,MICRO,12,3,1980,1,36\n" +
		"Y1,YEARLY,MACRO,1,2,1970,1,12\n"
	var b strings.Builder
	b.WriteString("series,split,index,value\n")
	for i := 1; i <= 39; i++ {
		split := "train"
		if i > 36 {
			split = "test"
		}
		v := 100 + 20*math.Sin(float64(i)*math.Pi/6) + float64(i)
		b.WriteString("M1," + split + "," + strconv.Itoa(i) + "," + strconv.FormatFloat(v, 'f', 3, 64) + "\n")
	}
	for i := 1; i <= 14; i++ {
		split := "train"
		if i > 12 {
			split = "test"
		}
		b.WriteString("Y1," + split + "," + strconv.Itoa(i) + "," + strconv.Itoa(50+5*i) + "\n")
	}
	if err := os.WriteFile(seriesPath, []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(valuesPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return seriesPath, valuesPath
}

// runForecastSeries runs the command on its own, as main.go builds commands,
// without needing it registered under the root.
func runForecastSeries(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	c := cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	cmd := c.forecastSeriesCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func TestForecastSeriesCSV(t *testing.T) {
	sp, vp := writeSeriesFiles(t)
	out, _, err := runForecastSeries("--series", sp, "--values", vp, "--method", "ets")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "series,index,forecast,lo80,hi80,lo95,hi95" || len(lines) != 6 {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.HasPrefix(lines[1], "M1,37,") || !strings.HasPrefix(lines[4], "Y1,13,") {
		t.Errorf("rows should continue the train index:\n%s", out)
	}
	f := strings.Split(lines[4], ",")
	fc, _ := strconv.ParseFloat(f[2], 64)
	if math.Abs(fc-115) > 1 {
		t.Errorf("Y1 is a straight line to 110; ETS's forecast for 13 = %v, want about 115", fc)
	}
	if _, _, err := runForecastSeries("--series", sp, "--values", vp, "--method", "arima"); err == nil || !strings.Contains(err.Error(), `"arima" is not a forecasting method`) {
		t.Errorf("--method arima: %v", err)
	}
}

func TestForecastSeriesEvaluateJSON(t *testing.T) {
	sp, vp := writeSeriesFiles(t)
	out, _, err := runForecastSeries("--series", sp, "--values", vp, "--evaluate", "--json", "--only", "yearly")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Forecasts []struct {
			Series string  `json:"series"`
			Index  int     `json:"index"`
			Lo95   float64 `json:"lo95"`
			Hi95   float64 `json:"hi95"`
			Model  string  `json:"model"`
		} `json:"forecasts"`
		Evaluation struct {
			Overall struct {
				Series     int     `json:"series"`
				SMAPE      float64 `json:"smape"`
				NaiveSMAPE float64 `json:"snaive_smape"`
			} `json:"overall"`
		} `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Forecasts) != 2 || got.Forecasts[0].Series != "Y1" || !strings.HasPrefix(got.Forecasts[0].Model, "mean of ETS(") {
		t.Fatalf("forecasts: %+v", got.Forecasts)
	}
	if o := got.Evaluation.Overall; o.Series != 1 || o.SMAPE >= o.NaiveSMAPE {
		t.Errorf("evaluation: %+v", o)
	}
}

func TestForecastSeriesEvaluateCSV(t *testing.T) {
	sp, vp := writeSeriesFiles(t)
	out, errOut, err := runForecastSeries("--series", sp, "--values", vp, "--evaluate", "--timing")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(errOut, "forecast series: fitted 2 series in ") {
		t.Errorf("--timing printed %q", errOut)
	}
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(blocks) != 3 {
		t.Fatalf("want forecasts, per-series scores and summary blocks:\n%s", out)
	}
	if !strings.HasPrefix(blocks[1], "series,period,model,smape,mase,snaive_smape,snaive_mase,cover80,cover95\n") ||
		!strings.HasPrefix(blocks[2], "period,series,smape,mase,snaive_smape,snaive_mase,cover80,cover95\nYEARLY,1,") ||
		!strings.Contains(blocks[2], "\nALL,2,") {
		t.Errorf("output:\n%s", out)
	}
}

func TestForecastSeriesErrors(t *testing.T) {
	sp, vp := writeSeriesFiles(t)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("series,split,index,value\nM1,train,1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--series", sp}, "--values and --series are both required"},
		{[]string{"--series", sp, "--values", bad}, "bad.csv:2: value: x: not a finite number"},
		{[]string{"--series", sp, "--values", vp, "--only", "weekly"}, "matches no series"},
		{[]string{"--series", sp, "--values", filepath.Join(t.TempDir(), "missing.csv")}, "no such file"},
	} {
		_, _, err := runForecastSeries(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

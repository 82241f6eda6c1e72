package series

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
)

const seriesCSV = "series,period,type,frequency,horizon,start_year,start_sub,n\n" +
	"A,MONTHLY,MICRO,12,3,1980,1,30\n" +
	"B,YEARLY,MACRO,1,2,1970,1,12\n"

func valuesCSV(rows ...string) string {
	return "series,split,index,value\n" + strings.Join(rows, "\n") + "\n"
}

func TestReadSeries(t *testing.T) {
	// A BOM, CRLF line ends and reordered columns are all fine.
	in := "\ufeffperiod,series,type,frequency,horizon,start_year,start_sub,n\r\nQUARTERLY,Q1,MICRO,4,8,1980,2,20\r\n"
	ss, err := ReadSeries(strings.NewReader(in), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].Name != "Q1" || ss[0].Frequency != 4 || ss[0].Horizon != 8 || ss[0].StartSub != 2 {
		t.Fatalf("got %+v", ss)
	}
}

func TestReadErrors(t *testing.T) {
	series, err := ReadSeries(strings.NewReader(seriesCSV), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, in, want string
	}{
		{"missing column", "s", "series,period,type,frequency,horizon,start_year,n\nA,M,X,1,1,1,1\n", "s.csv:1: header: series,period,type,frequency,horizon,start_year,n: missing column start_sub"},
		{"frequency zero", "s", "series,period,type,frequency,horizon,start_year,start_sub,n\nA,MONTHLY,X,0,3,1980,1,3\n", "s.csv:2: frequency: 0: must be at least 1"},
		{"frequency text", "s", "series,period,type,frequency,horizon,start_year,start_sub,n\nA,MONTHLY,X,twelve,3,1980,1,3\n", "s.csv:2: frequency: twelve: not an integer"},
		{"duplicate series", "s", seriesCSV + "A,MONTHLY,MICRO,12,3,1980,1,30\n", "s.csv:4: series: A: duplicate series"},
		{"empty file", "s", "", "s.csv:1: header: : file is empty"},
		{"short row", "s", "series,period,type,frequency,horizon,start_year,start_sub,n\nA,MONTHLY\n", "s.csv:2: row: A,MONTHLY: has 2 fields"},
		{"unknown series", "v", valuesCSV("A,train,1,5", "Z,train,1,3"), "v.csv:3: series: Z: not in the series file"},
		{"non-numeric value", "v", valuesCSV("A,train,1,5", "A,train,2,abc"), "v.csv:3: value: abc: not a finite number"},
		{"NaN value", "v", valuesCSV("A,train,1,NaN"), "v.csv:2: value: NaN: not a finite number"},
		{"duplicate index", "v", valuesCSV("A,train,1,5", "A,train,1,6"), "v.csv:3: index: 1: duplicate index for A train"},
		{"bad split", "v", valuesCSV("A,valid,1,5"), "v.csv:2: split: valid: must be train or test"},
		{"gap", "v", valuesCSV("A,train,1,5", "A,train,3,6"), "v.csv: index: 2: missing from the train split of A"},
		{"test not continuing", "v", valuesCSV("A,train,1,5", "A,train,2,6", "A,test,1,7"), "v.csv: index: 3: missing from the test split of A"},
		{"missing value column", "v", "series,split,index\nA,train,1\n", "v.csv:1: header: series,split,index: missing column value"},
		{"bad quoting", "v", "series,split,index,value\nA,train,1,\"5\n", "v.csv:2: csv:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.file == "s" {
				_, err = ReadSeries(strings.NewReader(tc.in), "s.csv")
			} else {
				_, err = ReadValues(strings.NewReader(tc.in), "v.csv", series)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %q...", err, tc.want)
			}
		})
	}
}

func TestReadValues(t *testing.T) {
	series, _ := ReadSeries(strings.NewReader(seriesCSV), "s.csv")
	// Rows out of order, CRLF: sorted by index, test continues train.
	in := strings.ReplaceAll(valuesCSV("A,test,4,40", "A,train,2,20", "A,train,1,10", "A,train,3,30"), "\n", "\r\n")
	vs, err := ReadValues(strings.NewReader(in), "v.csv", series)
	if err != nil {
		t.Fatal(err)
	}
	a := vs["A"]
	if a == nil || a.TrainStart != 1 || len(a.Train) != 3 || a.Train[2] != 30 || len(a.Test) != 1 || a.Test[0] != 40 {
		t.Fatalf("got %+v", a)
	}
	if vs["B"] != nil {
		t.Errorf("B has no values but got %+v", vs["B"])
	}
}

func TestMetrics(t *testing.T) {
	if got := SMAPE([]float64{100, 0}, []float64{50, 0}); math.Abs(got-200.0*50/150/2) > 1e-12 {
		t.Errorf("SMAPE = %v", got)
	}
	// Lag-2 seasonal differences of 1,2,3,4 are all 2.
	if got := MASE([]float64{1, 2, 3, 4}, []float64{10}, []float64{6}, 2); got != 2 {
		t.Errorf("MASE = %v, want 2", got)
	}
	// Too short for lag 4: falls back to lag 1 (differences of 1).
	if got := MASE([]float64{1, 2, 3, 4}, []float64{10}, []float64{6}, 4); got != 4 {
		t.Errorf("MASE = %v, want 4", got)
	}
	if got := MASE([]float64{5, 5, 5}, []float64{1}, []float64{2}, 1); !math.IsNaN(got) {
		t.Errorf("MASE with zero scale = %v, want NaN", got)
	}
}

func TestRunEvaluate(t *testing.T) {
	series, _ := ReadSeries(strings.NewReader(seriesCSV), "s.csv")
	var rows []string
	for i := 1; i <= 33; i++ {
		split := "train"
		if i > 30 {
			split = "test"
		}
		v := 100 + 10*math.Sin(float64(i)*math.Pi/6) + float64(i)
		rows = append(rows, strings.Join([]string{"A", split, itoa(i), ftoa(v)}, ","))
	}
	for i := 1; i <= 14; i++ {
		split := "train"
		if i > 12 {
			split = "test"
		}
		rows = append(rows, strings.Join([]string{"B", split, itoa(i), ftoa(float64(10 * i))}, ","))
	}
	vs, err := ReadValues(strings.NewReader(valuesCSV(rows...)), "v.csv", series)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(series, vs, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[0].Series != "A" || res[0].Index != 31 || res[3].Series != "B" || res[3].Index != 13 {
		t.Fatalf("got %+v", res)
	}
	for _, r := range res {
		if !(r.Lower[1] <= r.Lower[0] && r.Lower[0] <= r.Forecast && r.Forecast <= r.Upper[0] && r.Upper[0] <= r.Upper[1]) {
			t.Errorf("%s %d: intervals not nested: %+v", r.Series, r.Index, r)
		}
	}
	ev, err := Evaluate(series, vs, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Series) != 2 || len(ev.ByPeriod) != 2 || ev.ByPeriod[0].Period != "YEARLY" || ev.Overall.Series != 2 {
		t.Fatalf("got %+v", ev)
	}
	// A straight line: the combination (whose Theta member carries half
	// the slope) is far better than naive, and ETS alone, a trend model,
	// forecasts it almost exactly.
	if b := ev.Series[1]; b.SMAPE > b.NaiveSMAPE/4 {
		t.Errorf("B: combination sMAPE %.3f, naive %.3f", b.SMAPE, b.NaiveSMAPE)
	}
	res, err = Run(series, vs, Options{Method: "ets"})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = Evaluate(series, vs, res); err != nil || ev.Series[1].SMAPE > 1 || res[3].Model != "ETS(A,A,N)" {
		t.Errorf("B with ETS: sMAPE %.3f (%v), model %s", ev.Series[1].SMAPE, err, res[3].Model)
	}
	if _, err := Run(series, vs, Options{Method: "arima"}); err == nil || !strings.Contains(err.Error(), `"arima" is not a forecasting method (known: combo, ets, theta)`) {
		t.Errorf("an unknown method: %v", err)
	}
}

func itoa(i int) string     { return strconv.Itoa(i) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func FuzzReaders(f *testing.F) {
	f.Add([]byte(seriesCSV), []byte(valuesCSV("A,train,1,5", "A,test,2,6")))
	f.Add([]byte("\ufeffseries,period,type,frequency,horizon,start_year,start_sub,n\r\nA,M,X,1,1,1,1,1\r\n"), []byte("series,split,index,value\r\nA,train,-1,1e308\r\n"))
	f.Add([]byte("series\n\"a"), []byte(",,,,\n"))
	f.Fuzz(func(t *testing.T, s, v []byte) {
		ss, err := ReadSeries(bytes.NewReader(s), "s.csv")
		if err != nil {
			if ss != nil {
				t.Fatal("series returned with an error")
			}
			ss, _ = ReadSeries(strings.NewReader(seriesCSV), "s.csv")
		}
		vs, err := ReadValues(bytes.NewReader(v), "v.csv", ss)
		if err != nil && vs != nil {
			t.Fatal("values returned with an error")
		}
	})
}

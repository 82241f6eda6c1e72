package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/metrics"
)

// The text output of quarterdeck kpi has the forecast accuracy, as --json does.
func TestPrintKPIsForecastAccuracy(t *testing.T) {
	tests := []struct {
		name     string
		accuracy *metrics.ForecastAccuracy
		want     string
	}{
		{"over-forecast", &metrics.ForecastAccuracy{Method: "history_weighted", SnapshotDay: crm.NewDate(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)),
			Forecast: 100000, Actual: 90000, ErrorPct: -11.11, AbsErrorPct: 11.11},
			"Forecast accuracy  -11.1% error, 11.1% absolute (history_weighted forecast of 2025-07-01: USD 100000.00; won: USD 90000.00)"},
		{"under-forecast", &metrics.ForecastAccuracy{Method: "history_weighted", SnapshotDay: crm.NewDate(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
			Forecast: 80000.5, Actual: 100000, ErrorPct: 19.99, AbsErrorPct: 19.99},
			"Forecast accuracy  +20.0% error, 20.0% absolute (history_weighted forecast of 2025-01-01: USD 80000.50; won: USD 100000.00)"},
		{"not applicable", nil, "Forecast accuracy  –"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printKPIs(&b, metrics.KPIs{Period: "FY2025-Q3", Currency: "USD", ForecastAccuracy: tt.accuracy})
			var line string
			for l := range strings.Lines(b.String()) {
				if strings.HasPrefix(l, "Forecast accuracy") {
					line = strings.TrimRight(l, "\n")
				}
			}
			// The tab writer pads the name column; compare with single spacing.
			if got := strings.Join(strings.Fields(line), " "); got != strings.Join(strings.Fields(tt.want), " ") {
				t.Errorf("got %q, want %q\n%s", line, tt.want, b.String())
			}
		})
	}
}

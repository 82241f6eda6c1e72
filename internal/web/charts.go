package web

import (
	"encoding/json"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/export"
)

// Charts are drawn in the browser by Apache ECharts (vendored in
// static/vendor, see scripts/vendor-echarts.sh) from a spec the server writes
// into a data attribute; static/charts.js turns the spec into ECharts options
// with the rules every chart follows: bars from zero, the unit on the value
// axis, category labels that never collide, the period still running drawn
// lighter and labelled "to date", tooltips and legends. Every chart has a
// table twin (the same numbers, exportable) and says "No data for this
// filter" instead of drawing an empty axis.

// chartSeries is one named row of values; nil is no value.
type chartSeries struct {
	Name   string     `json:"name"`
	Values []*float64 `json:"values"`
	// Labels, when set, are written on the bars (e.g. "327 · 94.2%"), so a
	// chart and its table never round differently.
	Labels []string `json:"labels,omitempty"`
}

// chart is one chart of a page.
type chart struct {
	ID    string `json:"-"`
	Title string `json:"-"`
	Note  string `json:"-"`
	// Kind is "bar" (vertical bars), "hbar" (horizontal bars, categories top
	// to bottom) or "line".
	Kind       string        `json:"kind"`
	Unit       string        `json:"unit"` // "USD", "deals", "reps": shown on the value axis
	Money      bool          `json:"money"`
	Categories []string      `json:"categories"`
	Series     []chartSeries `json:"series"`
	// Partial is the index of the category still running ("to date"), or -1.
	Partial int `json:"partial"`
	// Line, when set, is a level drawn across the chart (a quota), named by LineLabel.
	Line      *float64 `json:"line,omitempty"`
	LineLabel string   `json:"line_label,omitempty"`
	// Table is the chart's twin.
	Table export.Table `json:"-"`
}

// Empty reports whether the chart has nothing to draw.
func (c chart) Empty() bool {
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != nil && *v != 0 {
				return false
			}
		}
	}
	return true
}

// Spec is the JSON charts.js draws.
func (c chart) Spec() (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// chartView is a chart with its table twin shown as the request asks.
type chartView struct {
	chart
	Table tableView
}

// addCharts registers the charts' twins as tables of the page (so they are
// exported like any other) and returns the charts ready to render.
func addCharts(r *http.Request, ts *tables, cs []chart) []chartView {
	out := make([]chartView, len(cs))
	for i, c := range cs {
		c.Table.ID, c.Table.Title = c.ID, c.Title
		opt := tableOpts{PageSize: 50}
		*ts = append(*ts, pageTable{Table: c.Table, opt: opt, twin: true})
		out[i] = chartView{chart: c, Table: newTableView(r, c.Table, opt)}
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// values turns floats into chart values.
func values(vs []float64) []*float64 {
	out := make([]*float64, len(vs))
	for i := range vs {
		out[i] = ptr(vs[i])
	}
	return out
}

package web

import (
	"encoding/base64"
	"fmt"
	"html/template"

	"github.com/go-analyze/charts"
)

// Charts are SVG rendered on the server by go-analyze/charts and embedded as
// data: URIs in <img> tags: the page needs no script, and the SVG's inline
// styles stay outside the page's strict Content-Security-Policy.

// series is one named row of values.
type series struct {
	Name   string
	Values []float64
}

// chart is a rendered chart ready for an <img src>.
type chart struct {
	Title string
	Src   template.URL
	Alt   string
}

const chartWidth, chartHeight = 720, 320

func svgData(p *charts.Painter) (template.URL, error) {
	b, err := p.Bytes()
	if err != nil {
		return "", fmt.Errorf("render chart: %w", err)
	}
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b)), nil
}

func newPainter() *charts.Painter {
	return charts.NewPainter(charts.PainterOptions{Width: chartWidth, Height: chartHeight, OutputFormat: charts.ChartOutputSVG})
}

func seriesData(ss []series) ([][]float64, []string) {
	data := make([][]float64, len(ss))
	names := make([]string, len(ss))
	for i, s := range ss {
		data[i], names[i] = s.Values, s.Name
	}
	return data, names
}

// barChart draws vertical bars per label, one bar per series.
func barChart(title string, labels []string, ss []series) (chart, error) {
	if len(labels) == 0 {
		return chart{Title: title, Alt: title + ": no data"}, nil
	}
	data, names := seriesData(ss)
	opt := charts.NewBarChartOptionWithData(data)
	opt.CategoryAxis.Labels = labels
	// Bars start at zero: a cut axis makes a 45k bar look like nothing next to 62k.
	for i := range opt.ValueAxis {
		opt.ValueAxis[i].Min = charts.Ptr(0.0)
	}
	if len(opt.ValueAxis) == 0 {
		opt.ValueAxis = []charts.ValueAxisOption{{Min: charts.Ptr(0.0)}}
	}
	if len(ss) > 1 {
		opt.Legend = charts.LegendOption{SeriesNames: names}
	}
	p := newPainter()
	if err := p.BarChart(opt); err != nil {
		return chart{}, fmt.Errorf("%s: %w", title, err)
	}
	src, err := svgData(p)
	return chart{Title: title, Src: src, Alt: title}, err
}

// lineChart draws one line per series over the labels.
func lineChart(title string, labels []string, ss []series) (chart, error) {
	if len(labels) == 0 {
		return chart{Title: title, Alt: title + ": no data"}, nil
	}
	data, names := seriesData(ss)
	opt := charts.NewLineChartOptionWithData(data)
	opt.XAxis.Labels = labels
	if len(ss) > 1 {
		opt.Legend = charts.LegendOption{SeriesNames: names}
	}
	p := newPainter()
	if err := p.LineChart(opt); err != nil {
		return chart{}, fmt.Errorf("%s: %w", title, err)
	}
	src, err := svgData(p)
	return chart{Title: title, Src: src, Alt: title}, err
}

// funnelChart draws the share of deals reaching each stage.
func funnelChart(title string, stages []string, counts []float64) (chart, error) {
	if len(stages) == 0 {
		return chart{Title: title, Alt: title + ": no data"}, nil
	}
	opt := charts.NewFunnelChartOptionWithData(counts)
	opt.Legend = charts.LegendOption{SeriesNames: stages}
	p := newPainter()
	if err := p.FunnelChart(opt); err != nil {
		return chart{}, fmt.Errorf("%s: %w", title, err)
	}
	src, err := svgData(p)
	return chart{Title: title, Src: src, Alt: title}, err
}

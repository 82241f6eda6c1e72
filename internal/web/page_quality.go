package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/quality"
)

// qualityReport reads ?stale_days= and runs the data-quality checks as the user sees them.
func (srv *Server) qualityReport(r *http.Request) (quality.Report, error) {
	opt := quality.Options{Now: time.Now().UTC()}
	for k := range r.URL.Query() {
		if k != "stale_days" && !tableParam(k) {
			return quality.Report{}, crm.Invalid("query", k, "unknown parameter (known: stale_days)")
		}
	}
	if v := r.URL.Query().Get("stale_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return quality.Report{}, crm.Invalid("query", "stale_days", "must be a whole number of days, at least 1")
		}
		opt.StaleDays = n
	}
	return quality.Run(r.Context(), srv.store, authOf(r).principal(), opt)
}

func (srv *Server) handleQualityAPI(w http.ResponseWriter, r *http.Request) {
	rep, err := srv.qualityReport(r)
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// qualitySection is one failed check with its example records.
type qualitySection struct {
	ID, Title string
	Count     int64
	Shown     int
}

func (srv *Server) handleQuality(w http.ResponseWriter, r *http.Request) {
	rep, err := srv.qualityReport(r)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	tones := map[quality.Severity]string{quality.SeverityError: "bad", quality.SeverityWarning: "warn"}
	findings := export.Table{ID: "findings", Title: "Checks", Columns: []export.Column{
		{Key: "result", Label: "Result"}, {Key: "count", Label: "Records", Kind: export.Count},
		{Key: "check", Label: "Check"}, {Key: "fix", Label: "How to fix"}}}
	var examples []export.Table
	var sections []qualitySection
	passed := 0
	for _, f := range rep.Findings {
		result := export.TextCell(string(f.Severity))
		result.Tone = tones[f.Severity]
		if f.Passed {
			result = export.TextCell("passed")
			result.Tone = "good"
			passed++
		}
		findings.Rows = append(findings.Rows, []export.Cell{result, export.CountCell(f.Count), export.TextCell(f.Title), export.TextCell(f.Fix)})
		if len(f.Examples) == 0 {
			continue
		}
		ex := export.Table{ID: f.Check, Title: f.Title, Columns: []export.Column{{Key: "record", Label: "Record"},
			{Key: "external_id", Label: "External id"}, {Key: "name", Label: "Name"}, {Key: "detail", Label: "What is wrong"}}}
		for _, e := range f.Examples {
			ex.Rows = append(ex.Rows, []export.Cell{export.TextCell(fmt.Sprintf("%s %d", e.Entity, e.ID)), export.TextCell(e.ExternalID),
				export.TextCell(e.Label), export.TextCell(e.Detail)})
		}
		examples = append(examples, ex)
		sections = append(sections, qualitySection{ID: f.Check, Title: f.Title, Count: f.Count, Shown: len(f.Examples)})
	}
	var ts tables
	ts.add(findings, tableOpts{PageSize: 50})
	for _, ex := range examples {
		ts.add(ex, tableOpts{})
	}
	if srv.serveExport(w, r, "quality", ts) {
		return
	}
	srv.render(w, r, http.StatusOK, "quality", map[string]any{"R": rep, "T": ts.views(r), "Sections": sections, "Passed": passed,
		"Errors": rep.Totals[quality.SeverityError], "Warnings": rep.Totals[quality.SeverityWarning], "Infos": rep.Totals[quality.SeverityInfo]})
}

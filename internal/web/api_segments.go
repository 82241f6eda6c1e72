package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/quarterdeck/quarterdeck/internal/leads"
)

// ICP segments:
//   GET    /api/leads/segments       each segment with its leads, conversion and average score
//   POST   /api/leads/segments       save one: the YAML as the body, or {"file": ..., "source": ...}
//   DELETE /api/leads/segments/{id}  delete one
//   GET    /leads/segments           the page; POST saves from its editor

func (srv *Server) segmentRoutes() {
	m := srv.mux
	m.HandleFunc("GET /api/leads/segments", srv.requireAPI(srv.handleSegmentsAPI))
	m.HandleFunc("POST /api/leads/segments", srv.requireAPI(srv.handleSaveSegmentAPI))
	m.HandleFunc("DELETE /api/leads/segments/{id}", srv.requireAPI(srv.handleDeleteSegmentAPI))
	m.HandleFunc("POST /api/leads/segments/{name}/members", srv.requireAPI(srv.handleSegmentMembersAPI))
	m.HandleFunc("GET /leads/segments", srv.requirePage(srv.handleSegmentsPage))
	m.HandleFunc("POST /leads/segments", srv.requirePage(srv.handleSaveSegmentPage))
}

func (srv *Server) handleSegmentsAPI(w http.ResponseWriter, r *http.Request) {
	stats, err := leads.Segments(r.Context(), srv.store, authOf(r).principal())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": stats})
}

// definitionBody reads a YAML definition from a request: the body itself,
// or a JSON object {"file": ..., "source": ...}.
func definitionBody(w http.ResponseWriter, r *http.Request, defaultFile string) (string, []byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return "", nil, err
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return defaultFile, body, nil
	}
	var in struct {
		File   string `json:"file"`
		Source string `json:"source"`
	}
	if err := decodeInto(body, &in); err != nil {
		return "", nil, err
	}
	if in.File == "" {
		in.File = defaultFile
	}
	return in.File, []byte(in.Source), nil
}

func (srv *Server) handleSaveSegmentAPI(w http.ResponseWriter, r *http.Request) {
	file, src, err := definitionBody(w, r, "api.yaml")
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	sg, err := leads.SaveSegment(r.Context(), srv.store, authOf(r).principal(), file, src, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sg)
}

func (srv *Server) handleDeleteSegmentAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = leads.DeleteSegment(r.Context(), srv.store, authOf(r).principal(), id)
	}
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (srv *Server) handleSegmentsPage(w http.ResponseWriter, r *http.Request) {
	srv.renderSegments(w, r, http.StatusOK, nil)
}

func (srv *Server) renderSegments(w http.ResponseWriter, r *http.Request, status int, form *modelForm) {
	p := authOf(r).principal()
	stats, err := leads.Segments(r.Context(), srv.store, p)
	if err != nil {
		srv.pageError(w, r, err)
		return
	}
	t := export.Table{ID: "segments", Title: "ICP segments", Columns: []export.Column{
		{Key: "segment", Label: "Segment"}, {Key: "description", Label: "Who"}, {Key: "leads", Label: "Leads", Kind: export.Count},
		{Key: "converted", Label: "Converted", Kind: export.Count}, {Key: "disqualified", Label: "Disqualified", Kind: export.Count},
		{Key: "conversion", Label: "Conversion", Kind: export.Percent}, {Key: "avg_score", Label: "Average score", Kind: export.Number}}}
	c := chart{ID: "conversion", Title: "Conversion by segment", Kind: "hbar", Unit: "%", Partial: -1,
		Note: "Converted ÷ (converted + disqualified) among the segment's leads you may see."}
	conv := chartSeries{Name: "Conversion"}
	model := ""
	for _, st := range stats {
		name := export.TextCell(st.Name)
		name.Link = "/leads?segment=" + url.QueryEscape(st.Name)
		avg := export.Cell{Display: "–"}
		if st.AvgScore != nil {
			avg = pointsCell(*st.AvgScore)
			model = st.Model
		}
		t.Rows = append(t.Rows, []export.Cell{name, export.TextCell(st.Doc.Description), export.CountCell(st.Leads), export.CountCell(st.Converted),
			export.CountCell(st.Disqualified), pctCell(st.Conversion), avg})
		c.Categories = append(c.Categories, st.Name)
		var v *float64
		if st.Conversion != nil {
			v = ptr(100 * *st.Conversion)
		}
		conv.Values = append(conv.Values, v)
		conv.Labels = append(conv.Labels, pctString(st.Conversion)+" of "+export.CountCell(st.Converted+st.Disqualified).Display)
	}
	c.Series, c.Table = []chartSeries{conv}, t
	var ts tables
	ts.add(t, tableOpts{PageSize: 50})
	charts := addCharts(r, &ts, []chart{c})
	if srv.serveExport(w, r, "segments", ts) {
		return
	}
	if form == nil {
		form = &modelForm{Source: "name: My segment\ndescription: Who is in it.\nmatch:\n  - field: industry\n    in: [Technology]\n  - field: employees\n    between: [200, 2000]\n"}
	}
	srv.render(w, r, status, "segments", map[string]any{"T": ts.views(r), "Charts": charts, "Segments": stats, "Model": model,
		"Form": form, "MayEdit": p.Role.SeesAll()})
}

func (srv *Server) handleSaveSegmentPage(w http.ResponseWriter, r *http.Request) {
	form := &modelForm{Source: r.PostFormValue("source")}
	_, err := leads.SaveSegment(r.Context(), srv.store, authOf(r).principal(), "editor.yaml", []byte(form.Source), time.Now().UTC())
	if err == nil {
		http.Redirect(w, r, "/leads/segments", http.StatusSeeOther)
		return
	}
	if form.refused(err, "The segment was not saved: fix these lines:") {
		srv.renderSegments(w, r, http.StatusBadRequest, form)
		return
	}
	srv.pageError(w, r, err)
}

// handleSegmentMembersAPI adds and removes leads of a manual segment:
// {"add": [ids], "remove": [ids]}.
func (srv *Server) handleSegmentMembersAPI(w http.ResponseWriter, r *http.Request) {
	var m leads.Membership
	if err := decodeBody(w, r, &m); err != nil {
		srv.writeError(w, r, err)
		return
	}
	n, err := leads.ChangeMembers(r.Context(), srv.store, authOf(r).principal(), r.PathValue("name"), m, time.Now().UTC())
	if err != nil {
		srv.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"moved": n})
}

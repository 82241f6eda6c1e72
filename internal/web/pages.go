package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// views declares each page and the partials it uses; start-up fails if one is missing.
// Every view gets the layout and the shared components (components.html:
// tables, charts, tiles and form fields).
var views = map[string][]string{
	"login":      {"login.html"},
	"home":       {"home.html"},
	"dashboard":  {"filters.html", "dashboard.html"},
	"performers": {"filters.html", "performers.html"},
	"error":      {"error.html"},
	"quality":    {"quality.html"},
	"audit":      {"audit.html"},
	"account":    {"account.html"},

	"forecast":          {"filters.html", "forecast.html"},
	"forecast_accuracy": {"filters.html", "forecast_accuracy.html"},
	"forecast_deals":    {"forecast_deals.html"},

	"leads":          {"leads.html"},
	"lead":           {"lead.html"},
	"scoring_models": {"scoring_models.html"},
	"segments":       {"segments.html"},
	"routing":        {"routing.html"},
	"notifications":  {"notifications.html"},
	"predictive":     {"predictive.html"},

	"automation":          {"automation.html"},
	"automation_workflow": {"automation_workflow.html"},
	"automation_run":      {"automation_run.html"},
	"automation_edit":     {"automation_edit.html"},
}

var sharedTemplates = []string{"layout.html", "components.html"}

// pages holds the parsed views and the fingerprinted static file names.
type pages struct {
	views  map[string]*template.Template
	assets map[string]string // "app.css" → "/static/app.3f2a9c1b.css"
	files  map[string][]byte // fingerprinted path → content
	gzip   map[string][]byte // fingerprinted path → gzip of the content, where it pays
}

func loadPages() (*pages, error) {
	p := &pages{views: map[string]*template.Template{}, assets: map[string]string{}, files: map[string][]byte{}, gzip: map[string][]byte{}}
	err := fs.WalkDir(staticFiles, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(path, "static/")
		dot := strings.LastIndex(name, ".")
		url := "/static/" + name[:dot] + "." + hex.EncodeToString(sum[:4]) + name[dot:]
		p.assets[name] = url
		p.files[url] = b
		if len(b) > 1024 {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(b)
			zw.Close()
			p.gzip[url] = z.Bytes()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if u, ok := p.assets[name]; ok {
				return u, nil
			}
			return "", fmt.Errorf("no static file %q", name)
		},
		"pct": pctString,
		"q":   filterQuery,
		// periodPicker is the period select's data: the years to offer,
		// the selected period ("" = all time) and whether to offer all time.
		"periodPicker": func(years []periodYear, selected string, all bool) map[string]any {
			return map[string]any{"Years": years, "Selected": selected, "All": all}
		},
		"positive": func(v *float64) bool { return v != nil && *v >= 0 },
		"deref":    func(v *float64) float64 { return *v },
		"statuses": func() []string {
			out := make([]string, len(crm.LeadStatuses))
			for i, st := range crm.LeadStatuses {
				out[i] = string(st)
			}
			return out
		},
	}
	for name, files := range views {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, prefixAll("templates/", append(slices.Clone(sharedTemplates), files...))...)
		if err != nil {
			return nil, fmt.Errorf("view %s: %w", name, err)
		}
		for _, needed := range []string{"layout", "content", "title"} {
			if t.Lookup(needed) == nil {
				return nil, fmt.Errorf("view %s: template %q is not defined", name, needed)
			}
		}
		p.views[name] = t
	}
	return p, nil
}

func prefixAll(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// render writes a whole page, or a 500 if the template fails before anything is sent.
func (srv *Server) render(w http.ResponseWriter, r *http.Request, status int, view string, data map[string]any) {
	t, ok := srv.pages.views[view]
	if !ok {
		srv.log.Error("undeclared view", "view", view)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if a := authOf(r); a != nil {
		data["User"] = a.user
		if a.session != nil {
			data["CSRF"] = a.session.CSRFToken
			data["Nav"], data["Crumbs"] = shell(r, a.user.Role)
		}
	}
	data["RequestID"] = requestID(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		srv.log.Error("render", "view", view, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (srv *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	b, ok := srv.pages.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(r.URL.Path, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(r.URL.Path, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("Vary", "Accept-Encoding")
	if z, ok := srv.pages.gzip[r.URL.Path]; ok && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		b = z
	}
	w.Write(b)
}

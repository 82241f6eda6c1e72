package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
	"github.com/xuri/excelize/v2"
)

// pageEnv serves the test organisation and opens pages with a session
// cookie per user, as a browser would.
type pageEnv struct {
	t       *testing.T
	org     *storetest.Org
	url     string
	cookies map[string]string
}

func newPageEnv(t *testing.T, s *store.Store) *pageEnv {
	t.Helper()
	o := storetest.NewOrg(t, s)
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e := &pageEnv{t: t, org: o, url: ts.URL, cookies: map[string]string{}}
	for name, u := range map[string]crm.User{"admin": o.Admin, "viewer": o.Viewer, "vp": o.VP, "mgrA": o.MgrA, "mgrB": o.MgrB,
		"repA1": o.RepA1, "repA2": o.RepA2, "repB": o.RepB} {
		sess, err := s.NewSession(context.Background(), u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.cookies[name] = sess.Token
	}
	return e
}

// get opens path as who and returns the status, the content type and the body.
func (e *pageEnv) get(who, path string) (int, string, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "qd_session", Value: e.cookies[who]})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestPageScopesAndErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		o := e.org
		id := func(n int64) string { return itoa(n) }
		cases := []struct {
			name, who, path string
			status          int
			has, hasNot     []string
		}{
			{"unknown page is a styled 404", "repA1", "/nope", 404, []string{"Not found", `id="request-id"`, "Quarterdeck"}, nil},
			{"unknown page for anonymous too", "", "/nope/deeper", 404, []string{"Not found", "Log in"}, nil},
			{"a team that does not exist", "mgrA", "/dashboard?team_id=999999", 404, []string{"Not found"}, []string{"internal error"}},
			{"a team outside the manager's scope", "mgrA", "/dashboard?team_id=" + id(o.TeamB.ID), 404, []string{"Not found"}, nil},
			{"the manager's own team", "mgrA", "/dashboard?period=all&team_id=" + id(o.TeamA.ID), 200, []string{o.RepA1.Name}, []string{o.RepB.Name}},
			{"a teammate's figures for a rep", "repA1", "/dashboard?rep_id=" + id(o.RepA2.ID), 404, []string{"Not found"}, nil},
			{"a rep's forecast of another team", "repA1", "/forecast?team_id=" + id(o.TeamB.ID), 404, []string{"Not found"}, nil},
			{"a manager's forecast of another team", "mgrA", "/forecast?team_id=" + id(o.TeamB.ID), 404, []string{"Not found"}, nil},
			{"a bad period names the parameter", "mgrA", "/dashboard?period=someday", 400, []string{"period", "someday"}, nil},
			{"an unknown parameter is named", "mgrA", "/dashboard?colour=red", 400, []string{"colour"}, nil},
			{"team menu lists only the manager's teams", "mgrA", "/dashboard", 200, []string{">" + o.TeamA.Name + "<"}, []string{">" + o.TeamB.Name + "<"}},
			{"a rep gets no team menu", "repA1", "/dashboard", 200, nil, []string{`name="team_id"`}},
			{"viewer: no performers page", "viewer", "/performers", 403, []string{"Not for your role"}, nil},
			{"viewer: no rep filter", "viewer", "/dashboard?rep_id=" + id(o.RepA1.ID), 403, nil, nil},
			{"viewer: dashboard without per-rep figures", "viewer", "/dashboard?period=all", 200, []string{`id="by-team"`}, []string{`id="by-rep"`, o.RepA1.Name, o.RepB.Name}},
			{"viewer: no per-rep forecast", "viewer", "/forecast?by=rep", 403, nil, nil},
			{"viewer: navigation without per-person pages", "viewer", "/", 200, []string{"Dashboard"}, []string{`href="/performers`, `href="/audit`, `href="/forecast/deals`}},
			{"rep: no audit log in the navigation", "repA1", "/", 200, []string{`href="/performers`}, []string{`href="/audit`}},
			{"rep: audit log refused", "repA1", "/audit", 403, []string{"Not for your role"}, nil},
			{"admin: audit log", "admin", "/audit", 200, []string{`href="/audit"`, `id="audit"`, "opportunity"}, nil},
			{"breadcrumbs name the section", "mgrA", "/forecast/accuracy", 200, []string{`class="crumbs"`, "Forecast", "Accuracy"}, nil},
			{"the period follows the user", "mgrA", "/dashboard?period=FY2025-Q1", 200, []string{`href="/forecast?period=FY2025-Q1"`}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, _, body := e.get(c.who, c.path)
				if status != c.status {
					t.Fatalf("%s %s: status %d, want %d\n%.600s", c.who, c.path, status, c.status, body)
				}
				for _, s := range c.has {
					if !bytes.Contains(body, []byte(s)) {
						t.Errorf("%s %s: no %q in the page", c.who, c.path, s)
					}
				}
				for _, s := range c.hasNot {
					if bytes.Contains(body, []byte(s)) {
						t.Errorf("%s %s: %q is in the page", c.who, c.path, s)
					}
				}
			})
		}
	})
}

func TestAPIViewerGetsNoPerRepFigures(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		for _, path := range []string{"/api/kpi?by=rep", "/api/performers", "/api/kpi?rep_id=" + itoa(e.org.RepA1.ID), "/api/forecast?by=rep"} {
			if status, b := e.do("viewer", "GET", path, ""); status != 403 {
				t.Errorf("viewer %s: %d %v, want 403", path, status, b)
			}
		}
		if status, b := e.do("viewer", "GET", "/api/kpi?by=team", ""); status != 200 {
			t.Errorf("viewer by team: %d %v", status, b)
		}
		if status, b := e.do("mgrA", "GET", "/api/kpi?by=rep", ""); status != 200 {
			t.Errorf("manager by rep: %d %v", status, b)
		}
	})
}

var repLink = regexp.MustCompile(`<td><a href="\?[^"]*rep_id=\d+[^"]*">([^<]+)</a></td>`)

func TestExportsHoldWhatThePageShows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		o := e.org
		for _, c := range []struct {
			who  string
			want []string
		}{
			{"mgrA", []string{o.RepA1.Name, o.RepA2.Name}},
			{"repA1", []string{o.RepA1.Name}},
			{"admin", []string{o.RepA1.Name, o.RepA2.Name, o.RepB.Name}},
		} {
			t.Run(c.who, func(t *testing.T) {
				_, _, page := e.get(c.who, "/dashboard?period=all")
				var shown []string
				for _, m := range repLink.FindAllSubmatch(page, -1) {
					shown = append(shown, string(m[1]))
				}
				status, ctype, body := e.get(c.who, "/dashboard?period=all&export=by-rep&format=csv")
				if status != 200 || !strings.HasPrefix(ctype, "text/csv") {
					t.Fatalf("csv: %d %s %s", status, ctype, body)
				}
				recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if recs[0][0] != "Rep" || !strings.Contains(recs[0][1], "(USD)") {
					t.Errorf("csv header %q", recs[0])
				}
				var exported []string
				for _, r := range recs[1:] {
					exported = append(exported, r[0])
				}
				slices.Sort(shown)
				slices.Sort(exported)
				want := slices.Sorted(slices.Values(c.want))
				if !slices.Equal(exported, want) || !slices.Equal(shown, want) {
					t.Errorf("page shows %q, csv holds %q, want %q", shown, exported, want)
				}

				status, ctype, body = e.get(c.who, "/dashboard?period=all&export=by-rep&format=xlsx")
				if status != 200 || !strings.Contains(ctype, "spreadsheetml") {
					t.Fatalf("xlsx: %d %s", status, ctype)
				}
				f, err := excelize.OpenReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				rows, err := f.GetRows(f.GetSheetList()[0], excelize.Options{RawCellValue: true})
				if err != nil {
					t.Fatal(err)
				}
				var inXLSX []string
				for i, r := range rows[1:] {
					inXLSX = append(inXLSX, r[0])
					if r[1] != recs[i+1][1] && r[1]+".00" != recs[i+1][1] && !strings.HasPrefix(recs[i+1][1], r[1]) {
						t.Errorf("row %d: xlsx won %q, csv %q", i, r[1], recs[i+1][1])
					}
				}
				slices.Sort(inXLSX)
				if !slices.Equal(inXLSX, want) {
					t.Errorf("xlsx holds %q, want %q", inXLSX, want)
				}
			})
		}
		// The whole report as one workbook, and refusals that name the problem.
		status, _, body := e.get("mgrA", "/dashboard?period=all&export=all&format=xlsx")
		if status != 200 {
			t.Fatalf("export all: %d", status)
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, sheet := range []string{"KPIs", "By team", "By rep", "Bookings by month"} {
			if !slices.Contains(f.GetSheetList(), sheet) {
				t.Errorf("workbook sheets %q: no %q", f.GetSheetList(), sheet)
			}
		}
		for _, bad := range []string{"export=nope&format=csv", "export=by-rep&format=pdf", "export=all&format=csv"} {
			if status, _, body := e.get("mgrA", "/dashboard?period=all&"+bad); status != 400 || !bytes.Contains(body, []byte("export")) && !bytes.Contains(body, []byte("format")) {
				t.Errorf("%s: %d %.300s", bad, status, body)
			}
		}
	})
}

// The period picker reaches back to the years that have deals, and only those.
func TestPeriodPickerOffersTheYearsWithDeals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newPageEnv(t, s)
		old := e.org.NewOpp(e.org.RepA1, "500")
		storetest.Must(t, s.Opportunities.Create(context.Background(), crm.System, old))
		_, err := s.DB().Exec(`UPDATE opportunities SET created_at = $1 WHERE id = $2`, time.Date(2017, 5, 3, 9, 0, 0, 0, time.UTC), old.ID)
		storetest.Must(t, err)
		now := time.Now().Year()
		_, _, body := e.get("repA1", "/dashboard")
		for _, want := range []string{"FY2017", "FY2017-Q2", itoa(int64(now)), itoa(int64(now + 1))} {
			if !bytes.Contains(body, []byte(`<optgroup label="FY`+strings.TrimPrefix(want, "FY")+`"`)) && !bytes.Contains(body, []byte(`value="`+want+`"`)) {
				t.Errorf("no %s in the period picker", want)
			}
		}
		if bytes.Contains(body, []byte(`label="FY2018"`)) {
			t.Error("the picker offers FY2018, a year without deals")
		}
	})
}

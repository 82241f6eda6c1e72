package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/export"
)

// Every table on every page is an export.Table shown through tableView:
// sortable by any column, searchable, paged on the server, rows whose
// figures are all zero hidden unless asked for, and exportable to CSV and
// XLSX with exactly the rows the user was shown (all pages of them).
//
// A table's state lives in the URL, under parameters named after its id so
// that several tables share one page: by-rep.sort=-won, by-rep.q=smith,
// by-rep.page=2, by-rep.zeros=1; export=by-rep&format=csv downloads it, and
// export=all&format=xlsx downloads every table of the page as one workbook.

const tablePageSize = 25

// tableOpts says how a page wants a table shown.
type tableOpts struct {
	HideZeros   bool   // rows with no non-zero figure are hidden by default
	DefaultSort string // column key, "-key" for descending; empty keeps the given order
	PageSize    int    // 0: tablePageSize
}

// tableParam reports whether a query parameter belongs to a table or an
// export, so that the pages' filter readers let it through.
func tableParam(k string) bool {
	if k == "export" || k == "format" {
		return true
	}
	_, suffix, ok := strings.Cut(k, ".")
	return ok && (suffix == "sort" || suffix == "q" || suffix == "page" || suffix == "zeros")
}

type colView struct {
	export.Column
	Num     bool
	SortURL string
	Sorted  string // "ascending", "descending" or ""
}

type cellView struct {
	export.Cell
	Num bool
}

// tableView is one table as a page shows it.
type tableView struct {
	ID, Title       string
	Cols            []colView
	Rows            [][]cellView
	Search          string
	SearchParam     string
	KeepFields      []keepField // the rest of the query, for the search form
	Total, Matched  int         // rows in all, rows after search and zero-hiding
	From, To        int         // 1-based rows shown
	PageNo, Pages   int
	PrevURL         string
	NextURL         string
	ZerosHidden     int
	ZerosURL        string // toggles showing rows with no figures
	ShowingZeros    bool
	CSVURL, XLSXURL string
	Searchable      bool
}

type keepField struct{ Name, Value string }

// tableState is a table's sort, search and zero-hiding as read from the URL.
type tableState struct {
	sortKey   string
	desc      bool
	search    string
	showZeros bool
	page      int
}

func readTableState(q url.Values, t export.Table, opt tableOpts) tableState {
	st := tableState{search: strings.TrimSpace(q.Get(t.ID + ".q")), showZeros: q.Get(t.ID+".zeros") == "1" || !opt.HideZeros, page: 1}
	sortKey := q.Get(t.ID + ".sort")
	if sortKey == "" {
		sortKey = opt.DefaultSort
	}
	st.sortKey, st.desc = strings.TrimPrefix(sortKey, "-"), strings.HasPrefix(sortKey, "-")
	if slices.IndexFunc(t.Columns, func(c export.Column) bool { return c.Key == st.sortKey }) < 0 {
		st.sortKey, st.desc = "", false
	}
	if n, err := strconv.Atoi(q.Get(t.ID + ".page")); err == nil && n > 1 {
		st.page = n
	}
	return st
}

// apply returns the rows the state selects, in its order, and how many
// rows with no figures it hid.
func (st tableState) apply(t export.Table) (rows [][]export.Cell, zeros int) {
	needle := strings.ToLower(st.search)
	for _, row := range t.Rows {
		if !st.showZeros && zeroRow(t.Columns, row) {
			zeros++
			continue
		}
		if needle != "" && !rowContains(row, needle) {
			continue
		}
		rows = append(rows, row)
	}
	if st.sortKey != "" {
		ci := slices.IndexFunc(t.Columns, func(c export.Column) bool { return c.Key == st.sortKey })
		numeric := t.Columns[ci].Kind.Numeric()
		slices.SortStableFunc(rows, func(a, b []export.Cell) int {
			c := compareCells(a[ci], b[ci], numeric)
			if st.desc {
				c = -c
			}
			// Empty values go last whichever way the column is sorted.
			if a[ci].Empty() != b[ci].Empty() {
				if a[ci].Empty() {
					return 1
				}
				return -1
			}
			return c
		})
	}
	return rows, zeros
}

func compareCells(a, b export.Cell, numeric bool) int {
	if numeric {
		return cmp.Compare(a.Num, b.Num)
	}
	return cmp.Compare(strings.ToLower(a.Display), strings.ToLower(b.Display))
}

// zeroRow: every numeric cell is empty or zero (a rep with no deals at all).
func zeroRow(cols []export.Column, row []export.Cell) bool {
	hasFigures := false
	for i, c := range cols {
		if !c.Kind.Numeric() || i >= len(row) {
			continue
		}
		hasFigures = true
		if row[i].IsNum && row[i].Num != 0 {
			return false
		}
	}
	return hasFigures
}

func rowContains(row []export.Cell, needle string) bool {
	for _, c := range row {
		if strings.Contains(strings.ToLower(c.Display), needle) {
			return true
		}
	}
	return false
}

// newTableView shows t as the request asks.
func newTableView(r *http.Request, t export.Table, opt tableOpts) tableView {
	q := r.URL.Query()
	st := readTableState(q, t, opt)
	rows, zeros := st.apply(t)
	size := cmp.Or(opt.PageSize, tablePageSize)
	pages := max(1, (len(rows)+size-1)/size)
	page := min(st.page, pages)
	from, to := (page-1)*size, min(page*size, len(rows))

	with := func(set map[string]string) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "export" && k != "format" {
				v[k] = vs
			}
		}
		for k, val := range set {
			if val == "" {
				v.Del(k)
			} else {
				v.Set(k, val)
			}
		}
		return "?" + v.Encode()
	}
	tv := tableView{ID: t.ID, Title: t.Title, Search: st.search, SearchParam: t.ID + ".q",
		Total: len(t.Rows), Matched: len(rows), PageNo: page, Pages: pages, ZerosHidden: zeros, ShowingZeros: opt.HideZeros && st.showZeros,
		Searchable: len(t.Rows) > 10 || st.search != ""}
	if len(rows) > 0 {
		tv.From, tv.To = from+1, to
	}
	for _, c := range t.Columns {
		cv := colView{Column: c, Num: c.Kind.Numeric()}
		next := c.Key
		if c.Kind.Numeric() {
			next = "-" + c.Key // figures read best largest first
		}
		if st.sortKey == c.Key {
			cv.Sorted = "ascending"
			if st.desc {
				cv.Sorted = "descending"
				next = c.Key
			} else {
				next = "-" + c.Key
			}
		}
		cv.SortURL = with(map[string]string{t.ID + ".sort": next, t.ID + ".page": ""})
		tv.Cols = append(tv.Cols, cv)
	}
	for _, row := range rows[from:to] {
		out := make([]cellView, len(row))
		for i, c := range row {
			out[i] = cellView{Cell: c, Num: i < len(t.Columns) && t.Columns[i].Kind.Numeric()}
		}
		tv.Rows = append(tv.Rows, out)
	}
	if page > 1 {
		tv.PrevURL = with(map[string]string{t.ID + ".page": strconv.Itoa(page - 1)})
	}
	if page < pages {
		tv.NextURL = with(map[string]string{t.ID + ".page": strconv.Itoa(page + 1)})
	}
	if opt.HideZeros {
		if st.showZeros {
			tv.ZerosURL = with(map[string]string{t.ID + ".zeros": "", t.ID + ".page": ""})
		} else {
			tv.ZerosURL = with(map[string]string{t.ID + ".zeros": "1", t.ID + ".page": ""})
		}
	}
	tv.CSVURL = with(map[string]string{"export": t.ID, "format": "csv", t.ID + ".page": ""})
	tv.XLSXURL = with(map[string]string{"export": t.ID, "format": "xlsx", t.ID + ".page": ""})
	for k, vs := range q {
		if k == tv.SearchParam || k == t.ID+".page" || k == "export" || k == "format" {
			continue
		}
		for _, v := range vs {
			tv.KeepFields = append(tv.KeepFields, keepField{k, v})
		}
	}
	slices.SortFunc(tv.KeepFields, func(a, b keepField) int { return cmp.Compare(a.Name, b.Name) })
	return tv
}

// pageTable is a table of a page with the way the page shows it.
type pageTable struct {
	export.Table
	opt  tableOpts
	twin bool // a chart's table: its view is the chart's (addCharts), it is only exported from here
}

// tables is what a page handler gives: its tables, for showing and exporting.
type tables []pageTable

func (ts *tables) add(t export.Table, opt tableOpts) {
	*ts = append(*ts, pageTable{Table: t, opt: opt})
}

// views shows every table as the request asks, by id (nil for a table the
// page did not add, so templates can test for it).
func (ts tables) views(r *http.Request) map[string]*tableView {
	out := make(map[string]*tableView, len(ts))
	for _, t := range ts {
		if !t.twin {
			tv := newTableView(r, t.Table, t.opt)
			out[t.ID] = &tv
		}
	}
	return out
}

// serveExport answers ?export=ID&format=csv|xlsx with the table's rows as
// the user sees them (search and zero-hiding applied, every page), or
// export=all with every table; it reports whether it answered.
func (srv *Server) serveExport(w http.ResponseWriter, r *http.Request, name string, ts tables) bool {
	q := r.URL.Query()
	id := q.Get("export")
	if id == "" {
		return false
	}
	format, err := export.ParseFormat(cmp.Or(q.Get("format"), "csv"))
	if err != nil {
		srv.pageError(w, r, invalidParam("format", err.Error()))
		return true
	}
	var out []export.Table
	for _, t := range ts {
		if id != "all" && t.ID != id {
			continue
		}
		rows, _ := readTableState(q, t.Table, t.opt).apply(t.Table)
		t.Table.Rows = rows
		out = append(out, t.Table)
	}
	if len(out) == 0 {
		srv.pageError(w, r, invalidParam("export", fmt.Sprintf("this page has no table %q", id)))
		return true
	}
	if format == export.CSV && len(out) > 1 {
		srv.pageError(w, r, invalidParam("format", "a CSV file holds one table: export one table, or all of them as xlsx"))
		return true
	}
	file := name
	if id != "all" {
		file += "-" + id
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, file, format))
	w.Header().Set("Cache-Control", "no-store")
	if err := export.Write(w, format, out...); err != nil {
		srv.log.Error("export", "page", name, "table", id, "err", err)
	}
	return true
}

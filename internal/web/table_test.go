package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/shopspring/decimal"
)

func testTable(n int) export.Table {
	t := export.Table{ID: "reps", Title: "Reps", Columns: []export.Column{{Key: "name", Label: "Name"}, {Key: "won", Label: "Won", Kind: export.Money, Currency: "USD"}}}
	names := []string{"Cora", "ann", "Bea", "Dan", "Eve"}
	for i := range n {
		won := decimal.NewFromInt(int64(i * 100 % 700))
		t.Rows = append(t.Rows, []export.Cell{export.TextCell(names[i%len(names)] + strings.Repeat("x", i/len(names))), moneyCell(won, "USD")})
	}
	return t
}

func shownNames(tv tableView) []string {
	var out []string
	for _, r := range tv.Rows {
		out = append(out, r[0].Display)
	}
	return out
}

func TestTableView(t *testing.T) {
	cases := []struct {
		name  string
		query string
		rows  int
		opt   tableOpts
		want  []string
		check func(t *testing.T, tv tableView)
	}{
		{name: "given order", rows: 3, want: []string{"Cora", "ann", "Bea"}},
		{name: "text sorts case-insensitively", query: "reps.sort=name", rows: 3, want: []string{"ann", "Bea", "Cora"}},
		{name: "descending", query: "reps.sort=-name", rows: 3, want: []string{"Cora", "Bea", "ann"}},
		{name: "numbers sort as numbers", query: "reps.sort=-won", rows: 4, want: []string{"Dan", "Bea", "ann", "Cora"}},
		{name: "an unknown column keeps the order", query: "reps.sort=colour", rows: 2, want: []string{"Cora", "ann"}},
		{name: "search", query: "reps.q=EA", rows: 5, want: []string{"Bea"}},
		{name: "zeros hidden", rows: 3, opt: tableOpts{HideZeros: true}, want: []string{"ann", "Bea"},
			check: func(t *testing.T, tv tableView) {
				if tv.ZerosHidden != 1 || !strings.Contains(tv.ZerosURL, "reps.zeros=1") {
					t.Errorf("zeros hidden %d, url %q", tv.ZerosHidden, tv.ZerosURL)
				}
			}},
		{name: "zeros shown on request", query: "reps.zeros=1", rows: 3, opt: tableOpts{HideZeros: true}, want: []string{"Cora", "ann", "Bea"}},
		{name: "paged", query: "reps.page=2", rows: 7, opt: tableOpts{PageSize: 3}, want: []string{"Dan", "Eve", "Corax"},
			check: func(t *testing.T, tv tableView) {
				if tv.Pages != 3 || tv.From != 4 || tv.To != 6 || tv.PrevURL == "" || tv.NextURL == "" {
					t.Errorf("page %d of %d, rows %d-%d, prev %q next %q", tv.PageNo, tv.Pages, tv.From, tv.To, tv.PrevURL, tv.NextURL)
				}
			}},
		{name: "a page past the end shows the last", query: "reps.page=99", rows: 4, opt: tableOpts{PageSize: 3}, want: []string{"Dan"}},
		{name: "export links keep the search, drop the page", query: "period=FY2026&reps.q=a&reps.page=2", rows: 4, opt: tableOpts{PageSize: 1},
			want: []string{"ann"}, check: func(t *testing.T, tv tableView) {
				for _, u := range []string{tv.CSVURL, tv.XLSXURL} {
					if !strings.Contains(u, "reps.q=a") || !strings.Contains(u, "period=FY2026") || strings.Contains(u, "reps.page") || !strings.Contains(u, "export=reps") {
						t.Errorf("export link %q", u)
					}
				}
			}},
		{name: "sort links toggle", query: "reps.sort=-won", rows: 2, want: []string{"ann", "Cora"},
			check: func(t *testing.T, tv tableView) {
				if tv.Cols[1].Sorted != "descending" || !strings.Contains(tv.Cols[1].SortURL, "reps.sort=won") || !strings.Contains(tv.Cols[0].SortURL, "reps.sort=name") {
					t.Errorf("cols %+v", tv.Cols)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x?"+c.query, nil)
			tv := newTableView(r, testTable(c.rows), c.opt)
			if got := shownNames(tv); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("rows %q, want %q", got, c.want)
			}
			if c.check != nil {
				c.check(t, tv)
			}
		})
	}
}

func TestTableParam(t *testing.T) {
	for k, want := range map[string]bool{"export": true, "format": true, "by-rep.sort": true, "by-rep.q": true, "by-rep.page": true,
		"by-rep.zeros": true, "by-rep.colour": false, "period": false, "sort": false} {
		if got := tableParam(k); got != want {
			t.Errorf("tableParam(%q) = %v", k, got)
		}
	}
}

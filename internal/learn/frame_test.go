package learn

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// table builds a Table from CSV-ish lines split on ";" (cells may hold commas).
func table(lines ...string) Table {
	t := Table{Name: "leads.csv", Header: strings.Split(lines[0], ";")}
	for i, l := range lines[1:] {
		t.Rows = append(t.Rows, strings.Split(l, ";"))
		t.Lines = append(t.Lines, i+2)
	}
	return t
}

func TestFrameDetectsColumns(t *testing.T) {
	// 40 rows so that the "nearly all distinct" rule has room to act.
	rows := []string{"id;y;num;cat;mixed;gaps;filler;const;text;constgap;empty"}
	for i := range 40 {
		mixed := strconv.Itoa(i)
		if i == 7 {
			mixed = "n.a.?" // 1 of 40 non-numeric: still a numeric column
		}
		gaps := strconv.FormatFloat(float64(i)/4, 'f', 2, 64)
		if i%5 == 0 {
			gaps = ""
		}
		filler := []string{"Select", "Finance", "HR", "--select--", "NULL", " N/A "}[i%6]
		constgap := "yes"
		if i%3 == 0 {
			constgap = ""
		}
		rows = append(rows, strings.Join([]string{"L" + strconv.Itoa(i), strconv.Itoa(i % 2), strconv.Itoa(i * 3),
			[]string{"web", "event", "partner"}[i%3], mixed, gaps, filler, "same", "note " + strconv.Itoa(i), constgap, " "}, ";"))
	}
	f, d, err := NewFrame(table(rows...), FrameOptions{Target: "y", ID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name            string
		kind            ColumnKind
		missing, coerce int
		levels          int
	}{
		{"num", Numeric, 0, 0, 40},
		{"mixed", Numeric, 0, 1, 40},
		{"gaps", Numeric, 8, 0, 32},
		{"cat", Categorical, 0, 0, 3},
		{"filler", Categorical, 26, 0, 2}, // Select, --select--, NULL and N/A are missing
		{"constgap", Categorical, 14, 0, 1},
	}
	if len(f.Columns) != len(want) {
		t.Fatalf("columns %+v", f.Columns)
	}
	for i, w := range want {
		c := f.Columns[i]
		if c.Name != w.name || c.Kind != w.kind || c.Missing != w.missing || c.Coerced != w.coerce || c.Levels != w.levels {
			t.Errorf("column %d = %+v, want %+v", i, c, w)
		}
	}
	dropped := map[string]string{}
	for _, x := range f.Dropped {
		dropped[x.Name] = x.Reason
	}
	for _, name := range []string{"const", "text", "empty"} {
		if dropped[name] == "" {
			t.Errorf("%s not dropped: %v", name, f.Dropped)
		}
	}
	if len(d.Rows) != 40 || d.IDs[3] != "L3" || d.Rows[3].ID != 3 || !d.Rows[3].Won || d.Rows[2].Won {
		t.Fatalf("rows: %+v ids %v", d.Rows[:4], d.IDs[:4])
	}
	r := d.Rows[7]
	if !math.IsNaN(r.Num[1]) || r.Num[0] != 21 || r.Cat[0] != "event" || r.Cat[1] != "Finance" {
		t.Errorf("row 7 = %+v", r)
	}
	if !math.IsNaN(d.Rows[0].Num[2]) || d.Rows[0].Cat[1] != "" || d.Rows[5].Cat[1] != "" {
		t.Errorf("missing cells: %+v %+v", d.Rows[0], d.Rows[5])
	}
}

func TestFrameMissingTokens(t *testing.T) {
	tab := table("id;y;c", "a;1;Select", "b;0;x", "c;1;x", "d;0;none")
	cases := []struct {
		name   string
		tokens []string
		levels int
	}{
		{"defaults", nil, 1},
		{"only empty cells", []string{}, 3},
		{"custom", []string{"-- X --"}, 2}, // "x" after trimming decoration
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _, err := NewFrame(tab, FrameOptions{Target: "y", ID: "id", MissingTokens: c.tokens})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Columns) != 1 || f.Columns[0].Levels != c.levels {
				t.Errorf("columns %+v dropped %+v, want %d levels", f.Columns, f.Dropped, c.levels)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		in      string
		won, ok bool
	}{
		{"1", true, true}, {"0", false, true}, {" TRUE ", true, true}, {"false", false, true},
		{"Yes", true, true}, {"no", false, true}, {"2", false, false}, {"", false, false},
		{"1.0", false, false}, {"converted", false, false},
	} {
		if won, ok := ParseTarget(c.in); won != c.won || ok != c.ok {
			t.Errorf("ParseTarget(%q) = %v, %v", c.in, won, ok)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	good := "id;y;x"
	cases := []struct {
		name string
		tab  Table
		opts FrameOptions
		want string // substring of the message
		row  int
	}{
		{"bad target", table(good, "a;1;3", "b;maybe;4"), FrameOptions{Target: "y", ID: "id"}, `line 3 (row 2), column "y": target value "maybe"`, 2},
		{"empty target", table(good, "a;;3"), FrameOptions{Target: "y", ID: "id"}, `row 1), column "y": the target is empty`, 1},
		{"no target column", table(good, "a;1;3"), FrameOptions{Target: "Converted", ID: "id"}, `header, column "Converted": no such column (the target column)`, 0},
		{"no id column", table(good, "a;1;3"), FrameOptions{Target: "y", ID: "key"}, `column "key": no such column (the id column)`, 0},
		{"exclude unknown", table(good, "a;1;3"), FrameOptions{Target: "y", ID: "id", Exclude: []string{"z"}}, `column "z": cannot exclude`, 0},
		{"duplicate header", table("id;y;y", "a;1;3"), FrameOptions{Target: "y", ID: "id"}, `column "y": the column appears twice`, 0},
		{"short row", table(good, "a;1;3", "b;1"), FrameOptions{Target: "y", ID: "id"}, `line 3 (row 2): 2 fields, the header has 3`, 2},
		{"empty id", table(good, "a;1;3", " ;0;3"), FrameOptions{Target: "y", ID: "id"}, `column "id": the id is empty`, 2},
		{"target is id", table(good, "a;1;3"), FrameOptions{Target: "y", ID: "y"}, "cannot be the same column", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := NewFrame(c.tab, c.opts)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if !strings.HasPrefix(err.Error(), "leads.csv: ") || !strings.Contains(err.Error(), c.want) || fe.Row != c.row {
				t.Errorf("err = %q (row %d), want %q at row %d", err, fe.Row, c.want, c.row)
			}
		})
	}
}

// The file to score is encoded with the training file's columns: in any
// order, without the target, with unseen levels and non-numbers.
func TestFrameEncodeScoreFile(t *testing.T) {
	f, _, err := NewFrame(table("id;y;n;c", "a;1;1;p", "b;0;2;q", "c;1;3;p"), FrameOptions{Target: "y", ID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Encode(table("c;extra;id;n", "zz;1;k1;7", "Select;2;k2;oops"))
	if err != nil {
		t.Fatal(err)
	}
	if d.IDs[0] != "k1" || d.Rows[0].Num[0] != 7 || d.Rows[0].Cat[0] != "zz" || d.Rows[0].Won {
		t.Errorf("row 0 = %+v", d.Rows[0])
	}
	if !math.IsNaN(d.Rows[1].Num[0]) || d.Rows[1].Cat[0] != "" {
		t.Errorf("row 1 = %+v", d.Rows[1])
	}
	_, err = f.Encode(table("id;c", "k;p"))
	if err == nil || !strings.Contains(err.Error(), `column "n": no such column, but the training file has it as a numeric feature`) {
		t.Errorf("missing feature column: %v", err)
	}
}

// FuzzNewFrame: any table either builds a frame whose rows match its schema
// and re-encode identically, or fails with a *FrameError.
func FuzzNewFrame(f *testing.F) {
	f.Add("id,y,a,b\nx,1,2,Select\ny,0,NA,p\n", "y", "id", "")
	f.Add("id,y\n1,yes\n2,no\n", "y", "id", "")
	f.Add("k,t,v\n,1,2\n", "t", "k", "v")
	f.Add("a,b,c\n1,true,1e400\n2,false,-0\n3,TRUE,nan\n", "b", "a", "")
	f.Fuzz(func(t *testing.T, data, target, id, exclude string) {
		lines := strings.Split(data, "\n")
		if len(lines) < 2 || len(lines) > 200 {
			return
		}
		tab := Table{Name: "fuzz.csv", Header: strings.Split(lines[0], ",")}
		for _, l := range lines[1:] {
			tab.Rows = append(tab.Rows, strings.Split(l, ","))
		}
		fr, d, err := NewFrame(tab, FrameOptions{Target: target, ID: id, Exclude: strings.Split(exclude, ",")})
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FrameError", err)
			}
			return
		}
		if len(d.Rows) != len(tab.Rows) || len(d.IDs) != len(tab.Rows) {
			t.Fatalf("%d rows, %d ids for %d input rows", len(d.Rows), len(d.IDs), len(tab.Rows))
		}
		for _, r := range d.Rows {
			if len(r.Num) != len(fr.Schema.Numeric) || len(r.Cat) != len(fr.Schema.Categorical) {
				t.Fatalf("row %+v does not fit schema %+v", r, fr.Schema)
			}
			for _, x := range r.Num {
				if math.IsInf(x, 0) {
					t.Fatalf("infinite value in %+v", r)
				}
			}
		}
		again, err := fr.Encode(tab)
		if err != nil {
			t.Fatalf("re-encoding the training table: %v", err)
		}
		for i := range d.Rows {
			for k, x := range d.Rows[i].Num {
				if y := again.Rows[i].Num[k]; x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
					t.Fatalf("row %d feature %d: %v then %v", i, k, x, y)
				}
			}
		}
	})
}

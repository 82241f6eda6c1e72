package definition

import (
	"errors"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

type doc struct {
	Name  string `yaml:"name"`
	Items []struct {
		Size  int     `yaml:"size"`
		Ratio float64 `yaml:"ratio"`
		On    bool    `yaml:"on"`
	} `yaml:"items"`
}

func TestDecodeProblems(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"name: a\nitems:\n  - size: 1\n    colour: red\n", "f.yaml:4: items[0].colour: unknown field"},
		{"name: a\nitems:\n  - size: big\n", `f.yaml:3: items[0].size: want a whole number, got "big"`},
		{"name: a\nitems:\n  - ratio: x\n", `f.yaml:3: items[0].ratio: want a number, got "x"`},
		{"name: a\nitems:\n  - on: maybe\n", `f.yaml:3: items[0].on: want true or false, got "maybe"`},
		{"name: a\nitems: 3\n", "f.yaml:2: items: want a list"},
		{"name: [a\n", "f.yaml:1:"},
		{"", "f.yaml: the document is empty"},
	} {
		var d doc
		_, err := Decode("f.yaml", []byte(c.src), &d)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, err, c.want)
		}
		var ve *crm.ValidationError
		if !errors.Is(err, crm.ErrInvalid) || !errors.As(err, &ve) {
			t.Errorf("%q: %v is not an invalid-input error with fields", c.src, err)
		}
	}
}

func TestLineOfPath(t *testing.T) {
	var d doc
	dd, err := Decode("f.yaml", []byte("name: a\nitems:\n  - size: 1\n  - size: 2\n    ratio: 0.5\n"), &d)
	if err != nil {
		t.Fatal(err)
	}
	for path, line := range map[string]int{"name": 1, "items": 2, "items[1]": 4, "items[1].ratio": 5, "items[1].missing": 4, "items[7].x": 2} {
		if got := dd.Line(path); got != line {
			t.Errorf("Line(%q) = %d, want %d", path, got, line)
		}
	}
	dd.Add("items[1].ratio", "too %s", "high")
	if err := dd.Err(); err == nil || err.Error() != "f.yaml:5: items[1].ratio: too high" {
		t.Errorf("problem: %v", err)
	}
}

package leads

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
)

func TestShippedModelsLoad(t *testing.T) {
	files, err := filepath.Glob("../../examples/scoring/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the shipped scoring models, got %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(filepath.Base(f), data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A malformed model is refused with every problem named by file, line and field.
func TestParseErrors(t *testing.T) {
	base := "name: m\nfit:\n  - field: industry\n    equals: Software\n    points: 5\n"
	cases := []struct {
		name, doc string
		want      []string // "line: field: reason part"
	}{
		{"unknown field", "name: m\nfit:\n  - field: industry\n    equals: Software\n    poinst: 5\n",
			[]string{"m.yaml:5: fit[0].poinst: unknown field"}},
		{"wrong type", "name: m\nfit:\n  - field: industry\n    equals: Software\n    points: lots\n",
			[]string{`m.yaml:5: fit[0].points: want a number, got "lots"`}},
		{"unknown lead field", "name: m\nfit:\n  - field: industsry\n    equals: Software\n    points: 5\n",
			[]string{`m.yaml:3: fit[0].field: unknown field "industsry"`}},
		{"bad regex", "name: m\nfit:\n  - field: title\n    regex: '(VP'\n    points: 5\n",
			[]string{"m.yaml:4: fit[0].regex: error parsing regexp"}},
		{"between on text", "name: m\nfit:\n  - field: title\n    between: [1, 2]\n    points: 5\n",
			[]string{"m.yaml:4: fit[0].between: title is not a number"}},
		{"between reversed", "name: m\nfit:\n  - field: employees\n    between: [20, 2]\n    points: 5\n",
			[]string{"m.yaml:4: fit[0].between: want [low, high]"}},
		{"two operators", "name: m\nfit:\n  - field: industry\n    equals: A\n    contains: B\n    points: 5\n",
			[]string{"m.yaml:3: fit[0].field: has several operators (equals, contains)"}},
		{"expression type error", "name: m\nfit:\n  - when: employees == \"many\"\n    points: 5\n",
			[]string{"m.yaml:3: fit[0].when: invalid operation"}},
		{"expression unknown name", "name: m\nfit:\n  - when: industy == \"x\"\n    points: 5\n",
			[]string{"m.yaml:3: fit[0].when: unknown name industy"}},
		{"zero points and no name", "fit:\n  - field: industry\n    equals: A\n    points: 0\n",
			[]string{"m.yaml:1: name: a model needs a name", "m.yaml:4: fit[0].points: must be between"}},
		{"engagement without event", base + "engagement:\n  - points: 3\n",
			[]string{"m.yaml:7: engagement[0].event: name the event kind"}},
		{"cap below points", base + "engagement:\n  - event: email_open\n    points: 3\n    max_per_day: 2\n",
			[]string{"m.yaml:9: engagement[0].max_per_day: is below the rule's points"}},
		{"positive inactivity", base + "decay:\n  inactivity:\n    days: 30\n    points: 5\n",
			[]string{"m.yaml:9: decay.inactivity.points: must be negative"}},
		{"grades out of order", base + "grades:\n  - {grade: B, min: 10}\n  - {grade: A, min: 50}\n",
			[]string{"m.yaml:8: grades[1].min: grades go from the highest to the lowest"}},
		{"duplicate rule names", "name: m\nfit:\n  - name: x\n    field: industry\n    equals: A\n    points: 1\n  - name: x\n    field: industry\n    equals: B\n    points: 2\n",
			[]string{`m.yaml:7: fit[1].name: "x" is also the name of fit[0]`}},
		{"syntax", "name: m\nfit: [\n", []string{"m.yaml:2: did not find expected node content"}},
		{"empty", "", []string{"m.yaml: the document is empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			var de *definition.Error
			if !errors.As(err, &de) {
				t.Fatalf("%T is not a definition.Error", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\ndoes not contain %q", msg, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"inbound.yaml", "enterprise.yaml"} {
		if data, err := os.ReadFile("../../examples/scoring/" + name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("name: m\nfit:\n  - when: employees > 3\n    points: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, crm.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if m.Doc.Name == "" {
			t.Fatal("a model without a name was accepted")
		}
	})
}

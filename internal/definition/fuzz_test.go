package definition_test

// FuzzDecode fuzzes the strict YAML decoding every definition loader
// (scoring models, segments, routing rules, workflows, notification
// channels) goes through. Run it with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s ./internal/definition
//
// or every fuzz target of the repository with scripts/fuzz.sh.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"gopkg.in/yaml.v3"
)

// fuzzDoc has the shapes definitions use: scalars, a list of maps, a map of
// text, a pointer to a map of fields, and names that end alike (name,
// rename; team, steam) so that a problem can be pinned on the wrong one.
type fuzzDoc struct {
	Name    string            `yaml:"name"`
	Rename  string            `yaml:"rename"`
	Version int               `yaml:"version"`
	Enabled bool              `yaml:"enabled"`
	Weight  float64           `yaml:"weight"`
	Labels  map[string]string `yaml:"labels"`
	Tags    []string          `yaml:"tags"`
	Rules   []fuzzRule        `yaml:"rules"`
	Owner   *fuzzOwner        `yaml:"owner"`
}

type fuzzRule struct {
	When   string     `yaml:"when"`
	Points int        `yaml:"points"`
	Ratio  float64    `yaml:"ratio"`
	Notify []string   `yaml:"notify"`
	Owner  *fuzzOwner `yaml:"owner"`
}

type fuzzOwner struct {
	Team  string `yaml:"team"`
	Steam string `yaml:"steam"`
}

var docSeeds = []string{
	"name: inbound\nversion: 2\nenabled: true\nweight: 0.5\nlabels: {tier: gold}\ntags: [a, b]\nrules:\n  - when: industry == \"Retail\"\n    points: 10\n    ratio: 0.25\n    notify: [sales-alerts]\n    owner: {team: EMEA}\nowner:\n  team: NA\n  steam: x\n",
	"name: a\nrules:\n  - points: 1\n    colour: red\n",
	"name: a\nrules:\n  - points: big\n  - ratio: x\n  - notify: 3\n",
	"name: [a\n", "", "~\n", "null\n", "[]\n", "3\n", "---\nname: a\n---\nname: b\n", "name: a\nname: b\n",
	"a: &x {name: n}\nowner: *x\n", "<<: {name: a}\n", "? [a]\n: b\n", "name: !!binary aGk=\n", "version: 0x10\nweight: .nan\nenabled: yes\n",
	"version: 99999999999999999999\nweight: 1e400\n", "name: \"\\0\\xff\"\n", "\xff\xfe", "name: a\r\nrenam: b\r\n", "name: a\rversion: x\r",
	"labels: {a: [1]}\ntags: {a: b}\n", "rules:\n- owner:\n    teams: x\n", "\tname: a\n", "name: >\n  folded\n  text\n",
}

// FuzzDecode decodes any document into fuzzDoc and checks what Decode
// promises (definition.go's doc comment):
//
//   - no panic, and the same answer each time;
//   - an error is an *Error whose problems name this file, have a reason,
//     and a line within the document, none with a field reported twice
//     (but for an alias's); it matches crm.ErrInvalid and, with
//     errors.As, a *crm.ValidationError with one field per problem;
//   - for a plain document (no anchors, aliases, merge keys, tags or
//     non-text keys), the "unknown field" problems are exactly the keys
//     fuzzDoc does not have, each named by its path and line;
//   - for a plain document decoded, Line gives the line of every key.
//
// A decoded document is not written back and decoded again: yaml.v3 itself
// does not round-trip every string (a leading newline is lost), and no
// loader writes YAML.
func FuzzDecode(f *testing.F) {
	for _, s := range docSeeds {
		f.Add([]byte(s))
	}
	// The shipped definitions: real documents (of other shapes than fuzzDoc).
	examples, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, name := range examples {
		if data, err := os.ReadFile(name); err == nil && len(data) < 8<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzDoc
		dd, err := definition.Decode("f.yaml", data, &v)
		for range 3 { // several times: a difference may come from map order
			var again fuzzDoc
			_, err2 := definition.Decode("f.yaml", data, &again)
			if fmt.Sprint(err) != fmt.Sprint(err2) || (err == nil && !reflect.DeepEqual(yamlOf(t, v), yamlOf(t, again))) {
				t.Fatalf("Decode(%q) is not deterministic:\n%v\nthen\n%v", data, err, err2)
			}
		}
		want, keys, plain := walkDoc(data)
		if err != nil {
			var de *definition.Error
			var ve *crm.ValidationError
			if !errors.As(err, &de) || !errors.Is(err, crm.ErrInvalid) || !errors.As(err, &ve) || len(de.Problems) == 0 || len(ve.Fields) != len(de.Problems) {
				t.Fatalf("Decode(%q) = %v (%T), want a *definition.Error with problems", data, err, err)
			}
			lines := yamlLines(data)
			var got []string
			for i, p := range de.Problems {
				if p.File != "f.yaml" || p.Reason == "" || p.Line < 0 || p.Line > lines {
					t.Fatalf("Decode(%q): problem %+v (the document has %d lines)", data, p, lines)
				}
				if p.Field != "" && slices.Contains(de.Problems[:i], p) && !hasAliases(data) {
					t.Fatalf("Decode(%q): problem %q reported twice (pinned on the wrong field?):\n%v", data, p.String(), err)
				}
				if p.Reason == "unknown field" {
					got = append(got, fmt.Sprintf("%d: %s", p.Line, p.Field))
				}
			}
			if plain && (len(got) > 0 || len(want) > 0) {
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("Decode(%q): unknown fields\n%q, want\n%q\n(%v)", data, got, want, err)
				}
			}
			return
		}
		if len(want) > 0 {
			t.Fatalf("Decode(%q) accepted the unknown fields %q", data, want)
		}
		for path, line := range keys {
			if got := dd.Line(path); got != line {
				t.Fatalf("Decode(%q): Line(%q) = %d, want %d", data, path, got, line)
			}
		}
	})
}

func yamlOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("yaml.Marshal(%+v): %v", v, err)
	}
	return b
}

// yamlLines counts lines as yaml.v3 does: \n, \r\n, a lone \r, and the
// Unicode line breaks NEL, LS and PS each end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// walkDoc walks the document against fuzzDoc and lists its keys fuzzDoc
// does not have, as "line: path" sorted, and the line of every path of a key
// it has. plain is false (and the rest empty) when the document is not one
// plain YAML document of text keys: what yaml.v3 reports for anchors,
// aliases, merge keys, repeated keys and the like is not this walk's to
// predict.
func walkDoc(data []byte) (unknown []string, keys map[string]int, plain bool) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) != 1 || bytes.Contains(data, []byte("\n---")) {
		return nil, nil, false
	}
	keys = map[string]int{}
	plain = true
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		if !plain {
			return
		}
		if n.Anchor != "" || n.Kind == yaml.AliasNode || (n.Tag != "" && n.Tag[0] == '!' && n.Style&yaml.TaggedStyle != 0) {
			plain = false
			return
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if n.Kind == yaml.MappingNode {
			seen := map[string]bool{}
			for i := 0; i < len(n.Content); i += 2 {
				if seen[n.Content[i].Value] { // yaml.v3 refuses the document before any field
					plain = false
					return
				}
				seen[n.Content[i].Value] = true
			}
		}
		switch {
		case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || k.Value == "<<" || k.Anchor != "" || k.Style&yaml.TaggedStyle != 0 {
					plain = false
					return
				}
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				f, ok := fieldByTag(t, k.Value)
				if !ok {
					unknown = append(unknown, fmt.Sprintf("%d: %s", k.Line, p))
					continue
				}
				keys[p] = k.Line
				walk(val, f.Type, p)
			}
		case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Kind != yaml.ScalarNode || n.Content[i].Anchor != "" || n.Content[i].Value == "<<" {
					plain = false
					return
				}
				walk(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)
			}
		}
	}
	walk(root.Content[0], reflect.TypeFor[fuzzDoc](), "")
	if !plain {
		return nil, nil, false
	}
	slices.Sort(unknown)
	return unknown, keys, true
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// hasAliases reports whether the document uses an alias: yaml.v3 reports
// an aliased node's problem once per use, at the line of the node.
func hasAliases(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return false
	}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			return true
		}
		return slices.ContainsFunc(n.Content, walk)
	}
	return walk(&root)
}

package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The predictive commands on a demo organisation, as its users would run
// them: the demo trains the model; ops trains again with an exclude list
// and reads the report; a rep reads their own lead's chance and is refused
// another's and the training; the viewer reads nothing.
func TestLeadsPredictiveCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	demo := mustRun(t, nil, "demo", "--quiet", "--database", db, "--opportunities", "3000", "--no-serve")
	m := regexp.MustCompile(`(\d+) given a predicted chance to convert`).FindStringSubmatch(demo.stdout)
	if m == nil || m[1] == "0" {
		t.Fatalf("the demo gave no lead a predicted chance:\n%s", demo.stdout)
	}
	login := func(role string) string {
		m := regexp.MustCompile(`(?m)^` + role + `\s+(\S+@\S+)`).FindStringSubmatch(demo.stdout)
		if m == nil {
			t.Fatalf("no %s login in\n%s", role, demo.stdout)
		}
		return m[1]
	}
	rep, viewer := login("rep"), login("viewer")
	var own, other int64
	withStore(t, db, func(s *store.Store) {
		q := `SELECT MIN(l.id) FROM leads l JOIN users u ON u.id = l.owner_id WHERE u.email `
		if err := s.DB().QueryRow(q+`= $1`, rep).Scan(&own); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().QueryRow(q+`<> $1`, rep).Scan(&other); err != nil {
			t.Fatal(err)
		}
	})

	show := mustRun(t, nil, "leads", "predictive", "show", "--database", db)
	for _, want := range []string{"excluded (custom.disqualify_reason): custom.disqualify_reason", "without the excluded (scores the leads)",
		"with every field", "reliability on the holdout", "90–100%", "candidates"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, show.stdout)
		}
	}

	if r := runCLI(t, nil, "leads", "predictive", "train", "--database", db, "--exclude", "custom.tagz"); r.code == 0 || !strings.Contains(r.stderr, `"custom.tagz" matches no field`) {
		t.Errorf("an unknown field: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "leads", "predictive", "train", "--database", db, "--as", rep); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("a rep training: exit %d, stderr %q", r.code, r.stderr)
	}
	train := mustRun(t, nil, "leads", "predictive", "train", "--database", db, "--json", "--exclude", "custom.*,events.web_*")
	var run struct {
		Excluded     []string `json:"excluded"`
		AUC          float64  `json:"auc"`
		AUCAllFields float64  `json:"auc_all_fields"`
		Scored       int      `json:"scored"`
		Model        struct {
			Columns []struct {
				Name string `json:"name"`
			} `json:"columns"`
		} `json:"model"`
	}
	if err := json.Unmarshal([]byte(train.stdout), &run); err != nil {
		t.Fatalf("train --json: %v\n%s", err, train.stdout)
	}
	if strconv.Itoa(run.Scored) != m[1] || run.AUC <= 0.5 || run.AUCAllFields < run.AUC || len(run.Excluded) < 2 {
		t.Errorf("the run: %+v", run)
	}
	for _, c := range run.Model.Columns {
		if strings.HasPrefix(c.Name, "custom.") || c.Name == "events.web_visit" {
			t.Errorf("the model in use has the excluded %s", c.Name)
		}
	}

	lead := mustRun(t, nil, "leads", "predictive", "lead", strconv.FormatInt(own, 10), "--database", db, "--as", rep)
	if !regexp.MustCompile(`^lead \d+: \d+\.\d% chance to convert`).MatchString(lead.stdout) || !strings.Contains(lead.stdout, "LOG-ODDS") {
		t.Errorf("the rep's own lead:\n%s", lead.stdout)
	}
	if r := runCLI(t, nil, "leads", "predictive", "lead", strconv.FormatInt(other, 10), "--database", db, "--as", rep); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("a rep reading another's lead: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "leads", "predictive", "show", "--database", db, "--as", viewer); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("the viewer reading the report: exit %d, stderr %q", r.code, r.stderr)
	}
}

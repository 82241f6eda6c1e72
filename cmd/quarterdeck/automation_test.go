package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// The shipped workflows apply; a broken one is refused with file:line;
// a dry run changes nothing; a manual run with --now does the steps and the
// run log shows them; a rep sees no workflows.
func TestAutomationCommands(t *testing.T) {
	eachEngine(t, func(t *testing.T, dsn string) {
		var deal int64
		withStore(t, dsn, func(s *store.Store) {
			o := storetest.NewOrg(t, s)
			deal = o.OppA1.ID
		})
		files, _ := filepath.Glob("../../examples/automation/*.yaml")
		if len(files) < 3 {
			t.Fatalf("shipped workflows: %v", files)
		}
		out := mustRun(t, nil, append([]string{"automation", "apply", "--database", dsn}, files...)...).stdout
		if strings.Count(out, "applied ") != len(files) {
			t.Errorf("apply printed %q", out)
		}
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("name: bad\ntrigger: {type: created, entity: opportunity}\nsteps:\n  - update: {field: stagee, value: x}\n"), 0o644)
		if r := runCLI(t, nil, "automation", "apply", "--database", dsn, bad); r.code == 0 || !strings.Contains(r.stderr, "bad.yaml:4") {
			t.Errorf("a bad workflow: exit %d, %s", r.code, r.stderr)
		}
		manual := filepath.Join(t.TempDir(), "manual.yaml")
		os.WriteFile(manual, []byte("name: by-hand\ntrigger: {type: manual, entity: opportunity}\nsteps:\n  - create_task: {subject: \"Look at {opportunity.name}\"}\n"), 0o644)
		mustRun(t, nil, "automation", "apply", "--database", dsn, manual)
		dry := mustRun(t, nil, "automation", "test", "by-hand", "--record", itoa64(deal), "--json", "--database", dsn).stdout
		var dr automation.DryRun
		if err := json.Unmarshal([]byte(dry), &dr); err != nil || len(dr.Steps) != 1 || dr.Steps[0].Outcome != "would_create" {
			t.Fatalf("dry run %q: %v", dry, err)
		}
		mustRun(t, nil, "automation", "disable", "by-hand", "--database", dsn)
		if r := runCLI(t, nil, "automation", "run", "by-hand", "--record", itoa64(deal), "--database", dsn); r.code == 0 {
			t.Error("a disabled workflow ran by hand")
		}
		mustRun(t, nil, "automation", "enable", "by-hand", "--database", dsn)
		ran := mustRun(t, nil, "automation", "run", "by-hand", "--record", itoa64(deal), "--now", "--database", dsn).stdout
		if !strings.Contains(ran, "started 1 runs") {
			t.Errorf("run printed %q", ran)
		}
		var runs []automation.Run
		if err := json.Unmarshal([]byte(mustRun(t, nil, "automation", "runs", "--workflow", "by-hand", "--json", "--database", dsn).stdout), &runs); err != nil || len(runs) != 1 || runs[0].State != "done" {
			t.Fatalf("runs %+v, %v", runs, err)
		}
		steps := mustRun(t, nil, "automation", "runs", "--run", itoa64(runs[0].ID), "--database", dsn).stdout
		if !strings.Contains(steps, "Look at Deal for rep.a1@example.com") {
			t.Errorf("the run's steps:\n%s", steps)
		}
		withStore(t, dsn, func(s *store.Store) {
			page, err := s.Activities.List(context.Background(), crm.System, store.ListQuery{Filters: map[string]string{"opportunity_id": itoa64(deal)}})
			if err != nil || len(page.Items) != 1 {
				t.Errorf("activities on the deal: %d, %v", len(page.Items), err)
			}
		})
		if r := runCLI(t, nil, "automation", "list", "--as", "rep.a1@example.com", "--database", dsn); r.code == 0 {
			t.Error("a rep listed workflows")
		}
	})
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

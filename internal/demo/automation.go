package demo

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	workflows "github.com/quarterdeck/quarterdeck/examples/automation"
	"github.com/quarterdeck/quarterdeck/internal/automation"
	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/jobs"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// ApplyAutomation applies the shipped workflows as the ops analyst and gives
// them a morning's work: the stale deals enter at once, and a few of the
// day's writes go through the store as the reps would make them (three
// large deals won, two close dates pushed, a duplicate deal deleted, two
// demo requests arriving), so
// the run log shows each workflow's steps. Their notifications wait in the
// queue until serve runs with channels. It returns the runs started.
func ApplyAutomation(ctx context.Context, s *store.Store, now time.Time) (int, error) {
	var ops crm.User
	if err := s.DB().QueryRowContext(ctx, `SELECT id, role FROM users WHERE role = 'ops' AND active ORDER BY id LIMIT 1`).Scan(&ops.ID, &ops.Role); err != nil {
		return 0, fmt.Errorf("demo automation: the ops analyst: %w", err)
	}
	opsP := crm.Principal{UserID: ops.ID, Role: ops.Role}
	files, err := fs.Glob(workflows.Files, "*.yaml")
	if err != nil {
		return 0, err
	}
	for _, name := range files {
		data, err := workflows.Files.ReadFile(name)
		if err != nil {
			return 0, err
		}
		if _, err := automation.Apply(ctx, s, opsP, "examples/automation/"+name, data, nil, now); err != nil {
			return 0, fmt.Errorf("demo workflow %s: %w", name, err)
		}
	}
	if err := demoWrites(ctx, s, now); err != nil {
		return 0, err
	}
	if _, err := automation.Scan(ctx, s, now); err != nil {
		return 0, fmt.Errorf("demo automation: %w", err)
	}
	// One step at a time: two runs on one deal (two pushes of its close
	// date) would otherwise conflict on DuckDB and wait for a retry that
	// the demo's fixed clock never reaches.
	w := jobs.NewWorker(s, jobs.Options{Concurrency: 1, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	automation.Register(w, s, nil, automation.Options{Now: func() time.Time { return now }})
	for {
		n, err := automation.Dispatch(ctx, s, now)
		if err != nil {
			return 0, err
		}
		ran, err := w.RunDue(ctx)
		if err != nil {
			return 0, err
		}
		if n == 0 && ran == 0 {
			break
		}
	}
	var runs int
	err = s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_runs`).Scan(&runs)
	return runs, err
}

// demoWrites makes the morning's writes, each as the deal's or lead's owner.
func demoWrites(ctx context.Context, s *store.Store, now time.Time) error {
	type deal struct {
		id    int64
		owner crm.Principal
	}
	pick := func(query string) ([]deal, error) {
		rows, err := s.DB().QueryContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("demo automation: %w", err)
		}
		defer rows.Close()
		var out []deal
		for rows.Next() {
			var d deal
			if err := rows.Scan(&d.id, &d.owner.UserID, &d.owner.Role); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, rows.Err()
	}
	open := `SELECT o.id, u.id, u.role FROM opportunities o JOIN users u ON u.id = o.owner_id AND u.active AND u.role = 'rep'
		WHERE NOT o.is_closed AND o.stage = '%s' ORDER BY o.amount DESC, o.id LIMIT %d`
	won, err := pick(fmt.Sprintf(open, "Negotiation", 3))
	if err != nil {
		return err
	}
	for _, d := range won {
		if _, err := s.Opportunities.Update(ctx, d.owner, d.id, func(o *crm.Opportunity) error { o.Stage = "Closed Won"; return nil }); err != nil {
			return fmt.Errorf("demo automation: win deal %d: %w", d.id, err)
		}
	}
	pushed, err := pick(fmt.Sprintf(open, "Proposal", 2))
	if err != nil {
		return err
	}
	for _, d := range pushed {
		for range 2 {
			if _, err := s.Opportunities.Update(ctx, d.owner, d.id, func(o *crm.Opportunity) error {
				later := crm.NewDate(now.AddDate(0, 1, 0))
				if o.ExpectedClose != nil && o.ExpectedClose.After(now) {
					later = crm.NewDate(o.ExpectedClose.AddDate(0, 1, 0))
				}
				o.ExpectedClose = &later
				return nil
			}); err != nil {
				return fmt.Errorf("demo automation: push deal %d: %w", d.id, err)
			}
		}
	}
	// A rep deletes a large open deal they entered twice (none converted
	// from a lead: a converted lead keeps its deal).
	dup, err := pick(`SELECT o.id, u.id, u.role FROM opportunities o JOIN users u ON u.id = o.owner_id AND u.active AND u.role = 'rep'
		WHERE NOT o.is_closed AND o.stage = 'Prospecting' AND o.amount >= 50000
		AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.converted_opportunity_id = o.id) ORDER BY o.amount DESC, o.id LIMIT 1`)
	if err != nil {
		return err
	}
	for _, d := range dup {
		if err := s.Opportunities.Delete(ctx, d.owner, d.id); err != nil {
			return fmt.Errorf("demo automation: delete deal %d: %w", d.id, err)
		}
	}
	for _, l := range []crm.Lead{
		{FirstName: "Grace", LastName: "Okafor", Email: "grace.okafor@lumenfield.example", Company: "Lumenfield Analytics", Title: "Head of Revenue Operations", Country: "US", State: "TX"},
		{FirstName: "Tomás", LastName: "Ibarra", Email: "tomas.ibarra@northgate-logistics.example", Company: "Northgate Logistics", Title: "VP Sales", Country: "US", State: "IL"},
	} {
		l.Source, l.Channel, l.Status, l.CreatedAt = "Web form", "Organic search", crm.LeadNew, now
		// Stored without an owner, as a CRM sync would: the workflow routes it.
		if err := s.Leads.Create(ctx, crm.System, &l); err != nil {
			return fmt.Errorf("demo automation: a demo request: %w", err)
		}
	}
	return nil
}

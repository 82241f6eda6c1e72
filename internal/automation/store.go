package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Version is one applied version of a workflow. Enabled belongs to the
// workflow's name: applying a new version keeps it as it was (a new name
// starts enabled).
type Version struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	File      string    `json:"file"`
	Latest    bool      `json:"latest"`
	Enabled   bool      `json:"enabled"`
	TeamID    *int64    `json:"team_id"`
	AppliedBy *int64    `json:"applied_by"`
	AppliedAt time.Time `json:"applied_at"`
	Source    string    `json:"source,omitempty"`
	Trigger   string    `json:"trigger"`
	Entity    string    `json:"entity"`
	wf        *Workflow
}

// Workflow is the compiled document of the version.
func (v *Version) Workflow() *Workflow { return v.wf }

// mayDefine says whether p may apply or switch workflows: ops and admin any,
// a manager only those scoped to their own team (or one below it).
func mayDefine(ctx context.Context, s *store.Store, p crm.Principal, teamID *int64) error {
	if p.Role.SeesAll() {
		return nil
	}
	if p.Role != crm.RoleManager {
		return fmt.Errorf("define workflows: %w", crm.ErrForbidden)
	}
	if teamID == nil {
		return crm.Invalid("workflow", "team", "a manager's workflow must name their team")
	}
	of, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return err
	}
	if !of.Team(*teamID) {
		return crm.Invalid("workflow", "team", "is not a team you manage")
	}
	return nil
}

// Apply validates a workflow and stores it as the next version of its name.
// channels are the configured notification channels (nil skips the check).
func Apply(ctx context.Context, s *store.Store, p crm.Principal, file string, data []byte, channels []string, now time.Time) (*Version, error) {
	if !p.Role.SeesAll() && p.Role != crm.RoleManager {
		return nil, fmt.Errorf("apply a workflow: %w", crm.ErrForbidden)
	}
	wf, err := Parse(file, data, channels)
	if err != nil {
		return nil, err
	}
	v := &Version{Name: wf.Doc.Name, File: file, Latest: true, Enabled: true, AppliedAt: now.UTC(), Source: string(data), wf: wf,
		Trigger: wf.Doc.Trigger.Type, Entity: wf.Doc.Trigger.Entity}
	if wf.Doc.Team != "" {
		id, err := teamByName(ctx, s, wf.Doc.Team)
		if err != nil {
			return nil, &definition.Error{Problems: []definition.Problem{{File: file, Field: "team", Reason: err.Error()}}}
		}
		v.TeamID = &id
	}
	if err := mayDefine(ctx, s, p, v.TeamID); err != nil {
		return nil, err
	}
	if p.UserID != 0 {
		v.AppliedBy = &p.UserID
	}
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		var prev sql.NullInt64
		var enabled sql.NullBool
		var prevTeam sql.NullInt64
		err := b.QueryRow(ctx, `SELECT version, enabled, team_id FROM automation_workflows WHERE name = $1 AND latest`, v.Name).Scan(&prev, &enabled, &prevTeam)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if prev.Valid {
			// A manager may not take over a workflow of another scope.
			var t *int64
			if prevTeam.Valid {
				t = &prevTeam.Int64
			}
			if err := mayDefine(ctx, s, p, t); err != nil {
				return err
			}
			v.Enabled = enabled.Bool
		}
		v.Version = prev.Int64 + 1
		if v.ID, err = b.AllocIDs(ctx, 1); err != nil {
			return err
		}
		if _, err := b.Exec(ctx, `UPDATE automation_workflows SET latest = FALSE WHERE name = $1 AND latest`, v.Name); err != nil {
			return err
		}
		if _, err := b.Exec(ctx, `INSERT INTO automation_workflows (id, name, version, source, file, latest, enabled, team_id, applied_by, applied_at)
			VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, $8, $9)`,
			v.ID, v.Name, v.Version, v.Source, v.File, v.Enabled, v.TeamID, v.AppliedBy, v.AppliedAt); err != nil {
			return fmt.Errorf("store the workflow: %w", err)
		}
		if err := b.Audit(ctx, p, "apply", "workflow", v.ID, nil, map[string]any{"name": v.Name, "version": v.Version, "file": file}); err != nil {
			return err
		}
		return watch(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func teamByName(ctx context.Context, s *store.Store, name string) (int64, error) {
	var id int64
	err := s.DB().QueryRowContext(ctx, `SELECT id FROM teams WHERE LOWER(name) = LOWER($1)`, strings.TrimSpace(name)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no team is called %q", name)
	}
	return id, err
}

// SetEnabled switches a workflow on or off; off, its triggers start no runs
// (runs already going finish).
func SetEnabled(ctx context.Context, s *store.Store, p crm.Principal, name string, on bool) (*Version, error) {
	v, err := Get(ctx, s, p, name)
	if err != nil {
		return nil, err
	}
	if err := mayDefine(ctx, s, p, v.TeamID); err != nil {
		return nil, err
	}
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		if _, err := b.Exec(ctx, `UPDATE automation_workflows SET enabled = $1 WHERE name = $2`, on, name); err != nil {
			return err
		}
		action := "disable"
		if on {
			action = "enable"
		}
		if err := b.Audit(ctx, p, action, "workflow", v.ID, map[string]any{"enabled": v.Enabled}, map[string]any{"enabled": on}); err != nil {
			return err
		}
		return watch(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	v.Enabled = on
	return v, nil
}

// onChanges reports whether the trigger fires on change events (the
// others are scanned, called or run by hand).
func (wf *Workflow) onChanges() bool {
	switch wf.Doc.Trigger.Type {
	case OnCreated, OnUpdated, OnDeleted, OnStageChanged, OnCloseDatePushed:
		return true
	}
	return false
}

// watch makes the store write change events for exactly the entities that
// enabled workflows trigger on.
func watch(ctx context.Context, b *store.Bulk) error {
	rows, err := b.Query(ctx, `SELECT file, source FROM automation_workflows WHERE latest AND enabled`)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for rows.Next() {
		var file, src string
		if err := rows.Scan(&file, &src); err != nil {
			rows.Close()
			return err
		}
		if wf, err := compiled(file, src); err == nil && wf.onChanges() {
			set[wf.Doc.Trigger.Entity] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	es := make([]string, 0, len(set))
	for e := range set {
		es = append(es, e)
	}
	sort.Strings(es)
	return b.SetWatched(ctx, es)
}

const versionColumns = `id, name, version, file, latest, enabled, team_id, applied_by, applied_at, source`

func scanVersions(rows *sql.Rows) ([]*Version, error) {
	defer rows.Close()
	var out []*Version
	for rows.Next() {
		v := &Version{}
		var team, by sql.NullInt64
		if err := rows.Scan(&v.ID, &v.Name, &v.Version, &v.File, &v.Latest, &v.Enabled, &team, &by, &v.AppliedAt, &v.Source); err != nil {
			return nil, err
		}
		if team.Valid {
			v.TeamID = &team.Int64
		}
		if by.Valid {
			v.AppliedBy = &by.Int64
		}
		wf, err := compiled(v.File, v.Source)
		if err != nil {
			return nil, fmt.Errorf("stored workflow %s v%d no longer loads: %w", v.Name, v.Version, err)
		}
		v.wf, v.Trigger, v.Entity = wf, wf.Doc.Trigger.Type, wf.Doc.Trigger.Entity
		out = append(out, v)
	}
	return out, rows.Err()
}

// compiledCache keeps compiled workflows by file and source: a stored
// version never changes, and several databases in one process (tests) may
// hold different workflows under one id.
var compiledCache sync.Map

func compiled(file, src string) (*Workflow, error) {
	key := file + "\x00" + src
	if wf, ok := compiledCache.Load(key); ok {
		return wf.(*Workflow), nil
	}
	wf, err := Parse(file, []byte(src), nil)
	if err != nil {
		return nil, err
	}
	compiledCache.Store(key, wf)
	return wf, nil
}

// visibleTo is the condition on automation_workflows of what p may read:
// everything for ops and admin; for a manager, workflows without a team and
// those of their teams.
func visibleTo(ctx context.Context, s *store.Store, p crm.Principal) (func(*Version) bool, error) {
	switch {
	case p.Role.SeesAll():
		return func(*Version) bool { return true }, nil
	case p.Role == crm.RoleManager:
		of, err := s.OwnerFilter(ctx, p)
		if err != nil {
			return nil, err
		}
		return func(v *Version) bool { return v.TeamID == nil || of.Team(*v.TeamID) }, nil
	}
	return nil, fmt.Errorf("list workflows: %w", crm.ErrForbidden)
}

// List is the latest version of every workflow p may see, by name.
func List(ctx context.Context, s *store.Store, p crm.Principal) ([]*Version, error) {
	ok, err := visibleTo(ctx, s, p)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT `+versionColumns+` FROM automation_workflows WHERE latest ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	vs, err := scanVersions(rows)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(vs, func(v *Version) bool { return !ok(v) }), nil
}

// Get is the latest version of the named workflow.
func Get(ctx context.Context, s *store.Store, p crm.Principal, name string) (*Version, error) {
	ok, err := visibleTo(ctx, s, p)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT `+versionColumns+` FROM automation_workflows WHERE latest AND name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("read workflow %s: %w", name, err)
	}
	vs, err := scanVersions(rows)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 || !ok(vs[0]) {
		return nil, fmt.Errorf("workflow %q: %w", name, crm.ErrNotFound)
	}
	return vs[0], nil
}

// Versions lists every version of the named workflow, newest first.
func Versions(ctx context.Context, s *store.Store, p crm.Principal, name string) ([]*Version, error) {
	if _, err := Get(ctx, s, p, name); err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT `+versionColumns+` FROM automation_workflows WHERE name = $1 ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("versions of workflow %s: %w", name, err)
	}
	return scanVersions(rows)
}

// enabled are the latest versions of the enabled workflows.
func enabled(ctx context.Context, s *store.Store) ([]*Version, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT `+versionColumns+` FROM automation_workflows WHERE latest AND enabled ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("enabled workflows: %w", err)
	}
	return scanVersions(rows)
}

// versionByID reads one version (runs keep the version they started with).
func versionByID(ctx context.Context, s *store.Store, id int64) (*Version, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT `+versionColumns+` FROM automation_workflows WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	vs, err := scanVersions(rows)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("workflow version %d: %w", id, crm.ErrNotFound)
	}
	return vs[0], nil
}

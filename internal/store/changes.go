package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// The change feed: every audited write of a watched entity also writes a
// change event in the write's transaction, so automation sees each committed
// write exactly once (and none that rolled back) without the writer knowing
// about workflows. Which entities are watched is a table the automation
// keeps; writes of unwatched entities cost nothing extra.

// Cause says why a write happens, carried in the context of the write: a
// workflow's step that updates a record passes its workflow and depth, so
// the change events it causes can be told from a user's.
type Cause struct {
	Workflow string // the workflow whose step writes
	Depth    int    // how many workflow steps led to this write
}

type causeKey struct{}

// WithCause marks the writes made with ctx as caused by c.
func WithCause(ctx context.Context, c Cause) context.Context {
	return context.WithValue(ctx, causeKey{}, c)
}

// CauseOf is the cause ctx carries; zero for a user's write.
func CauseOf(ctx context.Context) Cause {
	c, _ := ctx.Value(causeKey{}).(Cause)
	return c
}

// ChangeEventColumns are the columns of the change_events table.
var ChangeEventColumns = []string{"id", "entity", "entity_id", "action", "before_json", "after_json", "actor_id", "depth", "cause", "at_time"}

// watchTTL bounds how long a process trusts its copy of the watched
// entities when another process (a CLI import, a second server) may change
// them; this process's own changes apply at once (ForgetWatch).
const watchTTL = 2 * time.Second

type watchCache struct {
	mu       sync.Mutex
	entities []string
	read     time.Time
}

// SetWatched replaces the entities whose writes produce change events, in
// the caller's transaction.
func (b *Bulk) SetWatched(ctx context.Context, entities []string) error {
	if _, err := b.Exec(ctx, `DELETE FROM change_watch`); err != nil {
		return fmt.Errorf("watch entities: %w", err)
	}
	for _, e := range entities {
		if _, err := b.Exec(ctx, `INSERT INTO change_watch (entity) VALUES ($1)`, e); err != nil {
			return fmt.Errorf("watch %s: %w", e, err)
		}
	}
	b.s.ForgetWatch()
	return nil
}

// ForgetWatch makes the next write read the watched entities again.
func (s *Store) ForgetWatch() {
	s.watch.mu.Lock()
	s.watch.read = time.Time{}
	s.watch.mu.Unlock()
}

// watched reports whether writes of entity produce change events.
func (s *Store) watched(ctx context.Context, q querier, entity string) (bool, error) {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	if time.Since(s.watch.read) > watchTTL {
		rows, err := q.QueryContext(ctx, `SELECT entity FROM change_watch`)
		if err != nil {
			return false, fmt.Errorf("read watched entities: %w", err)
		}
		var es []string
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return false, err
			}
			es = append(es, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
		s.watch.entities, s.watch.read = es, time.Now()
	}
	return slices.Contains(s.watch.entities, entity), nil
}

// change writes the change event of an audited write when its entity is
// watched.
func (s *Store) change(ctx context.Context, q querier, actor *int64, action, entity string, id int64, before, after string, at time.Time) error {
	if ok, err := s.watched(ctx, q, entity); err != nil || !ok {
		return err
	}
	eventID, err := s.allocIDs(ctx, 1)
	if err != nil {
		return err
	}
	c := CauseOf(ctx)
	_, err = q.ExecContext(ctx, `INSERT INTO change_events (`+strings.Join(ChangeEventColumns, ", ")+`) VALUES (`+bindParams(1, len(ChangeEventColumns))+`)`,
		eventID, entity, id, action, before, after, actor, c.Depth, c.Workflow, at)
	if err != nil {
		return fmt.Errorf("write change event: %w", err)
	}
	return nil
}

// changeRows are the change events of records created together (InsertNew),
// or nil when their entity is not watched.
func (s *Store) changeRows(ctx context.Context, q querier, actor *int64, entity string, ids []int64, afters []string, at time.Time) ([][]any, error) {
	if ok, err := s.watched(ctx, q, entity); err != nil || !ok || len(ids) == 0 {
		return nil, err
	}
	first, err := s.allocIDs(ctx, len(ids))
	if err != nil {
		return nil, err
	}
	c := CauseOf(ctx)
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{first + int64(i), entity, id, "create", "", afters[i], actor, int64(c.Depth), c.Workflow, at}
	}
	return rows, nil
}

// Watches reports whether writes of entity produce change events, for
// writers that do not go through a Repo (the importer's set-based writes).
func (b *Bulk) Watches(ctx context.Context, entity string) (bool, error) {
	return b.s.watched(ctx, b.conn, entity)
}

// Snapshot reads the records of entity that where selects (SQL over the
// entity's table, e.g. "id IN (SELECT id FROM stage)") as the audit log
// writes them, by id: before and after a set-based write, for WriteChanges.
func (b *Bulk) Snapshot(ctx context.Context, entity, where string) (map[int64]string, error) {
	r, ok := b.s.snapshotters()[entity]
	if !ok {
		return nil, fmt.Errorf("no change events for %q", entity)
	}
	return r.snapshot(ctx, b.conn, where)
}

// WriteChanges writes the change events of a set-based write of entity,
// as p: a create for each record of after that before lacks, an update for
// each whose JSON differs, nothing for the rest.
func (b *Bulk) WriteChanges(ctx context.Context, p crm.Principal, entity string, before, after map[int64]string) error {
	ids := make([]int64, 0, len(after))
	for id, a := range after {
		if before[id] != a {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	first, err := b.s.allocIDs(ctx, len(ids))
	if err != nil {
		return err
	}
	c, actor, at := CauseOf(ctx), actorOf(p), b.s.now()
	rows := make([][]any, len(ids))
	for i, id := range ids {
		action := "update"
		if _, ok := before[id]; !ok {
			action = "create"
		}
		rows[i] = []any{first + int64(i), entity, id, action, before[id], after[id], actor, int64(c.Depth), c.Workflow, at}
	}
	return b.InsertRows(ctx, "change_events", ChangeEventColumns, rows)
}

// snapshotter reads records as audit JSON.
type snapshotter interface {
	snapshot(ctx context.Context, q querier, where string) (map[int64]string, error)
}

// snapshotters are the entities automation may watch.
func (s *Store) snapshotters() map[string]snapshotter {
	return map[string]snapshotter{"lead": s.Leads, "contact": s.Contacts, "account": s.Accounts, "opportunity": s.Opportunities, "activity": s.Activities}
}

func (r *Repo[T]) snapshot(ctx context.Context, q querier, where string) (map[int64]string, error) {
	rows, err := q.QueryContext(ctx, r.selectSQL()+" WHERE "+where)
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", r.entity, err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		v := new(T)
		if err := rows.Scan(scanTargets(v)...); err != nil {
			return nil, err
		}
		out[idOf(v)] = auditJSON(v)
	}
	return out, rows.Err()
}

package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Triggers of state rather than of a write: a deal is stale, a lead's score
// is above a threshold, a lead's SLA was missed, a schedule's time came.
// Scan evaluates them: for the state triggers it reads which records are in
// the state now, and a record that was not in it at the previous scan
// enters (so a lead that drops below the threshold and rises again enters
// again, subject to the re-entry policy); for a schedule, every record that
// passes the condition enters at each time of the schedule.

// ScanEvery is how often serve scans.
const ScanEvery = time.Minute

// Scan evaluates the state and schedule triggers of the enabled workflows at
// now, and returns how many runs it started.
func Scan(ctx context.Context, s *store.Store, now time.Time) (int, error) {
	wfs, err := enabled(ctx, s)
	if err != nil {
		return 0, err
	}
	now = now.UTC()
	started := 0
	for _, v := range wfs {
		var n int
		var err error
		switch v.Trigger {
		case OnDealStale, OnScoreCrossed, OnSLABreached:
			n, err = scanState(ctx, s, v, now)
		case OnSchedule:
			n, err = scanSchedule(ctx, s, v, now)
		default:
			continue
		}
		if err != nil {
			return started, fmt.Errorf("workflow %s: %w", v.Name, err)
		}
		started += n
	}
	return started, nil
}

// member is a record in a trigger's state; key names the occurrence (an SLA
// breach is one assignment's).
type member struct {
	id  int64
	key string
}

// inState lists the records in v's trigger state at now.
func inState(ctx context.Context, s *store.Store, v *Version, now time.Time) ([]member, error) {
	t := v.wf.Doc.Trigger
	var query string
	var args []any
	switch t.Type {
	case OnDealStale:
		// Open deals whose latest activity (or creation, without one) is
		// older than the days. Tasks are planned work, not contact: the
		// task a stale-deal workflow creates does not make the deal fresh.
		query = `SELECT o.id, '' FROM opportunities o
			LEFT JOIN (SELECT opportunity_id, MAX(occurred_at) AS last FROM activities WHERE opportunity_id IS NOT NULL AND kind <> 'task' AND occurred_at <= $1 GROUP BY opportunity_id) a
			  ON a.opportunity_id = o.id
			WHERE NOT o.is_closed AND COALESCE(a.last, o.created_at) < $2`
		args = []any{now, now.Add(-time.Duration(t.Days) * 24 * time.Hour)}
	case OnScoreCrossed:
		model, err := scoringModel(ctx, s, t.Model)
		if err != nil || model == 0 {
			return nil, err
		}
		if t.Threshold != nil {
			query = `SELECT lead_id, '' FROM lead_scores WHERE model_id = $1 AND score >= $2`
			args = []any{model, *t.Threshold}
		} else {
			marks := make([]string, len(t.Grades))
			args = []any{model}
			for i, g := range t.Grades {
				args = append(args, strings.ToUpper(strings.TrimSpace(g)))
				marks[i] = fmt.Sprintf("$%d", len(args))
			}
			query = `SELECT lead_id, '' FROM lead_scores WHERE model_id = $1 AND UPPER(grade) IN (` + strings.Join(marks, ", ") + `)`
		}
	case OnSLABreached:
		// Breaches since the workflow was applied: applying one does not
		// replay the past.
		query = `SELECT lead_id, CAST(id AS VARCHAR) FROM lead_assignments WHERE sla_breached_at IS NOT NULL AND sla_breached_at >= $1`
		args = []any{v.AppliedAt}
	}
	rows, err := s.DB().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("records in the %s state: %w", t.Type, err)
	}
	defer rows.Close()
	var out []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.id, &m.key); err != nil {
			return nil, err
		}
		m.key = fmt.Sprintf("%s:%d:%s", v.Entity, m.id, m.key)
		out = append(out, m)
	}
	return out, rows.Err()
}

// scoringModel is the id of the named active scoring model, or of the
// general one (the active model that scores the most leads); 0 when none.
func scoringModel(ctx context.Context, s *store.Store, name string) (int64, error) {
	var id int64
	var err error
	if name == "" {
		err = s.DB().QueryRowContext(ctx, `SELECT id FROM scoring_models WHERE active ORDER BY scored_leads DESC, id LIMIT 1`).Scan(&id)
	} else {
		err = s.DB().QueryRowContext(ctx, `SELECT id FROM scoring_models WHERE active AND name = $1`, name).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// scanState starts runs for the records that entered v's state since the
// previous scan, and remembers who is in it now.
func scanState(ctx context.Context, s *store.Store, v *Version, now time.Time) (int, error) {
	current, err := inState(ctx, s, v, now)
	if err != nil {
		return 0, err
	}
	started := 0
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		if ok, err := scanLock(ctx, b); err != nil || !ok {
			return err
		}
		before, err := stateMembers(ctx, b, v.Name)
		if err != nil {
			return err
		}
		inNow := make(map[string]bool, len(current))
		d := &dispatcher{s: s, b: b, now: now}
		var added [][]any
		for _, m := range current {
			inNow[m.key] = true
			if before[m.key] {
				continue
			}
			added = append(added, []any{v.Name, m.key})
			n, err := d.offerRecord(ctx, v, m.id, &Event{Entity: v.Entity, EntityID: m.id, Action: v.Trigger, At: now, Key: m.key + "@" + now.Format(time.RFC3339)})
			if err != nil {
				return err
			}
			started += n
		}
		var left []string
		for k := range before {
			if !inNow[k] {
				left = append(left, k)
			}
		}
		if err := d.flush(ctx); err != nil {
			return err
		}
		if len(added) > 0 {
			if err := b.InsertRows(ctx, "automation_state", []string{"workflow", "member_key"}, added); err != nil {
				return fmt.Errorf("remember the state: %w", err)
			}
		}
		sort.Strings(left)
		for chunk := range slices.Chunk(left, 500) {
			marks := make([]string, len(chunk))
			args := []any{v.Name}
			for i, k := range chunk {
				args = append(args, k)
				marks[i] = fmt.Sprintf("$%d", len(args))
			}
			if _, err := b.Exec(ctx, `DELETE FROM automation_state WHERE workflow = $1 AND member_key IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return started, err
}

// scanLock keeps two servers on one PostgreSQL from scanning at once (the
// second skips this round); DuckDB has one process.
func scanLock(ctx context.Context, b *store.Bulk) (bool, error) {
	if b.Engine() != "postgres" {
		return true, nil
	}
	var ok bool
	err := b.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(7101)`).Scan(&ok)
	return ok, err
}

func stateMembers(ctx context.Context, b *store.Bulk, workflow string) (map[string]bool, error) {
	rows, err := b.Query(ctx, `SELECT member_key FROM automation_state WHERE workflow = $1`, workflow)
	if err != nil {
		return nil, fmt.Errorf("read the state of %s: %w", workflow, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// scanSchedule fires a schedule trigger when one of its times has come
// since the last it fired for (only the latest: a server that was down
// does not replay every missed time), for every record passing the
// condition.
func scanSchedule(ctx context.Context, s *store.Store, v *Version, now time.Time) (int, error) {
	wf := v.wf
	started := 0
	err := s.WithBulk(ctx, func(b *store.Bulk) error {
		if ok, err := scanLock(ctx, b); err != nil || !ok {
			return err
		}
		var last time.Time
		err := b.QueryRow(ctx, `SELECT last_tick FROM automation_schedules WHERE workflow = $1`, v.Name).Scan(&last)
		first := errors.Is(err, sql.ErrNoRows)
		if err != nil && !first {
			return err
		}
		if first {
			last = v.AppliedAt
		}
		tick := time.Time{}
		for next := wf.schedule.Next(last.In(wf.location)); !next.After(now); next = wf.schedule.Next(next) {
			tick = next
		}
		if tick.IsZero() {
			return nil
		}
		if first {
			_, err = b.Exec(ctx, `INSERT INTO automation_schedules (workflow, last_tick) VALUES ($1, $2)`, v.Name, tick.UTC())
		} else {
			_, err = b.Exec(ctx, `UPDATE automation_schedules SET last_tick = $2 WHERE workflow = $1`, v.Name, tick.UTC())
		}
		if err != nil {
			return fmt.Errorf("record the schedule of %s: %w", v.Name, err)
		}
		ids, err := allRecords(ctx, b, v.Entity)
		if err != nil {
			return err
		}
		d := &dispatcher{s: s, b: b, now: now}
		key := tick.UTC().Format(time.RFC3339)
		for _, id := range ids {
			n, err := d.offerRecord(ctx, v, id, &Event{Entity: v.Entity, EntityID: id, Action: OnSchedule, At: tick, Key: fmt.Sprintf("%s:%d:%s", v.Entity, id, key)})
			if err != nil {
				return err
			}
			started += n
		}
		return d.flush(ctx)
	})
	return started, err
}

// allRecords lists the ids of a record type a schedule considers: open
// deals and leads not yet converted or disqualified, every account,
// contact and activity.
func allRecords(ctx context.Context, b *store.Bulk, entity string) ([]int64, error) {
	query := map[string]string{
		"opportunity": `SELECT id FROM opportunities WHERE NOT is_closed ORDER BY id`,
		"lead":        `SELECT id FROM leads WHERE status NOT IN ('converted', 'disqualified') ORDER BY id`,
		"account":     `SELECT id FROM accounts ORDER BY id`,
		"contact":     `SELECT id FROM contacts ORDER BY id`,
		"activity":    `SELECT id FROM activities ORDER BY id`,
	}[entity]
	rows, err := b.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w", entity, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RunScanner scans every interval until ctx ends.
func RunScanner(ctx context.Context, s *store.Store, log *slog.Logger, every time.Duration, started func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := Scan(ctx, s, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("scan workflow triggers", "err", err)
		}
		if n > 0 {
			started()
		}
	}
}

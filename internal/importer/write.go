package importer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Writing: rows go to the database through the engine's bulk path (DuckDB's
// Appender, PostgreSQL's COPY). A first load of a table goes straight in;
// otherwise rows land in a temporary staging table and SQL both engines
// share does the rest: duplicate keys within the file, references to the big
// tables, matching stored rows by external id, the stage-history rows of
// changed deals, and the UPDATE / INSERT themselves.

const stagingTable = "qd_import_stage"

// loadStream imports one file of a big table.
func (rn *runner) loadStream(p *filePlan) error {
	spec := streamSpecs[p.entity]
	direct := false
	watched, err := rn.watched(p)
	if err != nil {
		return err
	}
	if spec.direct && !rn.forceStaging && !watched && !rn.mapsBigRefs(p, spec) {
		empty, err := rn.noExternalIDs(spec.table)
		if err != nil {
			return err
		}
		direct = empty
	}
	target, cols := spec.table, spec.cols
	if !direct {
		if err := rn.createStaging(spec.table, spec.cols, spec.extra); err != nil {
			return err
		}
		target, cols = stagingTable, append(slices.Clone(spec.cols), spec.extra...)
	}
	row := make([]any, len(spec.cols)+len(spec.extra))
	width := len(cols)
	rows := func(yield func([]any, error) bool) {
		err := rn.eachRecord(p, func(rec record) error {
			clear(row)
			c := rowCtx{rn: rn, p: p, rec: rec.fields, line: rec.line}
			ok := spec.convert(&c, row)
			if c.skip && !c.bad {
				rn.res.Skipped++
				return nil
			}
			if !ok || c.bad {
				rn.res.Rejected++
				return nil
			}
			row[len(spec.cols)] = int64(rec.line)
			if !yield(row[:width], nil) {
				return errStopIterator
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopIterator) {
			yield(nil, err)
		}
	}
	n, err := rn.b.Load(rn.ctx, target, cols, rows)
	if err != nil {
		if direct && isDuplicateKey(err) {
			return errRetryStaged
		}
		return fmt.Errorf("import: %s: %w", p.name, err)
	}
	if direct {
		rn.written(spec.table, n, n, 0)
		if p.entity == entOpportunity {
			rn.newOpps += n
		}
		return nil
	}
	return rn.finishStaged(p, spec, n)
}

func (rn *runner) mapsBigRefs(p *filePlan, spec *streamSpec) bool {
	for _, r := range spec.bigRefs {
		if p.mapped(r.field) {
			return true
		}
	}
	return false
}

// noExternalIDs reports whether no stored row of table has an external id,
// so that nothing in a file can match and a direct load is safe.
func (rn *runner) noExternalIDs(table string) (bool, error) {
	var n int64
	err := rn.b.QueryRow(rn.ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+table+` WHERE external_id IS NOT NULL LIMIT 1) x`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("import: inspect %s: %w", table, err)
	}
	return n == 0, nil
}

func isDuplicateKey(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "duplicate key") || strings.Contains(msg, "unique constraint") || strings.Contains(msg, "primary key constraint")
}

// createStaging makes the temporary staging table: the table's columns
// (types copied from it, constraints not) plus the extra ones.
func (rn *runner) createStaging(table string, cols, extra []string) error {
	if _, err := rn.b.Exec(rn.ctx, `DROP TABLE IF EXISTS `+stagingTable); err != nil {
		return fmt.Errorf("import: staging: %w", err)
	}
	if _, err := rn.b.Exec(rn.ctx, `CREATE TEMPORARY TABLE `+stagingTable+` AS SELECT `+strings.Join(cols, ", ")+` FROM `+table+` WHERE FALSE`); err != nil {
		return fmt.Errorf("import: staging: %w", err)
	}
	for _, e := range extra {
		typ := "VARCHAR"
		switch e {
		case "line":
			typ = "BIGINT"
		case "is_new":
			typ = "BOOLEAN"
		}
		if _, err := rn.b.Exec(rn.ctx, `ALTER TABLE `+stagingTable+` ADD COLUMN `+e+` `+typ); err != nil {
			return fmt.Errorf("import: staging: %w", err)
		}
	}
	return nil
}

func (rn *runner) dropStaging() error {
	_, err := rn.b.Exec(rn.ctx, `DROP TABLE IF EXISTS `+stagingTable)
	return err
}

func (rn *runner) written(table string, n, inserted, updated int64) {
	rn.res.Written += n
	rn.res.Inserted += inserted
	rn.res.Updated += updated
	rn.res.PerEntity[table] += n
}

// exec runs a statement of the import, naming the file on failure.
func (rn *runner) exec(p *filePlan, query string, args ...any) (int64, error) {
	r, err := rn.b.Exec(rn.ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("import: %s: %w", p.name, err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

// rejectLines reports the staged rows a query selects (line, value, and an
// optional third column for the message) and removes them from staging.
func (rn *runner) rejectLines(p *filePlan, field int, query, where string, reason func(extra string) string) (int64, error) {
	rows, err := rn.b.Query(rn.ctx, query)
	if err != nil {
		return 0, fmt.Errorf("import: %s: %w", p.name, err)
	}
	var n int64
	for rows.Next() {
		var line int64
		var value, extra string
		if err := rows.Scan(&line, &value, &extra); err != nil {
			rows.Close()
			return 0, fmt.Errorf("import: %s: %w", p.name, err)
		}
		rn.problem(p.name, int(line), p.label(field), value, reason(extra))
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("import: %s: %w", p.name, err)
	}
	if n > 0 {
		if _, err := rn.exec(p, `DELETE FROM `+stagingTable+` WHERE `+where); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// finishStaged moves a staged file into its table.
func (rn *runner) finishStaged(p *filePlan, spec *streamSpec, loaded int64) error {
	s := stagingTable
	var rejected int64
	if spec.keyed && p.key == "external_id" {
		dups := `SELECT s.line, s.external_id, CAST(f.first AS VARCHAR) FROM ` + s + ` s JOIN (SELECT external_id, MIN(line) AS first FROM ` + s +
			` WHERE external_id IS NOT NULL GROUP BY external_id HAVING COUNT(*) > 1) f ON f.external_id = s.external_id WHERE s.line > f.first ORDER BY s.line`
		where := `line IN (SELECT s.line FROM ` + s + ` s JOIN (SELECT external_id, MIN(line) AS first FROM ` + s +
			` WHERE external_id IS NOT NULL GROUP BY external_id HAVING COUNT(*) > 1) f ON f.external_id = s.external_id WHERE s.line > f.first)`
		n, err := rn.rejectLines(p, p.entity.field("external_id"), dups, where, func(first string) string { return "appears again in the file (first on line " + first + ")" })
		if err != nil {
			return err
		}
		rejected += n
	}
	for _, r := range spec.bigRefs {
		if !p.mapped(r.field) {
			continue
		}
		if _, err := rn.exec(p, `UPDATE `+s+` SET `+r.col+` = t.id FROM `+r.table+` t WHERE `+s+`.`+r.refCol+` IS NOT NULL AND t.external_id = `+s+`.`+r.refCol); err != nil {
			return err
		}
		if (rn.opt.CreateMissing || p.cols[r.field].create) && r.table != "opportunities" {
			if err := rn.stubBig(p, r); err != nil {
				return err
			}
		}
		unresolved := r.refCol + ` IS NOT NULL AND ` + r.col + ` IS NULL`
		what := strings.TrimSuffix(r.table, "s")
		if r.table == "opportunities" {
			what = "opportunity"
		}
		n, err := rn.rejectLines(p, r.field, `SELECT line, `+r.refCol+`, '' FROM `+s+` WHERE `+unresolved+` ORDER BY line`, unresolved,
			func(string) string { return "no " + what + " with this external id, stored or accepted in this import" })
		if err != nil {
			return err
		}
		rejected += n
	}
	rn.res.Rejected += rejected
	accepted := loaded - rejected
	if rn.b.Engine() == "postgres" {
		if _, err := rn.exec(p, `ANALYZE `+s); err != nil {
			return err
		}
	}
	var inserted, updated int64
	var err error
	switch p.entity {
	case entHistory:
		rn.historyFiles = true
		inserted, err = rn.exec(p, `INSERT INTO opportunity_history (`+strings.Join(historyCols, ", ")+`) SELECT `+strings.Join(historyCols, ", ")+` FROM `+s+
			` s WHERE NOT EXISTS (SELECT 1 FROM opportunity_history h WHERE h.opportunity_id = s.opportunity_id AND h.changed_at = s.changed_at AND h.stage = s.stage)`)
		rn.res.HistoryRows += inserted
	case entLeadEvent:
		// Events without a time happened when their lead was created (on a
		// re-import that is the stored lead's time, so nothing is doubled).
		if _, err = rn.exec(p, `UPDATE `+s+` SET occurred_at = l.created_at FROM leads l WHERE `+s+`.occurred_at IS NULL AND l.id = `+s+`.lead_id`); err != nil {
			return err
		}
		inserted, err = rn.exec(p, `INSERT INTO lead_events (`+strings.Join(leadEventCols, ", ")+`) SELECT `+strings.Join(leadEventCols, ", ")+` FROM `+s+
			` s WHERE NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = s.lead_id AND e.kind = s.kind AND e.occurred_at = s.occurred_at AND e.detail = s.detail)`)
	case entLineItem:
		// An opportunity's line items are those of the file: replaced.
		var deleted int64
		if deleted, err = rn.exec(p, `DELETE FROM line_items WHERE opportunity_id IN (SELECT opportunity_id FROM `+s+`)`); err != nil {
			return err
		}
		inserted, err = rn.exec(p, `INSERT INTO line_items (`+strings.Join(lineItemCols, ", ")+`) SELECT `+strings.Join(lineItemCols, ", ")+` FROM `+s)
		inserted = max(0, inserted-deleted)
	default:
		inserted, updated, err = rn.upsert(p, spec)
		if p.entity == entOpportunity {
			rn.newOpps += inserted
		}
	}
	if err != nil {
		return err
	}
	rn.written(spec.table, accepted, inserted, updated)
	return rn.dropStaging()
}

// upsert matches staged rows to stored ones by external id, records the
// stage history of changed deals, updates what changed and inserts the rest.
func (rn *runner) upsert(p *filePlan, spec *streamSpec) (inserted, updated int64, err error) {
	return rn.upsertStaged(p, spec, p.key == "external_id", p.key != "none")
}

// upsertStaged updates and inserts the staged rows; match first finds the
// stored rows by external id (memory-held tables come with their ids known).
func (rn *runner) upsertStaged(p *filePlan, spec *streamSpec, match, update bool) (inserted, updated int64, err error) {
	s, t := stagingTable, spec.table
	if match {
		if _, err := rn.exec(p, `UPDATE `+s+` SET id = t.id, is_new = FALSE FROM `+t+` t WHERE `+s+`.external_id IS NOT NULL AND t.external_id = `+s+`.external_id`); err != nil {
			return 0, 0, err
		}
	}
	watched, err := rn.watched(p)
	if err != nil {
		return 0, 0, err
	}
	if watched {
		// Workflows listen to this entity: the import writes the change
		// events a record written through the API would, in its transaction.
		staged := `id IN (SELECT id FROM ` + s + ` WHERE is_new)`
		var before map[int64]string
		if update {
			staged = `id IN (SELECT id FROM ` + s + `)`
			if before, err = rn.b.Snapshot(rn.ctx, p.entity.name, `id IN (SELECT id FROM `+s+` WHERE NOT is_new)`); err != nil {
				return 0, 0, err
			}
		}
		defer func() {
			if err != nil {
				return
			}
			after, serr := rn.b.Snapshot(rn.ctx, p.entity.name, staged)
			if serr == nil {
				serr = rn.b.WriteChanges(rn.ctx, crm.Principal{UserID: rn.opt.ActorID}, p.entity.name, before, after)
			}
			err = serr
		}()
	}
	if update {
		sets, changed, tracked := rn.updateSQL(p, spec, t)
		if len(sets) > 0 {
			if p.entity == entOpportunity && len(tracked) > 0 {
				if err := rn.historyOfChanges(p, tracked); err != nil {
					return 0, 0, err
				}
			}
			q := `UPDATE ` + t + ` SET ` + strings.Join(sets, ", ") + ` FROM ` + s + ` s WHERE ` + t + `.id = s.id AND NOT s.is_new AND (` + strings.Join(changed, " OR ") + `)`
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, rn.now)
			}
			updated, err = rn.exec(p, q, args...)
			if err != nil {
				return 0, 0, err
			}
		}
	}
	cols := strings.Join(spec.cols, ", ")
	inserted, err = rn.exec(p, `INSERT INTO `+t+` (`+cols+`) SELECT `+cols+` FROM `+s+` WHERE is_new`)
	return inserted, updated, err
}

// updateSQL builds the SET list, the "has changed" tests and the tracked
// (stage-history) columns of a re-import from the fields the plan maps.
func (rn *runner) updateSQL(p *filePlan, spec *streamSpec, t string) (sets, changed []string, tracked map[string]string) {
	tracked = map[string]string{}
	done := map[string]bool{}
	for _, u := range spec.update {
		if done[u.col] || !anyMapped(p, u.fields) {
			continue
		}
		done[u.col] = true
		expr := u.expr
		if expr == "" {
			expr = "s." + u.col
		}
		sets = append(sets, u.col+" = "+strings.ReplaceAll(expr, "T.", t+"."))
		if u.quiet {
			continue
		}
		changed = append(changed, t+"."+u.col+" IS DISTINCT FROM "+strings.ReplaceAll(expr, "T.", t+"."))
		if u.tracked {
			tracked[u.col] = expr
		}
	}
	if len(changed) == 0 {
		return nil, nil, nil
	}
	return sets, changed, tracked
}

func anyMapped(p *filePlan, fields []int) bool {
	if len(fields) == 0 {
		return true
	}
	for _, f := range fields {
		if f == leCustomFields && p.entity == entLead {
			if len(p.custom) > 0 || len(p.named) > 0 {
				return true
			}
			continue
		}
		if p.mapped(f) {
			return true
		}
	}
	return false
}

// historyOfChanges writes, for every stored deal whose stage, amount, close
// dates, forecast category or probability the file changes, a stage-history
// row with the new state, stamped with the import's time.
func (rn *runner) historyOfChanges(p *filePlan, tracked map[string]string) error {
	s := stagingTable
	newVal := func(col string) string {
		if e, ok := tracked[col]; ok {
			return strings.ReplaceAll(e, "T.", "o.")
		}
		return "o." + col
	}
	var diffs []string
	for col, e := range tracked {
		diffs = append(diffs, "o."+col+" IS DISTINCT FROM "+strings.ReplaceAll(e, "T.", "o."))
	}
	slices.Sort(diffs)
	from := ` FROM ` + s + ` s JOIN opportunities o ON o.id = s.id WHERE NOT s.is_new AND (` + strings.Join(diffs, " OR ") + `)`
	var n int64
	if err := rn.b.QueryRow(rn.ctx, `SELECT COUNT(*)`+from).Scan(&n); err != nil {
		return fmt.Errorf("import: %s: %w", p.name, err)
	}
	if n == 0 {
		return nil
	}
	first, err := rn.allocIDs(n)
	if err != nil {
		return err
	}
	q := `INSERT INTO opportunity_history (id, opportunity_id, changed_at, stage, amount, expected_close, forecast_category, probability, changed_by)
		SELECT CAST($1 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY o.id) - 1, o.id, CAST($2 AS TIMESTAMP), ` +
		newVal("stage") + `, ` + newVal("amount") + `, ` + newVal("expected_close") + `, ` + newVal("forecast_category") + `, ` + newVal("probability") + `, NULL` + from
	if _, err := rn.exec(p, q, first, rn.now); err != nil {
		return err
	}
	rn.res.HistoryRows += n
	return nil
}

// stubBig creates stub contacts or leads for references no stored row has.
func (rn *runner) stubBig(p *filePlan, r bigRefCol) error {
	s := stagingTable
	missing := ` FROM (SELECT DISTINCT ` + r.refCol + ` AS ref FROM ` + s + ` WHERE ` + r.refCol + ` IS NOT NULL AND ` + r.col + ` IS NULL) m`
	var n int64
	if err := rn.b.QueryRow(rn.ctx, `SELECT COUNT(*)`+missing).Scan(&n); err != nil {
		return fmt.Errorf("import: %s: %w", p.name, err)
	}
	if n == 0 {
		return nil
	}
	first, err := rn.allocIDs(n)
	if err != nil {
		return err
	}
	var q string
	switch r.table {
	case "contacts":
		q = `INSERT INTO contacts (id, external_id, last_name, created_at) SELECT CAST($1 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY ref) - 1, ref, 'Unknown contact ' || ref, CAST($2 AS TIMESTAMP)` + missing
	case "leads":
		q = `INSERT INTO leads (id, external_id, last_name, status, created_at) SELECT CAST($1 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY ref) - 1, ref, 'Unknown lead ' || ref, 'new', CAST($2 AS TIMESTAMP)` + missing
	default:
		return nil
	}
	if _, err := rn.exec(p, q, first, rn.now); err != nil {
		return err
	}
	rn.res.Created[r.table] += n
	_, err = rn.exec(p, `UPDATE `+s+` SET `+r.col+` = t.id FROM `+r.table+` t WHERE `+s+`.`+r.refCol+` IS NOT NULL AND `+s+`.`+r.col+` IS NULL AND t.external_id = `+s+`.`+r.refCol)
	return err
}

// watched reports whether workflows listen to the file's entity (its
// records then go through staging, so that their change events can be
// written).
func (rn *runner) watched(p *filePlan) (bool, error) {
	switch p.entity {
	case entLead, entContact, entAccount, entOpportunity, entActivity:
		return rn.b.Watches(rn.ctx, p.entity.name)
	}
	return false, nil
}

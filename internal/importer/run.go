package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// source is what an import reads: plans over files, and the stages it may
// create. Salesforce, HubSpot and mapped imports all come down to one.
type source struct {
	name   string
	dir    string
	plans  []*filePlan
	stages []crm.Stage
	// pricebook maps Salesforce PricebookEntry Ids to Product2 Ids, for line
	// items exported with PricebookEntryId only.
	pricebook map[string]string
	// listPrices are Salesforce products' standard prices, by Product2 Id.
	listPrices map[string]decimal.Decimal
	// stageHints define stages the source knows (HubSpot's default pipeline)
	// for when a row names one that is not stored yet.
	stageHints map[string]crm.Stage
}

// runner is one attempt at an import, inside one bulk transaction.
type runner struct {
	ctx  context.Context
	s    *store.Store
	b    *store.Bulk
	src  *source
	opt  Options
	now  time.Time
	refs *refs
	res  *Result

	// forceStaging loads every table through a staging table (the second
	// attempt, after a direct load met a duplicate key).
	forceStaging bool

	rejects   map[lineKey][]Problem // the problems of each rejected (file, line)
	nextID    int64                 // id allocation block
	endID     int64
	firstID   int64 // the first id of this import: every new row's id is >= it
	lastProgr int64

	blocks       [][2]int64 // the id blocks this import reserved, merged
	newOpps      int64      // opportunities inserted
	historyFiles bool       // a stage-history file was loaded

	dealTypes wordCache[crm.DealType]

	pendingStages []crm.Stage
	stubAccounts  [][]any
	stubProducts  [][]any
	stubUsers     []*userRec
	newTeams      []*teamRec
	newUserExt    [][]any // (source, external id, user id) to remember
}

type lineKey struct {
	file string
	line int
}

var (
	errRollback     = errors.New("import: roll back")
	errRetryStaged  = errors.New("import: duplicate key in a direct load")
	errStopIterator = errors.New("stop")
)

const progressEvery = 50_000

func run(ctx context.Context, s *store.Store, src *source, opt Options) (Result, error) {
	start := time.Now()
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Microsecond)
	if opt.MemoryLimit != "" && s.Engine() == "duckdb" {
		restore, err := limitMemory(ctx, s, opt.MemoryLimit)
		if err != nil {
			return Result{Source: src.name}, err
		}
		defer restore()
	}
	for attempt := 0; ; attempt++ {
		res := Result{Source: src.name, PerEntity: map[string]int64{}, Created: map[string]int64{}, Problems: []Problem{}}
		rn := &runner{ctx: ctx, s: s, src: src, opt: opt, now: now, res: &res, rejects: map[lineKey][]Problem{}, forceStaging: attempt > 0,
			dealTypes: wordCache[crm.DealType]{fn: dealType}}
		err := s.WithBulk(ctx, rn.load)
		res.Elapsed = time.Since(start)
		if errors.Is(err, errRetryStaged) && attempt == 0 {
			continue
		}
		sortProblems(res.Problems)
		res.ProblemSummary = SummarizeProblems(res.Problems)
		switch {
		case err == nil:
			res.Committed = true
		case errors.Is(err, errRollback):
			err = nil
		default:
			return res, err
		}
		if opt.RejectsPath != "" && len(rn.rejects) > 0 {
			if werr := writeRejects(src, rn.rejects, opt.RejectsPath); werr != nil {
				return res, werr
			}
		}
		if len(res.Problems) > 0 && !opt.SkipInvalid {
			res.Written, res.Inserted, res.Updated, res.HistoryRows = 0, 0, 0, 0
			res.PerEntity, res.Created = map[string]int64{}, map[string]int64{}
			return res, &Error{Problems: res.Problems}
		}
		return res, nil
	}
}

var memorySize = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)$`)

// limitMemory sets DuckDB's memory limit and returns how to put the old one back.
func limitMemory(ctx context.Context, s *store.Store, limit string) (func(), error) {
	limit = strings.TrimSpace(limit)
	if !memorySize.MatchString(limit) {
		return nil, fmt.Errorf("import: memory limit %q: want a size such as 800MB or 1.5GB: %w", limit, crm.ErrInvalid)
	}
	var old string
	if err := s.DB().QueryRowContext(ctx, `SELECT current_setting('memory_limit')`).Scan(&old); err != nil {
		return nil, fmt.Errorf("import: read the memory limit: %w", err)
	}
	if _, err := s.DB().ExecContext(ctx, `SET memory_limit = '`+limit+`'`); err != nil {
		return nil, fmt.Errorf("import: set the memory limit: %w", err)
	}
	return func() {
		if memorySize.MatchString(old) {
			s.DB().ExecContext(context.WithoutCancel(ctx), `SET memory_limit = '`+old+`'`)
		}
	}, nil
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
}

// load runs the whole import inside the bulk transaction. Returning an
// error rolls everything back.
func (rn *runner) load(b *store.Bulk) error {
	rn.b = b
	var err error
	if rn.refs, err = loadRefs(rn.ctx, b, rn.src.name); err != nil {
		return err
	}
	if rn.firstID, err = rn.newID(); err != nil {
		return err
	}
	rn.nextID-- // give the first id back to the block
	for _, st := range rn.src.stages {
		if _, ok := rn.refs.stages[strings.ToLower(st.Name)]; !ok {
			rn.addStage(st)
		}
	}
	if err := rn.flushCreated(); err != nil {
		return err
	}
	plans := slices.Clone(rn.src.plans)
	slices.SortStableFunc(plans, func(a, b *filePlan) int { return entityOrder(a.entity) - entityOrder(b.entity) })
	for _, p := range plans {
		if err := rn.ctx.Err(); err != nil {
			return err
		}
		var err error
		switch p.entity {
		case entTeam:
			err = rn.loadTeams(p)
		case entUser:
			err = rn.loadUsers(p)
		case entAccount, entProduct:
			err = rn.loadKeyed(p)
		default:
			err = rn.loadStream(p)
		}
		if err != nil {
			return err
		}
		if err := rn.flushCreated(); err != nil {
			return err
		}
	}
	if rn.opt.Progress != nil {
		rn.opt.Progress(rn.res.RowsRead)
	}
	if len(rn.res.Problems) > 0 && !rn.opt.SkipInvalid {
		return errRollback
	}
	if err := rn.ensureHistory(); err != nil {
		return err
	}
	if err := rn.audit(); err != nil {
		return err
	}
	if (len(rn.res.Problems) > 0 && !rn.opt.SkipInvalid) || rn.opt.DryRun {
		return errRollback
	}
	return nil
}

// newID hands out ids from blocks reserved in the id counter.
func (rn *runner) newID() (int64, error) {
	if rn.nextID >= rn.endID {
		const block = 1 << 16
		first, err := rn.b.AllocIDs(rn.ctx, block)
		if err != nil {
			return 0, err
		}
		rn.nextID, rn.endID = first, first+block
		if n := len(rn.blocks); n > 0 && rn.blocks[n-1][1]+1 == first {
			rn.blocks[n-1][1] = first + block - 1
		} else {
			rn.blocks = append(rn.blocks, [2]int64{first, first + block - 1})
		}
	}
	id := rn.nextID
	rn.nextID++
	return id, nil
}

// allocIDs reserves n consecutive ids for rows numbered in SQL.
func (rn *runner) allocIDs(n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	return rn.b.AllocIDs(rn.ctx, int(n))
}

// problem records a problem with a row; the row is rejected.
func (rn *runner) problem(file string, line int, field, value, reason string) {
	if len(value) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		value = value[:cut] + "…"
	}
	pr := Problem{File: file, Line: line, Field: field, Value: value, Reason: reason}
	rn.res.Problems = append(rn.res.Problems, pr)
	k := lineKey{file, line}
	rn.rejects[k] = append(rn.rejects[k], pr)
}

func (rn *runner) progress() {
	if rn.opt.Progress != nil && rn.res.RowsRead-rn.lastProgr >= progressEvery {
		rn.lastProgr = rn.res.RowsRead
		rn.opt.Progress(rn.res.RowsRead)
	}
}

// eachRecord reads p's file and calls fn with each well-formed record that
// passes the plan's where clause. Malformed records become problems.
func (rn *runner) eachRecord(p *filePlan, fn func(rec record) error) error {
	r, err := openCSV(p.dir, p.name, p.delim)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(rn.ctx)
	ch, wait := r.stream(ctx)
	defer func() {
		cancel()
		wait()
		r.close()
	}()
	for batch := range ch {
		for _, rec := range batch {
			rn.res.RowsRead++
			if rec.err != "" {
				// A file mapped twice is read twice: say what is wrong with
				// the record once.
				if _, said := rn.rejects[lineKey{p.name, rec.line}]; !said {
					rn.problem(p.name, rec.line, "", "", rec.err)
				}
				rn.res.Rejected++
				continue
			}
			if p.where != nil && !p.where.keep(rec.fields) {
				rn.res.Skipped++
				continue
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		rn.progress()
	}
	return wait()
}

// addStage queues a stage to create.
func (rn *runner) addStage(st crm.Stage) *crm.Stage {
	if st.Position == 0 {
		st.Position = rn.refs.maxStagePos + 1
	}
	rn.refs.maxStagePos = max(rn.refs.maxStagePos, st.Position)
	s := st
	rn.refs.stages[strings.ToLower(st.Name)] = &s
	rn.pendingStages = append(rn.pendingStages, st)
	rn.res.Created["stages"]++
	return &s
}

// flushCreated writes the stages, stub records and teams created while
// reading the last file.
func (rn *runner) flushCreated() error {
	for _, st := range rn.pendingStages {
		if _, err := rn.b.Exec(rn.ctx, `INSERT INTO stages (name, stage_order, probability, kind, forecast_category) VALUES ($1, $2, $3, $4, $5)`,
			st.Name, st.Position, st.Probability, string(st.Kind), string(st.ForecastCategory)); err != nil {
			return fmt.Errorf("import: create stage %q: %w", st.Name, err)
		}
	}
	rn.pendingStages = nil
	if len(rn.stubAccounts) > 0 {
		if err := rn.insertRows("accounts", accountCols, rn.stubAccounts); err != nil {
			return err
		}
		rn.stubAccounts = nil
	}
	if len(rn.stubProducts) > 0 {
		if err := rn.insertRows("products", productCols, rn.stubProducts); err != nil {
			return err
		}
		rn.stubProducts = nil
	}
	if len(rn.newTeams) > 0 {
		if err := rn.writeTeams(rn.newTeams); err != nil {
			return err
		}
		rn.newTeams = nil
	}
	if len(rn.stubUsers) > 0 {
		if err := rn.writeUsers(rn.stubUsers); err != nil {
			return err
		}
		rn.stubUsers = nil
	}
	if len(rn.newUserExt) > 0 {
		if err := rn.writeUserExt(); err != nil {
			return err
		}
		rn.newUserExt = nil
	}
	return nil
}

// setUserExt remembers a user's id in the source, for this import and later ones.
func (rn *runner) setUserExt(ext string, id int64) {
	if ext == "" {
		return
	}
	if old, ok := rn.refs.userExt[ext]; ok && old == id {
		return
	}
	rn.refs.userExt[ext] = id
	rn.newUserExt = append(rn.newUserExt, []any{rn.src.name, ext, id})
}

func (rn *runner) writeUserExt() error {
	if err := rn.createStaging("user_external_ids", []string{"source", "external_id", "user_id"}, nil); err != nil {
		return err
	}
	if err := rn.insertRows(stagingTable, []string{"source", "external_id", "user_id"}, rn.newUserExt); err != nil {
		return err
	}
	if _, err := rn.b.Exec(rn.ctx, `DELETE FROM user_external_ids WHERE source = $1 AND external_id IN (SELECT external_id FROM `+stagingTable+`)`, rn.src.name); err != nil {
		return fmt.Errorf("import: user ids: %w", err)
	}
	if _, err := rn.b.Exec(rn.ctx, `INSERT INTO user_external_ids (source, external_id, user_id) SELECT source, external_id, user_id FROM `+stagingTable); err != nil {
		return fmt.Errorf("import: user ids: %w", err)
	}
	return rn.dropStaging()
}

// insertRows bulk-loads rows straight into a table.
func (rn *runner) insertRows(table string, cols []string, rows [][]any) error {
	_, err := rn.b.Load(rn.ctx, table, cols, func(yield func([]any, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("import: write %s: %w", table, err)
	}
	return nil
}

// ensureHistory gives every opportunity created by this import a first row
// of stage history, unless a history file already gave it some: its state
// as imported, at its close date when it is closed, else at its creation.
// The new deals are those whose ids lie in the blocks this import reserved.
func (rn *runner) ensureHistory() error {
	n := rn.newOpps
	if n == 0 {
		return nil
	}
	var ranges []string
	for _, b := range rn.blocks {
		ranges = append(ranges, fmt.Sprintf("o.id BETWEEN %d AND %d", b[0], b[1]))
	}
	from := ` FROM opportunities o WHERE (` + strings.Join(ranges, " OR ") + `)`
	if rn.historyFiles {
		from += ` AND NOT EXISTS (SELECT 1 FROM opportunity_history h WHERE h.opportunity_id = o.id)`
		if err := rn.b.QueryRow(rn.ctx, `SELECT COUNT(*)`+from).Scan(&n); err != nil {
			return fmt.Errorf("import: stage history: %w", err)
		}
	}
	first, err := rn.allocIDs(n)
	if err != nil || n == 0 {
		return err
	}
	r, err := rn.b.Exec(rn.ctx, `INSERT INTO opportunity_history (id, opportunity_id, changed_at, stage, amount, expected_close, forecast_category, probability, changed_by)
		SELECT CAST($1 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY o.id) - 1, o.id,
			CASE WHEN o.is_closed AND o.closed_at IS NOT NULL AND CAST(o.closed_at AS TIMESTAMP) > o.created_at THEN CAST(o.closed_at AS TIMESTAMP) ELSE o.created_at END,
			o.stage, o.amount, o.expected_close, o.forecast_category, o.probability, NULL`+from, first)
	if err != nil {
		return fmt.Errorf("import: stage history: %w", err)
	}
	if got, _ := r.RowsAffected(); got != n {
		return fmt.Errorf("import: stage history: wrote %d first rows for %d new deals", got, n)
	}
	rn.res.HistoryRows += n
	return nil
}

// audit writes the one audit-log entry of the import (bulk rows skip the
// per-row audit): what was read, written and rejected, from where.
func (rn *runner) audit() error {
	var files []string
	for _, p := range rn.src.plans {
		if !slices.Contains(files, p.name) {
			files = append(files, p.name)
		}
	}
	after, err := json.Marshal(map[string]any{
		"source": rn.src.name, "folder": rn.src.dir, "files": files, "rows_read": rn.res.RowsRead, "written": rn.res.Written,
		"inserted": rn.res.Inserted, "updated": rn.res.Updated, "rejected": rn.res.Rejected, "skipped": rn.res.Skipped, "per_entity": rn.res.PerEntity,
		"created": rn.res.Created, "history_rows": rn.res.HistoryRows, "skip_invalid": rn.opt.SkipInvalid,
		"create_missing": rn.opt.CreateMissing, "import_time": rn.now,
	})
	if err != nil {
		return err
	}
	id, err := rn.allocIDs(1)
	if err != nil {
		return err
	}
	var actor *int64
	if rn.opt.ActorID != 0 {
		actor = &rn.opt.ActorID
	}
	_, err = rn.b.Exec(rn.ctx, `INSERT INTO audit_log (id, at_time, actor_id, action, entity, entity_id, before_json, after_json) VALUES ($1, $2, $3, 'import', 'import', $4, '', $5)`,
		id, rn.now, actor, id, string(after))
	if err != nil {
		return fmt.Errorf("import: write audit log: %w", err)
	}
	return nil
}

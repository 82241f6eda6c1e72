// Package store keeps the sales data in DuckDB (embedded, the default) or
// PostgreSQL. Every read and write takes a crm.Principal and applies that
// role's visibility inside the SQL, so no caller can forget it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Store is the one way in to the database.
type Store struct {
	db      *sql.DB
	dialect dialect
	log     *slog.Logger
	idMu    sync.Mutex // serialises id allocation (DuckDB aborts on write conflicts instead of waiting)
	idNext  int64      // the next id of the block reserved for small writes
	idEnd   int64      // one past that block's last id
	now     func() time.Time
	version atomic.Int64  // bumped on every committed write
	tokens  sync.Map      // resolved API tokens: hash → tokenEntry
	stop    chan struct{} // stops checkpointWhenIdle (DuckDB files)
	closing sync.Once
	watch   watchCache // the entities whose writes produce change events
	// throttleMu serialises counting failed logins in this process: DuckDB
	// aborts concurrent upserts of one row, PostgreSQL serialises them itself.
	throttleMu sync.Mutex
	// instance names this process in write notifications (PostgreSQL only,
	// see dataversion.go); listening says the listener is connected.
	instance  string
	listening atomic.Bool
	// rowLocks make updates of one record in this process take turns on
	// DuckDB (see Repo.Update), striped by id.
	rowLocks [64]sync.Mutex

	Teams         *Repo[crm.Team]
	Users         *Repo[crm.User]
	Accounts      *Repo[crm.Account]
	Contacts      *Repo[crm.Contact]
	Leads         *Repo[crm.Lead]
	Products      *Repo[crm.Product]
	Opportunities *Repo[crm.Opportunity]
	Activities    *Repo[crm.Activity]
	Quotas        *Repo[crm.Quota]
	Costs         *Repo[crm.Cost]
}

// Open connects to the database named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// selects PostgreSQL; anything
// else is a DuckDB file path (":memory:" or "" for a throwaway in-memory one).
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	d := dialectFor(dsn)
	db, err := d.open(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.name(), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.name(), err)
	}
	s := &Store{db: db, dialect: d, log: log, now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.initRepos()
	if d.name() == "duckdb" && dsn != "" && dsn != ":memory:" {
		// Only a long burst reaches the threshold; otherwise the log is
		// folded in when the store is idle (checkpointWhenIdle).
		if _, err := db.ExecContext(ctx, `SET checkpoint_threshold = '256MB'`); err != nil {
			db.Close()
			return nil, fmt.Errorf("configure DuckDB: %w", err)
		}
		s.stop = make(chan struct{})
		go s.checkpointWhenIdle(s.stop)
	}
	if d.name() == "postgres" {
		s.instance = newInstance()
		s.stop = make(chan struct{})
		go s.listenForWrites(dsn, s.stop)
	}
	return s, nil
}

// Close releases the database.
func (s *Store) Close() error {
	s.closing.Do(func() {
		if s.stop != nil {
			close(s.stop)
		}
	})
	return s.db.Close()
}

// checkpointWhenIdle folds DuckDB's write-ahead log into the database file
// once no write has committed for a second. DuckDB would otherwise do it in
// the commit that takes the log past checkpoint_threshold (16 MB by
// default), and a burst of small transactions such as lead intake would
// stall on it for the hundreds of milliseconds a checkpoint takes.
func (s *Store) checkpointWhenIdle(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := s.version.Load()
	done := last
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		v := s.version.Load()
		// A plain CHECKPOINT fails while a transaction runs: the next idle
		// second tries again.
		if v == last && v != done {
			if _, err := s.db.Exec(`CHECKPOINT`); err == nil {
				done = v
			}
		}
		last = v
	}
}

// Engine names the database engine: "duckdb" or "postgres".
func (s *Store) Engine() string { return s.dialect.name() }

// DB exposes the handle to analytics packages that run their own read-only SQL.
func (s *Store) DB() *sql.DB { return s.db }

// SetClock replaces the clock (imports stamp history with the import's time).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Ping checks the database answers (for health checks).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction, committing only if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := s.announce(ctx, tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("announce write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.version.Add(1)
	return nil
}

// Version changes whenever this process commits a write, or (on PostgreSQL)
// another server sharing the database does, so that readers can cache what
// they computed from the data.
func (s *Store) Version() int64 { return s.version.Load() }

// allocIDs reserves n consecutive ids and returns the first. Ids come from one
// counter row so that bulk loads can reserve a block in one statement, on both
// engines and across several app servers sharing one PostgreSQL. Small
// requests are served from a block of idBlock ids this process reserved
// before: a write then costs no extra statement (on DuckDB each is a commit
// of its own). Ids a process reserved and did not use are skipped; ids
// grow with time within one process, and across servers only roughly.
func (s *Store) allocIDs(ctx context.Context, n int) (int64, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if n <= 0 {
		return 0, nil
	}
	if int64(n) <= s.idEnd-s.idNext {
		first := s.idNext
		s.idNext += int64(n)
		return first, nil
	}
	take := n
	if n < idBlock {
		take = idBlock
	}
	var last int64
	err := s.db.QueryRowContext(ctx, `UPDATE id_counter SET value = value + $1 WHERE name = 'id' RETURNING value`, take).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("allocate ids: %w", err)
	}
	first := last - int64(take) + 1
	if take > n {
		s.idNext, s.idEnd = first+int64(n), last+1
	}
	return first, nil
}

// idBlock is how many ids a process reserves at a time for small writes.
const idBlock = 1024

// exists reports whether table has a row whose column equals v.
func exists(ctx context.Context, q querier, table, column string, v any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE `+column+` = $1 LIMIT 1`, v).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s.%s: %w", table, column, err)
	}
	return true, nil
}

// Settings reads the organisation settings.
func (s *Store) Settings(ctx context.Context) (crm.Settings, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return crm.Settings{}, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	var st crm.Settings
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return crm.Settings{}, err
		}
		switch k {
		case "fiscal_year_start_month":
			fmt.Sscan(v, &st.FiscalYearStartMonth)
		case "corporate_currency":
			st.CorporateCurrency = v
		}
	}
	return st, rows.Err()
}

// Calendar returns the fiscal calendar from the settings.
func (s *Store) Calendar(ctx context.Context) (crm.FiscalCalendar, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return crm.FiscalCalendar{}, err
	}
	return crm.FiscalCalendar{StartMonth: time.Month(st.FiscalYearStartMonth)}, nil
}

// UpdateSettings changes the organisation settings (ops and admin only).
func (s *Store) UpdateSettings(ctx context.Context, p crm.Principal, st crm.Settings) error {
	if !p.Role.SeesAll() {
		return crm.ErrForbidden
	}
	if err := st.Validate(); err != nil {
		return err
	}
	old, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "currencies", "code", st.CorporateCurrency); err != nil {
			return err
		} else if !ok {
			return crm.Invalid("settings", "corporate_currency", fmt.Sprintf("%q is not a known currency", st.CorporateCurrency))
		}
		for k, v := range map[string]string{"fiscal_year_start_month": fmt.Sprint(st.FiscalYearStartMonth), "corporate_currency": st.CorporateCurrency} {
			if _, err := tx.ExecContext(ctx, `UPDATE settings SET value = $1 WHERE key = $2`, v, k); err != nil {
				return fmt.Errorf("update setting %s: %w", k, err)
			}
		}
		return s.audit(ctx, tx, p, "update", "settings", 0, old, st)
	})
}

// bindParams returns the bind parameters "$from, $from+1, ..." n times.
func bindParams(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

package demo

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The big tables are made by a pipeline:
//
//	workers (one per CPU)  ──chunks of 2,048 deals──▶  sequencer  ──batches──▶  loaders
//
// Workers make whole chunks (deals with their history, line items,
// activities, leads and events) in any order; the sequencer takes them in
// chunk order, numbers the rows of tables whose ids nothing refers to, and
// hands each table's rows to that table's loader. A loader streams rows
// into the engine's fast path (DuckDB's Appender, PostgreSQL's COPY) in bulk
// sessions of at most rowsPerTx rows; a session commits while the next one
// is already loading, so no transaction grows without bound and the
// pipeline does not stall on a commit. Large transactions are cheaper for
// DuckDB (full row groups are written compressed as they fill, and there
// are fewer commits), hence the big limit. Memory stays bounded: at most a
// few chunks are in flight, and their row buffers are reused.

// Tables the pipeline writes, in the order of chunkOut.rows.
const (
	tAccounts = iota
	tContacts
	tOpps
	tHistory
	tLines
	tLeads
	tEvents
	tActivities
	tQuotas
	tCosts
	numTables
)

var tableNames = [numTables]string{"accounts", "contacts", "opportunities", "opportunity_history", "line_items", "leads",
	"lead_events", "activities", "quotas", "costs"}

var tableColumns = [numTables][]string{accountColumns, contactColumns, opportunityColumns, historyColumns, lineItemColumns,
	leadColumns, eventColumns, activityColumns, quotaColumns, costColumns}

// chunkOut is everything one chunk of deals produced: rows per table,
// flattened (row k of table t is rows[t][k*w : (k+1)*w]), and its share of
// the aggregates that quotas and costs are made from.
type chunkOut struct {
	rows       [numTables][]any
	wonRep     []int64 // dollars won by rep and quarter (rep × len(quarters) + quarter)
	wonMonth   []int64
	leadsMonth []int64
}

// rowsPerTx is how many rows a loader puts in one transaction at most.
const rowsPerTx = 1 << 23

// load is one table fed through a channel of row batches.
type load struct {
	table  int
	ch     chan []any
	pool   *sync.Pool // where emptied batches go back to
	loaded atomic.Int64
}

// segment yields the rows of whole batches until about rowsPerTx rows have
// gone by, and sets *done when the channel is closed.
func (l *load) segment(ctx context.Context, done *bool) iter.Seq2[[]any, error] {
	w := len(tableColumns[l.table])
	return func(yield func([]any, error) bool) {
		var n int64
		for n < rowsPerTx {
			select {
			case b, ok := <-l.ch:
				if !ok {
					*done = true
					return
				}
				for k := 0; k+w <= len(b); k += w {
					if !yield(b[k:k+w:k+w], nil) {
						return
					}
				}
				n += int64(len(b) / w)
				l.loaded.Add(int64(len(b) / w))
				clear(b)
				l.pool.Put(&b)
			case <-ctx.Done():
				yield(nil, context.Cause(ctx))
				return
			}
		}
	}
}

// loaders runs the bulk sessions and collects the first error; an error
// anywhere cancels everything.
type loaders struct {
	s        *store.Store
	ctx      context.Context
	fail     context.CancelCauseFunc
	done     sync.WaitGroup
	mu       sync.Mutex
	firstErr error
}

func newLoaders(ctx context.Context, s *store.Store) *loaders {
	ctx, cancel := context.WithCancelCause(ctx)
	return &loaders{s: s, ctx: ctx, fail: cancel}
}

func (ls *loaders) setErr(err error) {
	ls.mu.Lock()
	if ls.firstErr == nil {
		ls.firstErr = err
	}
	ls.mu.Unlock()
	ls.fail(err)
}

// start launches a loader that loads its tables one after the other, each
// in as many transactions as it takes. While one transaction commits (which
// can take a while: the engine compresses and indexes what it got), the
// next one is already loading; at most two are open per loader.
func (ls *loaders) start(loads ...*load) {
	ls.done.Add(1)
	go func() {
		defer ls.done.Done()
		var commits sync.WaitGroup
		defer commits.Wait()
		open := make(chan struct{}, 2)
		for _, l := range loads {
			for done := false; !done; {
				if ls.ctx.Err() != nil {
					return
				}
				select {
				case open <- struct{}{}:
				case <-ls.ctx.Done():
					return
				}
				loaded := make(chan bool, 1) // whether the table is done
				commits.Go(func() {
					defer func() { <-open }()
					var last bool
					err := ls.s.WithBulk(ls.ctx, func(b *store.Bulk) error {
						_, err := b.Load(ls.ctx, tableNames[l.table], tableColumns[l.table], l.segment(ls.ctx, &last))
						loaded <- last
						return err
					})
					if err != nil {
						ls.setErr(fmt.Errorf("demo: load %s: %w", tableNames[l.table], err))
						select {
						case loaded <- true: // WithBulk failed before loading
						default:
						}
					}
				})
				select {
				case done = <-loaded:
				case <-ls.ctx.Done():
					return
				}
			}
		}
	}()
}

// wait waits for every loader and returns the first error.
func (ls *loaders) wait() error {
	ls.done.Wait()
	ls.fail(nil)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.firstErr
}

// send hands a batch to a load, unless the pipeline was cancelled.
func (ls *loaders) send(l *load, rows []any) error {
	if len(rows) == 0 {
		return nil
	}
	select {
	case l.ch <- rows:
		return nil
	case <-ls.ctx.Done():
		return context.Cause(ls.ctx)
	}
}

// inOrder makes n chunks on `workers` goroutines with produce and hands them to
// consume in chunk order. At most 2×workers chunks are in flight.
func inOrder[T any](ctx context.Context, n, workers int, produce func(w, c int) T, consume func(c int, v T) error) error {
	if n == 0 {
		return nil
	}
	results := make([]chan T, n)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	slots := make(chan struct{}, 2*workers)
	var next atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				c := int(next.Add(1) - 1)
				if c >= n {
					<-slots
					return
				}
				results[c] <- produce(w, c)
			}
		})
	}
	var err error
	for c := 0; c < n && err == nil; c++ {
		select {
		case v := <-results[c]:
			err = consume(c, v)
			<-slots
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
	}
	cancel()
	wg.Wait()
	return err
}

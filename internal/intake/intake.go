// Package intake takes new leads in as they arrive (the JSON API, web
// forms): each is checked, stored, scored, put in its segments and routed
// in one transaction, and leads that arrive together share that
// transaction (group commit). A burst of thousands a second so costs a few
// hundred commits, and no caller hears back before its lead is durable.
//
// It sits above store, leads and routing and only orders their calls: the
// checks are the store's, the scores the scoring models', the decisions
// the routing rules'.
package intake

import (
	"context"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// MaxBatch bounds the leads one transaction takes.
const MaxBatch = 256

// Desk gathers concurrent Create calls into batches. A batch is written by
// one goroutine at a time, started when leads wait and gone when none do.
type Desk struct {
	s *store.Store
	// MaxAge bounds how long what decisions depend on (rule set, scoring
	// models, segments, reps and their loads) is kept in memory between
	// batches when nothing else in this process wrote: it is how late a
	// change made by another server sharing the PostgreSQL counts (a
	// rep's away period, a lead closed there). Zero keeps them until this
	// process writes something else: on DuckDB, one process owns the file.
	MaxAge time.Duration
	now    func() time.Time

	mu      sync.Mutex
	queue   []*request
	running bool
	// defs is only touched by the goroutine writing batches.
	defs *definitions
}

// New is a desk over s.
func New(s *store.Store) *Desk {
	d := &Desk{s: s, now: func() time.Time { return time.Now().UTC() }}
	if s.Engine() == "postgres" {
		d.MaxAge = 30 * time.Second
	}
	return d
}

// Result is a stored lead and, when it came without an owner and a rule
// set is applied, where routing sent it and why.
type Result struct {
	Lead    *crm.Lead
	Routing *routing.Decision
}

type request struct {
	p    crm.Principal
	lead *crm.Lead
	done chan struct{}
	res  Result
	err  error
}

// Create checks l as the store's Create does, stores it for p with its
// scores and segments and, when it has no owner, routes it (as the system:
// a rep's unowned lead is still placed), all in one transaction shared with
// the leads that arrive at the same time. It returns once that transaction
// has committed. l gets its id, defaults and owner.
func (d *Desk) Create(ctx context.Context, p crm.Principal, l *crm.Lead) (Result, error) {
	r := &request{p: p, lead: l, done: make(chan struct{})}
	d.mu.Lock()
	d.queue = append(d.queue, r)
	if !d.running {
		d.running = true
		go d.drain()
	}
	d.mu.Unlock()
	// Not ctx.Done(): once queued the lead is written, and the caller is
	// told what became of it.
	<-r.done
	return r.res, r.err
}

// drain writes batches until nobody waits, on one held connection (its
// Appenders stay open from batch to batch); without one, on the pool's.
func (d *Desk) drain() {
	var tx store.Transactor = d.s
	if w, err := d.s.OpenWriter(context.Background()); err == nil {
		defer w.Close()
		tx = w
	}
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		n := min(len(d.queue), MaxBatch)
		batch := d.queue[:n:n]
		d.queue = d.queue[n:]
		d.mu.Unlock()
		d.process(tx, batch)
	}
}

func (d *Desk) process(tx store.Transactor, batch []*request) {
	ctx := context.Background()
	now := d.now()
	orig := make([]crm.Lead, len(batch))
	for i, r := range batch {
		orig[i] = *r.lead
	}
	if err := d.write(ctx, tx, batch, now); err != nil {
		// Something failed the whole transaction (a duplicate key between
		// two leads of the batch, a lost connection): write each lead
		// alone, so the failure is told to its own caller only.
		for i, r := range batch {
			*r.lead = orig[i]
			if len(batch) == 1 {
				r.err = err
				continue
			}
			if err := d.write(ctx, tx, batch[i:i+1], now); err != nil {
				*r.lead, r.err = orig[i], err
			}
		}
	}
	for _, r := range batch {
		close(r.done)
	}
}

// definitions is what decisions depend on, read once for many batches.
type definitions struct {
	set    *routing.Version // nil: no rule set applied
	scorer *leads.Scorer
	org    *routing.Org
	state  routing.State // the pools' turn order, kept on DuckDB (one process owns the file)
	stamp  int64         // the store's version when they were read
	read   time.Time
}

// definitions returns the kept definitions, read again when anything else
// was written since (the store's version moved) or they are older than MaxAge.
func (d *Desk) definitions(ctx context.Context, now time.Time) (*definitions, error) {
	if c := d.defs; c != nil && c.stamp == d.s.Version() && (d.MaxAge == 0 || now.Sub(c.read) < d.MaxAge) {
		return c, nil
	}
	d.defs = nil
	c := &definitions{stamp: d.s.Version(), read: now}
	var err error
	if c.set, err = routing.Active(ctx, d.s); err != nil {
		return nil, err
	}
	if c.scorer, err = leads.NewScorer(ctx, d.s); err != nil {
		return nil, err
	}
	if c.set != nil {
		if c.org, err = routing.LoadOrgFor(ctx, d.s, crm.System, c.set, now); err != nil {
			return nil, err
		}
	}
	d.defs = c
	return c, nil
}

// write stores a batch in one transaction. A lead the store's checks refuse
// gets its own error and the others go on; an error returned failed them all.
func (d *Desk) write(ctx context.Context, tx store.Transactor, batch []*request, now time.Time) error {
	c, err := d.definitions(ctx, now)
	if err != nil {
		return err
	}
	var ok []*request
	err = routing.InTx(ctx, tx, func(b *store.Bulk) error {
		ok = ok[:0]
		for _, r := range batch {
			if r.err = d.s.Leads.CheckNew(ctx, b, r.p, r.lead); r.err == nil {
				ok = append(ok, r)
			}
		}
		if len(ok) == 0 {
			return nil
		}
		first, err := b.AllocIDs(ctx, len(ok))
		if err != nil {
			return err
		}
		ls := make([]*crm.Lead, len(ok))
		for i, r := range ok {
			r.lead.ID = first + int64(i)
			ls[i] = r.lead
		}
		scored := c.scorer.ScoreNew(ls, now)
		var unowned []*crm.Lead
		var recs []rules.Record
		var at []int
		for i, l := range ls {
			if l.OwnerID == nil && c.set != nil {
				unowned, recs, at = append(unowned, l), append(recs, scored.Record(i)), append(at, i)
			}
		}
		var rt *routing.Routed
		if len(unowned) > 0 {
			if c.state == nil || b.Engine() != "duckdb" {
				if c.state, err = routing.LoadState(ctx, b); err != nil {
					return err
				}
			}
			if rt, err = routing.Decide(ctx, b, crm.System, c.set, c.org, c.state, unowned, recs, now); err != nil {
				return err
			}
			for j, a := range rt.Assignments {
				owner := a.OwnerID
				ls[at[j]].OwnerID = &owner
				ok[at[j]].res.Routing = &rt.Assignments[j].Decision
			}
		}
		// Each lead is audited as created by its creator, owner included.
		byCreator := map[crm.Principal][]*crm.Lead{}
		for _, r := range ok {
			byCreator[r.p] = append(byCreator[r.p], r.lead)
		}
		for p, ls := range byCreator {
			if err := d.s.Leads.InsertNew(ctx, b, p, ls); err != nil {
				return err
			}
		}
		if err := scored.Write(ctx, b); err != nil {
			return err
		}
		if rt != nil {
			return rt.Write(ctx, b)
		}
		return nil
	})
	if err != nil {
		// The kept loads counted decisions that were rolled back.
		d.defs = nil
		for _, r := range batch {
			r.res = Result{}
		}
		return err
	}
	// This commit moved the store's version by one; if nothing else did,
	// what is kept (with the loads this batch added) is still current.
	if d.s.Version() == c.stamp+1 {
		c.stamp++
	} else {
		d.defs = nil
	}
	for _, r := range ok {
		r.res.Lead = r.lead
	}
	return nil
}

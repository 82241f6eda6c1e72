package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
)

// Exclusive runs fn unless another holder of the lock named name is running
// it, on any server sharing the database, and reports whether fn ran. On
// PostgreSQL the lock is a session advisory lock held on one connection for
// fn's duration; a DuckDB file has one process, so a lock in it suffices.
// Scheduled work (the daily forecast snapshot, the daily rescoring) runs in
// it and checks inside that it is still due, so two servers run it once.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if s.instance == "" {
		mu := localLock(name)
		if !mu.TryLock() {
			return false, nil
		}
		defer mu.Unlock()
		return true, fn(ctx)
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	key := int64(h.Sum64())
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	return true, fn(ctx)
}

var localLocks sync.Map // name → *sync.Mutex

func localLock(name string) *sync.Mutex {
	mu, _ := localLocks.LoadOrStore(name, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

package web

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// reportCache keeps computed reports (the dashboard) for a short while: a
// sales leader reloading or sharing a view should not recompute a million
// deals. An entry is used only while the store's data version is unchanged
// and for at most cacheTTL, so a write in this process shows at once and
// one in another app server within the TTL.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	// flight computes a missing entry once however many requests ask for
	// it at the same moment (a dashboard opened by a whole team at 9:00);
	// computing counts the computations under way per key.
	flight    singleflight.Group
	computing map[string]int
}

type cacheEntry struct {
	version int64
	at      time.Time // when it was computed
	until   time.Time
	value   any
}

const (
	cacheTTL = time.Minute
	// maxStale is how old an entry of an earlier data version may be and
	// still be served while another request computes the current one: under
	// a stream of writes, a report is then computed once at a time instead
	// of by every request that arrives during the computation.
	maxStale     = 30 * time.Second
	cacheEntries = 512
	// bookTTL is how long the loaded forecast book may miss a write made
	// by another app server on the same PostgreSQL (this process's writes
	// drop it at once).
	bookTTL = 15 * time.Minute
)

func (c *reportCache) get(key string, version int64) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version || time.Now().After(e.until) {
		return nil, false
	}
	return e.value, true
}

func (c *reportCache) put(key string, version int64, v any) { c.putFor(key, version, v, cacheTTL) }

// remember is the entry of key at version, computed by compute when missing,
// once for all the callers that miss it together, and kept for ttl. While
// another request computes it, an entry of an earlier version not older
// than maxStale is served instead of waiting: a request that starts after a
// write sees it, unless a computation was already under way.
func (c *reportCache) remember(key string, version int64, ttl time.Duration, compute func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	now := time.Now()
	if ok && now.Before(e.until) && (e.version == version || (c.computing[key] > 0 && now.Sub(e.at) < maxStale)) {
		c.mu.Unlock()
		return e.value, nil
	}
	c.mu.Unlock()
	v, err, _ := c.flight.Do(fmt.Sprintf("%s@%d", key, version), func() (any, error) {
		if v, ok := c.get(key, version); ok {
			return v, nil
		}
		c.mu.Lock()
		if c.computing == nil {
			c.computing = map[string]int{}
		}
		c.computing[key]++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			if c.computing[key]--; c.computing[key] == 0 {
				delete(c.computing, key)
			}
			c.mu.Unlock()
		}()
		v, err := compute()
		if err == nil {
			c.putFor(key, version, v, ttl)
		}
		return v, err
	})
	return v, err
}

// putFor keeps v for at most ttl.
func (c *reportCache) putFor(key string, version int64, v any, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cacheEntries {
		c.entries = map[string]cacheEntry{} // simple and bounded: start over when full
	}
	now := time.Now()
	c.entries[key] = cacheEntry{version: version, at: now, until: now.Add(ttl), value: v}
}

func (c *reportCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

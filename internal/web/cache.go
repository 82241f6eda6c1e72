package web

import (
	"sync"
	"time"
)

// reportCache keeps computed reports (the dashboard) for a short while: a
// sales leader reloading or sharing a view should not recompute a million
// deals. An entry is used only while the store's data version is unchanged
// and for at most cacheTTL, so a write in this process shows at once and
// one in another app server within the TTL.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	version int64
	until   time.Time
	value   any
}

const (
	cacheTTL     = time.Minute
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

// putFor keeps v for at most ttl.
func (c *reportCache) putFor(key string, version int64, v any, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cacheEntries {
		c.entries = map[string]cacheEntry{} // simple and bounded: start over when full
	}
	c.entries[key] = cacheEntry{version: version, until: time.Now().Add(ttl), value: v}
}

func (c *reportCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

package leads

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// memo keeps the last compiled definitions by their text. Compiling is a
// pure function of the text, so sharing the result is safe; the size bound
// keeps a stream of edited definitions from growing it without end.
type memo struct {
	mu sync.Mutex
	m  map[string]any
}

const memoSize = 64

var parsed memo

func (c *memo) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *memo) put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= memoSize {
		c.m = map[string]any{}
	}
	c.m[key] = v
}

// The active models and the segments of the store read last, kept so that
// rescoring one lead (every event the API takes) neither reads nor compiles
// them again. Applying a model or saving or deleting a segment in this
// process forgets them at once; a change made by another server sharing the
// PostgreSQL counts within defsTTL.
var (
	defsMu   sync.Mutex
	defsKept struct {
		s    *store.Store
		gen  uint64
		at   time.Time
		vs   []*Version
		segs []*Segment
	}
	defsGen atomic.Uint64
)

const defsTTL = 2 * time.Second

// definitions returns the active models and the segments.
func definitions(ctx context.Context, s *store.Store) ([]*Version, []*Segment, error) {
	gen := defsGen.Load()
	defsMu.Lock()
	k := defsKept
	defsMu.Unlock()
	if k.s == s && k.gen == gen && time.Since(k.at) < defsTTL {
		return k.vs, k.segs, nil
	}
	at := time.Now()
	vs, err := Active(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	segs, err := loadSegments(ctx, s.DB())
	if err != nil {
		return nil, nil, err
	}
	defsMu.Lock()
	defsKept.s, defsKept.gen, defsKept.at, defsKept.vs, defsKept.segs = s, gen, at, vs, segs
	defsMu.Unlock()
	return vs, segs, nil
}

// forgetDefinitions makes the next rescore read the models and segments.
func forgetDefinitions() { defsGen.Add(1) }

package leads

import "sync"

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

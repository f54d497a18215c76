// Package memo keeps values that never change once computed (a pass's
// authentication token, a member's signed save link) in a bounded map, so
// hot paths skip a database read or a signature.
package memo

import "sync"

// Strings is a bounded, concurrency-safe string map. When full it drops an
// arbitrary tenth of its entries: cheap, and a dropped value costs only its
// recomputation. Only values that never go stale belong in it.
type Strings struct {
	mu  sync.Mutex
	max int
	m   map[string]string
}

// NewStrings returns a map holding at most max entries.
func NewStrings(max int) *Strings {
	return &Strings{max: max, m: make(map[string]string)}
}

// Get answers the value kept for key.
func (c *Strings) Get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

// Put keeps value for key.
func (c *Strings) Put(key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := max(1, c.max/10)
		for k := range c.m {
			if n--; n < 0 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = value
}

// Len answers how many entries are kept.
func (c *Strings) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// GetOrCompute answers the value kept for key, computing and keeping it with f when
// missing (f's error is returned and nothing is kept).
func (c *Strings) GetOrCompute(key string, f func() (string, error)) (string, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	v, err := f()
	if err != nil {
		return "", err
	}
	c.Put(key, v)
	return v, nil
}

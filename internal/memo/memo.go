// Package memo keeps values that never change once computed (a pass's
// authentication token, a member's signed save link, a drawn stamp strip)
// in maps bounded by the bytes they hold, so hot paths skip a database
// read, a signature or a drawing while memory stays bounded.
package memo

import (
	"container/list"
	"sync"
)

// EntryOverhead is what an entry costs besides its key's and value's own
// bytes (map slot, list element, headers), counted against the bound.
const EntryOverhead = 128

// LRU is a concurrency-safe map bounded by bytes: when an entry would
// take it past its bound, the least recently used entries go first. A
// dropped value costs only its recomputation, so only values that never
// go stale belong in it.
type LRU[K comparable, V any] struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	size     func(K, V) int
	order    *list.List // of *entry[K, V], front = most recent
	m        map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	size int
}

// NewLRU returns a map holding at most maxBytes, an entry weighing
// size(key, value) plus EntryOverhead.
func NewLRU[K comparable, V any](maxBytes int, size func(K, V) int) *LRU[K, V] {
	return &LRU[K, V]{maxBytes: maxBytes, size: size, order: list.New(), m: map[K]*list.Element{}}
}

// Get answers the value kept for key.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).val, true
}

// Put keeps value for key, unless it alone is larger than the bound.
func (c *LRU[K, V]) Put(key K, value V) {
	n := c.size(key, value) + EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		c.remove(el)
	}
	if n > c.maxBytes {
		return
	}
	c.m[key] = c.order.PushFront(&entry[K, V]{key: key, val: value, size: n})
	c.bytes += n
	for c.bytes > c.maxBytes {
		c.remove(c.order.Back())
	}
}

func (c *LRU[K, V]) remove(el *list.Element) {
	e := c.order.Remove(el).(*entry[K, V])
	delete(c.m, e.key)
	c.bytes -= e.size
}

// Len answers how many entries are kept.
func (c *LRU[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Bytes answers the bytes counted against the bound.
func (c *LRU[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// GetOrCompute answers the value kept for key, computing and keeping it
// with f when missing (f's error is returned and nothing is kept).
// Concurrent callers missing the same key may each compute it.
func (c *LRU[K, V]) GetOrCompute(key K, f func() (V, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	v, err := f()
	if err != nil {
		return v, err
	}
	c.Put(key, v)
	return v, nil
}

// Strings is an LRU of strings weighed by their lengths.
type Strings = LRU[string, string]

// NewStrings returns a string map holding at most maxBytes.
func NewStrings(maxBytes int) *Strings {
	return NewLRU(maxBytes, func(k, v string) int { return len(k) + len(v) })
}

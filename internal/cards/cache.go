package cards

import (
	"container/list"
	"sync"
)

// cacheKey names one signed version of one pass. The template hash is part
// of it, so a changed template never serves a stale design.
type cacheKey struct {
	serial   string
	version  int64
	template string
	vouchers int  // the vouchers the pass shows
	birthday bool // whether the pass greets the member
}

// Cache keeps signed passes, bounded by total bytes, least recently used
// out first. Concurrent requests for the same missing key wait for one
// build (a push storm costs one signature per changed pass).
type Cache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	order    *list.List // of *cacheEntry, front = most recent
	entries  map[cacheKey]*list.Element
	inflight map[cacheKey]*call
	hits     uint64
	misses   uint64
}

type cacheEntry struct {
	key  cacheKey
	data []byte
}

type call struct {
	done chan struct{}
	data []byte
	err  error
}

// NewCache returns a cache holding at most maxBytes of passes.
func NewCache(maxBytes int) *Cache {
	return &Cache{maxBytes: maxBytes, order: list.New(), entries: map[cacheKey]*list.Element{}, inflight: map[cacheKey]*call{}}
}

// get answers the cached pass for k, building it with build once when it is
// missing, however many callers ask at the same time.
func (c *Cache) get(k cacheKey, build func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		c.hits++
		c.mu.Unlock()
		return el.Value.(*cacheEntry).data, nil
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-cl.done
		return cl.data, cl.err
	}
	c.misses++
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	cl.data, cl.err = build()

	c.mu.Lock()
	delete(c.inflight, k)
	if cl.err == nil && len(cl.data) <= c.maxBytes {
		c.entries[k] = c.order.PushFront(&cacheEntry{key: k, data: cl.data})
		c.bytes += len(cl.data)
		for c.bytes > c.maxBytes {
			el := c.order.Back()
			e := el.Value.(*cacheEntry)
			c.order.Remove(el)
			delete(c.entries, e.key)
			c.bytes -= len(e.data)
		}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.data, cl.err
}

// Stats answers the number of cached passes, their bytes, hits and misses.
func (c *Cache) Stats() (entries, bytes int, hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes, c.hits, c.misses
}

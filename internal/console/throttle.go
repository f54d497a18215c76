package console

import (
	"sync"
	"time"
)

// throttle counts failed sign-ins per key (an account, a client address)
// in fixed windows: once a key has failed limit times in its window, it is
// refused until the window ends. It holds at most max keys: when full it
// forgets expired windows first, then arbitrary ones, so memory stays
// bounded whatever an attacker sends (at worst some counts restart).
type throttle struct {
	mu      sync.Mutex
	window  time.Duration
	max     int
	entries map[string]throttleEntry
}

type throttleEntry struct {
	fails int
	start time.Time
}

func newThrottle(window time.Duration, maxKeys int) *throttle {
	return &throttle{window: window, max: maxKeys, entries: map[string]throttleEntry{}}
}

// wait answers how long key must wait before trying again, 0 when it may
// try now.
func (t *throttle) wait(key string, limit int, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok || e.fails < limit {
		return 0
	}
	if left := e.start.Add(t.window).Sub(now); left > 0 {
		return left
	}
	delete(t.entries, key)
	return 0
}

// fail counts a failed attempt of key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok || now.Sub(e.start) >= t.window {
		if !ok && len(t.entries) >= t.max {
			t.evict(now)
		}
		e = throttleEntry{start: now}
	}
	e.fails++
	t.entries[key] = e
}

// reset forgets key's failures (after a successful sign-in).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
}

// evict makes room for one key; t.mu is held.
func (t *throttle) evict(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.start) >= t.window {
			delete(t.entries, k)
		}
	}
	for k := range t.entries {
		if len(t.entries) < t.max {
			return
		}
		delete(t.entries, k)
	}
}

// size answers how many keys the throttle holds.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// Package ratelimit holds passd's abuse limits: token buckets kept in the
// store, so that a limit holds across instances and restarts.
//
// A Limit is the rule (Burst tries at once, refilled at PerMinute); a
// Bucket is one key's state; the store (Store) keeps buckets and runs
// updates of one key one after the other. Two limiters use them:
//
//   - Shared takes a token in the store for every event (an enrolment on
//     the join page, per client address and per programme);
//   - Failures limits failed tries (scans of forged barcodes per API key,
//     unknown API keys per client address). Its tokens are taken before
//     the try in a copy held by the process, which keeps concurrent tries
//     within the burst and costs a try that succeeds no write; a failed
//     try is then taken from the store's bucket too, and the copy follows
//     the store. A process that has not seen a key reads the store's
//     bucket first, so a restart or another instance starts where the
//     others are.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is a token bucket: Burst events at once, refilled at PerMinute.
type Limit struct {
	PerMinute float64
	Burst     int
}

// ParseLimit reads a limit written COUNT/PERIOD: COUNT events at once,
// refilled COUNT per PERIOD (20/10m is 20 at once, then 2 a minute);
// "off" (or 0) is the zero Limit, which limits nothing.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	count, period, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 || n > 1_000_000 {
		return Limit{}, fmt.Errorf("%q is not COUNT/PERIOD (such as 20/10m) or off", s)
	}
	d, err := time.ParseDuration(period)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return Limit{}, fmt.Errorf("%q: the period must be a duration from 1s to 24h (such as 10m)", s)
	}
	return Limit{PerMinute: float64(n) / d.Minutes(), Burst: n}, nil
}

// Valid reports whether l limits anything.
func (l Limit) Valid() bool { return l.PerMinute > 0 && l.Burst > 0 }

// Bucket is one key's tokens as of At; the zero Bucket is a key never
// seen, whose bucket is full.
type Bucket struct {
	Tokens float64
	At     time.Time
}

// epsilon absorbs floating-point error in refills (six seconds at ten a
// minute is one token, not 0.9999999999999999).
const epsilon = 1e-9

// refill answers b brought up to now.
func (l Limit) refill(b Bucket, now time.Time) Bucket {
	burst := float64(l.Burst)
	if b.At.IsZero() {
		return Bucket{Tokens: burst, At: now}
	}
	if d := now.Sub(b.At).Seconds(); d > 0 {
		b.Tokens = math.Min(burst, b.Tokens+d*l.PerMinute/60)
		b.At = now
	}
	return b
}

// Take takes one token of b at now: it answers the bucket after the take
// and true, or, with no token left, the refilled bucket, false and how
// long until the next token.
func (l Limit) Take(b Bucket, now time.Time) (Bucket, bool, time.Duration) {
	b = l.refill(b, now)
	if b.Tokens < 1-epsilon {
		return b, false, time.Duration((1 - b.Tokens) / (l.PerMinute / 60) * float64(time.Second))
	}
	b.Tokens = math.Max(0, b.Tokens-1)
	return b, true, 0
}

// RetryAfter is wait as a Retry-After header's whole seconds, at least 1.
func RetryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds()-epsilon)))
}

// Store keeps the buckets. UpdateRateBucket locks key's bucket (the zero
// Bucket when new), passes it to fn and keeps what fn answers; updates of
// one key, from any instance, run one after the other.
type Store interface {
	RateBucket(ctx context.Context, key string) (Bucket, error)
	UpdateRateBucket(ctx context.Context, key string, fn func(Bucket) Bucket) error
}

// Shared limits events with a bucket in the store per key.
type Shared struct {
	store Store
	name  string
	limit Limit
	now   func() time.Time
}

// NewShared answers a limiter of limit whose buckets are named name:key.
func NewShared(st Store, name string, limit Limit, now func() time.Time) *Shared {
	return &Shared{store: st, name: name, limit: limit, now: now}
}

// Take takes a token of key's bucket: false and the wait when it had
// none.
func (s *Shared) Take(ctx context.Context, key string) (ok bool, wait time.Duration, err error) {
	now := s.now()
	err = s.store.UpdateRateBucket(ctx, s.name+":"+key, func(b Bucket) Bucket {
		b, ok, wait = s.limit.Take(b, now)
		return b
	})
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", s.name, err)
	}
	return ok, wait, nil
}

// MaxLocalKeys bounds the keys whose buckets a Failures limiter copies in
// memory; beyond it, copies are dropped (full ones first) and read from
// the store again when needed.
const MaxLocalKeys = 10_000

// Failures limits failed tries per key; see the package comment.
type Failures struct {
	store Store
	name  string
	limit Limit
	now   func() time.Time

	mu    sync.Mutex
	local map[string]Bucket
}

// NewFailures answers a failed-try limiter of limit whose buckets are
// named name:key.
func NewFailures(st Store, name string, limit Limit, now func() time.Time) *Failures {
	return &Failures{store: st, name: name, limit: limit, now: now, local: map[string]Bucket{}}
}

// Take takes a token of key ahead of a try and answers true; with none
// left it answers false and how long key must wait. The caller then calls
// Failed or Refund once the try's outcome is known.
func (f *Failures) Take(ctx context.Context, key string) (bool, time.Duration, error) {
	f.mu.Lock()
	_, seen := f.local[key]
	f.mu.Unlock()
	var stored Bucket
	if !seen {
		var err error
		if stored, err = f.store.RateBucket(ctx, f.name+":"+key); err != nil {
			return false, 0, fmt.Errorf("rate limit %s: %w", f.name, err)
		}
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, seen := f.local[key]
	if !seen {
		b = stored
		f.makeRoom(key, now)
	}
	b, ok, wait := f.limit.Take(b, now)
	f.local[key] = b
	return ok, wait, nil
}

// Refund gives back the token of a try that did not fail.
func (f *Failures) Refund(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.local[key]; ok {
		b.Tokens = math.Min(float64(f.limit.Burst), b.Tokens+1)
		f.local[key] = b
	}
}

// Failed records a failed try of key in the store, where every instance
// sees it; the process's copy follows the store when the store holds
// fewer tokens (failures seen by other instances).
func (f *Failures) Failed(ctx context.Context, key string) error {
	now := f.now()
	var stored Bucket
	err := f.store.UpdateRateBucket(ctx, f.name+":"+key, func(b Bucket) Bucket {
		stored, _, _ = f.limit.Take(b, now)
		return stored
	})
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", f.name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.local[key]; ok {
		if b = f.limit.refill(b, now); stored.Tokens < b.Tokens {
			b.Tokens = stored.Tokens
		}
		f.local[key] = b
	}
	return nil
}

// makeRoom keeps the copies under MaxLocalKeys before key is added: it
// drops full buckets first, then any (their state is in the store). f.mu
// is held.
func (f *Failures) makeRoom(key string, now time.Time) {
	if len(f.local) < MaxLocalKeys {
		return
	}
	for k, b := range f.local {
		if k != key && f.limit.refill(b, now).Tokens >= float64(f.limit.Burst) {
			delete(f.local, k)
		}
	}
	for k := range f.local {
		if len(f.local) < MaxLocalKeys {
			return
		}
		delete(f.local, k)
	}
}

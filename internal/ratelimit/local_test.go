package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// mapStore keeps buckets in a map: what this test looks at is the
// limiter's own copies, not the store (internal/store/storetest runs the
// limiters on both real stores).
type mapStore struct {
	mu sync.Mutex
	m  map[string]Bucket
}

func (s *mapStore) RateBucket(_ context.Context, key string) (Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *mapStore) UpdateRateBucket(_ context.Context, key string, fn func(Bucket) Bucket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = fn(s.m[key])
	return nil
}

// TestFailuresLocalBounded: whatever keys an attacker sends, a Failures
// limiter copies at most MaxLocalKeys buckets, dropping full ones before
// one that has failures.
func TestFailuresLocalBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFailures(&mapStore{m: map[string]Bucket{}}, "test", Limit{PerMinute: 1, Burst: 5}, func() time.Time { return now })
	if _, _, err := f.Take(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if err := f.Failed(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * MaxLocalKeys {
		key := "k" + strconv.Itoa(i)
		if _, _, err := f.Take(ctx, key); err != nil {
			t.Fatal(err)
		}
		f.Refund(key)
		f.mu.Lock()
		n := len(f.local)
		f.mu.Unlock()
		if n > MaxLocalKeys {
			t.Fatalf("after %d keys the limiter copies %d buckets, want at most %d", i+2, n, MaxLocalKeys)
		}
	}
	f.mu.Lock()
	_, kept := f.local["live"]
	f.mu.Unlock()
	if !kept {
		t.Error("making room dropped the copy of a key with failures rather than a full one")
	}
}

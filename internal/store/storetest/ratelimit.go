package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/ratelimit"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// testRateBuckets: a bucket is kept as updated, read back the same, and
// pruned once old.
func testRateBuckets(t *testing.T, open Opener) {
	clk := testkit.NewClock(t0())
	st := open(t, store.Options{Now: clk.Now})
	ctx := context.Background()
	if b, err := st.RateBucket(ctx, "join-addr:192.0.2.1"); err != nil || b != (ratelimit.Bucket{}) {
		t.Fatalf("RateBucket(unknown) = %+v, %v, want the zero bucket", b, err)
	}
	at := t0().Truncate(time.Microsecond)
	var seen []ratelimit.Bucket
	for _, tokens := range []float64{4, 2.5} {
		err := st.UpdateRateBucket(ctx, "join-addr:192.0.2.1", func(b ratelimit.Bucket) ratelimit.Bucket {
			seen = append(seen, b)
			return ratelimit.Bucket{Tokens: tokens, At: at}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []ratelimit.Bucket{{}, {Tokens: 4, At: at}}
	if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("UpdateRateBucket saw %+v, want %+v", seen, want)
	}
	if b, err := st.RateBucket(ctx, "join-addr:192.0.2.1"); err != nil || b != (ratelimit.Bucket{Tokens: 2.5, At: at}) {
		t.Fatalf("RateBucket = %+v, %v, want 2.5 tokens at %v", b, err, at)
	}
	if err := st.UpdateRateBucket(ctx, "join-program:demo", func(ratelimit.Bucket) ratelimit.Bucket {
		return ratelimit.Bucket{Tokens: 1, At: at.Add(time.Hour)}
	}); err != nil {
		t.Fatal(err)
	}
	n, err := st.PruneRateBuckets(ctx, at.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PruneRateBuckets = %d, %v, want 1", n, err)
	}
	if b, _ := st.RateBucket(ctx, "join-addr:192.0.2.1"); b != (ratelimit.Bucket{}) {
		t.Errorf("pruned bucket = %+v, want gone", b)
	}
	if b, _ := st.RateBucket(ctx, "join-program:demo"); b.Tokens != 1 {
		t.Errorf("recent bucket = %+v, want kept", b)
	}
}

// testRateBucketsConcurrent: concurrent takes of one key, the first ones
// included, never spend more than the burst, as two instances sharing the
// database would see it.
func testRateBucketsConcurrent(t *testing.T, open Opener) {
	clk := testkit.NewClock(t0())
	st := open(t, store.Options{Now: clk.Now})
	limit := ratelimit.Limit{PerMinute: 1, Burst: 10}
	a := ratelimit.NewShared(st, "join-program", limit, clk.Now)
	b := ratelimit.NewShared(st, "join-program", limit, clk.Now)
	var mu sync.Mutex
	granted, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if i%2 == 1 {
				l = b
			}
			ok, wait, err := l.Take(context.Background(), "demo")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				granted++
			case wait <= 0 || wait > time.Minute:
				t.Errorf("refused take waits %v, want up to a minute", wait)
			default:
				refused++
			}
		}()
	}
	wg.Wait()
	if granted != 10 || refused != 20 {
		t.Fatalf("30 concurrent takes: %d granted, %d refused, want 10 and 20", granted, refused)
	}
	clk.Add(time.Minute)
	if ok, _, err := a.Take(context.Background(), "demo"); !ok || err != nil {
		t.Errorf("Take a minute later = %v, %v, want a token", ok, err)
	}
}

// testFailuresShared: failed tries counted by one instance limit another,
// and a restarted one, which both start from the store's bucket.
func testFailuresShared(t *testing.T, open Opener) {
	clk := testkit.NewClock(t0())
	st := open(t, store.Options{Now: clk.Now})
	ctx := context.Background()
	limit := ratelimit.Limit{PerMinute: 6, Burst: 3}
	a := ratelimit.NewFailures(st, "scan-fail", limit, clk.Now)
	for i := range 3 {
		if ok, _, err := a.Take(ctx, "key_1"); !ok || err != nil {
			t.Fatalf("try %d = %v, %v, want allowed", i, ok, err)
		}
		if err := a.Failed(ctx, "key_1"); err != nil {
			t.Fatal(err)
		}
	}
	// A try that does not fail costs nothing.
	if ok, _, _ := a.Take(ctx, "key_2"); !ok {
		t.Fatal("first try of another key refused")
	}
	a.Refund("key_2")
	for _, name := range []string{"same instance", "other instance", "restarted instance"} {
		l := a
		if name != "same instance" {
			l = ratelimit.NewFailures(st, "scan-fail", limit, clk.Now)
		}
		ok, wait, err := l.Take(ctx, "key_1")
		if ok || err != nil || ratelimit.RetryAfter(wait) != 10 {
			t.Errorf("%s: Take after 3 failures = %v, %v (wait %v), want refused for 10 s", name, ok, err, wait)
		}
		if ok, _, _ := l.Take(ctx, "key_2"); !ok {
			t.Errorf("%s: the other key is refused", name)
		}
	}
	clk.Add(10 * time.Second)
	if ok, _, _ := ratelimit.NewFailures(st, "scan-fail", limit, clk.Now).Take(ctx, "key_1"); !ok {
		t.Error("Take 10 s later refused, want one try")
	}
}

package console

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

func TestThrottleWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.OpenSQLite(t, store.Options{})
	clock := testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	th := newThrottle(st, clock.Now)
	for i := range AccountFailures {
		if w, err := th.take(ctx, "ada@example.com", "192.0.2.1"); w != 0 || err != nil {
			t.Fatalf("wait after %d failures = %v, %v; want 0", i, w, err)
		}
		if err := th.failed(ctx, "ada@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second)
	}
	w, err := th.take(ctx, "ada@example.com", "192.0.2.1")
	if err != nil || w <= 0 || w > ThrottleWindow {
		t.Errorf("wait after %d failures = %v, %v; want within the window", AccountFailures, w, err)
	}
	if w, err := th.take(ctx, "grace@example.com", "192.0.2.1"); w != 0 || err != nil {
		t.Errorf("wait of another account = %v, %v; want 0", w, err)
	}
	th.succeeded("grace@example.com", "192.0.2.1")
	clock.Add(ThrottleWindow)
	if w, err := th.take(ctx, "ada@example.com", "192.0.2.1"); w != 0 || err != nil {
		t.Errorf("wait after the window = %v, %v; want 0", w, err)
	}
	// A success gives its try back: sign-ins that succeed never throttle.
	for i := range 3 * AccountFailures {
		th.succeeded("ada@example.com", "192.0.2.1")
		if w, err := th.take(ctx, "ada@example.com", "192.0.2.1"); w != 0 || err != nil {
			t.Fatalf("wait after %d successes = %v, %v; want 0", i+1, w, err)
		}
	}
}

// TestThrottleInStore: the failures are the store's, so a process started
// later (a restart) and another process on the same database refuse what
// the first one counted, per account and per address.
func TestThrottleInStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.OpenSQLite(t, store.Options{})
	clock := testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	first := newThrottle(st, clock.Now)
	for range AccountFailures {
		if _, err := first.take(ctx, "ada@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := first.failed(ctx, "ada@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	second := newThrottle(st, clock.Now)
	if w, err := second.take(ctx, "ada@example.com", "198.51.100.7"); w <= 0 || err != nil {
		t.Errorf("another process's wait for the account = %v, %v; want > 0", w, err)
	}
	for i := range AddressFailures - AccountFailures {
		account := "nobody" + string(rune('a'+i)) + "@example.com"
		if _, err := second.take(ctx, account, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := second.failed(ctx, account, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := newThrottle(st, clock.Now).take(ctx, "someone@example.com", "192.0.2.1"); w <= 0 || err != nil {
		t.Errorf("wait for an address that failed %d times over two processes = %v, %v; want > 0", AddressFailures, w, err)
	}
}

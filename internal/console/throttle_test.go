package console

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottleWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	th := newThrottle(time.Minute, 100)
	for i := range 3 {
		if w := th.wait("k", 3, now); w != 0 {
			t.Fatalf("wait after %d failures = %v, want 0", i, w)
		}
		th.fail("k", now.Add(time.Duration(i)*time.Second))
	}
	if w := th.wait("k", 3, now.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("wait after 3 failures = %v, want the window's remaining 50s", w)
	}
	if w := th.wait("other", 3, now); w != 0 {
		t.Errorf("wait(other key) = %v, want 0", w)
	}
	if w := th.wait("k", 3, now.Add(time.Minute)); w != 0 {
		t.Errorf("wait after the window = %v, want 0", w)
	}
	th.fail("k", now)
	th.fail("k", now)
	th.fail("k", now)
	th.reset("k")
	if w := th.wait("k", 3, now); w != 0 {
		t.Errorf("wait after reset = %v, want 0", w)
	}
}

func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	th := newThrottle(time.Minute, 50)
	for i := range 1000 {
		th.fail("k"+strconv.Itoa(i), now)
		if n := th.size(); n > 50 {
			t.Fatalf("after %d keys the throttle holds %d, want at most 50", i+1, n)
		}
	}
	// Expired windows go first: a fresh key evicts none of the live ones
	// made after them.
	th = newThrottle(time.Minute, 2)
	th.fail("old", now)
	th.fail("live", now.Add(2*time.Minute))
	th.fail("live", now.Add(2*time.Minute))
	th.fail("new", now.Add(2*time.Minute))
	if w := th.wait("live", 2, now.Add(2*time.Minute)); w == 0 {
		t.Error("evicting made room by forgetting a live key rather than an expired one")
	}
}

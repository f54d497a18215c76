package automations

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
)

// countJob has due items; each RunDue takes up to limit of them.
type countJob struct {
	due   int
	calls int
	err   error
	seen  time.Time
}

func (j *countJob) Name() string { return "count" }

func (j *countJob) RunDue(_ context.Context, now time.Time, limit int) (int, error) {
	j.calls++
	j.seen = now
	if j.err != nil {
		return 0, j.err
	}
	n := min(limit, j.due)
	j.due -= n
	return n, nil
}

func TestRunOnceDrainsEveryJobAtTheClocksTime(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC))
	a, b := &countJob{due: 450}, &countJob{due: 3}
	r := New(Config{Now: clock.Now, Limit: 200}, a, b)
	n, err := r.RunOnce(context.Background())
	if err != nil || n != 453 {
		t.Fatalf("RunOnce = %d, %v; want 453, nil", n, err)
	}
	if a.calls != 3 || b.calls != 1 {
		t.Errorf("calls = %d, %d; want 3 (200+200+50), 1", a.calls, b.calls)
	}
	if !a.seen.Equal(clock.Now()) {
		t.Errorf("job saw %v, want the clock's %v", a.seen, clock.Now())
	}
}

func TestRunOnceRunsTheOtherJobsAfterAnError(t *testing.T) {
	boom := errors.New("boom")
	a, b := &countJob{err: boom}, &countJob{due: 5}
	n, err := New(Config{}, a, b).RunOnce(context.Background())
	if !errors.Is(err, boom) || n != 5 || b.due != 0 {
		t.Fatalf("RunOnce = %d, %v (b left %d); want 5, boom, 0", n, err, b.due)
	}
}

// wakeJob has work only after its test says so.
type wakeJob struct{ due atomic.Int64 }

func (j *wakeJob) Name() string { return "wake" }

func (j *wakeJob) RunDue(context.Context, time.Time, int) (int, error) {
	return int(j.due.Swap(0)), nil
}

func TestRunPicksUpWorkOnWakeAndStops(t *testing.T) {
	j := &wakeJob{}
	done := make(chan struct{}, 8)
	r := New(Config{Poll: time.Hour}, j)
	r.OnDone = func() { done <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.Run(ctx); close(stopped) }()
	// Work that turns due is done on Wake, long before the hour's poll.
	j.due.Store(2)
	r.Wake()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("woken runner did not do the due work")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

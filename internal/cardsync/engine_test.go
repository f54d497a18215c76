package cardsync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

var rules = balances.Rules{Tiers: []balances.Tier{{Name: "Bronze"}}}

func newStore(t *testing.T, clk *testkit.Clock) *store.Store {
	t.Helper()
	return testkit.OpenSQLite(t, store.Options{Now: clk.Now})
}

func enroll(t *testing.T, st *store.Store) string {
	t.Helper()
	n, _ := loyalty.NewNumber()
	m := loyalty.Member{ID: uuid.NewString(), Program: "demo", Number: n, Name: "A", AuthToken: "tok-0123456789abcdef", CreatedAt: time.Now()}
	if err := st.CreateMember(context.Background(), m, balances.NewAccount(rules)); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func earn(t *testing.T, st *store.Store, id string, key string) {
	t.Helper()
	if _, err := st.Post(context.Background(), id, key, key, balances.Request{Type: balances.Earn, Points: 10}, rules); err != nil {
		t.Fatal(err)
	}
}

// recorder is a Deliverer that records jobs and fails as told.
type recorder struct {
	mu   sync.Mutex
	jobs []loyalty.SyncJob
	fail func(loyalty.SyncJob) error
}

func (r *recorder) Deliver(_ context.Context, j loyalty.SyncJob) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, j)
	if r.fail != nil {
		return r.fail(j)
	}
	return nil
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.jobs) }

func newEngine(t *testing.T, st *store.Store, clk *testkit.Clock, d Deliverer) *Engine {
	t.Helper()
	e, err := New(Config{Store: st, Channels: map[string]Deliverer{loyalty.ChannelApple: d}, Now: clk.Now,
		MaxAttempts: 3, BackoffBase: time.Second, BackoffMax: time.Minute, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func state(t *testing.T, st *store.Store, id, channel string) loyalty.SyncState {
	t.Helper()
	sts, err := st.SyncStates(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Channel == channel {
			return s
		}
	}
	t.Fatalf("no %s sync state for %s", channel, id)
	return loyalty.SyncState{}
}

func TestBurstCoalesces(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	id := enroll(t, st)
	for i := range 10 {
		earn(t, st, id, fmt.Sprint("k", i))
	}
	rec := &recorder{}
	e := newEngine(t, st, clk, rec)
	n, err := e.RunOnce(context.Background(), loyalty.ChannelApple, rec)
	if err != nil || n != 1 {
		t.Fatalf("RunOnce() = %d, %v, want 1 job", n, err)
	}
	if rec.jobs[0].WantedVersion != 11 {
		t.Errorf("delivered version %d, want 11 (the latest)", rec.jobs[0].WantedVersion)
	}
	if n, _ := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); n != 0 {
		t.Errorf("second RunOnce() claimed %d jobs, want 0", n)
	}
	if s := state(t, st, id, loyalty.ChannelApple); s.State != loyalty.SyncOK || s.SyncedVersion != 11 {
		t.Errorf("state = %+v, want ok at 11", s)
	}
}

func TestRetryWithBackoffThenErrorState(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	id := enroll(t, st)
	rec := &recorder{fail: func(loyalty.SyncJob) error { return &RetryError{Err: errors.New("apns 503")} }}
	e := newEngine(t, st, clk, rec)
	ctx := context.Background()
	for attempt := 1; attempt <= 3; attempt++ {
		if n, err := e.RunOnce(ctx, loyalty.ChannelApple, rec); n != 1 || err != nil {
			t.Fatalf("attempt %d: RunOnce() = %d, %v, want 1 job", attempt, n, err)
		}
		s := state(t, st, id, loyalty.ChannelApple)
		if s.Attempts != attempt || s.LastError == "" {
			t.Fatalf("attempt %d: state %+v", attempt, s)
		}
		if attempt < 3 {
			// Not due before the backoff ends.
			if n, _ := e.RunOnce(ctx, loyalty.ChannelApple, rec); n != 0 {
				t.Fatalf("attempt %d: claimed again before the backoff ended", attempt)
			}
			clk.Add(time.Duration(1<<attempt) * time.Second * 2)
		}
	}
	s := state(t, st, id, loyalty.ChannelApple)
	if s.State != loyalty.SyncError {
		t.Fatalf("after 3 failures state = %+v, want error", s)
	}
	clk.Add(time.Hour)
	if n, _ := e.RunOnce(ctx, loyalty.ChannelApple, rec); n != 0 {
		t.Errorf("a card in error state was claimed")
	}
	// The next change puts it back to work.
	earn(t, st, id, "again")
	rec.fail = nil
	if n, _ := e.RunOnce(ctx, loyalty.ChannelApple, rec); n != 1 {
		t.Errorf("after a new change RunOnce() claimed %d, want 1", n)
	}
	if s := state(t, st, id, loyalty.ChannelApple); s.State != loyalty.SyncOK {
		t.Errorf("state = %+v, want ok", s)
	}
}

func TestPermanentFailureGivesUpAtOnce(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	id := enroll(t, st)
	rec := &recorder{fail: func(loyalty.SyncJob) error { return fmt.Errorf("bad topic: %w", ErrPermanent) }}
	e := newEngine(t, st, clk, rec)
	e.RunOnce(context.Background(), loyalty.ChannelApple, rec)
	if s := state(t, st, id, loyalty.ChannelApple); s.State != loyalty.SyncError || s.Attempts != 1 {
		t.Errorf("state = %+v, want error after one attempt", s)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	enroll(t, st)
	rec := &recorder{fail: func(loyalty.SyncJob) error { return &RetryError{Err: errors.New("403"), After: 10 * time.Minute} }}
	e := newEngine(t, st, clk, rec)
	e.RunOnce(context.Background(), loyalty.ChannelApple, rec)
	clk.Add(9 * time.Minute)
	if n, _ := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); n != 0 {
		t.Errorf("retried before Retry-After")
	}
	clk.Add(2 * time.Minute)
	if n, _ := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); n != 1 {
		t.Errorf("not retried after Retry-After")
	}
}

func TestCrashedWorkerLeaseExpires(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	id := enroll(t, st)
	// A worker claims and dies before recording anything.
	jobs, err := st.ClaimDue(context.Background(), loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue() = %v, %v", jobs, err)
	}
	rec := &recorder{}
	e := newEngine(t, st, clk, rec)
	if n, _ := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); n != 0 {
		t.Fatalf("a leased job was claimed twice")
	}
	clk.Add(time.Minute + time.Second)
	if n, _ := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); n != 1 || rec.jobs[0].MemberID != id {
		t.Fatalf("after the lease the job was not delivered: %d %v", n, rec.jobs)
	}
}

func TestRunDeliversOnWake(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	rec := &recorder{}
	e := newEngine(t, st, clk, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	ids := map[string]bool{}
	for range 5 {
		ids[enroll(t, st)] = true
	}
	e.Wake()
	testkit.Poll(10*time.Second, func() bool { return rec.count() >= 5 })
	cancel()
	<-done
	if rec.count() != 5 {
		t.Fatalf("delivered %d cards, want 5", rec.count())
	}
	for _, j := range rec.jobs {
		if !ids[j.MemberID] {
			t.Errorf("delivered unknown member %s", j.MemberID)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	e, _ := New(Config{Store: &store.Store{}, Channels: map[string]Deliverer{"x": DeliverFunc(nil)}, BackoffBase: time.Second, BackoffMax: time.Minute})
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 20: time.Minute} {
		for range 20 {
			got := e.Backoff(attempt)
			if got < want*8/10 || got > want*12/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ±20%%", attempt, got, want)
			}
		}
	}
}

package cardsync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/passkit/apns"
)

// fakePusher answers pushes as scripted by token (Delivered otherwise) and
// counts them; during, when set, runs inside each PushMany.
type fakePusher struct {
	mu     sync.Mutex
	answer map[string]apns.Result
	pushed map[string]int
	calls  int
	during func()
}

func (f *fakePusher) PushMany(_ context.Context, tokens []string) []apns.Result {
	f.mu.Lock()
	f.calls++
	during := f.during
	f.during = nil
	f.mu.Unlock()
	if during != nil {
		during()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pushed == nil {
		f.pushed = map[string]int{}
	}
	out := make([]apns.Result, len(tokens))
	first := map[string]bool{}
	for i, tok := range tokens {
		if !first[tok] {
			first[tok] = true
			f.pushed[tok]++
		}
		r, ok := f.answer[tok]
		if !ok {
			r = apns.Result{Status: 200, Outcome: apns.Delivered}
		}
		r.Token = tok
		out[i] = r
	}
	return out
}

func (f *fakePusher) count(tok string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.pushed[tok] }

func register(t *testing.T, st *store.Store, memberID, device, token string) {
	t.Helper()
	if _, err := st.Register(context.Background(), loyalty.Registration{DeviceID: device, PassTypeID: "pass.x", MemberID: memberID, PushToken: token}); err != nil {
		t.Fatal(err)
	}
}

func tok(n int) string { return fmt.Sprintf("%064x", n) }

// TestAppleBatchOutcomesPerCard: one batch, one PushMany, and each card's
// outcome from its own devices only.
func TestAppleBatchOutcomesPerCard(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	ok, retry, dead, twoPasses, twoDevices, none, refused, moved := enroll(t, st), enroll(t, st), enroll(t, st), enroll(t, st), enroll(t, st), enroll(t, st), enroll(t, st), enroll(t, st)
	register(t, st, ok, "d1", tok(1))
	register(t, st, retry, "d2", tok(2))
	register(t, st, dead, "d3", tok(3))
	register(t, st, twoPasses, "d1", tok(1)) // the same phone as ok's
	register(t, st, twoDevices, "d4", tok(4))
	register(t, st, twoDevices, "d5", tok(5)) // dead, but d4 is fine
	register(t, st, refused, "d6", tok(6))
	register(t, st, moved, "d7", tok(7))
	p := &fakePusher{answer: map[string]apns.Result{
		tok(2): {Status: 503, Outcome: apns.Retry, Err: errors.New("503"), RetryAfter: time.Minute},
		tok(3): {Status: 410, Outcome: apns.Unregistered, Err: errors.New("410")},
		tok(5): {Status: 410, Outcome: apns.Unregistered, Err: errors.New("410")},
		tok(6): {Status: 413, Outcome: apns.Permanent, Err: errors.New("413")},
	}}
	// The card changes while its batch is being pushed.
	p.during = func() { earn(t, st, moved, "during") }
	apple := &Apple{Store: st, Pusher: p}
	e, err := New(Config{Store: st, Channels: map[string]Deliverer{loyalty.ChannelApple: apple}, Now: clk.Now,
		MaxAttempts: 3, BackoffBase: time.Second, BackoffMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.RunOnce(context.Background(), loyalty.ChannelApple, apple); err != nil || n != 8 {
		t.Fatalf("RunOnce() = %d, %v; want 8 cards", n, err)
	}
	if p.calls != 1 {
		t.Errorf("%d PushMany calls, want 1 for the batch", p.calls)
	}
	for i := 1; i <= 7; i++ {
		if n := p.count(tok(i)); n != 1 {
			t.Errorf("token %d pushed %d times, want once", i, n)
		}
	}
	for _, c := range []struct {
		name, id string
		state    string
		attempts int
	}{
		{"delivered", ok, loyalty.SyncOK, 0},
		{"retry", retry, loyalty.SyncPending, 1},
		{"dead token", dead, loyalty.SyncOK, 0},
		{"one phone, two passes", twoPasses, loyalty.SyncOK, 0},
		{"one of two devices dead", twoDevices, loyalty.SyncOK, 0},
		{"no device", none, loyalty.SyncOK, 0},
		{"refused for good", refused, loyalty.SyncError, 1},
	} {
		s := state(t, st, c.id, loyalty.ChannelApple)
		if s.State != c.state || s.Attempts != c.attempts {
			t.Errorf("%s card: %+v, want %s with %d attempts", c.name, s, c.state, c.attempts)
		}
	}
	if s := state(t, st, retry, loyalty.ChannelApple); s.NextAttemptAt.Before(clk.Now().Add(time.Minute)) {
		t.Errorf("retry card due %v, want after Retry-After", s.NextAttemptAt)
	}
	if s := state(t, st, moved, loyalty.ChannelApple); s.State != loyalty.SyncPending || s.SyncedVersion != 1 || s.WantedVersion != 2 {
		t.Errorf("card changed during delivery: %+v, want pending, synced 1 of 2", s)
	}
	// A dead token loses its registrations, and only those.
	for id, want := range map[string]int{ok: 1, retry: 1, dead: 0, twoPasses: 1, twoDevices: 1, refused: 1, moved: 1} {
		regs, err := st.RegistrationsFor(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(regs) != want {
			t.Errorf("%s has %d registrations, want %d", id, len(regs), want)
		}
	}
	// The changed card is delivered again at once, on its own.
	if n, err := e.RunOnce(context.Background(), loyalty.ChannelApple, apple); err != nil || n != 1 {
		t.Fatalf("RunOnce() = %d, %v; want the changed card", n, err)
	}
	if s := state(t, st, moved, loyalty.ChannelApple); s.State != loyalty.SyncOK || s.SyncedVersion != 2 {
		t.Errorf("changed card after its second delivery: %+v, want ok at 2", s)
	}
}

// TestAppleBatchRegistrationsFail: a failed lookup retries every card.
func TestAppleBatchRegistrationsFail(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	a, b := enroll(t, st), enroll(t, st)
	register(t, st, a, "d1", tok(1))
	p := &fakePusher{}
	apple := &Apple{Store: failingRegs{st}, Pusher: p}
	errs := apple.DeliverBatch(context.Background(), []loyalty.SyncJob{{MemberID: a, Channel: loyalty.ChannelApple, WantedVersion: 1}, {MemberID: b, Channel: loyalty.ChannelApple, WantedVersion: 1}})
	for i, err := range errs {
		var re *RetryError
		if !errors.As(err, &re) {
			t.Errorf("job %d: %v, want a RetryError", i, err)
		}
	}
	if p.calls != 0 {
		t.Errorf("pushed without registrations")
	}
}

type failingRegs struct{ *store.Store }

func (failingRegs) RegistrationsForMembers(context.Context, []string) (map[string][]loyalty.Registration, error) {
	return nil, errors.New("database down")
}

// TestRunPipelinesBatches: many batches through Run, several under way at
// once, each card delivered once and recorded.
func TestRunPipelinesBatches(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	const n = 60
	for i := range n {
		register(t, st, enroll(t, st), fmt.Sprint("d", i), tok(i+1))
	}
	p := &fakePusher{}
	var mu sync.Mutex
	inFlight, most := 0, 0
	slow := DeliverBatchFunc(func(ctx context.Context, jobs []loyalty.SyncJob) []error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		errs := (&Apple{Store: st, Pusher: p}).DeliverBatch(ctx, jobs)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return errs
	})
	e, err := New(Config{Store: st, Channels: map[string]Deliverer{loyalty.ChannelApple: slow}, Now: clk.Now,
		Batch: 7, Pipeline: 3, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	testkit.Poll(20*time.Second, func() bool { return waiting(t, st) == 0 })
	cancel()
	<-done
	if w := waiting(t, st); w != 0 {
		t.Fatalf("%d cards still waiting", w)
	}
	for i := range n {
		if c := p.count(tok(i + 1)); c != 1 {
			t.Errorf("card %d pushed %d times, want once", i, c)
		}
	}
	if most < 2 {
		t.Errorf("at most %d batches under way at once, want the pipeline to overlap them", most)
	}
	if most > 3 {
		t.Errorf("%d batches under way at once, want at most Pipeline (3)", most)
	}
}

func waiting(t *testing.T, st *store.Store) int64 {
	t.Helper()
	w, _, _, err := st.SyncStats(context.Background(), loyalty.ChannelApple)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// DeliverBatchFunc adapts a batch function to BatchDeliverer (tests).
type DeliverBatchFunc func(ctx context.Context, jobs []loyalty.SyncJob) []error

func (f DeliverBatchFunc) Deliver(ctx context.Context, job loyalty.SyncJob) error {
	return f(ctx, []loyalty.SyncJob{job})[0]
}

func (f DeliverBatchFunc) DeliverBatch(ctx context.Context, jobs []loyalty.SyncJob) []error {
	return f(ctx, jobs)
}

// TestRunWakesWhenDebounceEnds: a change wakes the engine (as the API
// does) while the card is still debouncing; with the poll far away, the
// engine wakes itself when the debounce ends.
func TestRunWakesWhenDebounceEnds(t *testing.T) {
	t.Parallel()
	st := testkit.OpenSQLite(t, store.Options{SyncDebounce: 300 * time.Millisecond})
	id := enroll(t, st)
	rec := &recorder{}
	e, err := New(Config{Store: st, Channels: map[string]Deliverer{loyalty.ChannelApple: rec}, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitCount := func(n int) time.Time {
		t.Helper()
		if !testkit.Poll(testkit.Deadline, func() bool { return rec.count() >= n }) {
			t.Fatalf("%d deliveries, want %d", rec.count(), n)
		}
		return time.Now()
	}
	waitCount(1) // the new card, at the first look
	testkit.WaitFor(t, func() bool { return waiting(t, st) == 0 })
	changed := time.Now()
	earn(t, st, id, "k1")
	e.Wake()
	at := waitCount(2)
	if d := at.Sub(changed); d < 300*time.Millisecond {
		t.Errorf("delivered %v after the change, before the debounce ended", d)
	}
	if s := state(t, st, id, loyalty.ChannelApple); s.WantedVersion != 2 {
		t.Errorf("state %+v, want version 2", s)
	}
}

// oneByOne hides the store's batch lookup; lookups of broken fail.
type oneByOne struct {
	AppleStore
	broken string
}

func (o oneByOne) RegistrationsFor(ctx context.Context, memberID string) ([]loyalty.Registration, error) {
	if memberID == o.broken {
		return nil, errors.New("database hiccup")
	}
	return o.AppleStore.RegistrationsFor(ctx, memberID)
}

// TestAppleBatchWithoutBatchLookup: a store without RegistrationsForMembers
// is asked card by card, still with one PushMany; a failed lookup retries
// that card only.
func TestAppleBatchWithoutBatchLookup(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	a, b, c := enroll(t, st), enroll(t, st), enroll(t, st)
	register(t, st, a, "d1", tok(1))
	register(t, st, b, "d2", tok(2))
	register(t, st, c, "d3", tok(3))
	p := &fakePusher{}
	apple := &Apple{Store: oneByOne{AppleStore: st, broken: b}, Pusher: p}
	if _, ok := apple.Store.(BatchRegistrations); ok {
		t.Fatal("test store has the batch lookup")
	}
	errs := apple.DeliverBatch(context.Background(), []loyalty.SyncJob{
		{MemberID: a, Channel: loyalty.ChannelApple, WantedVersion: 1},
		{MemberID: b, Channel: loyalty.ChannelApple, WantedVersion: 1},
		{MemberID: c, Channel: loyalty.ChannelApple, WantedVersion: 1},
	})
	var re *RetryError
	if errs[0] != nil || !errors.As(errs[1], &re) || errs[2] != nil {
		t.Errorf("DeliverBatch = %v, want nil, a RetryError, nil", errs)
	}
	if p.calls != 1 || p.count(tok(1)) != 1 || p.count(tok(2)) != 0 || p.count(tok(3)) != 1 {
		t.Errorf("%d PushMany calls, pushes %d %d %d; want one call pushing the two looked-up devices", p.calls, p.count(tok(1)), p.count(tok(2)), p.count(tok(3)))
	}
}

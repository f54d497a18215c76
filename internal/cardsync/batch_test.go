package cardsync

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// batchStore is a store that records deliveries in batches (delegating
// each to Complete) and counts the calls.
type batchStore struct {
	*store.Store
	mu       sync.Mutex
	batches  [][]loyalty.SyncJob
	singles  int
	batchErr error
}

func (b *batchStore) Complete(ctx context.Context, job loyalty.SyncJob) error {
	b.mu.Lock()
	b.singles++
	b.mu.Unlock()
	return b.Store.Complete(ctx, job)
}

func (b *batchStore) CompleteMany(ctx context.Context, jobs []loyalty.SyncJob) error {
	b.mu.Lock()
	b.batches = append(b.batches, append([]loyalty.SyncJob(nil), jobs...))
	err := b.batchErr
	b.mu.Unlock()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := b.Store.Complete(ctx, j); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

func TestBatchCompleterRecordsABatchAtOnce(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st := newStore(t, clk)
	bs := &batchStore{Store: st}
	var ids []string
	for range 5 {
		ids = append(ids, enroll(t, st))
	}
	failing := ids[2]
	rec := &recorder{fail: func(j loyalty.SyncJob) error {
		if j.MemberID == failing {
			return &RetryError{Err: errors.New("503")}
		}
		return nil
	}}
	e, err := New(Config{Store: bs, Channels: map[string]Deliverer{loyalty.ChannelApple: rec}, Now: clk.Now,
		MaxAttempts: 3, BackoffBase: time.Second, BackoffMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.RunOnce(context.Background(), loyalty.ChannelApple, rec)
	if err != nil || n != 5 {
		t.Fatalf("RunOnce() = %d, %v, want 5 claimed", n, err)
	}
	if len(bs.batches) != 1 || len(bs.batches[0]) != 4 || bs.singles != 0 {
		t.Fatalf("CompleteMany calls %d (first with %d jobs), Complete calls %d; want one call with the 4 delivered", len(bs.batches), len(bs.batches[0]), bs.singles)
	}
	for _, j := range bs.batches[0] {
		if j.MemberID == failing {
			t.Errorf("the failed delivery was recorded as done")
		}
	}
	for _, id := range ids {
		s := state(t, st, id, loyalty.ChannelApple)
		switch {
		case id == failing && (s.Attempts != 1 || s.SyncedVersion == s.WantedVersion):
			t.Errorf("failed card: %+v, want one attempt and still pending", s)
		case id != failing && (s.SyncedVersion != s.WantedVersion || s.State != "ok"):
			t.Errorf("delivered card: %+v, want synced", s)
		}
	}

	// A batch that cannot be recorded leaves its cards leased: they come
	// back after the lease, like a card whose Complete failed.
	bs.batchErr = errors.New("disk full")
	earn(t, st, ids[0], "k1")
	if n, err := e.RunOnce(context.Background(), loyalty.ChannelApple, rec); err != nil || n != 1 {
		t.Fatalf("RunOnce() = %d, %v, want 1 claimed", n, err)
	}
	if s := state(t, st, ids[0], loyalty.ChannelApple); s.SyncedVersion == s.WantedVersion {
		t.Errorf("card recorded although CompleteMany failed: %+v", s)
	}
}

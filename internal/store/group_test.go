package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// heldCommits makes s hold the commits of its first n write transactions
// until released: held receives each one's number (from 1) as it waits,
// release(i) lets the i-th commit go, and commits counts them all.
type heldCommits struct {
	held     chan int
	releases []chan struct{}
	commits  atomic.Int32
}

func holdCommits(t *testing.T, s *store.Store, n int) *heldCommits {
	t.Helper()
	h := &heldCommits{held: make(chan int, n)}
	for range n {
		h.releases = append(h.releases, make(chan struct{}))
	}
	s.SetBeforeCommit(func(context.Context) {
		i := int(h.commits.Add(1))
		if i <= n {
			h.held <- i
			<-h.releases[i-1]
		}
	})
	t.Cleanup(func() {
		for i := range h.releases {
			h.release(i + 1)
		}
	})
	return h
}

// wait waits until the i-th commit is held.
func (h *heldCommits) wait(t *testing.T, i int) {
	t.Helper()
	select {
	case got := <-h.held:
		if got != i {
			t.Fatalf("commit %d held, want %d", got, i)
		}
	case <-time.After(testkit.Deadline):
		t.Fatalf("commit %d not reached within %v", i, testkit.Deadline)
	}
}

func (h *heldCommits) release(i int) {
	select {
	case <-h.releases[i-1]:
	default:
		close(h.releases[i-1])
	}
}

// leadHeld starts p, which leads a batch alone, and waits until the
// batch's commit is held (the first held one).
func (h *heldCommits) leadHeld(t *testing.T, s *store.Store, p storetest.MixedPost) <-chan posted {
	t.Helper()
	out := make(chan posted, 1)
	go func() {
		res, err := p.Run(context.Background(), s)
		out <- posted{res, err}
	}()
	h.wait(t, 1)
	return out
}

// posted is one Post's answer.
type posted struct {
	res store.PostResult
	err error
}

// queuePost starts p in its own goroutine and waits until it is in s's
// group commit queue, so that Posts queue in the order they are started.
func queuePost(t *testing.T, ctx context.Context, s *store.Store, p storetest.MixedPost) <-chan posted {
	t.Helper()
	before := s.QueuedPosts()
	out := make(chan posted, 1)
	go func() {
		res, err := p.Run(ctx, s)
		out <- posted{res, err}
	}()
	testkit.WaitFor(t, func() bool { return s.QueuedPosts() == before+1 })
	return out
}

func earnOf(m loyalty.Member, key string, points int64) storetest.MixedPost {
	return storetest.MixedPost{Name: "earn of " + key, MemberID: m.ID, Key: key, Hash: "h-" + key,
		Req: balances.Request{Type: balances.Earn, Points: points}, Rules: storetest.Rules}
}

func balance(t *testing.T, s *store.Store, id string) (int64, int) {
	t.Helper()
	x, err := s.Export(context.Background(), id)
	if err != nil {
		t.Fatalf("Export(%s) = %v", id, err)
	}
	return x.Member.Account.Points, len(x.Entries)
}

// TestGroupCommitBatch holds a first batch's commit while MixedPosts
// queue behind it, with one more Post whose context ends while it queues
// and one whose context ends while its batch commits: once released, the
// queued Posts commit in one further transaction, each with its own
// answer, the withdrawn one not at all.
func TestGroupCommitBatch(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2030, 5, 17, 9, 30, 15, 0, time.UTC))
	s := testkit.OpenSQLite(t, store.Options{Now: clock.Now, LockTimeout: time.Minute})
	m := storetest.MixedPosts(t, s)
	lead, gone, late := storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo")
	h := holdCommits(t, s, 2)
	ctx := context.Background()

	first := h.leadHeld(t, s, earnOf(lead, "lead", 1))

	goneCtx, cancelGone := context.WithCancel(ctx)
	defer cancelGone()
	goneDone := queuePost(t, goneCtx, s, earnOf(gone, "gone", 3))
	answers := make([]<-chan posted, len(m.Posts))
	for i, p := range m.Posts {
		answers[i] = queuePost(t, ctx, s, p)
	}
	lateCtx, cancelLate := context.WithCancel(ctx)
	defer cancelLate()
	lateDone := queuePost(t, lateCtx, s, earnOf(late, "late", 4))

	// Ended while queued: withdrawn, answered at once.
	cancelGone()
	if got := <-goneDone; !errors.Is(got.err, context.Canceled) {
		t.Errorf("Post with its context ended in the queue = %v, want context.Canceled", got.err)
	}
	if n := s.QueuedPosts(); n != len(m.Posts)+1 {
		t.Fatalf("%d Posts queued after the withdrawal, want %d", n, len(m.Posts)+1)
	}

	h.release(1)
	if got := <-first; got.err != nil {
		t.Fatalf("first batch's Post = %v", got.err)
	}
	// The rest run as one batch; its context ends while it commits.
	h.wait(t, 2)
	cancelLate()
	h.release(2)

	res := make([]store.PostResult, len(m.Posts))
	errs := make([]error, len(m.Posts))
	for i, a := range answers {
		got := <-a
		res[i], errs[i] = got.res, got.err
	}
	if got := <-lateDone; got.err != nil {
		t.Errorf("Post whose context ended during its commit = %v, want nil", got.err)
	}
	if n := h.commits.Load(); n != 2 {
		t.Errorf("%d transactions committed, want 2 (the first Post's, then all the queued ones)", n)
	}
	m.Check(t, s, res, errs)
	for _, c := range []struct {
		name   string
		id     string
		points int64
		n      int
	}{{"lead", lead.ID, 1, 1}, {"late", late.ID, 4, 1}, {"gone", gone.ID, 0, 0}} {
		if points, n := balance(t, s, c.id); points != c.points || n != c.n {
			t.Errorf("%s: balance %d with %d entries, want %d with %d", c.name, points, n, c.points, c.n)
		}
	}
}

// TestGroupCommitLostTransaction: a Post whose statement makes SQLite roll
// the whole transaction back (here a trigger's RAISE(ROLLBACK), as a full
// disk or an I/O error may) fails every Post of its batch, those before it
// too: none of them was committed, and they answer unavailable, for the
// clients to retry. The next batch runs as usual.
func TestGroupCommitLostTransaction(t *testing.T) {
	t.Parallel()
	s := testkit.OpenSQLite(t, store.Options{LockTimeout: time.Minute})
	ctx := context.Background()
	if err := s.Exec(ctx, `CREATE TRIGGER lose_tx BEFORE INSERT ON entries WHEN NEW.reference = 'lose'
		BEGIN SELECT RAISE(ROLLBACK, 'transaction lost'); END`); err != nil {
		t.Fatal(err)
	}
	lead, before, after := storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo")
	loser := storetest.NewMember(t, s, "demo")
	h := holdCommits(t, s, 1)

	first := h.leadHeld(t, s, earnOf(lead, "lead", 1))
	lose := earnOf(loser, "lose", 2)
	lose.Req.Reference = "lose"
	answers := []<-chan posted{
		queuePost(t, ctx, s, earnOf(before, "before", 3)),
		queuePost(t, ctx, s, lose),
		queuePost(t, ctx, s, earnOf(after, "after", 4)),
	}
	h.release(1)
	if got := <-first; got.err != nil {
		t.Fatalf("first batch's Post = %v", got.err)
	}
	for i, a := range answers {
		got := <-a
		if got.err == nil {
			t.Errorf("Post %d of the lost batch = nil error, want an error", i)
		} else if i != 1 && !errors.Is(got.err, loyalty.ErrUnavailable) {
			t.Errorf("Post %d of the lost batch = %v, want loyalty.ErrUnavailable", i, got.err)
		}
	}
	if n := h.commits.Load(); n != 1 {
		t.Errorf("%d commits, want the first batch's alone", n)
	}
	checkFailedBatch(t, s, []loyalty.Member{before, loser, after}, earnOf(before, "before", 3), earnOf(after, "after", 4))
}

// TestGroupCommitWaitBounded: a Post queued behind a batch that does not
// commit gives up after LockTimeout, as a write waiting for the writer
// does, and writes nothing.
func TestGroupCommitWaitBounded(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	s := testkit.OpenSQLite(t, store.Options{LockTimeout: timeout})
	ctx := context.Background()
	lead, waiter := storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo")
	h := holdCommits(t, s, 1)
	first := h.leadHeld(t, s, earnOf(lead, "lead", 1))
	start := time.Now()
	got := <-queuePost(t, ctx, s, earnOf(waiter, "waiter", 2))
	if !errors.Is(got.err, balances.ErrRequestInProgress) || !errors.Is(got.err, store.ErrBusy) {
		t.Errorf("Post queued behind a held batch = %v, want ErrRequestInProgress and ErrBusy", got.err)
	}
	if waited := time.Since(start); waited > testkit.Deadline {
		t.Errorf("the queued Post waited %v", waited)
	}
	h.release(1)
	if got := <-first; got.err != nil {
		t.Fatalf("held batch's Post = %v", got.err)
	}
	if points, n := balance(t, s, waiter.ID); points != 0 || n != 0 {
		t.Errorf("the Post that gave up: balance %d with %d entries, want nothing", points, n)
	}
}

// TestGroupCommitPanic: a panic inside a batch (here the before-commit
// hook's) reaches the leader's caller; the other Posts of the batch fail,
// none is committed, and the writer and the queue serve the next Posts.
func TestGroupCommitPanic(t *testing.T) {
	t.Parallel()
	s := testkit.OpenSQLite(t, store.Options{LockTimeout: time.Minute})
	ctx := context.Background()
	first, leader, other := storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo"), storetest.NewMember(t, s, "demo")
	held, release := make(chan struct{}), make(chan struct{})
	var commits atomic.Int32
	s.SetBeforeCommit(func(context.Context) {
		switch commits.Add(1) {
		case 1:
			close(held)
			<-release
		case 2:
			panic("batch panics")
		}
	})
	firstDone := make(chan error, 1)
	go func() {
		_, err := earnOf(first, "first", 1).Run(ctx, s)
		firstDone <- err
	}()
	<-held
	// Queued behind the held batch, these two form the next one, which
	// panics: the first of them leads it.
	panicked := make(chan any, 1)
	before := s.QueuedPosts()
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = earnOf(leader, "leader", 2).Run(ctx, s)
	}()
	testkit.WaitFor(t, func() bool { return s.QueuedPosts() == before+1 })
	answer := queuePost(t, ctx, s, earnOf(other, "other", 3))
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first batch's Post = %v", err)
	}
	if p := <-panicked; p != "batch panics" {
		t.Fatalf("leader's caller recovered %v, want the batch's panic", p)
	}
	if got := <-answer; got.err == nil {
		t.Errorf("other Post of the panicked batch = nil error, want an error")
	}
	checkFailedBatch(t, s, []loyalty.Member{leader, other}, earnOf(leader, "leader", 2), earnOf(other, "other", 3))
}

// checkFailedBatch checks that a failed batch left its members without
// an entry, and that the writer and the queue serve again: each of retry
// (earns of those members) goes through and leaves its points.
func checkFailedBatch(t *testing.T, s *store.Store, members []loyalty.Member, retry ...storetest.MixedPost) {
	t.Helper()
	for _, m := range members {
		if points, n := balance(t, s, m.ID); points != 0 || n != 0 {
			t.Errorf("member %s of the failed batch: balance %d with %d entries, want nothing", m.ID, points, n)
		}
	}
	for _, p := range retry {
		if _, err := p.Run(context.Background(), s); err != nil {
			t.Fatalf("%s again = %v", p.Name, err)
		}
		if points, _ := balance(t, s, p.MemberID); points != p.Req.Points {
			t.Errorf("%s again: balance %d, want %d", p.Name, points, p.Req.Points)
		}
	}
}

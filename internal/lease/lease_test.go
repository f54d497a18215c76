package lease_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/passd/passd/internal/lease"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// open opens the SQLite database at path as instance id.
func open(t *testing.T, path, id string, clock *testkit.Clock) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), path, store.Options{
		Now: clock.Now, Instance: id, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDeadInstanceReleased: instance A claims a card and stops
// heart-beating. While A's last heartbeat is fresh, B leaves the card
// alone; once it is older than DeadAfter, B's next step releases it and B
// claims it. A local proof of death (a lock file let go) releases at once;
// an instance never releases its own claims.
func TestDeadInstanceReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "passd.db")
	sa, sb := open(t, path, "a", clock), open(t, path, "b", clock)
	m := storetest.NewMember(t, sa, "demo")
	woken := 0
	ra := lease.New(lease.Config{Store: sa, ID: "a", Now: clock.Now})
	rb := lease.New(lease.Config{Store: sb, ID: "b", Now: clock.Now, OnReleased: func() { woken++ }})
	for _, r := range []*lease.Registry{ra, rb} {
		if _, err := r.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if jobs, err := sa.ClaimDue(ctx, loyalty.ChannelApple, 10, 2*time.Minute); err != nil || len(jobs) != 1 {
		t.Fatalf("A's ClaimDue = %+v, %v", jobs, err)
	}
	// A hangs. B beats every 3 s.
	for range 4 {
		clock.Add(lease.DefaultBeat)
		if n, err := rb.Step(ctx); err != nil || n != 0 {
			t.Fatalf("B's step at %v after A's last beat released %d, %v; want nothing yet", clock.Now().Sub(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)), n, err)
		}
	}
	if jobs, err := sb.ClaimDue(ctx, loyalty.ChannelApple, 10, 2*time.Minute); err != nil || len(jobs) != 0 {
		t.Fatalf("B claimed A's leased card while A lived: %+v, %v", jobs, err)
	}
	clock.Add(lease.DefaultBeat) // 15 s since A's beat
	if n, err := rb.Step(ctx); err != nil || n != 1 || woken != 1 {
		t.Fatalf("B's step past DeadAfter = %d, %v (woken %d); want A's claim released", n, err, woken)
	}
	jobs, err := sb.ClaimDue(ctx, loyalty.ChannelApple, 10, 2*time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].MemberID != m.ID {
		t.Fatalf("B's ClaimDue after release = %+v, %v; want A's card", jobs, err)
	}
	if o, err := sb.LeaseOwner(ctx, m.ID, loyalty.ChannelApple); err != nil || o != "b" {
		t.Fatalf("owner = %q, %v; want b", o, err)
	}

	// C proves B dead locally, right after B's beat: released at once.
	sc := open(t, path, "c", clock)
	rc := lease.New(lease.Config{Store: sc, ID: "c", Now: clock.Now,
		Alive: func(id string) (bool, bool) { return id != "b", true }})
	if n, err := rc.Step(ctx); err != nil || n != 1 {
		t.Fatalf("C's step with B proven dead = %d, %v; want B's claim", n, err)
	}
	// B never judges itself, however old its own heartbeat.
	clock.Add(time.Hour)
	if _, err := sc.ClaimDue(ctx, loyalty.ChannelApple, 10, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Step(ctx); err != nil || n != 0 {
		t.Fatalf("C released its own claim: %d, %v", n, err)
	}
	if err := rc.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if jobs, err := sa.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute); err != nil || len(jobs) != 1 {
		t.Fatalf("after C left, its claim = %+v, %v; want it free", jobs, err)
	}
}

// TestDead: the rule alone — stale heartbeat, ended session and local
// proof each make an instance dead; an unknown local answer does not.
func TestDead(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	r := lease.New(lease.Config{ID: "me", Alive: func(id string) (bool, bool) {
		switch id {
		case "locked":
			return true, true
		case "unlocked":
			return false, true
		}
		return false, false
	}})
	list := []lease.Instance{
		{ID: "me", HeartbeatAt: now.Add(-time.Hour)},
		{ID: "fresh", HeartbeatAt: now.Add(-lease.DefaultDeadAfter)},
		{ID: "stale", HeartbeatAt: now.Add(-lease.DefaultDeadAfter - time.Millisecond)},
		{ID: "session", HeartbeatAt: now, SessionGone: true},
		{ID: "locked", HeartbeatAt: now},
		{ID: "unlocked", HeartbeatAt: now},
	}
	got := r.Dead(list, now)
	want := []string{"stale", "session", "unlocked"}
	if len(got) != len(want) {
		t.Fatalf("Dead = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Dead = %v, want %v", got, want)
		}
	}
}

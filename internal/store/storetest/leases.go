package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/internal/lease"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// testLeaseOwners: a claim records the claiming instance; recording the
// outcome (Complete, CompleteMany, Fail) clears it; ReleaseInstances makes
// a released owner's claims due at once with no owner, leaves other
// owners' claims leased, and forgets the released instances.
func testLeaseOwners(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, Instance: "i-one"})
	ctx := context.Background()
	a, b, c := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Hour)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("ClaimDue = %+v, %v; want 3 jobs", jobs, err)
	}
	owner := func(id, channel string) string {
		t.Helper()
		o, err := s.LeaseOwner(ctx, id, channel)
		if err != nil {
			t.Fatalf("LeaseOwner(%s) = %v", id, err)
		}
		return o
	}
	for _, m := range []loyalty.Member{a, b, c} {
		if o := owner(m.ID, loyalty.ChannelApple); o != "i-one" {
			t.Errorf("owner of claimed %s = %q, want i-one", m.ID, o)
		}
		if o := owner(m.ID, loyalty.ChannelGoogle); o != "" {
			t.Errorf("owner of unclaimed google card %s = %q, want none", m.ID, o)
		}
	}
	byID := map[string]loyalty.SyncJob{}
	for _, j := range jobs {
		byID[j.MemberID] = j
	}
	if err := s.Complete(ctx, byID[a.ID]); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteMany(ctx, []loyalty.SyncJob{byID[b.ID]}); err != nil {
		t.Fatal(err)
	}
	if o := owner(a.ID, loyalty.ChannelApple) + owner(b.ID, loyalty.ChannelApple); o != "" {
		t.Errorf("owners after Complete/CompleteMany = %q, want none", o)
	}
	if err := s.Fail(ctx, byID[c.ID], "down", clock.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if o := owner(c.ID, loyalty.ChannelApple); o != "" {
		t.Errorf("owner after Fail = %q, want none", o)
	}

	// Two instances register; one claims the google cards, then is
	// released: its claims are due at once, and it is forgotten.
	for _, id := range []string{"i-one", "i-two"} {
		if err := s.Heartbeat(ctx, lease.Instance{ID: id, Host: "h", PID: 7, StartedAt: clock.Now(), HeartbeatAt: clock.Now()}); err != nil {
			t.Fatalf("Heartbeat(%s) = %v", id, err)
		}
	}
	clock.Add(time.Second)
	if err := s.Heartbeat(ctx, lease.Instance{ID: "i-two", Host: "h", PID: 7, StartedAt: t0(), HeartbeatAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Instances(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "i-one" || list[1].ID != "i-two" {
		t.Fatalf("Instances = %+v, %v; want i-one, i-two", list, err)
	}
	if !list[1].HeartbeatAt.Equal(clock.Now().UTC().Truncate(time.Microsecond)) || !list[0].HeartbeatAt.Equal(t0().Truncate(time.Microsecond)) {
		t.Errorf("heartbeats = %v, %v; want %v, %v", list[0].HeartbeatAt, list[1].HeartbeatAt, t0(), clock.Now())
	}
	if list[0].SessionGone || list[1].SessionGone {
		t.Errorf("live sessions reported gone: %+v", list)
	}
	g, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Hour)
	if err != nil || len(g) != 3 {
		t.Fatalf("ClaimDue(google) = %+v, %v", g, err)
	}
	if n, err := s.ReleaseInstances(ctx, []string{"i-two"}); err != nil || n != 0 {
		t.Errorf("ReleaseInstances(an owner of nothing) = %d, %v; want 0", n, err)
	}
	if again, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Hour); err != nil || len(again) != 0 {
		t.Errorf("ClaimDue while the owner lives = %+v, %v; want nothing", again, err)
	}
	n, err := s.ReleaseInstances(ctx, []string{"i-one"})
	if err != nil || n != 3 {
		t.Fatalf("ReleaseInstances(i-one) = %d, %v; want its 3 claims", n, err)
	}
	if o := owner(a.ID, loyalty.ChannelGoogle); o != "" {
		t.Errorf("owner after release = %q, want none", o)
	}
	again, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Hour)
	if err != nil || len(again) != 3 {
		t.Errorf("ClaimDue after release = %+v, %v; want the 3 jobs at once", again, err)
	}
	if list, err := s.Instances(ctx); err != nil || len(list) != 0 {
		t.Errorf("Instances after release = %+v, %v; want none", list, err)
	}
}

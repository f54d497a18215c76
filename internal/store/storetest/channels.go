package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// testGoogleOffAndOn: with Google off, members get no Google sync row and
// nothing waits for Google, whatever changes; turning Google on queues
// every live card once, at its current version; turning it off again
// removes the rows.
func testGoogleOffAndOn(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, GoogleOff: true})
	ctx := context.Background()
	a, b, gone := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	res := post(t, s, a.ID, balances.Earn, 10)
	if err := s.EraseMember(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	sts, err := s.SyncStates(ctx, a.ID)
	if err != nil || len(sts) != 1 || sts[0].Channel != loyalty.ChannelApple {
		t.Fatalf("SyncStates with Google off = %+v, %v, want Apple's alone", sts, err)
	}
	if waiting, _, _, err := s.SyncStats(ctx, loyalty.ChannelGoogle); err != nil || waiting != 0 {
		t.Fatalf("Google waiting with Google off = %d, %v, want 0", waiting, err)
	}
	if jobs, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute); err != nil || len(jobs) != 0 {
		t.Fatalf("ClaimDue(google) with Google off = %+v, %v, want none", jobs, err)
	}

	// Google is turned on: the live cards queue for it once.
	clock.Add(time.Second)
	n, err := s.EnsureChannelRows(ctx, loyalty.ChannelGoogle)
	if err != nil || n != 2 {
		t.Fatalf("EnsureChannelRows(google) = %d, %v, want the 2 live members", n, err)
	}
	if n, err := s.EnsureChannelRows(ctx, loyalty.ChannelGoogle); err != nil || n != 0 {
		t.Fatalf("EnsureChannelRows(google) again = %d, %v, want 0", n, err)
	}
	if st := syncState(t, s, a.ID, loyalty.ChannelGoogle); st.WantedVersion != res.Account.PassVersion || st.SyncedVersion != 0 || st.State != loyalty.SyncPending {
		t.Errorf("a's Google state = %+v, want pending at version %d", st, res.Account.PassVersion)
	}
	clock.Add(time.Minute)
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("ClaimDue(google) after turning it on = %d jobs, %v, want 2", len(jobs), err)
	}
	for _, j := range jobs {
		if j.MemberID != a.ID && j.MemberID != b.ID {
			t.Errorf("claimed %s, want only live members", j.MemberID)
		}
	}

	// And off again.
	if n, err := s.DropChannelRows(ctx, loyalty.ChannelGoogle); err != nil || n != 2 {
		t.Fatalf("DropChannelRows(google) = %d, %v, want 2", n, err)
	}
	if sts, _ := s.SyncStates(ctx, b.ID); len(sts) != 1 {
		t.Errorf("SyncStates after Google is off again = %+v, want Apple's alone", sts)
	}
}

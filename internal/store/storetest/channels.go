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

// testChannels: with only the apple channel on, new cards get no google
// row and nothing waits on google; EnableChannel gives every card (but an
// erased member's) one google row wanting its current version, due at
// once, and a second call adds none; DisableChannel removes them.
func testChannels(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, Channels: []string{loyalty.ChannelApple}})
	ctx := context.Background()
	a, b, gone := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	if err := s.EraseMember(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	states, err := s.SyncStates(ctx, a.ID)
	if err != nil || len(states) != 1 || states[0].Channel != loyalty.ChannelApple {
		t.Fatalf("SyncStates with apple only = %+v, %v; want the apple row", states, err)
	}
	if waiting, _, _, err := s.SyncStats(ctx, loyalty.ChannelGoogle); err != nil || waiting != 0 {
		t.Fatalf("google waiting = %d, %v; want 0", waiting, err)
	}
	post(t, s, b.ID, balances.Earn, 5) // b's card is at a later version
	n, err := s.EnableChannel(ctx, loyalty.ChannelGoogle)
	if err != nil || n != 2 {
		t.Fatalf("EnableChannel = %d, %v; want 2 (the erased member's card gets none)", n, err)
	}
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("ClaimDue(google) after enabling = %+v, %v; want both cards", jobs, err)
	}
	for _, j := range jobs {
		row, err := s.Member(ctx, j.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		if j.WantedVersion != row.Account.PassVersion {
			t.Errorf("google job of %s wants version %d, the card is at %d", j.MemberID, j.WantedVersion, row.Account.PassVersion)
		}
	}
	if n, err := s.EnableChannel(ctx, loyalty.ChannelGoogle); err != nil || n != 0 {
		t.Errorf("EnableChannel again = %d, %v; want 0", n, err)
	}
	if n, err := s.DisableChannel(ctx, loyalty.ChannelGoogle); err != nil || n != 2 {
		t.Errorf("DisableChannel = %d, %v; want 2", n, err)
	}
	if states, err := s.SyncStates(ctx, b.ID); err != nil || len(states) != 1 {
		t.Errorf("SyncStates after disabling google = %+v, %v; want the apple row only", states, err)
	}
}

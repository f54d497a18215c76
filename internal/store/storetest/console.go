package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// testProgramSyncHealth: cards waiting and given up, per channel, of one
// programme only.
func testProgramSyncHealth(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	health := func(program string) []store.SyncHealth {
		t.Helper()
		h, err := s.ProgramSyncHealth(ctx, program)
		if err != nil {
			t.Fatalf("ProgramSyncHealth(%s) = %v", program, err)
		}
		return h
	}
	if h := health("demo"); len(h) != 0 {
		t.Fatalf("health of an empty programme = %+v", h)
	}
	NewMember(t, s, "demo")
	NewMember(t, s, "demo")
	NewMember(t, s, "other")
	clock.Add(time.Minute)
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	for _, j := range jobs {
		if m := mustMember(t, s, j.MemberID); m.Program == "demo" {
			if err := s.Fail(ctx, j, "google: 400", clock.Now(), true); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	want := []store.SyncHealth{
		{Channel: loyalty.ChannelApple, Waiting: 2, Oldest: time.Minute},
		{Channel: loyalty.ChannelGoogle, Waiting: 1, Oldest: time.Minute, Errored: 1},
	}
	if diff := cmp.Diff(want, health("demo")); diff != "" {
		t.Errorf("health of demo (-want +got):\n%s", diff)
	}
}

// testCountTierMembers counts a tier's live members.
func testCountTierMembers(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	a, b := NewMember(t, s, "demo"), NewMember(t, s, "demo")
	NewMember(t, s, "demo")
	post(t, s, a.ID, balances.Earn, 150)
	post(t, s, b.ID, balances.Earn, 150)
	if err := s.EraseMember(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for tier, want := range map[string]int64{"Silver": 1, "Bronze": 1, "Gold": 0} {
		if n, err := s.CountTierMembers(ctx, "demo", tier); err != nil || n != want {
			t.Errorf("CountTierMembers(demo, %s) = %d, %v, want %d", tier, n, err, want)
		}
	}
}

// testEntriesOfType pages one type of a member's entries.
func testEntriesOfType(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	m := NewMember(t, s, "demo")
	for range 3 {
		post(t, s, m.ID, balances.Earn, 10)
		post(t, s, m.ID, balances.Redeem, 1)
	}
	got, next, err := s.EntriesOfType(ctx, m.ID, balances.Redeem, "", 2)
	if err != nil || len(got) != 2 || next == "" {
		t.Fatalf("EntriesOfType(redeem, 2) = %d entries, next %q, %v", len(got), next, err)
	}
	rest, next, err := s.EntriesOfType(ctx, m.ID, balances.Redeem, next, 2)
	if err != nil || len(rest) != 1 || next != "" {
		t.Fatalf("EntriesOfType(redeem, page 2) = %d entries, next %q, %v", len(rest), next, err)
	}
	for _, e := range append(got, rest...) {
		if e.Type != balances.Redeem {
			t.Errorf("EntriesOfType(redeem) has a %s entry", e.Type)
		}
	}
	if all, _, err := s.EntriesOfType(ctx, m.ID, "", "", 10); err != nil || len(all) != 6 {
		t.Errorf("EntriesOfType(any) = %d entries, %v, want 6", len(all), err)
	}
}

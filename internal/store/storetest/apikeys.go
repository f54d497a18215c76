package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// API keys listed, and their last use (store/apikeys_list.go).

func testAPIKeyList(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	if ks, err := s.APIKeys(ctx); err != nil || len(ks) != 0 {
		t.Errorf("APIKeys(none) = %+v, %v; want none", ks, err)
	}
	var want []store.APIKey
	for _, k := range []store.APIKey{
		{ID: "key-b", Hash: "h1", Role: loyalty.RoleAdmin},
		{ID: "key-a", Hash: "h2", Role: loyalty.RolePOS, Program: "demo"},
	} {
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		k.CreatedAt = clock.Now().Truncate(time.Microsecond)
		want = append(want, k)
		clock.Add(time.Second)
	}
	if err := s.RevokeAPIKey(ctx, "key-b"); err != nil {
		t.Fatal(err)
	}
	revoked := clock.Now().Truncate(time.Microsecond)
	want[0].RevokedAt = &revoked
	used := clock.Now().Add(time.Hour).Truncate(time.Microsecond)
	if err := s.TouchAPIKey(ctx, "key-a", used); err != nil {
		t.Fatal(err)
	}
	want[1].LastUsedAt = &used
	got, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("APIKeys, oldest first (-want +got):\n%s", diff)
	}
}

func testTouchAPIKey(t *testing.T, open Opener) {
	s := open(t, store.Options{Now: testkit.NewClock(t0()).Now})
	ctx := context.Background()
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "key1", Hash: "aa11", Role: loyalty.RolePOS}); err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		t.Helper()
		k, err := s.APIKeyByHash(ctx, "aa11")
		if err != nil {
			t.Fatalf("APIKeyByHash = %v", err)
		}
		return k.LastUsedAt
	}
	if got := lastUsed(); got != nil {
		t.Errorf("LastUsedAt(never used) = %v, want nil", got)
	}
	first := t0()
	for _, tc := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first use", first, first},
		{"within the minute", first.Add(59 * time.Second), first},
		{"a minute later", first.Add(time.Minute), first},
		{"past the minute", first.Add(time.Minute + time.Microsecond), first.Add(time.Minute + time.Microsecond)},
		{"an earlier time", first, first.Add(time.Minute + time.Microsecond)},
		{"hours later", first.Add(3 * time.Hour), first.Add(3 * time.Hour)},
	} {
		if err := s.TouchAPIKey(ctx, "key1", tc.at); err != nil {
			t.Fatalf("%s: TouchAPIKey(%v) = %v", tc.name, tc.at, err)
		}
		want := tc.want.UTC().Truncate(time.Microsecond)
		if got := lastUsed(); got == nil || !got.Equal(want) {
			t.Errorf("%s: TouchAPIKey(%v): LastUsedAt = %v, want %v", tc.name, tc.at, got, want)
		}
	}
	if err := s.TouchAPIKey(ctx, "nope", first); err != nil {
		t.Errorf("TouchAPIKey(unknown) = %v, want nil", err)
	}
}

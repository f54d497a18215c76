package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

func installs(t *testing.T, s *store.Store, memberID string) []store.CardInstall {
	t.Helper()
	got, err := s.CardInstalls(context.Background(), memberID)
	if err != nil {
		t.Fatalf("CardInstalls(%s) = %v", memberID, err)
	}
	return got
}

func record(t *testing.T, s *store.Store, c store.GoogleCallback) store.CallbackOutcome {
	t.Helper()
	out, err := s.RecordGoogleCallback(context.Background(), c)
	if err != nil {
		t.Fatalf("RecordGoogleCallback(%+v) = %v", c, err)
	}
	return out
}

func testGoogleCallbacks(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	m := NewMember(t, s, "demo")
	other := NewMember(t, s, "demo")
	if got := installs(t, s, m.ID); len(got) != 0 {
		t.Fatalf("CardInstalls(new member) = %v, want none", got)
	}

	if out := record(t, s, store.GoogleCallback{Nonce: "n1", MemberID: m.ID, Installed: true}); out != store.CallbackRecorded {
		t.Fatalf("RecordGoogleCallback(save) = %v, want recorded", out)
	}
	want := []store.CardInstall{{MemberID: m.ID, Wallet: loyalty.ChannelGoogle, Installed: true, UpdatedAt: t0().Truncate(time.Microsecond)}}
	if diff := cmp.Diff(want, installs(t, s, m.ID)); diff != "" {
		t.Errorf("CardInstalls after save (-want +got):\n%s", diff)
	}
	if got := installs(t, s, other.ID); len(got) != 0 {
		t.Errorf("CardInstalls(other member) = %v, want none", got)
	}

	// The same nonce again, even saying something else, changes nothing.
	clock.Add(time.Minute)
	if out := record(t, s, store.GoogleCallback{Nonce: "n1", MemberID: m.ID, Installed: false}); out != store.CallbackReplayed {
		t.Errorf("RecordGoogleCallback(replay) = %v, want replayed", out)
	}
	if diff := cmp.Diff(want, installs(t, s, m.ID)); diff != "" {
		t.Errorf("CardInstalls after a replay (-want +got):\n%s", diff)
	}

	clock.Add(time.Minute)
	if out := record(t, s, store.GoogleCallback{Nonce: "n2", MemberID: m.ID, Installed: false}); out != store.CallbackRecorded {
		t.Fatalf("RecordGoogleCallback(del) = %v, want recorded", out)
	}
	want = []store.CardInstall{{MemberID: m.ID, Wallet: loyalty.ChannelGoogle, Installed: false, UpdatedAt: clock.Now().Truncate(time.Microsecond)}}
	if diff := cmp.Diff(want, installs(t, s, m.ID)); diff != "" {
		t.Errorf("CardInstalls after del (-want +got):\n%s", diff)
	}

	// Unknown and erased members keep only the nonce.
	if out := record(t, s, store.GoogleCallback{Nonce: "n3", MemberID: "no-such-member", Installed: true}); out != store.CallbackUnknownMember {
		t.Errorf("RecordGoogleCallback(unknown member) = %v, want unknown_member", out)
	}
	if out := record(t, s, store.GoogleCallback{Nonce: "n3", MemberID: "no-such-member", Installed: true}); out != store.CallbackReplayed {
		t.Errorf("RecordGoogleCallback(unknown member again) = %v, want replayed", out)
	}
	if err := s.EraseMember(context.Background(), other.ID); err != nil {
		t.Fatal(err)
	}
	if out := record(t, s, store.GoogleCallback{Nonce: "n4", MemberID: other.ID, Installed: true}); out != store.CallbackUnknownMember {
		t.Errorf("RecordGoogleCallback(erased member) = %v, want unknown_member", out)
	}
	if got := installs(t, s, other.ID); len(got) != 0 {
		t.Errorf("CardInstalls(erased member) = %v, want none", got)
	}

	// Nonces are pruned by age; a pruned nonce counts as new.
	n, err := s.PruneGoogleCallbackNonces(context.Background(), t0().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PruneGoogleCallbackNonces = %d, %v; want 1 (n1)", n, err)
	}
	if out := record(t, s, store.GoogleCallback{Nonce: "n1", MemberID: m.ID, Installed: true}); out != store.CallbackRecorded {
		t.Errorf("RecordGoogleCallback(pruned nonce) = %v, want recorded", out)
	}
	if out := record(t, s, store.GoogleCallback{Nonce: "n2", MemberID: m.ID, Installed: true}); out != store.CallbackReplayed {
		t.Errorf("RecordGoogleCallback(kept nonce) = %v, want replayed", out)
	}
}

// testConcurrentGoogleCallbacks delivers one event from several requests
// at once: exactly one records it.
func testConcurrentGoogleCallbacks(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	m := NewMember(t, s, "demo")
	const n = 8
	outs := make([]store.CallbackOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.RecordGoogleCallback(context.Background(), store.GoogleCallback{Nonce: "same", MemberID: m.ID, Installed: true})
			if err != nil {
				t.Errorf("RecordGoogleCallback #%d = %v", i, err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	count := map[store.CallbackOutcome]int{}
	for _, o := range outs {
		count[o]++
	}
	if want := map[store.CallbackOutcome]int{store.CallbackRecorded: 1, store.CallbackReplayed: n - 1}; !cmp.Equal(count, want) {
		t.Errorf("outcomes of %d concurrent deliveries = %v, want %v", n, count, want)
	}
}

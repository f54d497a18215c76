package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// The sync engine's batch methods (store/batch.go).

func testCompleteMany(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: time.Minute})
	ctx := context.Background()
	if err := s.CompleteMany(ctx, nil); err != nil {
		t.Fatalf("CompleteMany(none) = %v", err)
	}
	var ids []string
	for range 4 {
		ids = append(ids, NewMember(t, s, "demo").ID)
	}
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("ClaimDue = %+v, %v; want 4 jobs", jobs, err)
	}
	// While the batch is out, one card changes again and one is not
	// delivered at all.
	moved := post(t, s, ids[1], balances.Earn, 1)
	clock.Add(time.Second)
	var done []store.SyncJob
	for _, j := range jobs {
		if j.MemberID != ids[3] {
			done = append(done, j)
		}
	}
	// A job listed twice, an old version of a card and a card that is gone
	// change nothing more.
	done = append(done, done[0], store.SyncJob{MemberID: ids[0], Channel: loyalty.ChannelApple, WantedVersion: 0},
		store.SyncJob{MemberID: uuid.NewString(), Channel: loyalty.ChannelApple, WantedVersion: 1})
	if err := s.CompleteMany(ctx, done); err != nil {
		t.Fatalf("CompleteMany = %v", err)
	}
	now := clock.Now().Truncate(time.Microsecond)
	for i, id := range ids {
		st := syncState(t, s, id, loyalty.ChannelApple)
		switch i {
		case 1:
			if st.SyncedVersion != 1 || st.WantedVersion != moved.Account.PassVersion || st.State != loyalty.SyncPending || !st.NextAttemptAt.Equal(now) {
				t.Errorf("card changed during delivery: %+v, want pending at %d, due now", st, moved.Account.PassVersion)
			}
		case 3:
			if st.SyncedVersion != 0 || st.State != loyalty.SyncPending || !st.NextAttemptAt.After(now) {
				t.Errorf("card not delivered: %+v, want pending and still leased", st)
			}
		default:
			if st.SyncedVersion != 1 || st.State != loyalty.SyncOK || st.Attempts != 0 || !st.UpdatedAt.Equal(now) {
				t.Errorf("delivered card: %+v, want ok at 1", st)
			}
		}
		if google := syncState(t, s, id, loyalty.ChannelGoogle); google.SyncedVersion != 0 {
			t.Errorf("google row of %s touched: %+v", id, google)
		}
	}
	// The card that changed is claimed again at once, with its new version.
	jobs, err = s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].MemberID != ids[1] || jobs[0].WantedVersion != moved.Account.PassVersion {
		t.Fatalf("ClaimDue = %+v, %v; want the changed card at %d", jobs, err, moved.Account.PassVersion)
	}
	// A failed card's attempts and error are cleared by a later success;
	// a late batch with an old version never lowers the synced version.
	if err := s.Fail(ctx, jobs[0], "apns: 503", clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteMany(ctx, []store.SyncJob{{MemberID: ids[1], Channel: loyalty.ChannelApple, WantedVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	if st := syncState(t, s, ids[1], loyalty.ChannelApple); st.SyncedVersion != moved.Account.PassVersion || st.State != loyalty.SyncOK ||
		st.Attempts != 0 || st.LastError != "" {
		t.Errorf("after a retry's success and a late batch: %+v, want ok at %d, no error", st, moved.Account.PassVersion)
	}
}

func testRegistrationsForMembers(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	if got, err := s.RegistrationsForMembers(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("RegistrationsForMembers(none) = %v, %v", got, err)
	}
	a, b, c := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	reg := func(device, token, memberID string) store.Registration {
		t.Helper()
		r := store.Registration{DeviceID: device, PassTypeID: "pass.x", MemberID: memberID, PushToken: token}
		if _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.CreatedAt = clock.Now().Truncate(time.Microsecond)
		r.UpdatedAt = r.CreatedAt
		clock.Add(time.Second)
		return r
	}
	a2 := reg("dev2", "tok2", a.ID)
	a1 := reg("dev1", "tok1", a.ID)
	b1 := reg("dev1", "tok1", b.ID) // one phone, two passes
	reg("dev3", "tok3", c.ID)
	got, err := s.RegistrationsForMembers(ctx, []string{a.ID, b.ID, uuid.NewString(), a.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]store.Registration{a.ID: {a2, a1}, b.ID: {b1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RegistrationsForMembers (-want +got):\n%s", diff)
	}
	for _, id := range []string{a.ID, b.ID} {
		one, err := s.RegistrationsFor(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one, got[id]); diff != "" {
			t.Errorf("RegistrationsForMembers differs from RegistrationsFor(%s) (-one +many):\n%s", id, diff)
		}
	}
}

func testNextDue(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, SyncDebounce: 2 * time.Second})
	ctx := context.Background()
	if _, ok, err := s.NextDue(ctx, loyalty.ChannelApple); err != nil || ok {
		t.Fatalf("NextDue(empty) = %v, %v; want none", ok, err)
	}
	m := NewMember(t, s, "demo")
	jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", jobs, err)
	}
	// Leased: due again when the lease ends.
	lease := clock.Now().Truncate(time.Microsecond).Add(time.Minute)
	if due, ok, err := s.NextDue(ctx, loyalty.ChannelApple); err != nil || !ok || !due.Equal(lease) {
		t.Errorf("NextDue(leased) = %v, %v, %v; want %v", due, ok, err, lease)
	}
	if err := s.CompleteMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.NextDue(ctx, loyalty.ChannelApple); err != nil || ok {
		t.Errorf("NextDue(all delivered) = %v, %v; want none", ok, err)
	}
	// A change is due when its debounce ends.
	clock.Add(time.Second)
	post(t, s, m.ID, balances.Earn, 1)
	debounced := clock.Now().Truncate(time.Microsecond).Add(2 * time.Second)
	if due, ok, err := s.NextDue(ctx, loyalty.ChannelApple); err != nil || !ok || !due.Equal(debounced) {
		t.Errorf("NextDue(debouncing) = %v, %v, %v; want %v", due, ok, err, debounced)
	}
	// The other channel still waits for the first version, due since
	// creation.
	if due, ok, err := s.NextDue(ctx, loyalty.ChannelGoogle); err != nil || !ok || !due.Equal(t0().Truncate(time.Microsecond)) {
		t.Errorf("NextDue(google) = %v, %v, %v; want %v", due, ok, err, t0())
	}
	// A card in the error state is not waiting.
	jobs, _ = s.ClaimDue(ctx, loyalty.ChannelGoogle, 10, time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("ClaimDue(google) = %+v", jobs)
	}
	if err := s.Fail(ctx, jobs[0], "400", clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.NextDue(ctx, loyalty.ChannelGoogle); err != nil || ok {
		t.Errorf("NextDue(google in error) = %v, %v; want none", ok, err)
	}
}

// testClaimInOrder: a program-wide change leaves every card due at the same
// time; batches come in the dialect's fixed order (PostgreSQL: by member;
// SQLite: by creation, see ClaimDue), each card once.
func testClaimInOrder(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	const n = 25
	var created []string
	for range n {
		created = append(created, NewMember(t, s, "demo").ID)
	}
	// Everyone due at the same time.
	if _, err := s.PostProgramMessage(ctx, "demo", "hello"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		jobs, err := s.ClaimDue(ctx, loyalty.ChannelApple, 7, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			got = append(got, j.MemberID)
		}
	}
	want := created
	if s.Dialect() == store.DialectPostgres {
		want = slices.Sorted(slices.Values(created))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claim order (-want +got):\n%s", diff)
	}
}

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

func TestGoogleCardSQLite(t *testing.T) {
	t.Parallel()
	testGoogleCard(t, func(t *testing.T, o store.Options) *store.Store { return testkit.OpenSQLite(t, o) })
}

func TestGoogleCardPostgres(t *testing.T) {
	t.Parallel()
	testGoogleCard(t, func(t *testing.T, o store.Options) *store.Store { return openPostgres(t, o) })
}

func testGoogleCard(t *testing.T, open storetest.Opener) {
	t0 := time.Date(2030, 5, 17, 9, 30, 15, 123456789, time.UTC)
	clock := testkit.NewClock(t0)
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	m := storetest.NewMember(t, s, "demo")

	t.Run("NeverDelivered", func(t *testing.T) {
		got, err := s.GoogleCard(ctx, m.ID, time.Time{})
		want := store.GoogleCard{MemberID: m.ID, Notified: []time.Time{}}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("GoogleCard(new member) = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("SaveAndRead", func(t *testing.T) {
		msgAt := t0.Add(-time.Hour)
		n1, n2, n3 := t0.Add(-30*time.Hour), t0.Add(-2*time.Hour), t0.Add(-time.Minute)
		c := store.GoogleCard{MemberID: m.ID, Inserted: true, MessageAt: msgAt, TierEventSeq: 7,
			Notified: []time.Time{n1, n2, n3}}
		if err := s.SaveGoogleCard(ctx, c); err != nil {
			t.Fatalf("SaveGoogleCard() = %v", err)
		}
		got, err := s.GoogleCard(ctx, m.ID, t0.Add(-24*time.Hour))
		want := store.GoogleCard{MemberID: m.ID, Inserted: true, MessageAt: msgAt.Truncate(time.Microsecond), TierEventSeq: 7,
			Notified: []time.Time{n2.Truncate(time.Microsecond), n3.Truncate(time.Microsecond)}}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("GoogleCard() = %+v, %v, want %+v (diff %s)", got, err, want, cmp.Diff(want, got))
		}

		// Saving again replaces the notifications and clears the message.
		c = store.GoogleCard{MemberID: m.ID, Inserted: true, TierEventSeq: 8, Notified: []time.Time{n3}}
		if err := s.SaveGoogleCard(ctx, c); err != nil {
			t.Fatalf("SaveGoogleCard(again) = %v", err)
		}
		got, err = s.GoogleCard(ctx, m.ID, time.Time{})
		want = store.GoogleCard{MemberID: m.ID, Inserted: true, TierEventSeq: 8, Notified: []time.Time{n3.Truncate(time.Microsecond)}}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("GoogleCard() after resave = %+v, %v, want %+v", got, err, want)
		}
	})

	t.Run("UnknownMember", func(t *testing.T) {
		err := s.SaveGoogleCard(ctx, store.GoogleCard{MemberID: "no-such-member"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SaveGoogleCard(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("EventsAfter", func(t *testing.T) {
		earn := func(key string, points int64) {
			t.Helper()
			if _, err := s.Post(ctx, m.ID, key, key, balances.Request{Type: balances.Earn, Points: points}, storetest.Rules); err != nil {
				t.Fatalf("Post(%s) = %v", key, err)
			}
		}
		earn("k1", 150)  // Bronze -> Silver
		earn("k2", 1000) // Silver -> Gold
		all, err := s.EventsAfter(ctx, m.ID, "tier_changed", 0)
		if err != nil || len(all) != 2 {
			t.Fatalf("EventsAfter(0) = %+v, %v, want two tier_changed events", all, err)
		}
		if all[0].Data != `{"from":"Bronze","to":"Silver"}` || all[1].Data != `{"from":"Silver","to":"Gold"}` || all[0].Seq >= all[1].Seq {
			t.Errorf("EventsAfter(0) = %+v, want Bronze->Silver then Silver->Gold", all)
		}
		later, err := s.EventsAfter(ctx, m.ID, "tier_changed", all[0].Seq)
		if err != nil || len(later) != 1 || later[0].Seq != all[1].Seq {
			t.Errorf("EventsAfter(first) = %+v, %v, want the second event only", later, err)
		}
		none, err := s.EventsAfter(ctx, m.ID, "erased", 0)
		if err != nil || len(none) != 0 {
			t.Errorf("EventsAfter(erased) = %+v, %v, want none", none, err)
		}
	})
}

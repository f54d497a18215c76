package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// pause holds a write transaction open just before its commit: a write
// whose context carries one signals reached, then waits for release.
type pause struct{ reached, release chan struct{} }

type pauseKey struct{}

func pauseBeforeCommit(ctx context.Context) {
	if p, ok := ctx.Value(pauseKey{}).(*pause); ok {
		close(p.reached)
		<-p.release
	}
}

// TestPostgresUpdatedSerialsCommitOrder: transaction A changes member 1's
// card and is held open before its commit; transaction B changes member 2's
// and commits; the device asks and gets member 2 with a tag; A commits; the
// device asks with that tag and must get member 1. With tags taken from
// update_seq (drawn by A before B's) member 1 was skipped.
//
// A is each of passd's writes that mark a card changed, and an UPDATE of
// update_seq alone as an earlier passd version writes it.
func TestPostgresUpdatedSerialsCommitOrder(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	s := openPostgresAt(t, dsn, store.Options{})
	s.SetBeforeCommit(pauseBeforeCommit)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	writers := []struct {
		name  string
		write func(ctx context.Context, m loyalty.Member) error
	}{
		{"Post", func(ctx context.Context, m loyalty.Member) error {
			_, err := s.Post(ctx, m.ID, uuid.NewString(), "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules)
			return err
		}},
		{"TouchMember", func(ctx context.Context, m loyalty.Member) error {
			_, err := s.TouchMember(ctx, m.ID)
			return err
		}},
		{"TouchProgram", func(ctx context.Context, m loyalty.Member) error {
			_, err := s.TouchProgram(ctx, m.Program)
			return err
		}},
		{"EraseMember", func(ctx context.Context, m loyalty.Member) error {
			return s.EraseMember(ctx, m.ID)
		}},
		{"EarlierVersion", func(ctx context.Context, m loyalty.Member) error {
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // committed below
			if _, err := tx.ExecContext(ctx, `
				UPDATE accounts SET pass_version = pass_version + 1, update_seq = nextval('update_seq')
				WHERE member_id = $1`, m.ID); err != nil {
				return err
			}
			pauseBeforeCommit(ctx)
			return tx.Commit()
		}},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			ctx := context.Background()
			// Two programs, so that touching member 1's does not touch
			// member 2.
			m1 := storetest.NewMember(t, s, "a-"+uuid.NewString())
			m2 := storetest.NewMember(t, s, "b-"+uuid.NewString())
			device := "phone-" + w.name
			for _, m := range []loyalty.Member{m1, m2} {
				if _, err := s.Register(ctx, store.Registration{DeviceID: device, PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t"}); err != nil {
					t.Fatal(err)
				}
			}
			tag := storetest.SettledTag(t, s, device, "pass.x", "")

			p := &pause{reached: make(chan struct{}), release: make(chan struct{})}
			release := sync.OnceFunc(func() { close(p.release) })
			defer release()
			done := make(chan error, 1)
			go func() { done <- w.write(context.WithValue(ctx, pauseKey{}, p), m1) }()
			select {
			case <-p.reached:
			case err := <-done:
				t.Fatalf("A returned %v without reaching its commit", err)
			case <-time.After(10 * time.Second):
				t.Fatal("A did not reach its commit within 10s")
			}

			if _, err := s.Post(ctx, m2.ID, "b", "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil {
				t.Fatalf("B: %v", err)
			}
			got, tag, err := s.UpdatedSerials(ctx, device, "pass.x", tag)
			if err != nil || !slices.Contains(got, m2.ID) {
				t.Fatalf("UpdatedSerials after B = %v, %v; want member 2 (%s)", got, err, m2.ID)
			}

			release()
			if err := <-done; err != nil {
				t.Fatalf("A: %v", err)
			}
			got, _, err = s.UpdatedSerials(ctx, device, "pass.x", tag)
			if err != nil || !slices.Contains(got, m1.ID) {
				t.Errorf("UpdatedSerials(%q) after A's commit = %v, %v; want member 1 (%s), changed by A", tag, got, err, m1.ID)
			}
		})
	}
}

// TestPostgresUpdatedSerialsForeignTags: a tag from before the upgrade (a
// bare update sequence) and a tag above every transaction id of the database
// (as after a restore into a new cluster) answer every pass.
func TestPostgresUpdatedSerialsForeignTags(t *testing.T) {
	t.Parallel()
	checkTagsListAll(t, openPostgres(t, store.Options{}), false,
		"0", "1", "999999", fmt.Sprint(uint64(1)<<63), "x18446744073709551615")
}

// TestSQLiteUpdatedSerialsFutureTag: a tag above the update counter (a
// phone that asked before the database was restored from an older copy)
// answers every serial rather than nothing until the counter catches up.
func TestSQLiteUpdatedSerialsFutureTag(t *testing.T) {
	t.Parallel()
	checkTagsListAll(t, testkit.OpenSQLite(t, store.Options{}), true, "999999", fmt.Sprint(int64(1)<<62))
}

// checkTagsListAll registers two passes on a device and checks that each of
// the tags answers both, with a next tag (the settled one when sameTag),
// while the settled tag still answers nothing.
func checkTagsListAll(t *testing.T, s *store.Store, sameTag bool, tags ...string) {
	t.Helper()
	ctx := context.Background()
	var want []string
	for range 2 {
		m := storetest.NewMember(t, s, "demo")
		if _, err := s.Register(ctx, store.Registration{DeviceID: "phone", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t"}); err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	sort.Strings(want)
	_, first, err := s.UpdatedSerials(ctx, "phone", "pass.x", "")
	if err != nil {
		t.Fatal(err)
	}
	tag := storetest.SettledTag(t, s, "phone", "pass.x", first)
	for _, since := range tags {
		got, next, err := s.UpdatedSerials(ctx, "phone", "pass.x", since)
		sort.Strings(got)
		if err != nil || !slices.Equal(got, want) || next == "" || (sameTag && next != tag) {
			t.Errorf("UpdatedSerials(%q) = %v, %q, %v; want %v and a tag (%q on this store)", since, got, next, err, want, tag)
		}
	}
	storetest.SettledTag(t, s, "phone", "pass.x", tag)
}

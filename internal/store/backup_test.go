package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

// TestSQLiteRestoreEpochTags: a database copied with BackupSQLite and
// marked restored answers every card to a tag the original made after the
// copy, even once its own update counter has passed that tag; each
// MarkRestored starts a new epoch, so a tag of the first restored life
// answers every card after a second restore of the same copy.
func TestSQLiteRestoreEpochTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	orig, err := store.OpenSQLite(ctx, filepath.Join(dir, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	a, b := storetest.NewMember(t, orig, "demo"), storetest.NewMember(t, orig, "demo")
	for _, id := range []string{a.ID, b.ID} {
		if _, err := orig.Register(ctx, store.Registration{DeviceID: "phone", PassTypeID: "pass.x", MemberID: id, PushToken: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	earn := func(s *store.Store, id, key string) {
		t.Helper()
		if _, err := s.Post(ctx, id, key, "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := filepath.Join(t.TempDir(), "copy.db")
	if err := store.BackupSQLite(ctx, filepath.Join(dir, "passd.db"), copyFile); err != nil {
		t.Fatal(err)
	}
	if err := store.BackupSQLite(ctx, filepath.Join(dir, "passd.db"), copyFile); err == nil {
		t.Error("BackupSQLite onto an existing file succeeded")
	}
	earn(orig, b.ID, "b-after-copy")
	_, first, err := orig.UpdatedSerials(ctx, "phone", "pass.x", "")
	if err != nil {
		t.Fatal(err)
	}
	tag := storetest.SettledTag(t, orig, "phone", "pass.x", first)

	var ownTag string
	for life := range 2 {
		path := filepath.Join(t.TempDir(), "passd.db")
		if err := store.BackupSQLite(ctx, copyFile, path); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkRestored(ctx, path, store.Options{}); err != nil {
			t.Fatal(err)
		}
		rs, err := store.OpenSQLite(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Only a changes, many times: the counter passes every tag so far.
		for i := range 20 {
			earn(rs, a.ID, fmt.Sprintf("a-%d-%d", life, i))
		}
		for _, since := range []string{tag, ownTag} {
			if since == "" {
				continue
			}
			got, _, err := rs.UpdatedSerials(ctx, "phone", "pass.x", since)
			if err != nil || !slices.Contains(got, b.ID) {
				t.Errorf("restore %d: UpdatedSerials(%q) = %v, %v; want %s, whose card is older than the tag's", life+1, since, got, err, b.ID)
			}
		}
		_, first, err := rs.UpdatedSerials(ctx, "phone", "pass.x", "")
		if err != nil {
			t.Fatal(err)
		}
		ownTag = storetest.SettledTag(t, rs, "phone", "pass.x", first)
		rs.Close()
	}
}

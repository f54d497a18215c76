package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/datalock"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

// Phases of the load test, as a writer sees them when it starts an earn
// and when the store acknowledges it.
const (
	beforeBackup int32 = iota
	duringBackup
	afterBackup
)

// earn is one acknowledged earn of the load test.
type earn struct {
	member, key string
	entry       balances.Entry
	// started and acked are the phases at the call and at its answer.
	started, acked int32
}

// TestBackupUnderLoadRestores: passctl backup runs while writers post earns
// through the store, then passctl restore puts the copy into a fresh data
// folder. The restored database is the original at one instant: every
// member's ledger is a prefix of the original's, with points equal to the
// sum of its entries; every earn acknowledged before the backup began is
// in it, none started after it ended is; every idempotency key of an entry
// in it replays that entry; every card is bumped and due for a push; and a
// phone whose tag the original gave after the backup is answered every card
// that changed since the copy, even once the restored database has written
// past that tag.
func TestBackupUnderLoadRestores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const (
		members   = 12
		writers   = 4
		perWriter = 3000 // bound on each writer's earns
		settle    = 25   // earns each writer acknowledges before and after the backup
	)
	var ids []string
	for range members {
		m := storetest.NewMember(t, st, "demo")
		if _, err := st.Register(ctx, store.Registration{DeviceID: "phone", PassTypeID: "pass.x", MemberID: m.ID, PushToken: "t"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}

	var phase atomic.Int32
	loadCtx, stopLoad := context.WithTimeout(ctx, 30*time.Second)
	defer stopLoad()
	done := make([]chan []earn, writers)
	// ready[w] is closed once writer w acknowledged settle earns in the
	// current phase; the test waits for them before moving on.
	readyBefore := make([]chan struct{}, writers)
	readyAfter := make([]chan struct{}, writers)
	for w := range writers {
		done[w] = make(chan []earn, 1)
		readyBefore[w] = make(chan struct{})
		readyAfter[w] = make(chan struct{})
		go func() {
			var out []earn
			var nBefore, nAfter int
			defer func() { done[w] <- out }()
			for i := range perWriter {
				if loadCtx.Err() != nil {
					return
				}
				member := ids[(w*7+i)%members]
				key := fmt.Sprintf("w%d-%d-%s", w, i, uuid.NewString())
				started := phase.Load()
				res, err := st.Post(loadCtx, member, key, "h", balances.Request{Type: balances.Earn, Points: int64(1 + i%5)}, storetest.Rules)
				acked := phase.Load()
				if err != nil {
					if loadCtx.Err() == nil {
						t.Errorf("writer %d: Post: %v", w, err)
					}
					return
				}
				out = append(out, earn{member: member, key: key, entry: res.Entry, started: started, acked: acked})
				switch {
				case acked == beforeBackup:
					if nBefore++; nBefore == settle {
						close(readyBefore[w])
					}
				case started == afterBackup:
					if nAfter++; nAfter == settle {
						close(readyAfter[w])
					}
				}
			}
		}()
	}
	wait := func(what string, chans []chan struct{}) {
		t.Helper()
		for _, c := range chans {
			select {
			case <-c:
			case <-loadCtx.Done():
				t.Fatalf("writers did not acknowledge %d earns %s in time", settle, what)
			}
		}
	}

	wait("before the backup", readyBefore)
	file := filepath.Join(t.TempDir(), "copy.db")
	env := map[string]string{"PASSD_DATA_DIR": dir}
	phase.Store(duringBackup)
	code, _, err := runCtl(t, env, "backup", file)
	phase.Store(afterBackup)
	if err != nil || code != 0 {
		t.Fatalf("passctl backup = %d, %v", code, err)
	}
	wait("after the backup", readyAfter)
	stopLoad()
	var all []earn
	for w := range writers {
		all = append(all, <-done[w]...)
	}
	// The phone asks the original after the backup and the writes after
	// it: its tag is from after the copy, and it has every card.
	_, first, err := st.UpdatedSerials(ctx, "phone", "pass.x", "")
	if err != nil {
		t.Fatal(err)
	}
	tag := storetest.SettledTag(t, st, "phone", "pass.x", first)
	if t.Failed() {
		return
	}

	restored := t.TempDir()
	restoreAt := time.Now().Truncate(time.Second)
	if code, _, err := runCtl(t, map[string]string{"PASSD_DATA_DIR": restored}, "restore", file); err != nil || code != 0 {
		t.Fatalf("passctl restore = %d, %v", code, err)
	}
	rs, err := store.OpenSQLite(ctx, filepath.Join(restored, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()

	// Every card is bumped from the backup's and due for a push: a phone
	// whose card is from after the backup must not get 304 for the
	// restored one. (Opening the backup file as a store is for the test
	// only: the file is not used again.)
	bs, err := store.OpenSQLite(ctx, file, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	for _, id := range ids {
		m, err := rs.Member(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bs.Member(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Account.PassVersion != b.Account.PassVersion+1 || m.PassModified.Before(restoreAt) || m.PassModified.Before(b.PassModified.Add(time.Second)) {
			t.Errorf("member %s: restored card version %d, last modified %v; backup's %d, %v; want it bumped, modified at the restore (%v) or later",
				id, m.Account.PassVersion, m.PassModified, b.Account.PassVersion, b.PassModified, restoreAt)
		}
		syncs, err := rs.SyncStates(ctx, id)
		if err != nil || len(syncs) == 0 {
			t.Fatalf("SyncStates(%s) = %v, %v", id, syncs, err)
		}
		for _, c := range syncs {
			if c.WantedVersion != m.Account.PassVersion || c.SyncedVersion >= c.WantedVersion || c.State != "pending" {
				t.Errorf("member %s: restored %s card sync = %+v, want version %d pending", id, c.Channel, c, m.Account.PassVersion)
			}
		}
	}

	inBackup := map[string]bool{} // entry IDs
	var changed []string          // members whose card changed after the copy
	for _, id := range ids {
		orig, err := st.Export(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Export(ctx, id)
		if err != nil {
			t.Fatalf("restored Export(%s): %v", id, err)
		}
		n := len(got.Entries)
		if n > len(orig.Entries) {
			t.Fatalf("member %s: %d entries restored, the original has %d", id, n, len(orig.Entries))
		}
		if diff := cmp.Diff(orig.Entries[:n], got.Entries); diff != "" {
			t.Errorf("member %s: restored ledger is not a prefix of the original's (-original +restored):\n%s", id, diff)
		}
		var sum int64
		for _, e := range got.Entries {
			sum += e.Points
			inBackup[e.ID] = true
		}
		if p := got.Member.Account.Points; p != sum || (n > 0 && p != got.Entries[n-1].BalanceAfter) {
			t.Errorf("member %s: restored points %d, entries sum to %d", id, p, sum)
		}
		if n < len(orig.Entries) {
			changed = append(changed, id)
		}
	}
	var counts [3][3]int
	for _, e := range all {
		counts[e.started][e.acked]++
		in := inBackup[e.entry.ID]
		switch {
		case e.acked == beforeBackup && !in:
			t.Errorf("earn %s (%s), acknowledged before the backup began, is not in the backup", e.key, e.entry.ID)
		case e.started == afterBackup && in:
			t.Errorf("earn %s (%s), started after the backup ended, is in the backup", e.key, e.entry.ID)
		}
	}
	t.Logf("earns by phase (started, acknowledged): %v; %d in the backup, %d members changed after it", counts, len(inBackup), len(changed))

	// Every key whose entry is in the backup replays it on the restored
	// database, adding nothing.
	for _, e := range all {
		if !inBackup[e.entry.ID] {
			continue
		}
		res, err := rs.Post(ctx, e.member, e.key, "h", balances.Request{Type: balances.Earn, Points: e.entry.Points}, storetest.Rules)
		if err != nil || !res.Replayed || res.Entry.ID != e.entry.ID {
			t.Fatalf("replay of %s on the restored database = %+v, %v; want entry %s replayed", e.key, res, err, e.entry.ID)
		}
	}
	entries := 0
	for _, id := range ids {
		ex, err := rs.Export(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		entries += len(ex.Entries)
	}
	if entries != len(inBackup) {
		t.Errorf("after the replays the restored database has %d entries, want %d", entries, len(inBackup))
	}

	if len(changed) == 0 {
		t.Fatal("no card changed after the backup: the test proves nothing")
	}
	checkChanged := func(when string) {
		t.Helper()
		got, _, err := rs.UpdatedSerials(ctx, "phone", "pass.x", tag)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range changed {
			if !slices.Contains(got, id) {
				t.Errorf("UpdatedSerials(%q) on the restored database %s = %v; misses %s, changed after the backup", tag, when, got, id)
			}
		}
	}
	checkChanged("at once")
	// The restored passd writes again, to one member only, until its
	// update counter passes the phone's tag: the tag must still answer
	// every card that changed after the backup, not only that member's.
	// seq answers the greatest update sequence of the members' cards.
	seq := func(s *store.Store) int64 {
		t.Helper()
		var top int64
		for _, id := range ids {
			m, err := s.Member(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			top = max(top, m.UpdateSeq)
		}
		return top
	}
	target := seq(st)
	for i := 0; seq(rs) <= target; i++ {
		if i > 2*len(all)+members {
			t.Fatalf("the restored database's update counter did not pass %d", target)
		}
		if _, err := rs.Post(ctx, ids[0], fmt.Sprintf("after-restore-%d", i), "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil {
			t.Fatal(err)
		}
	}
	checkChanged("once its update counter passed the tag")

	// The restored database's own tags work as ever: settled, they answer
	// nothing, then only the card that changed.
	_, first, err = rs.UpdatedSerials(ctx, "phone", "pass.x", "")
	if err != nil {
		t.Fatal(err)
	}
	own := storetest.SettledTag(t, rs, "phone", "pass.x", first)
	if _, err := rs.Post(ctx, ids[1], "after-restore-one", "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil {
		t.Fatal(err)
	}
	if got, _, err := rs.UpdatedSerials(ctx, "phone", "pass.x", own); err != nil || !slices.Equal(got, ids[1:2]) {
		t.Errorf("UpdatedSerials(%q) after one earn on the restored database = %v, %v; want %v", own, got, err, ids[1:2])
	}
}

// TestRestoreRefuses: restore refuses while a passd holds the data folder,
// and files that are not a sound passd database this passctl can run;
// backup never overwrites a file; both refuse on PostgreSQL. A restore over
// a database keeps it, and leaves no log or shared-memory file beside the
// restored one.
func TestRestoreRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"PASSD_DATA_DIR": dir}
	if code, _, err := runCtl(t, env, "migrate"); err != nil || code != 0 {
		t.Fatalf("migrate = %d, %v", code, err)
	}
	good := filepath.Join(t.TempDir(), "good.db")
	if code, _, err := runCtl(t, env, "backup", good); err != nil || code != 0 {
		t.Fatalf("backup = %d, %v", code, err)
	}
	if code, _, err := runCtl(t, env, "backup", good); code == 0 || err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup onto an existing file = %d, %v; want a refusal", code, err)
	}

	// A passd on the folder (which holds the lock shared) keeps restore out.
	target := t.TempDir()
	tenv := map[string]string{"PASSD_DATA_DIR": target}
	running, err := datalock.Shared(target)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := runCtl(t, tenv, "restore", good); code == 0 || err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("restore while passd runs = %d, %v; want a refusal", code, err)
	}
	running.Close()

	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	newer := filepath.Join(t.TempDir(), "newer.db")
	if err := copyFile(good, newer); err != nil {
		t.Fatal(err)
	}
	for _, setup := range []struct {
		path, sql string
	}{
		{other, `CREATE TABLE t (x INTEGER)`},
		{newer, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99999, '99999_future', 'x')`},
	} {
		if err := execSQLite(ctx, setup.path, setup.sql); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, file, want string }{
		{"missing file", filepath.Join(t.TempDir(), "none.db"), "no such file"},
		{"not SQLite", garbage, "not a readable SQLite database"},
		{"not passd's", other, "schema_migrations"},
		{"newer schema", newer, "newer than this passctl"},
	} {
		code, _, err := runCtl(t, tenv, "restore", tc.file)
		if code == 0 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("restore %s = %d, %v; want an error saying %q", tc.name, code, err, tc.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(target, "passd.db*")); len(left) != 0 {
		t.Errorf("refused restores left %v in the data folder", left)
	}

	// Restore over a database that has a write-ahead log: the old one is
	// kept with every write, and nothing stale stays beside the new one.
	old, err := store.OpenSQLite(ctx, filepath.Join(target, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.NewMember(t, old, "demo")
	old.Close()
	for _, f := range []string{"passd.db-wal", "passd.db-shm"} {
		if err := os.WriteFile(filepath.Join(target, f), nil, 0o600); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	code, _, err := runCtl(t, tenv, "restore", good)
	if err != nil || code != 0 {
		t.Fatalf("restore over a database = %d, %v", code, err)
	}
	for _, f := range []string{"passd.db-wal", "passd.db-shm"} {
		if _, err := os.Stat(filepath.Join(target, f)); !os.IsNotExist(err) {
			t.Errorf("%s after restore: %v; want it gone", f, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(target, "passd.db.restoring-*")); len(left) != 0 {
		t.Errorf("restore left %v in the data folder", left)
	}
	kept, _ := filepath.Glob(filepath.Join(target, "passd.db.before-restore-*"))
	kept = slices.DeleteFunc(kept, func(p string) bool { return strings.HasSuffix(p, "-wal") })
	if len(kept) != 1 {
		t.Fatalf("kept databases = %v, want one", kept)
	}
	ks, err := store.OpenSQLite(ctx, kept[0], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if _, err := ks.Member(ctx, m.ID); err != nil {
		t.Errorf("the kept database lost member %s: %v", m.ID, err)
	}
	rs, err := store.OpenSQLite(ctx, filepath.Join(target, "passd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if _, err := rs.Member(ctx, m.ID); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("restored database has member %s, made after the backup: %v", m.ID, err)
	}

	pg := map[string]string{"PASSD_DATA_DIR": t.TempDir(), "PASSD_DATABASE_URL": "postgres://passd@127.0.0.1:1/none"}
	for _, cmd := range []string{"backup", "restore"} {
		code, _, err := runCtl(t, pg, cmd, filepath.Join(t.TempDir(), "x.db"))
		if code == 0 || err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("%s on PostgreSQL = %d, %v; want a refusal naming pg_dump", cmd, code, err)
		}
	}
}

// execSQLite runs one statement on the SQLite database at path.
func execSQLite(ctx context.Context, path, query string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}

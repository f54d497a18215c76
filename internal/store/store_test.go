package store_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, o store.Options) *store.Store { return testkit.OpenSQLite(t, o) })
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, o store.Options) *store.Store { return openPostgres(t, o) })
}

// quiet keeps the tests' output free of the store's info lines.
func quiet(opts store.Options) store.Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

func openSQLiteAt(t testing.TB, path string, opts store.Options) *store.Store {
	t.Helper()
	opts = quiet(opts)
	s, err := store.OpenSQLite(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenSQLite(%s) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	return openPostgresAt(t, testpg.FreshSchema(t), opts)
}

func openPostgresAt(t testing.TB, dsn string, opts store.Options) *store.Store {
	t.Helper()
	opts = quiet(opts)
	if opts.MaxConns == 0 {
		opts.MaxConns = 8
	}
	s, err := store.OpenPostgres(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("OpenPostgres = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteOpenTwice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passd.db")
	a := openSQLiteAt(t, path, store.Options{})
	b := openSQLiteAt(t, path, store.Options{})
	checkMigrations(t, a, b)
}

func TestSQLiteRejectsMemory(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "x.db?mode=memory"} {
		if s, err := store.OpenSQLite(context.Background(), p, store.Options{}); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) = nil error, want an error", p)
		}
	}
}

func TestPostgresMigrateConcurrently(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	const n = 4
	stores := make([]*store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = store.OpenPostgres(context.Background(), dsn, quiet(store.Options{MaxConns: 2}))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("OpenPostgres #%d = %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	checkMigrations(t, stores...)
	// And once more, later.
	checkMigrations(t, openPostgresAt(t, dsn, store.Options{}))
}

// checkMigrations checks that the stores share one database, usable, with
// each migration recorded once.
func checkMigrations(t *testing.T, stores ...*store.Store) {
	t.Helper()
	ctx := context.Background()
	m := storetest.NewMember(t, stores[0], "demo")
	for i, s := range stores {
		if err := s.Migrate(ctx); err != nil {
			t.Errorf("store %d: Migrate = %v", i, err)
		}
		if _, err := s.Member(ctx, m.ID); err != nil {
			t.Errorf("store %d: Member = %v; the stores do not share the database", i, err)
		}
	}
	versions, err := stores[0].MigrationVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, v := range versions {
		if seen[v] {
			t.Errorf("migration %d recorded twice", v)
		}
		seen[v] = true
	}
	if len(versions) == 0 {
		t.Error("no migration recorded")
	}
}

// TestSQLiteBusy holds the database write lock from another connection: Post
// gives up after the lock timeout with ErrRequestInProgress.
func TestSQLiteBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passd.db")
	s := openSQLiteAt(t, path, store.Options{LockTimeout: 200 * time.Millisecond})
	m := storetest.NewMember(t, s, "demo")
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
	checkBusy(t, s, m.ID)
}

// TestPostgresLockTimeout holds a member's account row lock from another
// connection: Post gives up after the lock timeout with
// ErrRequestInProgress, and other members are not held up.
func TestPostgresLockTimeout(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	s := openPostgresAt(t, dsn, store.Options{LockTimeout: 200 * time.Millisecond})
	m := storetest.NewMember(t, s, "demo")
	free := storetest.NewMember(t, s, "demo")
	defer lockAccount(t, dsn, m.ID)()
	checkBusy(t, s, m.ID)
	if _, err := s.Post(context.Background(), free.ID, "k", "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules); err != nil {
		t.Errorf("Post(another member) = %v, want nil", err)
	}
}

// lockAccount locks a member's account row from another session, as a
// concurrent Post would, until release is called.
func lockAccount(t *testing.T, dsn, memberID string) (release func()) {
	t.Helper()
	other, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT 1 FROM accounts WHERE member_id = $1 FOR UPDATE`, memberID); err != nil {
		t.Fatal(err)
	}
	return func() {
		tx.Rollback() //nolint:errcheck
		other.Close()
	}
}

func checkBusy(t *testing.T, s *store.Store, memberID string) {
	t.Helper()
	start := time.Now()
	_, err := s.Post(context.Background(), memberID, "k", "h", balances.Request{Type: balances.Earn, Points: 1}, storetest.Rules)
	if !errors.Is(err, balances.ErrRequestInProgress) || !errors.Is(err, store.ErrBusy) {
		t.Errorf("Post(locked) = %v, want ErrRequestInProgress and ErrBusy", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("Post(locked) gave up after %v, want about the 200ms lock timeout", d)
	}
}

// TestPostgresPostCancelledLeavesPoolClean: a Post whose caller gives up
// while it waits for the member's lock ends its transaction, so that the
// one pooled connection serves the next Posts; and nothing of the
// abandoned Post was written.
func TestPostgresPostCancelledLeavesPoolClean(t *testing.T) {
	dsn := testpg.FreshSchema(t)
	s := openPostgresAt(t, dsn, store.Options{MaxConns: 1})
	m := storetest.NewMember(t, s, "demo")
	release := lockAccount(t, dsn, m.ID)
	earn := balances.Request{Type: balances.Earn, Points: 7}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Post(ctx, m.ID, "abandoned", "h1", earn, storetest.Rules); err == nil {
		t.Fatal("Post(locked, context ends) = nil, want an error")
	}
	release()
	for i, key := range []string{"next-1", "next-2"} {
		res, err := s.Post(context.Background(), m.ID, key, key, earn, storetest.Rules)
		if err != nil {
			t.Fatalf("Post #%d after the abandoned one = %v", i+1, err)
		}
		if want := int64(7 * (i + 1)); res.Account.Points != want {
			t.Errorf("balance after Post #%d = %d, want %d (the abandoned earn must not count)", i+1, res.Account.Points, want)
		}
	}
	entries, _, err := s.Entries(context.Background(), m.ID, "", 10)
	if err != nil || len(entries) != 2 {
		t.Errorf("entries = %d, %v; want the two posted", len(entries), err)
	}
}

// TestPostgresPostEndsItsTransaction: a Post that writes nothing (an
// overdraft, an unknown member, an idempotency conflict, a replay) ends its
// transaction before its connection goes back to the pool, so no session
// sits idle in a transaction holding the member's lock.
func TestPostgresPostEndsItsTransaction(t *testing.T) {
	// The store's connections carry a name of this test's own, so that the
	// count below sees them alone, not other packages' tests on the server.
	app := "passd-post-ends-" + uuid.NewString()[:8]
	dsn := testpg.FreshSchema(t) + "&application_name=" + app
	s := openPostgresAt(t, dsn, store.Options{MaxConns: 2})
	m := storetest.NewMember(t, s, "demo")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	earn := balances.Request{Type: balances.Earn, Points: 5}
	if _, err := s.Post(ctx, m.ID, "first", "h", earn, storetest.Rules); err != nil {
		t.Fatal(err)
	}
	posts := []struct {
		name      string
		memberID  string
		key, hash string
		req       balances.Request
		wantErr   error
	}{
		{"overdraft", m.ID, "k1", "k1", balances.Request{Type: balances.Redeem, Points: 50}, balances.ErrInsufficientPoints},
		{"unknown member", "nobody", "k2", "k2", earn, loyalty.ErrMemberNotFound},
		{"conflict", m.ID, "first", "other", earn, balances.ErrIdempotencyConflict},
		{"replay", m.ID, "first", "h", earn, nil},
	}
	for _, p := range posts {
		_, err := s.Post(ctx, p.memberID, p.key, p.hash, p.req, storetest.Rules)
		if !errors.Is(err, p.wantErr) {
			t.Errorf("Post(%s) = %v, want %v", p.name, err, p.wantErr)
		}
		var open int
		if err := admin.QueryRow(`
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'
			  AND application_name = $1`, app).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open != 0 {
			t.Errorf("after Post(%s): %d sessions idle in a transaction, want 0", p.name, open)
		}
		tx, err := admin.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`SELECT 1 FROM accounts WHERE member_id = $1 FOR UPDATE NOWAIT`, m.ID); err != nil {
			t.Errorf("after Post(%s): the member's row is still locked: %v", p.name, err)
		}
		tx.Rollback() //nolint:errcheck
	}
}

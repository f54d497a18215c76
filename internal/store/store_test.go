package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, o store.Options) *store.Store { return openSQLite(t, o) })
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, o store.Options) *store.Store { return openPostgres(t, o) })
}

func openSQLite(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "passd.db"), opts)
}

func openSQLiteAt(t testing.TB, path string, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenSQLite(%s) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresURL answers PASSD_TEST_DATABASE_URL; without it the test is
// skipped, or fails when CI is set so CI can never skip PostgreSQL silently.
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PASSD_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PASSD_TEST_DATABASE_URL is not set; CI must run the PostgreSQL store tests (scripts/with-postgres.sh)")
		}
		t.Skip("PASSD_TEST_DATABASE_URL is not set; run under scripts/with-postgres.sh")
	}
	return u
}

// freshSchema creates an empty schema for one test, dropped when it ends,
// and answers the database URL that selects it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := postgresURL(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse PASSD_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	return openPostgresAt(t, freshSchema(t), opts)
}

func openPostgresAt(t testing.TB, dsn string, opts store.Options) *store.Store {
	t.Helper()
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
	dsn := freshSchema(t)
	const n = 4
	stores := make([]*store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = store.OpenPostgres(context.Background(), dsn, store.Options{MaxConns: 2})
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

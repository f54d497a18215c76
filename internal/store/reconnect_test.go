package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// TestPostgresReadsAfterRestart restarts PostgreSQL (a private cluster)
// under a store whose pool holds idle connections. The first reads after
// the restart (a member, the API-key lookup, a transaction's) succeed on
// fresh connections; while the server is stopped, reads fail with
// loyalty.ErrUnavailable, and they succeed again once it is back.
func TestPostgresReadsAfterRestart(t *testing.T) {
	t.Parallel()
	cluster := testpg.NewCluster(t)
	s := openPostgresAt(t, cluster.URL(), store.Options{MaxConns: 6})
	ctx := context.Background()
	m := storetest.NewMember(t, s, "demo")
	reads := func() error {
		if _, err := s.Member(ctx, m.ID); err != nil {
			return err
		}
		if _, err := s.APIKeyByHash(ctx, "no such key"); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := s.SyncStates(ctx, m.ID)
		return err
	}
	// Fill the pool with idle connections.
	errs := make(chan error, 6)
	for range 6 {
		go func() { errs <- reads() }()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := cluster.Restart("fast"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := reads(); err != nil {
			t.Fatalf("read %d after the restart = %v, want success on a fresh connection", i, err)
		}
	}
	if err := cluster.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Member(rctx, m.ID); !errors.Is(err, loyalty.ErrUnavailable) {
		t.Errorf("Member with the server stopped = %v, want ErrUnavailable", err)
	}
	if _, err := s.APIKeyByHash(rctx, "no such key"); !errors.Is(err, loyalty.ErrUnavailable) {
		t.Errorf("APIKeyByHash with the server stopped = %v, want ErrUnavailable", err)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	if err := reads(); err != nil {
		t.Errorf("reads once the server is back = %v", err)
	}
}

// TestPostgresReadRetry ends the store's pooled connections on the server
// (as a restart does) right after they were used, too soon for the driver
// to check them before reuse: the next reads (the API-key lookup, a plain
// read, a read transaction) fail on a dead connection and succeed on
// their one retry on a fresh connection.
func TestPostgresReadRetry(t *testing.T) {
	t.Parallel()
	cluster := testpg.NewCluster(t)
	s := openPostgresAt(t, cluster.URL(), store.Options{MaxConns: 4})
	ctx := context.Background()
	m := storetest.NewMember(t, s, "demo")
	admin, err := sql.Open("pgx", cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		t.Helper()
		if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`); err != nil {
			t.Fatal(err)
		}
		gone := func() bool {
			var n int
			err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n)
			return err == nil && n == 0
		}
		if !testkit.Poll(5*time.Second, gone) {
			t.Fatal("the store's sessions did not end")
		}
	}
	for _, read := range []struct {
		name string
		fn   func() error
	}{
		{"APIKeyByHash", func() error {
			if _, err := s.APIKeyByHash(ctx, "no such key"); !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}},
		{"SyncStates", func() error { _, err := s.SyncStates(ctx, m.ID); return err }},
		{"SyncStats", func() error { _, _, _, err := s.SyncStats(ctx, loyalty.ChannelApple); return err }},
	} {
		if err := read.fn(); err != nil {
			t.Fatalf("%s = %v", read.name, err)
		}
		kill()
		if err := read.fn(); err != nil {
			t.Errorf("%s on a connection the server ended = %v, want success on a fresh one", read.name, err)
		}
	}
}

package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/passd/passd/internal/lease"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// TestPostgresHeartbeatSession: on PostgreSQL an instance's heartbeat
// records its database session; when that session ends (its process died,
// here: the server ended it), Instances reports it gone at once, and the
// next heartbeat moves to a fresh session that counts as alive again.
func TestPostgresHeartbeatSession(t *testing.T) {
	dsn := testpg.FreshSchema(t)
	s := openPostgresAt(t, dsn, store.Options{})
	ctx := context.Background()
	beat := func() {
		t.Helper()
		now := time.Now()
		if err := s.Heartbeat(ctx, lease.Instance{ID: "pg-one", Host: "h", PID: 1, StartedAt: now, HeartbeatAt: now}); err != nil {
			t.Fatalf("Heartbeat = %v", err)
		}
	}
	gone := func() bool {
		t.Helper()
		list, err := s.Instances(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("Instances = %+v, %v", list, err)
		}
		return list[0].SessionGone
	}
	beat()
	if gone() {
		t.Fatal("a live heartbeat session reported gone")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var ended bool
	if err := admin.QueryRow(`SELECT pg_terminate_backend(pg_pid) FROM instances WHERE id = 'pg-one'`).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminate the heartbeat session = %v, %v", ended, err)
	}
	if !testkit.Poll(5*time.Second, gone) {
		t.Fatal("an ended heartbeat session is not reported gone")
	}
	beat()
	if gone() {
		t.Error("the heartbeat did not move to a fresh session")
	}
}

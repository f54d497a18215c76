package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

func TestPostgresExpiryTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	storetest.ExpireTwoInstances(t, openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{}))
}

func TestSQLiteExpiryTwoInstances(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passd.db")
	storetest.ExpireTwoInstances(t, openSQLiteAt(t, path, store.Options{}), openSQLiteAt(t, path, store.Options{}))
}

// TestExpireUniquePerLot: were a lot's points put back by some fault after
// its expiry, the unique index on expire entries refuses a second expiry
// of it (the whole batch rolls back) on both databases.
func TestExpireUniquePerLot(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) *store.Store{
		"sqlite":   func(t *testing.T) *store.Store { return testkit.OpenSQLite(t, store.Options{}) },
		"postgres": func(t *testing.T) *store.Store { return openPostgres(t, store.Options{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := t.Context()
			rules := storetest.Rules
			rules.Expiry = &balances.Expiry{AfterDays: 365}
			m := storetest.NewMember(t, s, "demo")
			now := time.Now()
			req := balances.Request{Type: balances.Earn, Points: 100, OccurredAt: now.Add(-400 * balances.Day)}
			if _, err := s.Post(ctx, m.ID, "k1", "h1", req, rules); err != nil {
				t.Fatal(err)
			}
			req.OccurredAt = now
			if _, err := s.Post(ctx, m.ID, "k2", "h2", req, rules); err != nil {
				t.Fatal(err)
			}
			if n, err := s.ExpireDue(ctx, now, 10); err != nil || n != 1 {
				t.Fatalf("ExpireDue = %d, %v; want 1", n, err)
			}
			if err := s.Exec(ctx, `UPDATE lots SET remaining = points WHERE expires_at <= $1`, now.UTC()); err != nil {
				t.Fatal(err)
			}
			if n, err := s.ExpireDue(ctx, now, 10); err == nil || n != 0 {
				t.Errorf("ExpireDue of an expired lot again = %d, %v; want 0 and the unique violation", n, err)
			}
			if got, err := s.Member(ctx, m.ID); err != nil || got.Account.Points != 100 {
				t.Errorf("balance after the refused expiry = %d, %v; want 100", got.Account.Points, err)
			}
		})
	}
}

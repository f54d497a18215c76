package store_test

import (
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// syncScaleDirty are the cards waiting for their debounce while the
// engine looks for due ones.
const syncScaleDirty = 10

// BenchmarkSyncClaimAtScale: what the sync engine's wake-up costs in a
// programme of markCards cards that are all delivered but
// syncScaleDirty, which are being delivered (claimed, their lease
// running), as while a till earns:
// one ClaimDue (which finds nothing due yet) and one NextDue per
// channel. The engine runs this after every change, so its cost must
// follow the cards waiting, not the cards there are.
//
// After the set-up (100,000 cards made, delivered, changed and delivered
// again) PostgreSQL's tables are vacuumed and analysed, as autovacuum
// leaves them in a running passd; without it the first scans wade
// through the set-up's dead row versions.
func BenchmarkSyncClaimAtScale(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run("store="+name, func(b *testing.B) {
			var s *store.Store
			var dsn string
			// The store's clock moves an hour on after the set-up, so that
			// the delivered cards' last attempts (and their leases) are in
			// the past, as in a passd that has run a while.
			var later atomic.Bool
			opts := store.Options{Now: func() time.Time {
				if later.Load() {
					return time.Now().Add(time.Hour)
				}
				return time.Now()
			}}
			if name == "sqlite" {
				s = testkit.OpenSQLite(b, opts)
			} else {
				dsn = testpg.FreshSchema(b)
				opts.MaxConns = 16
				s = openPostgresAt(b, dsn, opts)
			}
			env := newMarkEnv(b, s)
			ctx := b.Context()
			if dsn != "" {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					b.Fatal(err)
				}
				_, err = db.ExecContext(ctx, `VACUUM ANALYZE`)
				db.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			for _, id := range env.members[:syncScaleDirty] {
				if _, err := env.s.TouchMember(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			later.Store(true)
			// Claimed with a long lease: their delivery is under way.
			for _, ch := range loyalty.Channels() {
				if jobs, err := env.s.ClaimDue(ctx, ch, 100, time.Hour); err != nil || len(jobs) != syncScaleDirty {
					b.Fatalf("claim the changed cards on %s: %d, %v", ch, len(jobs), err)
				}
			}
			for b.Loop() {
				for _, ch := range loyalty.Channels() {
					jobs, err := env.s.ClaimDue(ctx, ch, 100, time.Minute)
					if err != nil {
						b.Fatal(err)
					}
					if len(jobs) != 0 {
						b.Fatalf("claimed %d cards whose lease runs", len(jobs))
					}
					if _, ok, err := env.s.NextDue(ctx, ch); err != nil || !ok {
						b.Fatalf("NextDue = %t, %v; want the waiting cards' time", ok, err)
					}
				}
			}
		})
	}
}

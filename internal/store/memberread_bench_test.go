package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// BenchmarkMemberRead times Store.Member, the one read of a pass fetch,
// from 16 goroutines over 1,000 members. On PostgreSQL it also reports the
// database's own CPU per read (pg-cpu-us/op): on one machine both sides of
// the query share the cores with signing.
func BenchmarkMemberRead(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) { benchMemberRead(b, testkit.OpenSQLite(b, store.Options{})) })
	b.Run("store=postgres", func(b *testing.B) {
		benchMemberRead(b, openPostgresAt(b, testpg.FreshSchema(b), store.Options{MaxConns: 20}))
	})
	b.Run("store=postgres-unix", func(b *testing.B) {
		u, ok := testpg.UnixSocketURL(b)
		if !ok {
			b.Skip("PASSD_TEST_PG_SOCKET_DIR is not set: run under scripts/with-postgres.sh")
		}
		benchMemberRead(b, openPostgresAt(b, u, store.Options{MaxConns: 20}))
	})
}

func benchMemberRead(b *testing.B, s *store.Store) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = storetest.NewMember(b, s, "demo").ID
	}
	var n atomic.Int64
	db0 := testpg.ServerCPU()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[int(n.Add(1))%len(ids)]
			if _, err := s.Member(context.Background(), id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if s.Dialect() == store.DialectPostgres {
		b.ReportMetric(float64((testpg.ServerCPU()-db0).Microseconds())/float64(b.N), "pg-cpu-us/op")
	}
}

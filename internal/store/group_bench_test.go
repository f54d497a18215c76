package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// groupBenchSlice is how many earns run in one mode before the other
// takes over, so that both see the same swings of a shared machine.
const groupBenchSlice = 400

// BenchmarkPostEarnGroupCommit is BenchmarkPostEarn on SQLite at 1 and
// 16 clients with group commit on and off in the same run, alternated in
// slices of groupBenchSlice earns on one store: tx/s, p50 and p99 of each
// and on/off, the speed-up.
func BenchmarkPostEarnGroupCommit(b *testing.B) {
	s := testkit.OpenSQLite(b, store.Options{})
	members := benchMembers(b, s)
	for _, clients := range []int{1, 16} {
		b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) { benchGroupCommit(b, s, members, clients) })
	}
}

func benchGroupCommit(b *testing.B, s *store.Store, members []loyalty.Member, clients int) {
	ctx := context.Background()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	req := balances.Request{Type: balances.Earn, Points: 10}
	var key int64
	on, off := &testkit.Timings{}, &testkit.Timings{}
	b.ResetTimer()
	for left := b.N; left > 0; left -= groupBenchSlice {
		n := min(left, groupBenchSlice)
		for _, m := range []*testkit.Timings{on, off} {
			s.SetGroupCommit(m == on)
			base := key
			m.Add(runClients(b, n, clients, func(i int64, w int) error {
				k := run + "-" + strconv.FormatInt(base+i, 10)
				_, err := s.Post(ctx, members[(int(base+i)*104729+w)%len(members)].ID, k, k, req, storetest.Rules)
				return err
			}))
			key += int64(n)
		}
	}
	b.StopTimer()
	s.SetGroupCommit(true)
	on.Report(b, "tx/s", "-on")
	off.Report(b, "tx/s", "-off")
	b.ReportMetric(on.Rate()/off.Rate(), "on/off")
}

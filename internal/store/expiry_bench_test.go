package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
)

// BenchmarkPostEarnExpiry compares, on one store in one run, earns in a
// programme with a running campaign and a 365-day expiry (an amount, so
// the earn loads and weighs the campaign, and inserts its lot) with plain
// earns (points, no campaign, no expiry) on the same members, at 1 and 16
// clients; and, to tell the two costs apart, amount earns with the
// campaign and no expiry. Every client takes the three kinds in turn, earn
// by earn, so that the machine's swings weigh on all alike. It reports
// each kind's rate per client (the inverse of its mean latency):
// plain-tx/s, expiry-tx/s and expiry/plain, their ratio (the goal: at
// least 0.9), and campaign/plain and expiry/campaign: the campaign's share
// and the lot's.
func BenchmarkPostEarnExpiry(b *testing.B) {
	for _, o := range ledgerStores() {
		b.Run(o.name, func(b *testing.B) {
			s := o.open(b)
			ctx := context.Background()
			now := time.Now()
			members := benchProgram(b, s, loyalty.Campaign{ID: "double", Program: "bench", Name: "Double points",
				MultiplierTenths: 20, StartsAt: now.AddDate(0, 0, -1), EndsAt: now.AddDate(0, 1, 0)})
			expiry := storetest.Rules
			expiry.Expiry = &balances.Expiry{AfterDays: 365, RemindDays: 30}
			kinds := []struct {
				req   balances.Request
				rules balances.Rules
			}{
				{balances.Request{Type: balances.Earn, Points: 10}, storetest.Rules},
				{balances.Request{Type: balances.Earn, Amount: 1299}, expiry},
				{balances.Request{Type: balances.Earn, Amount: 1299}, storetest.Rules},
			}
			for _, clients := range []int{1, 16} {
				b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
					run := strconv.FormatInt(time.Now().UnixNano(), 36)
					var took [3]atomic.Int64
					var done [3]atomic.Int64
					b.ResetTimer()
					runClients(b, b.N, clients, func(i int64, w int) error {
						kind := int(i % 3)
						k := kinds[kind]
						m := members[(int(i)*104729+w)%len(members)]
						key := run + "-" + strconv.FormatInt(i, 10)
						start := time.Now()
						_, err := s.Post(ctx, m.ID, key, key, k.req, k.rules)
						took[kind].Add(int64(time.Since(start)))
						done[kind].Add(1)
						return err
					})
					b.StopTimer()
					// Each kind's rate as one client would see it: the
					// inverse of its mean latency.
					rate := func(k int) float64 {
						return float64(done[k].Load()) / time.Duration(took[k].Load()).Seconds()
					}
					b.ReportMetric(rate(0), "plain-tx/s")
					b.ReportMetric(rate(1), "expiry-tx/s")
					b.ReportMetric(rate(1)/rate(0), "expiry/plain")
					b.ReportMetric(rate(2)/rate(0), "campaign/plain")
					b.ReportMetric(rate(1)/rate(2), "expiry/campaign")
				})
			}
		})
	}
}

// expireLots is how many lots BenchmarkExpireLots expires: two for each of
// half as many members.
const expireLots = 100_000

// BenchmarkExpireLots expires expireLots due lots (two of each member,
// earned 400 and 380 days back under a 365-day rule) with the expiry job
// as passd runs it (an automations.Runner draining the job), while
// markTills tills post earns on other members of the programme. It
// reports, per store:
//   - expire-s (the goal: under 60 s on 2 cores) and lots/s;
//   - earn-p50-ms, earn-p99-ms, earn-max-ms: the tills' earns during the
//     expiry, and ref-earn-p50-ms, ref-earn-p99-ms, ref-earn-max-ms the
//     same tills for markReference with nothing expiring.
//
// The lots are posted as earns first (untimed: 10-60 s per store). Each
// iteration expires them all: run it with -benchtime 1x.
func BenchmarkExpireLots(b *testing.B) {
	for _, o := range bigStores() {
		b.Run("store="+o.name, func(b *testing.B) {
			s := o.open(b)
			rules := storetest.Rules
			rules.Expiry = &balances.Expiry{AfterDays: 365, RemindDays: 30}
			tills := &markEnv{s: s, rules: rules}
			for range 1000 {
				tills.members = append(tills.members, storetest.NewMember(b, s, "bench").ID)
			}
			var during, ref []time.Duration
			var took time.Duration
			expired := 0
			for range b.N {
				b.StopTimer()
				dueLots(b, s, rules)
				ref = append(ref, tills.earns(b, func(stop <-chan struct{}) {
					select {
					case <-time.After(markReference):
					case <-stop:
					}
				})...)
				b.StartTimer()
				runner := automations.New(automations.Config{}, automations.Expire{Store: s})
				during = append(during, tills.earns(b, func(<-chan struct{}) {
					start := time.Now()
					n, err := runner.RunOnce(b.Context())
					took += time.Since(start)
					expired += n
					if err != nil {
						b.Errorf("RunOnce() = %v", err)
					}
				})...)
			}
			b.StopTimer()
			if expired != expireLots*b.N {
				b.Fatalf("expired %d lots, want %d", expired, expireLots*b.N)
			}
			slices.Sort(during)
			slices.Sort(ref)
			b.ReportMetric(took.Seconds()/float64(b.N), "expire-s")
			b.ReportMetric(float64(expired)/took.Seconds(), "lots/s")
			b.ReportMetric(ms(percentile(during, 0.50)), "earn-p50-ms")
			b.ReportMetric(ms(percentile(during, 0.99)), "earn-p99-ms")
			b.ReportMetric(ms(percentile(during, 1)), "earn-max-ms")
			b.ReportMetric(ms(percentile(ref, 0.50)), "ref-earn-p50-ms")
			b.ReportMetric(ms(percentile(ref, 0.99)), "ref-earn-p99-ms")
			b.ReportMetric(ms(percentile(ref, 1)), "ref-earn-max-ms")
		})
	}
}

// dueLots gives expireLots/2 new members two due lots each, posted as
// backdated earns (by 16 clients on PostgreSQL).
func dueLots(b *testing.B, s *store.Store, rules balances.Rules) {
	b.Helper()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now()
	ctx := context.Background()
	ms := make([]loyalty.Member, expireLots/2)
	members := make([]string, len(ms))
	for i := range ms {
		token, err := loyalty.NewAuthToken()
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = loyalty.Member{ID: uuid.NewString(), Program: "bench", Number: fmt.Sprintf("%s%09d", run[len(run)-1:], i),
			Name: "Bench Member", AuthToken: token}
		members[i] = ms[i].ID
	}
	if err := s.CreateMembers(ctx, ms, balances.NewAccount(rules)); err != nil {
		b.Fatal(err)
	}
	clients := 16
	if s.Dialect() == store.DialectSQLite {
		clients = 1 // one writer: more clients only wait in turn
	}
	runClients(b, expireLots, clients, func(i int64, _ int) error {
		back := 400 - 20*(i%2)
		req := balances.Request{Type: balances.Earn, Points: 100 + i%7, OccurredAt: start.Add(-time.Duration(back) * balances.Day)}
		key := run + "-" + strconv.FormatInt(i, 10)
		_, err := s.Post(ctx, members[(i-1)/2], key, key, req, rules)
		return err
	})
	b.Logf("setup: %d due lots of %d members in %v", expireLots, len(members), time.Since(start).Round(time.Millisecond))
}

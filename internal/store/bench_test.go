package store_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// BenchmarkPostEarn measures Post (an earn with a fresh idempotency key on a
// random one of 1,000 members) at 1 and 16 concurrent clients, reporting
// throughput and latency percentiles. Compare the PostgreSQL figures with
// `pgbench -N` at the same concurrency on the same server.
func BenchmarkPostEarn(b *testing.B) { benchmarkPostEarn(b, "") }

// BenchmarkPostEarnWebhook is BenchmarkPostEarn with a webhook endpoint of
// the members' programme subscribed to transaction.posted, so every earn
// also writes its event and its delivery to the outbox.
func BenchmarkPostEarnWebhook(b *testing.B) { benchmarkPostEarn(b, "bench") }

func benchmarkPostEarn(b *testing.B, webhookProgram string) {
	for _, o := range ledgerStores() {
		b.Run(o.name, func(b *testing.B) {
			// A parent benchmark runs once: one store for both client counts.
			s := o.open(b)
			if webhookProgram != "" {
				if _, err := s.CreateWebhook(context.Background(), loyalty.WebhookEndpoint{ID: "bench", Program: webhookProgram,
					URL: "https://receiver.example/", Events: []loyalty.EventType{loyalty.EventTransactionPosted}, Secret: "whsec_YmVuY2g="}); err != nil {
					b.Fatal(err)
				}
			}
			members := benchMembers(b, s)
			for _, clients := range []int{1, 16} {
				b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
					benchPostEarn(b, s, members, clients)
				})
			}
		})
	}
}

// BenchmarkPostEarnAmount is BenchmarkPostEarn with earns that send an
// amount, in a programme with 50 campaigns of which 10 are running (with
// day and hour windows and a minimum tier), so each earn loads and weighs
// its programme's campaigns; points earns on the same store run beside
// them for comparison.
func BenchmarkPostEarnAmount(b *testing.B) {
	for _, o := range ledgerStores() {
		b.Run(o.name, func(b *testing.B) {
			s := o.open(b)
			now := time.Now()
			var campaigns []loyalty.Campaign
			for i := range 50 {
				c := loyalty.Campaign{ID: "c" + strconv.Itoa(i), Program: "bench", Name: "c", MultiplierTenths: int64(11 + i),
					StartsAt: now.AddDate(0, 0, -30-i), EndsAt: now.AddDate(0, 0, -i)}
				if i < 10 {
					c.EndsAt = now.AddDate(0, 1, 0)
					c.DaysOfWeek = []int{1, 2, 3, 4, 5, 6, 7}[:7-i%3]
					c.FromMinute, c.ToMinute = 0, 1440-i
					if i%2 == 1 {
						c.MinTier = "Silver"
					}
				}
				campaigns = append(campaigns, c)
			}
			members := benchProgram(b, s, campaigns...)
			for _, kind := range []struct {
				name string
				req  balances.Request
			}{
				{"points", balances.Request{Type: balances.Earn, Points: 10}},
				{"amount", balances.Request{Type: balances.Earn, Amount: 1299}},
			} {
				for _, clients := range []int{1, 16} {
					b.Run(kind.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) {
						benchPost(b, s, members, clients, kind.req)
					})
				}
			}
		})
	}
}

// benchProgram stores the programme "bench" with campaigns and 1,000
// members, and answers the members.
func benchProgram(b *testing.B, s *store.Store, campaigns ...loyalty.Campaign) []loyalty.Member {
	b.Helper()
	ctx := context.Background()
	if _, err := s.SeedProgram(ctx, store.ProgramRecord{ID: "bench", Definition: []byte(`{"name": "Bench"}`)}); err != nil {
		b.Fatal(err)
	}
	for _, c := range campaigns {
		if _, err := s.CreateCampaign(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	members := make([]loyalty.Member, 1000)
	for i := range members {
		members[i] = storetest.NewMember(b, s, "bench")
	}
	return members
}

// ledgerStores open the stores the ledger benchmarks run on (PostgreSQL
// with 32 connections, for 16 clients).
func ledgerStores() []benchStore { return storesWith(32) }

// benchStore opens a store a benchmark runs on.
type benchStore struct {
	name string
	open func(b *testing.B) *store.Store
}

// storesWith open SQLite and PostgreSQL with pgConns connections (the
// store's default for 0).
func storesWith(pgConns int) []benchStore {
	return []benchStore{
		{"sqlite", func(b *testing.B) *store.Store { return testkit.OpenSQLite(b, store.Options{}) }},
		{"postgres", func(b *testing.B) *store.Store { return openPostgres(b, store.Options{MaxConns: pgConns}) }},
	}
}

func benchPostEarn(b *testing.B, s *store.Store, members []loyalty.Member, clients int) {
	benchPost(b, s, members, clients, balances.Request{Type: balances.Earn, Points: 10})
}

func benchPost(b *testing.B, s *store.Store, members []loyalty.Member, clients int, req balances.Request) {
	benchPostRules(b, s, members, clients, req, storetest.Rules)
}

// benchPostRules posts req under rules from clients, each time for one of
// members with a fresh idempotency key (benchClients).
func benchPostRules(b *testing.B, s *store.Store, members []loyalty.Member, clients int, req balances.Request, rules balances.Rules) {
	ctx := context.Background()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	benchClients(b, clients, func(i int64, w int) error {
		m := members[(int(i)*104729+w)%len(members)]
		key := run + "-" + strconv.FormatInt(i, 10)
		_, err := s.Post(ctx, m.ID, key, key, req, rules)
		return err
	})
}

// benchMembers enrols 1,000 members of the programme "bench" in s.
func benchMembers(b *testing.B, s *store.Store) []loyalty.Member {
	members := make([]loyalty.Member, 1000)
	for i := range members {
		members[i] = storetest.NewMember(b, s, "bench")
	}
	return members
}

// benchClients runs b.N operations on exactly clients goroutines
// (RunParallel would start a multiple of GOMAXPROCS: two clients where one
// is asked on this machine) and reports throughput and latency percentiles.
// op gets the operation's number (from 1) and the client's.
func benchClients(b *testing.B, clients int, op func(i int64, w int) error) {
	b.ResetTimer()
	cpu0 := processCPU()
	elapsed, latencies := runClients(b, b.N, clients, op)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "tx/s")
	b.ReportMetric(testkit.PercentileMs(latencies, 0.50), "p50-ms")
	b.ReportMetric(testkit.PercentileMs(latencies, 0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(latencies)), "cpu-us/op")
}

// processCPU is the CPU time (user and system) the benchmark's process
// has used: the work of an operation, whatever the disk and the other
// processes on the machine make its latency.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runClients runs n operations on exactly clients goroutines and answers
// how long they took and each one's latency; an operation's error fails
// b. op gets the operation's number (from 1) and the client's.
func runClients(b *testing.B, n, clients int, op func(i int64, w int) error) (time.Duration, []time.Duration) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			local := make([]time.Duration, 0, n/clients+1)
			defer func() {
				mu.Lock()
				latencies = append(latencies, local...)
				mu.Unlock()
			}()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				t := time.Now()
				if err := op(i, w); err != nil {
					b.Errorf("operation %d: %v", i, err)
					return
				}
				local = append(local, time.Since(t))
			}
		})
	}
	wg.Wait()
	return time.Since(start), latencies
}

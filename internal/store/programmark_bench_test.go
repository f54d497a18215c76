package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/programs"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/templates"
)

// The programme-change benchmark (DESIGN.md "Programmes are data"): a
// change to a programme of markCards cards raises every card's wanted
// version in batches (programs.Service's worker, store.MarkProgramCards),
// and no batch may hold a till's earn for more than 100 ms.
const (
	markCards = 100_000
	// markTills post earns at once, each in a closed loop, as the tills
	// of a busy shop would.
	markTills = 4
	// markReference is how long the tills earn with no marking under way,
	// before each change: the reference the marking's figures compare with.
	markReference = 3 * time.Second
	// markWait bounds a marking: a stuck worker fails the benchmark
	// instead of hanging it.
	markWait = 5 * time.Minute
	// markMaxEarns bounds the earns of one phase.
	markMaxEarns = 2_000_000
)

// BenchmarkProgramChange changes the demo programme (its background
// colour, through programs.Service.Patch) while it has markCards members
// whose cards are all delivered, and runs the programme worker
// (Service.Work) until every card is marked, batch cards a transaction
// (500, the default before this benchmark; 250; 100, the default since;
// and 100 again for a change of the tier window, which also plans every
// member's tier review in each batch), while markTills tills post earns (store.Post, a fresh idempotency key
// each, on random members of the programme) until the marking ends. It
// reports, per store and batch size:
//   - earn-p50-ms, earn-p99-ms, earn-max-ms: the earns' latency during the
//     marking (the goal: p99 under 100 ms); earns>100ms counts those over;
//   - ref-earn-p50-ms, ref-earn-p99-ms, ref-earn-max-ms: the same tills
//     for markReference before each change, with no marking under way;
//   - mark-s and cards/s: from the change (Patch) to the last card
//     marked;
//   - batch-max-ms and batch-p50-ms: the longest and the median
//     MarkProgramCards call, one transaction each: how long a batch can
//     hold a till (the whole database on SQLite, the batch's cards on
//     PostgreSQL), including its wait to begin.
//
// Once per store, before the batch sizes run, the cards are created in
// bulk, delivered, changed once and delivered again (untimed, 30-60 s).
// Each iteration is one change: run it with -benchtime 1x.
func BenchmarkProgramChange(b *testing.B) {
	for _, o := range bigStores() {
		b.Run("store="+o.name, func(b *testing.B) {
			// A parent benchmark runs once: one programme of markCards
			// cards for every batch size.
			env := newMarkEnv(b, o.open(b))
			for _, batch := range []int{500, 250, 100} {
				b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) { benchProgramChange(b, env, batch, colourPatch) })
			}
			// A change of the tier window also plans every member's
			// tier review in the marking's batches.
			b.Run("batch=100-tier_window", func(b *testing.B) { benchProgramChange(b, env, 100, windowPatches()) })
		})
	}
}

// bigStores open the stores of the benchmarks of 100,000 cards or lots
// (PostgreSQL with 16 connections).
func bigStores() []benchStore { return storesWith(16) }

// markEnv is a store holding the demo programme with markCards members.
type markEnv struct {
	s       *store.Store
	rules   balances.Rules
	members []string
	// changes counts the programme's changes, each to a new colour.
	changes int
}

func newMarkEnv(b *testing.B, s *store.Store) *markEnv {
	b.Helper()
	ctx := b.Context()
	cat, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		b.Fatal(err)
	}
	demo, err := cat.Get("demo")
	if err != nil {
		b.Fatal(err)
	}
	svc := newMarkService(b, s, 0)
	if err := svc.Seed(ctx, []*loyalty.Program{demo}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ms := make([]loyalty.Member, markCards)
	ids := make([]string, markCards)
	for i := range ms {
		token, err := loyalty.NewAuthToken()
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = loyalty.Member{ID: uuid.NewString(), Program: demo.ID, Number: fmt.Sprintf("%09d", 100_000_000+i),
			Name: fmt.Sprintf("Bench Member %d", i), AuthToken: token}
		ids[i] = ms[i].ID
	}
	if err := s.CreateMembers(ctx, ms, balances.NewAccount(demo.Rules())); err != nil {
		b.Fatal(err)
	}
	created := time.Since(start)
	delivered := deliverAll(b, s)
	b.Logf("setup: %d members in %v, their %d new cards delivered in %v", markCards,
		created.Round(time.Millisecond), delivered, time.Since(start.Add(created)).Round(time.Millisecond))
	env := &markEnv{s: s, rules: demo.Rules(), members: ids}
	// A first change, untimed, so that every measured one finds the rows
	// as a running passd has them: on PostgreSQL the first pass over rows
	// just loaded in bulk marked 2-5 times slower than the next ones,
	// whatever the batch size.
	start = time.Now()
	env.change(b, svc, colourPatch)
	deliverAll(b, s)
	b.Logf("warm-up: a first change marked and delivered in %v", time.Since(start).Round(time.Millisecond))
	return env
}

// colourPatch is the n-th change's patch: a new background colour.
func colourPatch(n int) string { return fmt.Sprintf(`{"colors":{"background":"#%06x"}}`, 0x102030+n) }

// windowPatches answers patches that switch the demo's tier window from
// lifetime to rolling_365_days and back, whatever the change's number.
// Run them once (-benchtime 1x): the reviews they plan are not done here,
// and a later change would find them planned already.
func windowPatches() func(int) string {
	switches := 0
	return func(int) string {
		switches++
		return []string{`{"tier_window":"lifetime"}`, `{"tier_window":"rolling_365_days"}`}[switches%2]
	}
}

// change changes the programme by the patch of its next change and marks
// every card with svc.
func (e *markEnv) change(b *testing.B, svc *programs.Service, patchOf func(n int) string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), markWait)
	defer cancel()
	e.changes++
	patch := patchOf(e.changes)
	if _, err := svc.Patch(ctx, "demo", 0, []byte(patch)); err != nil {
		b.Fatalf("Patch(demo, %s) = %v", patch, err)
	}
	if err := svc.Work(ctx); err != nil {
		b.Fatalf("Work() = %v", err)
	}
}

// newMarkService answers a programmes service on st that marks batch
// cards a transaction (the default for 0).
func newMarkService(b *testing.B, st programs.Store, batch int) *programs.Service {
	b.Helper()
	svc, err := programs.New(programs.Config{Store: st, Catalog: loyalty.NewCatalog(), Batch: batch,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// timedMarks is the store with each MarkProgramCards call timed.
type timedMarks struct {
	*store.Store
	batches []time.Duration
	marked  int
}

func (t *timedMarks) MarkProgramCards(ctx context.Context, program string, limit int) (int, bool, error) {
	start := time.Now()
	n, done, err := t.Store.MarkProgramCards(ctx, program, limit)
	t.batches = append(t.batches, time.Since(start))
	t.marked += n
	return n, done, err
}

// deliverAll records every due card as delivered, as the sync engine
// does, so that a change finds the cards as they usually are; it answers
// how many deliveries it recorded.
func deliverAll(b *testing.B, s *store.Store) int {
	b.Helper()
	ctx := b.Context()
	n := 0
	for _, ch := range loyalty.Channels() {
		for {
			jobs, err := s.ClaimDue(ctx, ch, 5000, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if len(jobs) == 0 {
				break
			}
			if err := s.CompleteMany(ctx, jobs); err != nil {
				b.Fatal(err)
			}
			n += len(jobs)
		}
	}
	return n
}

func benchProgramChange(b *testing.B, env *markEnv, batch int, patchOf func(n int) string) {
	var (
		during, ref       []time.Duration
		batches           []time.Duration
		marked            int
		markTime          time.Duration
		earnsDuring, over int
	)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ref = append(ref, env.earns(b, func(stop <-chan struct{}) {
			select {
			case <-time.After(markReference):
			case <-stop:
			}
		})...)
		b.StartTimer()

		timed := &timedMarks{Store: env.s}
		svc := newMarkService(b, timed, batch)
		var took time.Duration
		lat := env.earns(b, func(<-chan struct{}) {
			start := time.Now()
			env.change(b, svc, patchOf)
			took = time.Since(start)
		})
		if timed.marked != len(env.members) {
			b.Fatalf("marked %d cards, want %d", timed.marked, len(env.members))
		}
		markTime += took
		marked += timed.marked
		batches = append(batches, timed.batches...)
		during = append(during, lat...)
		earnsDuring += len(lat)
		for _, d := range lat {
			if d > 100*time.Millisecond {
				over++
			}
		}

		b.StopTimer()
		deliverAll(b, env.s) // the next change finds the cards delivered again
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(during)
	slices.Sort(ref)
	slices.Sort(batches)
	b.ReportMetric(ms(percentile(during, 0.50)), "earn-p50-ms")
	b.ReportMetric(ms(percentile(during, 0.99)), "earn-p99-ms")
	b.ReportMetric(ms(percentile(during, 1)), "earn-max-ms")
	b.ReportMetric(float64(over), "earns>100ms")
	b.ReportMetric(float64(earnsDuring)/markTime.Seconds(), "earns/s")
	b.ReportMetric(ms(percentile(ref, 0.50)), "ref-earn-p50-ms")
	b.ReportMetric(ms(percentile(ref, 0.99)), "ref-earn-p99-ms")
	b.ReportMetric(ms(percentile(ref, 1)), "ref-earn-max-ms")
	b.ReportMetric(markTime.Seconds()/float64(b.N), "mark-s")
	b.ReportMetric(float64(marked)/markTime.Seconds(), "cards/s")
	b.ReportMetric(ms(percentile(batches, 1)), "batch-max-ms")
	b.ReportMetric(ms(percentile(batches, 0.50)), "batch-p50-ms")
}

// earns runs markTills tills, each posting earns of 10 points with a fresh
// idempotency key on random members of the programme one after another,
// while work runs (work's channel closes if the tills stop first, at
// markMaxEarns earns or an error); it answers every earn's latency.
func (e *markEnv) earns(b *testing.B, work func(stop <-chan struct{})) []time.Duration {
	b.Helper()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
		stopWork  = make(chan struct{})
		stopOnce  sync.Once
		done      = make(chan struct{})
		count     int
	)
	halt := func() { stopOnce.Do(func() { close(stopWork) }) }
	req := balances.Request{Type: balances.Earn, Points: 10}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for w := range markTills {
		wg.Go(func() {
			defer halt()
			local := make([]time.Duration, 0, 4096)
			defer func() {
				mu.Lock()
				latencies = append(latencies, local...)
				mu.Unlock()
			}()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				mu.Lock()
				count++
				full := count > markMaxEarns
				mu.Unlock()
				if full {
					return
				}
				m := e.members[rand.IntN(len(e.members))]
				key := run + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				t := time.Now()
				if _, err := e.s.Post(context.Background(), m, key, key, req, e.rules); err != nil {
					b.Errorf("Post(%s) = %v", m, err)
					return
				}
				local = append(local, time.Since(t))
			}
		})
	}
	func() {
		// Deferred, so that the tills stop when work fails the benchmark.
		defer wg.Wait()
		defer close(done)
		work(stopWork)
	}()
	return latencies
}

// percentile answers the p-th quantile of sorted (nearest rank); 1 is the
// greatest.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestCreateMembers checks the benchmarks' bulk set-up against
// CreateMember: the same member, account and sync rows.
func TestCreateMembers(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T, opts store.Options) *store.Store{
		"sqlite":   func(t *testing.T, opts store.Options) *store.Store { return testkit.OpenSQLite(t, opts) },
		"postgres": func(t *testing.T, opts store.Options) *store.Store { return openPostgres(t, opts) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := testkit.NewClock(time.Date(2030, 5, 17, 9, 30, 15, 123456789, time.UTC))
			s := open(t, store.Options{Now: clock.Now})
			ctx := t.Context()
			a := balances.NewAccount(storetest.Rules)
			a.Points, a.Lifetime, a.Qualifying, a.PassVersion = 7, 8, 9, 3
			ms := make([]loyalty.Member, 4)
			for i := range ms {
				ms[i] = loyalty.Member{ID: uuid.NewString(), Program: "p", Number: fmt.Sprintf("%09d", i),
					Name: "Ada Lovelace", Email: "ada@example.com", Birthday: "1815-12-10", AuthToken: "token-" + strconv.Itoa(i)}
			}
			if err := s.CreateMember(ctx, ms[0], a); err != nil {
				t.Fatalf("CreateMember() = %v", err)
			}
			if err := s.CreateMembers(ctx, ms[1:], a); err != nil {
				t.Fatalf("CreateMembers() = %v", err)
			}
			want := storedMember(t, s, ms[0].ID)
			ignore := cmp.Options{
				cmpopts.IgnoreFields(loyalty.MemberRow{}, "ID", "Number", "AuthToken", "UpdateSeq"),
				cmpopts.IgnoreFields(loyalty.SyncState{}, "MemberID"),
			}
			for _, m := range ms[1:] {
				if diff := cmp.Diff(want, storedMember(t, s, m.ID), ignore); diff != "" {
					t.Errorf("CreateMembers stored %s unlike CreateMember (-CreateMember +CreateMembers):\n%s", m.ID, diff)
				}
			}
		})
	}
}

// storedMemberRows is what the store holds of a member.
type storedMemberRows struct {
	Row   loyalty.MemberRow
	Syncs []loyalty.SyncState
}

func storedMember(t *testing.T, s *store.Store, id string) storedMemberRows {
	t.Helper()
	row, err := s.Member(t.Context(), id)
	if err != nil {
		t.Fatalf("Member(%s) = %v", id, err)
	}
	syncs, err := s.SyncStates(t.Context(), id)
	if err != nil {
		t.Fatalf("SyncStates(%s) = %v", id, err)
	}
	return storedMemberRows{row, syncs}
}

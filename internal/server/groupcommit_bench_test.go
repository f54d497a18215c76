package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
)

// groupBenchEarns are the earns of one burst of BenchmarkEarnsGroupCommit,
// from googleBenchClients clients at once, on googleBenchCards members.
const groupBenchEarns = 2_000

// BenchmarkEarnsGroupCommit compares earns over HTTP on SQLite with the
// store's group commit on and off, in the same run: one passd, bursts of
// groupBenchEarns earns from 16 clients alternated between the two modes
// (store.SetGroupCommit), each burst's card deliveries drained, untimed,
// before the next. It reports earns/s, p50 and p99 of each mode and on/off
// (issue 16's goal: 3x the HTTP earn rate SQLite had without it).
func BenchmarkEarnsGroupCommit(b *testing.B) {
	p := startBenchPassd(b, "", benchConfig{cards: googleBenchCards})
	st := p.srv.Store
	b.Cleanup(func() { st.SetGroupCommit(true) })
	on, off := &testkit.Timings{}, &testkit.Timings{}
	// One burst untimed: connections, caches and the first deliveries.
	p.earnBurst(b, false)
	for b.Loop() {
		for _, m := range []*testkit.Timings{on, off} {
			st.SetGroupCommit(m == on)
			m.Add(p.timedEarnBurst(b))
			p.waitSynced(b)
		}
	}
	on.Report(b, "earns/s", "-on")
	off.Report(b, "earns/s", "-off")
	b.ReportMetric(on.Rate()/off.Rate(), "on/off")
}

// timedEarnBurst posts groupBenchEarns earns from googleBenchClients
// clients with the admin key and answers the time from the first earn to
// the last answer and each earn's latency.
func (p *benchPassd) timedEarnBurst(b *testing.B) (time.Duration, []time.Duration) {
	b.Helper()
	return p.timedEarns(b, googleBenchClients, groupBenchEarns, adminKey)
}

// timedEarns posts n earns with key from clients clients at once, each on
// its own kept-alive connection, and answers the time from the first earn
// to the last answer and each earn's latency.
func (p *benchPassd) timedEarns(b *testing.B, clients, n int, key string) (time.Duration, []time.Duration) {
	b.Helper()
	cs := make([]*http.Client, clients)
	latencies := make([][]time.Duration, len(cs))
	for i := range cs {
		cs[i] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer cs[i].CloseIdleConnections()
	}
	elapsed := timeWorkers(b, "earn", len(cs), n, func(w, _ int) error {
		t := time.Now()
		err := p.tillEarn(cs[w], key)
		latencies[w] = append(latencies[w], time.Since(t))
		return err
	})
	return elapsed, slices.Concat(latencies...)
}

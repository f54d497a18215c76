package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/testpg"
)

const (
	// googleBenchCards are the members the earns fall on, each with an
	// Apple device and, with Google on, a Google object: a shop's regular
	// customers, so that a paced Google drains a burst's backlog in
	// seconds.
	googleBenchCards = 100
	// googleBenchEarns are the earns of one burst, from googleBenchClients
	// clients at once.
	googleBenchEarns   = 2_000
	googleBenchClients = 16
)

// BenchmarkEarnsGoogle compares earns over HTTP with Google Wallet off and
// on, in the same run: two passd on the same store kind, one pointed at the
// fake Google (wallettest, over TLS), bursts of googleBenchEarns earns from
// 16 clients alternated between them; earns/s-off, earns/s-on and on/off
// (goal >= 0.8).
//   - pace=default: passd as it runs, its Google calls paced under Google's
//     quota (server.GoogleRequestsPerSecond). A burst is timed as the tills
//     see it, from the first earn to the last answer; the Google backlog
//     it leaves is drained, untimed, before the next burst.
//   - pace=none: Google unpaced, and a burst timed until every changed
//     card is delivered on every channel, so that all the Google work the
//     earns cause counts: its raw cost.
//
// The fake runs in this process and its CPU comes out of the Google-on
// figure, which real Google's would not.
func BenchmarkEarnsGoogle(b *testing.B) {
	for _, paced := range []bool{true, false} {
		name := "pace=default"
		if !paced {
			name = "pace=none"
		}
		b.Run(name+"/store=sqlite", func(b *testing.B) { benchEarnsGoogle(b, "", "", paced) })
		b.Run(name+"/store=postgres", func(b *testing.B) {
			benchEarnsGoogle(b, testpg.FreshSchema(b), testpg.FreshSchema(b), paced)
		})
	}
}

func benchEarnsGoogle(b *testing.B, offURL, onURL string, paced bool) {
	off := startBenchPassd(b, offURL, benchConfig{cards: googleBenchCards})
	on := startBenchPassd(b, onURL, benchConfig{cards: googleBenchCards, google: wallettest.New(b), googleUnpaced: !paced})
	// One burst each, untimed: Google's class and token, and the members'
	// save links (signed once each, then kept), as a running passd has
	// them.
	off.earnBurst(b, !paced)
	on.earnBurst(b, !paced)
	var offTime, onTime time.Duration
	for b.Loop() {
		offTime += off.earnBurst(b, !paced)
		onTime += on.earnBurst(b, !paced)
	}
	offRate := float64(b.N*googleBenchEarns) / offTime.Seconds()
	onRate := float64(b.N*googleBenchEarns) / onTime.Seconds()
	b.ReportMetric(offRate, "earns/s-off")
	b.ReportMetric(onRate, "earns/s-on")
	b.ReportMetric(onRate/offRate, "on/off")
}

// earnBurst posts googleBenchEarns earns from googleBenchClients clients
// and waits until every card they changed is delivered. It answers the
// time from the first earn to the last answer, or with drain to the last
// delivery.
func (p *benchPassd) earnBurst(b *testing.B, drain bool) time.Duration {
	b.Helper()
	clients := make([]*http.Client, googleBenchClients)
	for i := range clients {
		clients[i] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer clients[i].CloseIdleConnections()
	}
	start := time.Now()
	timeWorkers(b, "earn", len(clients), googleBenchEarns, func(w, _ int) error {
		return p.earn(clients[w])
	})
	elapsed := time.Since(start)
	p.waitSynced(b)
	if drain {
		elapsed = time.Since(start)
	}
	return elapsed
}

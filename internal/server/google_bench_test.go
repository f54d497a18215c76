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
	// Apple device and, with Google on, a Google object.
	googleBenchCards = 1_000
	// googleBenchEarns are the earns of one burst, from googleBenchClients
	// clients at once.
	googleBenchEarns   = 2_000
	googleBenchClients = 16
)

// BenchmarkEarnsGoogle compares earns over HTTP with Google Wallet off and
// on, in the same run: two passd on the same store kind, one pointed at the
// fake Google (wallettest, over TLS), bursts of googleBenchEarns earns from
// 16 clients alternated between them. A burst is timed from its first earn
// until passd has delivered every changed card on every channel (the Apple
// push, and with Google on the object patch), so the Google work an earn
// causes counts, whenever it runs. earns/s-off, earns/s-on and on/off (goal
// >= 0.8). The fake runs in this process and its CPU comes out of the
// Google-on figure, which real Google's would not.
func BenchmarkEarnsGoogle(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) { benchEarnsGoogle(b, "", "") })
	b.Run("store=postgres", func(b *testing.B) { benchEarnsGoogle(b, testpg.FreshSchema(b), testpg.FreshSchema(b)) })
}

func benchEarnsGoogle(b *testing.B, offURL, onURL string) {
	off := startBenchPassd(b, offURL, benchConfig{cards: googleBenchCards})
	on := startBenchPassd(b, onURL, benchConfig{cards: googleBenchCards, google: wallettest.New(b)})
	var offTime, onTime time.Duration
	for b.Loop() {
		offTime += off.earnBurst(b)
		onTime += on.earnBurst(b)
	}
	offRate := float64(b.N*googleBenchEarns) / offTime.Seconds()
	onRate := float64(b.N*googleBenchEarns) / onTime.Seconds()
	b.ReportMetric(offRate, "earns/s-off")
	b.ReportMetric(onRate, "earns/s-on")
	b.ReportMetric(onRate/offRate, "on/off")
}

// earnBurst posts googleBenchEarns earns from googleBenchClients clients
// and waits until every card they changed is delivered; it answers the
// time from the first earn to the last delivery.
func (p *benchPassd) earnBurst(b *testing.B) time.Duration {
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
	p.waitSynced(b)
	return time.Since(start)
}

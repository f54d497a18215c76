package server_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for pgTransactions

	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

const (
	// httpEarnClients are the tills posting at once, each on its own
	// kept-alive connection.
	httpEarnClients = 16
	// httpEarnBurst are the earns of one timed burst.
	httpEarnBurst = 4_000
	// httpEarnCards are the members earns fall on.
	httpEarnCards = 1_000
)

// BenchmarkHTTPEarn: earns over HTTP as a till posts them (a programme's
// pos API key, a fresh Idempotency-Key, `{"type":"earn","points":1}`)
// from httpEarnClients clients at once on httpEarnCards members, each
// with a registered device (so every earn also marks a card that passd
// pushes, to the mock APNs in this process). Each iteration is one burst
// of httpEarnBurst earns after an untimed one; earns/s and the earns'
// p50/p99 are reported. scripts/bench.sh runs `pgbench -N` with the same
// number of clients on the same PostgreSQL right before and after, for
// the ratio (goal >= 0.5).
func BenchmarkHTTPEarn(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) { benchHTTPEarn(b, "") })
	b.Run("store=postgres", func(b *testing.B) { benchHTTPEarn(b, testpg.FreshSchema(b)) })
}

func benchHTTPEarn(b *testing.B, databaseURL string) {
	p := startBenchPassd(b, databaseURL, benchConfig{cards: httpEarnCards})
	key := p.posKey(b, "demo")
	p.timedEarns(b, httpEarnClients, httpEarnBurst, key) // connections, caches and the key's first use
	stats := pgStats(b, databaseURL)
	var m testkit.Timings
	var serverCPU time.Duration
	var xacts int64
	for b.Loop() {
		x0 := stats()
		cpu0 := testpg.ServerCPU()
		m.Add(p.timedEarns(b, httpEarnClients, httpEarnBurst, key))
		serverCPU += testpg.ServerCPU() - cpu0
		xacts += stats() - x0
	}
	m.Report(b, "earns/s", "")
	if databaseURL != "" {
		// PostgreSQL's own work per earn, over the whole process tree of
		// the server (passd's deliveries of the changed cards included).
		n := float64(len(m.Latencies))
		b.ReportMetric(float64(serverCPU.Microseconds())/n, "pg-cpu-us/earn")
		b.ReportMetric(float64(xacts)/n, "pg-tx/earn")
	}
}

// pgStats answers a function that reads the transactions the
// PostgreSQL of databaseURL has committed and rolled back in its database
// so far, on one connection kept for the benchmark (0 for SQLite). The
// statistics are a snapshot per transaction: each call reads afresh.
func pgStats(b *testing.B, databaseURL string) func() int64 {
	b.Helper()
	if databaseURL == "" {
		return func() int64 { return 0 }
	}
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return func() int64 {
		var n int64
		if err := db.QueryRowContext(b.Context(), `SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(new(any), &n); err != nil {
			b.Fatal(err)
		}
		return n
	}
}

// tillEarn posts one earn of a point to a random member with key.
func (p *benchPassd) tillEarn(client *http.Client, key string) error {
	// Only the serial: the device's tag is written by its phone's
	// goroutine meanwhile.
	serial := p.devices[rand.IntN(len(p.devices))].serial
	req, err := http.NewRequest(http.MethodPost, p.url+"/api/v1/members/"+serial+"/transactions",
		strings.NewReader(`{"type":"earn","points":1}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != http.StatusCreated {
		err = fmt.Errorf("earn: %s", res.Status)
	}
	return err
}

// posKey creates a pos API key of program through the admin API and
// answers its secret.
func (p *benchPassd) posKey(b testing.TB, program string) string {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"role": "pos", "program": program})
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, p.url+"/api/v1/apikeys", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := p.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var answer struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != http.StatusCreated || answer.Key == "" {
		b.Fatalf("create pos key: %d %v %+v", res.StatusCode, err, answer)
	}
	return answer.Key
}

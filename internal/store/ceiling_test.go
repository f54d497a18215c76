package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSQLiteCeiling is SQLite's own ceiling for BenchmarkPostEarn: the
// transaction pgbench -N runs (update one account, read it back, append a
// history row), straight through database/sql on the same driver with the
// store's settings (WAL, synchronous=FULL, BEGIN IMMEDIATE, one writer
// connection), at 1 and 16 clients.
func BenchmarkSQLiteCeiling(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ceiling.db")
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE accounts (aid INTEGER PRIMARY KEY, abalance INTEGER NOT NULL)`,
		`CREATE TABLE history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime INTEGER, filler TEXT)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	tx, _ := db.BeginTx(ctx, nil)
	for i := range 1000 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts VALUES ($1, 0)`, i); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, clients := range []int{1, 16} {
		b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
			var (
				mu        sync.Mutex
				latencies []time.Duration
				next      atomic.Int64
				wg        sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				wg.Go(func() {
					local := make([]time.Duration, 0, b.N/clients+1)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							break
						}
						aid := (int(i)*104729 + w) % 1000
						t := time.Now()
						if err := pgbenchN(ctx, db, aid); err != nil {
							b.Errorf("transaction: %v", err)
							return
						}
						local = append(local, time.Since(t))
					}
					mu.Lock()
					latencies = append(latencies, local...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latencies)
			if len(latencies) == 0 {
				return
			}
			pct := func(p float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "tx/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

func pgbenchN(ctx context.Context, db *sql.DB, aid int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET abalance = abalance + 10 WHERE aid = $1`, aid); err != nil {
		return err
	}
	var bal int64
	if err := tx.QueryRowContext(ctx, `SELECT abalance FROM accounts WHERE aid = $1`, aid).Scan(&bal); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO history VALUES (1, 1, $1, 10, $2, '')`, aid, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

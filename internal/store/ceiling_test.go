package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
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
			benchClients(b, clients, func(i int64, w int) error {
				return pgbenchN(ctx, db, (int(i)*104729+w)%1000)
			})
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

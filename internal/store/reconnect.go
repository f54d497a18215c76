package store

import (
	"context"
	"database/sql"
)

// This file is how the store rides out a PostgreSQL restart or failover:
// the pool's idle connections all died with the server, and the first use
// of each would fail. A read that fails so on its first round trip runs
// once more on a fresh connection, after the pool dropped its idle ones
// (they are dead too); the same holds for the BEGIN of a write, before
// any of its statements ran. A write that broke later is not run again
// here (its commit may have happened): it fails with
// loyalty.ErrUnavailable, which the API answers 503, and the client
// retries it with its Idempotency-Key. Post retries itself (pgpost.go),
// being safe by its key. While the server is down, the retry fails too,
// with loyalty.ErrUnavailable.

// dropIdle closes the PostgreSQL pool's idle connections, so that the next
// statement connects afresh. Connections in use are left to their users.
func (s *Store) dropIdle() {
	if s.dialect != DialectPostgres {
		return
	}
	s.r.SetMaxIdleConns(0)
	s.r.SetMaxIdleConns(s.poolSize)
}

// retryable reports a failure on a broken connection, for which a fresh
// one may do better; never once ctx ended.
func retryable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && connFailure(err)
}

// beginTx begins a transaction on db, once more on a fresh connection when
// the first one was broken.
func (s *Store) beginTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, opts)
	if s.dialect == DialectPostgres && retryable(ctx, err) {
		s.dropIdle()
		tx, err = db.BeginTx(ctx, opts)
	}
	return tx, err
}

// retryReader runs PostgreSQL's plain reads (Store.rd) on db, each once
// more on a fresh connection when the first failed on a broken one.
type retryReader struct {
	db *sql.DB
	s  *Store
}

func (r retryReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if retryable(ctx, err) {
		r.s.dropIdle()
		rows, err = r.db.QueryContext(ctx, query, args...)
	}
	return rows, translate(err)
}

func (r retryReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	row := r.db.QueryRowContext(ctx, query, args...)
	if retryable(ctx, row.Err()) {
		r.s.dropIdle()
		row = r.db.QueryRowContext(ctx, query, args...)
	}
	return row
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passd/passd/internal/ratelimit"
)

// Rate-limit buckets (migration 0025). The store keeps and locks them;
// internal/ratelimit decides what a take does to one.

var _ ratelimit.Store = (*Store)(nil)

// RateBucket answers the bucket of key as last kept, the zero Bucket
// when there is none.
func (s *Store) RateBucket(ctx context.Context, key string) (ratelimit.Bucket, error) {
	var tokens float64
	var at int64
	err := s.rd.QueryRowContext(ctx, `SELECT tokens, at_us FROM rate_buckets WHERE key = $1`, key).Scan(&tokens, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return ratelimit.Bucket{}, nil
	}
	if err != nil {
		return ratelimit.Bucket{}, fmt.Errorf("rate bucket: %w", translate(err))
	}
	return bucketOf(tokens, at), nil
}

// UpdateRateBucket locks the bucket of key (the zero Bucket when there is
// none yet), passes it to fn and keeps what fn answers, in one
// transaction: concurrent updates of one key, from any instance, run one
// after the other.
func (s *Store) UpdateRateBucket(ctx context.Context, key string, fn func(ratelimit.Bucket) ratelimit.Bucket) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The row exists before it is locked, so that two first takes of
		// a key queue on its lock instead of both seeing no row.
		if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tokens, at_us) VALUES ($1, 0, 0) ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		var tokens float64
		var at int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT tokens, at_us FROM rate_buckets WHERE key = $1 {{for_update}}`), key).Scan(&tokens, &at); err != nil {
			return err
		}
		b := fn(bucketOf(tokens, at))
		_, err := tx.ExecContext(ctx, `UPDATE rate_buckets SET tokens = $2, at_us = $3 WHERE key = $1`, key, b.Tokens, b.At.UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("update rate bucket: %w", err)
	}
	return nil
}

// PruneRateBuckets deletes the buckets last refilled before cutoff.
func (s *Store) PruneRateBuckets(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := s.writeCount(ctx, `DELETE FROM rate_buckets WHERE at_us < $1`, cutoff.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune rate buckets: %w", err)
	}
	return n, nil
}

func bucketOf(tokens float64, atMicro int64) ratelimit.Bucket {
	if atMicro == 0 {
		return ratelimit.Bucket{}
	}
	return ratelimit.Bucket{Tokens: tokens, At: time.UnixMicro(atMicro).UTC()}
}

// writeCount runs one statement in a write transaction and answers how
// many rows it touched.
func (s *Store) writeCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

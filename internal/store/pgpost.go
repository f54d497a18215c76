package store

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/passd/passd/balances"
)

// postPostgres runs Post's transaction on PostgreSQL in two round trips
// rather than four: BEGIN goes with the lock and key lookup as one
// pipeline, and the writes go with COMMIT as another. The member's row
// lock is then held for one round trip, the commit's.
//
// A Post whose connection broke under it (the server restarted or failed
// over) runs again on another, at most pool size + 1 times, while its
// caller waits. That is safe even when the break hid a commit: the
// idempotency key makes the second run a replay of the first.
func (s *Store) postPostgres(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	for try := 1; ; try++ {
		res, broken, err := s.postConn(ctx, memberID, idemKey, requestHash, req, rules)
		if err == nil || !broken || ctx.Err() != nil || try > s.poolSize {
			return res, err
		}
		s.dropIdle() // the server restarted: its other idle connections are dead too
	}
}

// postConn runs Post's transaction once, on one pooled connection, and
// reports whether that connection broke.
func (s *Store) postConn(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, bool, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return PostResult{}, false, fmt.Errorf("begin: %w", translate(err))
	}
	defer conn.Close()
	var res PostResult
	var postErr error
	broken := false
	_ = conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		res, postErr = s.postOn(ctx, c, memberID, idemKey, requestHash, req, rules)
		if c.IsClosed() {
			broken = postErr != nil
			return nil
		}
		if c.PgConn().TxStatus() == 'I' {
			return nil
		}
		// The transaction did not end (an error, or a replay, which
		// writes nothing): roll it back, on a context of its own since
		// the caller's may be what ended it. A connection that cannot
		// roll back leaves the pool.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lockTimeout)
		defer cancel()
		if _, err := c.Exec(rctx, "ROLLBACK"); err != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	if postErr != nil {
		return PostResult{}, broken, translate(postErr)
	}
	return res, false, nil
}

// postOn runs Post's transaction on c; it leaves a transaction that did not
// commit open, for postPostgres to roll back.
func (s *Store) postOn(ctx context.Context, c *pgx.Conn, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	now := s.clock()
	var b pgx.Batch
	b.Queue("BEGIN")
	b.Queue(s.q(postLock), memberID, idemKey)
	if needsCampaigns(req) {
		b.Queue(postCampaigns, memberID, occurredAt(req, now))
	}
	if needsLots(req, rules) {
		b.Queue(postLots, memberID)
	}
	br := c.SendBatch(ctx, &b)
	_, err := br.Exec()
	if err != nil {
		err = fmt.Errorf("begin: %w", err)
	}
	var l postLocked
	if err == nil {
		l, err = scanPostLocked(br.QueryRow())
	}
	if err == nil && needsCampaigns(req) {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			l.campaigns, err = scanRuleCampaigns(rows)
			rows.Close()
		}
	}
	if err == nil && needsLots(req, rules) {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			l.lots, err = scanLots(rows)
			rows.Close()
		}
	}
	if closeErr := br.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("lock account: %w", closeErr)
	}
	if err != nil {
		return PostResult{}, err
	}
	if !l.hash.Valid && referralPending(l, req, rules) {
		return PostResult{}, errReferralPath
	}
	plan, err := s.planPost(l, memberID, idemKey, requestHash, req, rules, now)
	if err != nil {
		return PostResult{}, err
	}
	if plan.replay != "" {
		e, err := scanEntry(c.QueryRow(ctx, entryByIDSQL, plan.replay))
		if err != nil {
			return PostResult{}, fmt.Errorf("entry %s: %w", plan.replay, err)
		}
		plan.res.Entry = e
		return plan.res, nil
	}
	if s.beforeCommit != nil {
		// Tests hold the transaction open between its writes and its
		// commit; that costs the round trip the pipeline saves.
		if _, err := c.Exec(ctx, plan.postgresWrite(), plan.postgresArgs()...); err != nil {
			return PostResult{}, writeError(err)
		}
		s.beforeCommit(ctx)
		if _, err := c.Exec(ctx, "COMMIT"); err != nil {
			return PostResult{}, fmt.Errorf("commit: %w", err)
		}
		return plan.res, nil
	}
	b = pgx.Batch{}
	b.Queue(plan.postgresWrite(), plan.postgresArgs()...)
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return PostResult{}, writeError(err)
	}
	_, err = br.Exec()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return PostResult{}, fmt.Errorf("commit: %w", err)
	}
	return plan.res, nil
}

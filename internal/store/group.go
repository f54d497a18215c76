package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// SQLite group commit: on SQLite every write goes through one connection
// and each commit waits for an fsync (synchronous=FULL), so tills posting
// at once would queue for a commit each. Instead, Posts that arrive
// together share one transaction and one fsync:
//
//   - A Post joins a queue. With no batch running it leads one: it takes
//     the writer connection (waiting at most LockTimeout, as every write
//     does), BEGINs, runs each queued Post (maxPostBatch at most) in a
//     savepoint of its own, COMMITs once and answers them all. A Post
//     that fails (an overdraft, an idempotency conflict, an unknown
//     member...) rolls back to its savepoint and gets its own error; its
//     neighbours go on.
//   - Every Post is answered after the COMMIT that holds it returned, so
//     an acknowledged Post is as durable as before. When the COMMIT fails,
//     or a statement's failure rolled SQLite's whole transaction back
//     (its savepoint is gone), every Post of the batch fails: nothing of
//     it was acknowledged, and the clients retry with their keys.
//   - Posts that queued while a batch ran wait for the next one, which the
//     first of them leads, so no one waits behind more than one batch at
//     a time, and a queued Post gives up after LockTimeout as a write
//     waiting for the writer does (ErrBusy).
//   - A caller's context ending does not interrupt a batch's statement
//     (the driver would interrupt the connection, and SQLite roll back
//     every Post of the transaction): the batch runs each Post with its
//     context's values but not its cancellation, and skips a Post whose
//     context ended before its turn.
//
// Other writes (enrolments, sync marks...) keep their own transaction on
// the same connection, between batches.

// maxPostBatch bounds the Posts one group commit holds, and so the wait of
// the last of them.
const maxPostBatch = 64

// postGroup is the queue of SQLite Posts waiting for a group commit.
type postGroup struct {
	// off sends every Post through a transaction of its own
	// (SetGroupCommit), for comparisons.
	off atomic.Bool

	mu sync.Mutex
	// leading is true while a batch runs or its leader waits for the
	// writer.
	leading bool
	// queue holds the Posts no batch has taken yet, in arrival order.
	queue []*postCall
}

// postCall is one Post in the group's queue.
type postCall struct {
	ctx                            context.Context
	memberID, idemKey, requestHash string
	req                            balances.Request
	rules                          balances.Rules
	now                            time.Time

	// taken and leads are guarded by the group's mu: a batch holds the
	// call, or the call is to lead the next batch.
	taken, leads bool
	// lead receives once when the call is to lead the next batch.
	lead chan struct{}
	// done is closed once res and err are the answer.
	done chan struct{}
	res  PostResult
	err  error
}

// SetGroupCommit turns SQLite's group commit of Posts on (the default) or
// off, when every Post commits alone; Posts under way finish as they
// started. It is there for benchmarks that compare both in one run.
func (s *Store) SetGroupCommit(on bool) { s.group.off.Store(!on) }

// postGrouped runs a Post in a group commit (see above).
func (s *Store) postGrouped(ctx context.Context, memberID, idemKey, requestHash string, req balances.Request, rules balances.Rules) (PostResult, error) {
	c := &postCall{ctx: ctx, memberID: memberID, idemKey: idemKey, requestHash: requestHash, req: req, rules: rules,
		now: s.clock(), lead: make(chan struct{}, 1), done: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, c)
	leader := !g.leading
	g.leading = true
	g.mu.Unlock()
	if leader {
		s.leadPosts(c)
		return c.res, c.err
	}
	wait := time.NewTimer(s.lockTimeout)
	defer wait.Stop()
	var gaveUp error
	select {
	case <-c.done:
		return c.res, c.err
	case <-c.lead:
		s.leadPosts(c)
		return c.res, c.err
	case <-ctx.Done():
		gaveUp = fmt.Errorf("begin: %w", ctx.Err())
	case <-wait.C:
		gaveUp = s.errBusyWriter()
	}
	if g.withdraw(c) {
		return PostResult{}, gaveUp
	}
	// Too late: a batch holds the call, or it is to lead the next one.
	select {
	case <-c.done:
	case <-c.lead:
		s.leadPosts(c)
	}
	return c.res, c.err
}

// withdraw takes c out of the queue unless a batch holds it or it is to
// lead the next one; it reports whether it did.
func (g *postGroup) withdraw(c *postCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.taken || c.leads {
		return false
	}
	if i := slices.Index(g.queue, c); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	return true
}

// leadPosts runs one batch led by leader, the first call of the queue,
// and then hands the lead to the next queued call, if any.
func (s *Store) leadPosts(leader *postCall) {
	g := &s.group
	// The writer, as write waits for it; the leader's own end does not
	// stop the batch, which others wait for.
	conn, err := s.writerConn(context.WithoutCancel(leader.ctx))
	n := 1 // the leader alone, when the writer did not come
	g.mu.Lock()
	if err == nil {
		// The calls that queued while the leader waited join it.
		n = min(len(g.queue), maxPostBatch)
	}
	batch := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	for _, c := range batch {
		c.taken = true
	}
	g.mu.Unlock()

	// Every call of the batch is answered, and the lead passed on, even
	// when a Post panics: the leader's caller then gets the panic, the
	// others an error (their transaction was rolled back).
	defer func() {
		p := recover()
		if p != nil {
			failBatch(batch, errBatchPanicked)
		}
		for _, c := range batch {
			close(c.done)
		}
		g.handOff()
		if p != nil {
			panic(p)
		}
	}()
	if err != nil {
		leader.err = err
		return
	}
	s.runPostBatch(conn, batch)
}

// errBatchPanicked answers the Posts of a batch in which one panicked.
var errBatchPanicked = errors.New("post batch: a post of the batch panicked")

// handOff gives the lead to the first queued call, or ends the leading
// when none is queued.
func (g *postGroup) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.leading = false
		return
	}
	next := g.queue[0]
	next.leads = true
	next.lead <- struct{}{}
}

// runPostBatch runs batch in one transaction on conn, each call in a
// savepoint, sets every call's answer and gives conn back.
func (s *Store) runPostBatch(conn *sql.Conn, batch []*postCall) {
	defer conn.Close()
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		failBatch(batch, fmt.Errorf("begin: %w", translate(err)))
		return
	}
	// No caller's context ends this transaction: a panic must, or the
	// writer would stay in it.
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := s.postSavepoints(ctx, tx, batch); err != nil {
		_ = tx.Rollback()
		failBatch(batch, err)
		return
	}
	if !slices.ContainsFunc(batch, func(c *postCall) bool { return c.err == nil }) {
		// Every call failed: nothing to commit.
		_ = tx.Rollback()
		return
	}
	if s.beforeCommit != nil {
		s.beforeCommit(ctx)
	}
	if err := tx.Commit(); err != nil {
		failBatch(batch, fmt.Errorf("commit: %w", translate(err)))
	}
}

// postSavepoints runs each call of batch in tx, in a savepoint that its
// failure rolls back, setting its answer; a call alone needs none (its
// failure leaves nothing to commit). A call whose context ended before
// its turn is skipped. It answers an error when the transaction itself
// failed: the savepoint statements did, as they do once SQLite rolled the
// whole transaction back (a full disk, an I/O error).
func (s *Store) postSavepoints(ctx context.Context, tx *sql.Tx, batch []*postCall) error {
	p := s.postStmts
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = fmt.Errorf("begin: %w", err)
			continue
		}
		if len(batch) == 1 {
			s.runPostCall(tx, c)
			return nil
		}
		if _, err := tx.StmtContext(ctx, p.savepoint).ExecContext(ctx); err != nil {
			return fmt.Errorf("savepoint: %w", translate(err))
		}
		if s.runPostCall(tx, c) {
			if _, err := tx.StmtContext(ctx, p.rollbackTo).ExecContext(ctx); err != nil {
				return batchLost(c.err, err)
			}
		}
		if _, err := tx.StmtContext(ctx, p.release).ExecContext(ctx); err != nil {
			return fmt.Errorf("release savepoint: %w", translate(err))
		}
	}
	return nil
}

// runPostCall runs c's Post in tx, with its context's values but not its
// cancellation, sets its answer and reports whether it failed.
func (s *Store) runPostCall(tx *sql.Tx, c *postCall) bool {
	c.res, c.err = s.postBody(context.WithoutCancel(c.ctx), tx, c.now, c.memberID, c.idemKey, c.requestHash, c.req, c.rules)
	if c.err != nil {
		c.res, c.err = PostResult{}, translate(c.err)
	}
	return c.err != nil
}

// batchLost is the error of a batch whose transaction SQLite rolled back
// when a call failed with cause (rollback is the failed return to the
// call's savepoint): the database out of reach or out of space, or busy,
// as cause says; loyalty.ErrUnavailable otherwise, so that the clients
// retry with their keys. It never wraps a call's own domain error, which
// would tell the others that they, say, overdrew.
func batchLost(cause, rollback error) error {
	if errors.Is(cause, ErrBusy) || errors.Is(cause, loyalty.ErrUnavailable) {
		return fmt.Errorf("transaction rolled back: %w (roll back to savepoint: %v)", cause, rollback)
	}
	return fmt.Errorf("%w: transaction rolled back after %v (roll back to savepoint: %v)", loyalty.ErrUnavailable, cause, rollback)
}

// failBatch answers err to every call of batch that had no error of its
// own: what succeeded was not committed.
func failBatch(batch []*postCall, err error) {
	for _, c := range batch {
		if c.err == nil {
			c.res, c.err = PostResult{}, err
		}
	}
}

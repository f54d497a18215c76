package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/passd/passd/internal/loyalty"
)

// memberBatcher reads members by ID on PostgreSQL, pipelining the reads
// that arrive together into one round trip.
//
// A pass fetch is one member read and one RSA signature. On PostgreSQL the
// read's cost is mostly the round trip: the server waking, reading and
// writing its socket, and starting a query, which under a signing load
// costs several times the query itself. At most lanes batches run at once,
// each on its own connection; a read that arrives while every lane is busy
// waits for the next batch, which carries every read waiting by then (up
// to maxBatch) as one pipeline with one Sync. Nothing waits on a timer:
// when a lane is free a read goes at once, alone, so a quiet passd pays no
// latency, and the busier it is the larger the batches.
type memberBatcher struct {
	db *sql.DB
	// lanes bounds the batches running at once.
	lanes int
	// timeout bounds a batch, which runs for every caller in it and so on
	// no caller's context.
	timeout time.Duration
	// maxTries bounds the tries of a read whose connection broke: one
	// more than the pool holds.
	maxTries int

	mu      sync.Mutex
	running int
	pending []*memberRead

	// beforeBatch, when set, runs before each batch with its size. Only
	// tests set it (export_test.go), to make reads queue.
	beforeBatch func(n int)
}

const (
	// maxBatch bounds the reads in one pipeline.
	maxBatch = 64
	// memberReadTimeout bounds a batch of member reads, which are lookups
	// by primary key: a batch stuck on a dead connection holds its lane
	// no longer than this.
	memberReadTimeout = 10 * time.Second
)

// memberByID is the query behind Store.Member.
const memberByID = memberSelect + " WHERE m.id = $1"

type memberRead struct {
	id  string
	out chan memberResult // buffered: a batch never waits for its caller
}

type memberResult struct {
	row MemberRow
	err error
}

func newMemberBatcher(db *sql.DB, lanes, poolSize int, timeout time.Duration) *memberBatcher {
	return &memberBatcher{db: db, lanes: max(1, lanes), maxTries: poolSize + 1, timeout: timeout}
}

// read answers the member with the given ID, like Store.Member.
func (b *memberBatcher) read(ctx context.Context, id string) (MemberRow, error) {
	r := &memberRead{id: id, out: make(chan memberResult, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if b.running < b.lanes {
		// A lane is free: this caller runs a batch of what waits, itself
		// included, and returns once it is done.
		b.running++
		batch := b.take()
		b.mu.Unlock()
		b.serve(batch)
	} else {
		b.mu.Unlock()
	}
	select {
	case res := <-r.out:
		return res.row, res.err
	case <-ctx.Done():
		// The batch still runs; its answer goes to the buffered channel.
		return MemberRow{}, ctx.Err()
	}
}

// take removes up to maxBatch waiting reads; b.mu is held.
func (b *memberBatcher) take() []*memberRead {
	n := min(len(b.pending), maxBatch)
	batch := append([]*memberRead(nil), b.pending[:n]...)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	return batch
}

// serve runs batch on a lane, then hands the lane to the reads that came
// meanwhile, on a goroutine of their own so that this caller returns.
func (b *memberBatcher) serve(batch []*memberRead) {
	b.run(batch)
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.running--
		b.mu.Unlock()
		return
	}
	next := b.take()
	b.mu.Unlock()
	go b.serve(next)
}

// run answers every read of batch. Reads change nothing, so those whose
// connection broke under them (the server restarted, say) are tried again
// on another: each broken connection leaves the pool, so within maxTries
// the reads reach a new one.
func (b *memberBatcher) run(batch []*memberRead) {
	if b.beforeBatch != nil {
		b.beforeBatch(len(batch))
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	for try := 1; len(batch) > 0; try++ {
		batch = b.runOn(ctx, batch, try == b.maxTries)
	}
}

// runOn reads batch on one connection and answers its reads, except, unless
// last, those that failed because the connection broke: it returns those.
func (b *memberBatcher) runOn(ctx context.Context, batch []*memberRead, last bool) (retry []*memberRead) {
	answers := make([]memberResult, len(batch))
	broken := false
	conn, err := b.db.Conn(ctx)
	if err != nil {
		for i := range answers {
			answers[i].err = err
		}
	} else {
		// A connection that broke is closed by pgx, and database/sql then
		// drops it from the pool.
		_ = conn.Raw(func(dc any) error {
			c := dc.(*stdlib.Conn).Conn()
			query(ctx, c, batch, answers)
			broken = c.IsClosed()
			return nil
		})
		conn.Close()
	}
	for i, r := range batch {
		if broken && !last && failed(answers[i].err) {
			retry = append(retry, r)
			continue
		}
		r.out <- answers[i]
	}
	return retry
}

// query reads batch on c into answers: alone, or as one pipeline. A
// statement that fails makes the server skip the rest of a pipeline, so
// the reads that failed are then read alone, and one bad read cannot fail
// its neighbours.
func query(ctx context.Context, c *pgx.Conn, batch []*memberRead, answers []memberResult) {
	read := func(id string) memberResult {
		row, err := scanMember(c.QueryRow(ctx, memberByID, id))
		return memberResult{row, err}
	}
	if len(batch) == 1 {
		answers[0] = read(batch[0].id)
		return
	}
	var pb pgx.Batch
	for _, r := range batch {
		pb.Queue(memberByID, r.id)
	}
	br := c.SendBatch(ctx, &pb)
	for i := range batch {
		row, err := scanMember(br.QueryRow())
		answers[i] = memberResult{row, err}
	}
	_ = br.Close() // its error is that of the reads that failed
	for i, r := range batch {
		if failed(answers[i].err) && !c.IsClosed() {
			answers[i] = read(r.id)
		}
	}
}

// failed reports an error other than the member not being there.
func failed(err error) bool { return err != nil && !errors.Is(err, loyalty.ErrMemberNotFound) }

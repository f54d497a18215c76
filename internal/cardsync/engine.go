// Package cardsync is passd's sync engine: it makes every installed copy of
// a card show what the ledger says. Changes mark a card dirty by raising its
// wanted version in the same transaction as the change (internal/store);
// the engine's workers claim due dirty cards per channel, deliver them
// (Apple: APNs pushes; Google: object patches) and record the version
// delivered. Failures back off exponentially with jitter per card and end,
// after a bounded number of tries, in a visible error state. Work lives in
// the database, so a crash loses nothing and several passd instances share
// it through PostgreSQL's SKIP LOCKED.
package cardsync

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// Deliverer delivers one card's current version on one channel.
type Deliverer interface {
	Deliver(ctx context.Context, job loyalty.SyncJob) error
}

// DeliverFunc adapts a function to Deliverer.
type DeliverFunc func(ctx context.Context, job loyalty.SyncJob) error

// Deliver calls f.
func (f DeliverFunc) Deliver(ctx context.Context, job loyalty.SyncJob) error { return f(ctx, job) }

// RetryError asks for a later retry; After, when set, is the least wait
// (APNs Retry-After, or a slow retry for certificate problems).
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return "retry later: " + e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// ErrPermanent marks a failure that retrying will not fix; the card goes to
// the error state at once.
var ErrPermanent = errors.New("permanent delivery failure")

// Store is what the engine needs of passd's store.
type Store interface {
	ClaimDue(ctx context.Context, channel string, limit int, lease time.Duration) ([]loyalty.SyncJob, error)
	Complete(ctx context.Context, job loyalty.SyncJob) error
	Fail(ctx context.Context, job loyalty.SyncJob, errText string, retryAt time.Time, giveUp bool) error
}

// BatchCompleter is a Store that can record many deliveries at once, in
// one transaction. When the engine's store is one, each claimed batch's
// successful deliveries are recorded together after the batch instead of
// one transaction per card: a message to a whole program is otherwise
// bound by one commit (on SQLite one fsync, taken one writer at a time)
// per card. Jobs whose row is gone are skipped, as Complete's ErrNotFound
// is harmless. A crash between the pushes and that commit re-pushes the
// batch after the lease, as one between a push and Complete does for one
// card.
type BatchCompleter interface {
	CompleteMany(ctx context.Context, jobs []loyalty.SyncJob) error
}

// BatchDeliverer is a Deliverer that delivers a whole claimed batch at
// once (the Apple channel: one registrations query and one PushMany), and
// answers one error per job, nil for a delivered card. The engine records
// each card's outcome as if Deliver had answered it.
type BatchDeliverer interface {
	Deliverer
	DeliverBatch(ctx context.Context, jobs []loyalty.SyncJob) []error
}

// NextDuer is a Store that answers when the next card of a channel is due
// (leases included). With one, an idle worker sleeps until then, at most
// Config.Poll, instead of a whole poll: a card is delivered as soon as its
// debounce ends.
type NextDuer interface {
	NextDue(ctx context.Context, channel string) (due time.Time, ok bool, err error)
}

// Observer is told the outcome of every delivery (metrics).
type Observer interface {
	Delivered(channel string, d time.Duration)
	Failed(channel string, gaveUp bool)
}

// Config tunes the engine; zero values take the defaults.
type Config struct {
	Store    Store
	Channels map[string]Deliverer
	Logger   *slog.Logger
	Now      func() time.Time
	Observer Observer
	// Poll is how often workers look for due cards when nobody woke them.
	Poll time.Duration
	// Batch is how many cards a worker claims at once.
	Batch int
	// Concurrency is how many cards a channel delivers at the same time
	// (per batch; a BatchDeliverer bounds its own).
	Concurrency int
	// Pipeline is how many claimed batches a channel works on at once: the
	// next batch is claimed and delivered while the previous one finishes
	// and is recorded. 3 when zero.
	Pipeline int
	// Lease is how long a claimed card stays claimed before another worker
	// may take it (a crashed worker's cards come back after it).
	Lease time.Duration
	// MaxAttempts bounds the tries of one version before the error state.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff.
	BackoffBase, BackoffMax time.Duration
}

// Engine runs the sync workers.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	wake map[string]chan struct{}
}

// New returns an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || len(cfg.Channels) == 0 {
		return nil, errors.New("cardsync: a store and at least one channel are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Pipeline <= 0 {
		cfg.Pipeline = 3
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 2 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Hour
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, now: cfg.Now, wake: map[string]chan struct{}{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	for ch := range cfg.Channels {
		e.wake[ch] = make(chan struct{}, 1)
	}
	return e, nil
}

// Wake makes every channel look for due cards now instead of at its next
// poll. It never blocks.
func (e *Engine) Wake() {
	for _, c := range e.wake {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Run works until ctx ends; deliveries under way get their own context, so
// a soft stop lets them finish (at most the delivery timeout).
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for ch, d := range e.cfg.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loop(ctx, ch, d)
		}()
	}
	wg.Wait()
}

// loop claims and delivers a channel's due cards until ctx ends, with up
// to Pipeline batches under way; then waits for deliveries under way.
func (e *Engine) loop(ctx context.Context, channel string, d Deliverer) {
	slots := make(chan struct{}, e.cfg.Pipeline)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.wake[channel]:
		}
		failed := false
		for ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			jobs, err := e.cfg.Store.ClaimDue(ctx, channel, e.cfg.Batch, e.cfg.Lease)
			if err != nil && ctx.Err() == nil {
				e.log.Error("sync: claim failed", "channel", channel, "err", err)
			}
			if err != nil || len(jobs) == 0 {
				<-slots
				failed = err != nil
				break
			}
			wg.Go(func() {
				defer func() {
					<-slots
					// Cards of the batch may be due again (changed
					// meanwhile, or a quick retry): look at once.
					e.wakeChannel(channel)
				}()
				e.process(ctx, channel, d, jobs)
			})
			if len(jobs) < e.cfg.Batch {
				break // drained: wait for a wake-up or the next due card
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		wait := e.cfg.Poll
		if !failed && ctx.Err() == nil {
			wait = e.nextWait(ctx, channel)
		}
		timer.Reset(wait)
	}
}

func (e *Engine) wakeChannel(channel string) {
	select {
	case e.wake[channel] <- struct{}{}:
	default:
	}
}

// nextWait answers how long an idle worker sleeps: until the channel's
// next card is due, at most Poll.
func (e *Engine) nextWait(ctx context.Context, channel string) time.Duration {
	nd, ok := e.cfg.Store.(NextDuer)
	if !ok {
		return e.cfg.Poll
	}
	due, ok, err := nd.NextDue(ctx, channel)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("sync: next due card", "channel", channel, "err", err)
		}
		return e.cfg.Poll
	}
	if !ok {
		return e.cfg.Poll
	}
	wait := due.Sub(e.now())
	if wait <= 0 {
		// Due but not claimed: it became due just now, or another
		// instance is claiming it. Look again shortly.
		return min(e.cfg.Poll, 25*time.Millisecond)
	}
	// A little past the due time, so the store's clock sees it due.
	return min(e.cfg.Poll, wait+time.Millisecond)
}

// RunOnce claims one batch of due cards of a channel and delivers them,
// answering how many it claimed. Tests call it to step the engine.
func (e *Engine) RunOnce(ctx context.Context, channel string, d Deliverer) (int, error) {
	jobs, err := e.cfg.Store.ClaimDue(ctx, channel, e.cfg.Batch, e.cfg.Lease)
	if err != nil {
		return 0, err
	}
	e.process(ctx, channel, d, jobs)
	return len(jobs), nil
}

// process delivers a claimed batch and records every card's outcome.
// Deliveries get a context that ctx's end does not cancel.
func (e *Engine) process(ctx context.Context, channel string, d Deliverer, jobs []loyalty.SyncJob) {
	if len(jobs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	bc, batched := e.cfg.Store.(BatchCompleter)
	var (
		mu   sync.Mutex
		done []loyalty.SyncJob
		took []time.Duration
	)
	var delivered func(loyalty.SyncJob, time.Duration)
	if batched {
		delivered = func(job loyalty.SyncJob, d time.Duration) {
			mu.Lock()
			done = append(done, job)
			took = append(took, d)
			mu.Unlock()
		}
	}
	sem := make(chan struct{}, e.cfg.Concurrency)
	var wg sync.WaitGroup
	if bd, ok := d.(BatchDeliverer); ok {
		bctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		start := e.now()
		errs := bd.DeliverBatch(bctx, jobs)
		cancel()
		elapsed := e.now().Sub(start)
		for i, job := range jobs {
			var err error
			if i < len(errs) {
				err = errs[i]
			} else {
				err = errors.New("no outcome from the batch delivery")
			}
			if err == nil && batched {
				delivered(job, elapsed)
				continue
			}
			// A failure, or a success without CompleteMany: one store
			// write each.
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				rctx, cancel := context.WithTimeout(ctx, deliverTimeout)
				defer cancel()
				e.record(rctx, job, err, elapsed, nil)
			})
		}
	} else {
		for _, job := range jobs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				e.deliver(ctx, d, job, delivered)
			})
		}
	}
	wg.Wait()
	if len(done) > 0 {
		cctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		defer cancel()
		if err := bc.CompleteMany(cctx, done); err != nil {
			// As for Complete: the cards stay leased and are delivered
			// again when the lease ends.
			e.log.Error("sync: record deliveries", "channel", channel, "cards", len(done), "err", err)
		} else if e.cfg.Observer != nil {
			for _, d := range took {
				e.cfg.Observer.Delivered(channel, d)
			}
		}
	}
}

// deliverTimeout bounds one card's delivery, and one batch's.
const deliverTimeout = 30 * time.Second

// deliver delivers one card and records the outcome; with delivered set,
// a success is handed to it to be recorded with the batch instead.
func (e *Engine) deliver(ctx context.Context, d Deliverer, job loyalty.SyncJob, delivered func(loyalty.SyncJob, time.Duration)) {
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	start := e.now()
	err := d.Deliver(ctx, job)
	e.record(ctx, job, err, e.now().Sub(start), delivered)
}

// record records a card's delivery outcome err, after took; with
// delivered set, a success is handed to it instead.
func (e *Engine) record(ctx context.Context, job loyalty.SyncJob, err error, took time.Duration, delivered func(loyalty.SyncJob, time.Duration)) {
	if err == nil && delivered != nil {
		delivered(job, took)
		return
	}
	if err == nil {
		if err := e.cfg.Store.Complete(ctx, job); err != nil {
			e.log.Error("sync: record delivery", "channel", job.Channel, "member_id", job.MemberID, "err", err)
			return
		}
		if e.cfg.Observer != nil {
			e.cfg.Observer.Delivered(job.Channel, took)
		}
		return
	}
	attempt := job.Attempts + 1
	giveUp := errors.Is(err, ErrPermanent) || attempt >= e.cfg.MaxAttempts
	wait := e.Backoff(attempt)
	var re *RetryError
	if errors.As(err, &re) && re.After > wait {
		wait = re.After
	}
	retryAt := e.now().Add(wait)
	if giveUp {
		e.log.Error("sync: delivery failed for good; card in error state", "channel", job.Channel,
			"member_id", job.MemberID, "version", job.WantedVersion, "attempts", attempt, "err", err)
	} else {
		e.log.Warn("sync: delivery failed; will retry", "channel", job.Channel, "member_id", job.MemberID,
			"attempt", attempt, "retry_in", wait.Round(time.Millisecond).String(), "err", err)
	}
	if err := e.cfg.Store.Fail(ctx, job, truncate(err.Error(), 500), retryAt, giveUp); err != nil {
		e.log.Error("sync: record failure", "channel", job.Channel, "member_id", job.MemberID, "err", err)
	}
	if e.cfg.Observer != nil {
		e.cfg.Observer.Failed(job.Channel, giveUp)
	}
}

// Backoff is the wait before try attempt+1: base * 2^(attempt-1), capped,
// with ±20% jitter so that cards failing together do not retry together.
func (e *Engine) Backoff(attempt int) time.Duration {
	d := e.cfg.BackoffBase
	for i := 1; i < attempt && d < e.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, e.cfg.BackoffMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

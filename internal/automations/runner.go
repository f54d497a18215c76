// Package automations runs passd's time-driven work: points that expire and
// their reminders, birthday and dormancy bonuses, vouchers that lapse and
// tier reviews. Each kind is a Job over due rows (an index on a due column
// or a row per pending job); a Job claims what is due at the injected
// clock's time and writes each item under a unique key (lot id, member and
// year, member and spell), in the same transaction as its effect, so a
// crash or a second instance can never do it twice.
//
// The Runner only decides when to look. It never decides a rule: the rules
// live in internal/loyalty and balances, the locking in internal/store.
package automations

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// DefaultPoll is how often the Runner looks for due work unprompted; with
// a batch drained at once, due work is done well within a minute.
const DefaultPoll = 15 * time.Second

// DefaultLimit is how many items one RunDue call may do.
const DefaultLimit = 200

// Job is one kind of time-driven work.
type Job interface {
	// Name names the job in logs and metrics ("expire", "birthday", ...).
	Name() string
	// RunDue does at most limit items due at now and reports how many it
	// did. Doing an item twice must be impossible (a unique key or a
	// locked due row), so RunDue may run on several instances at once.
	RunDue(ctx context.Context, now time.Time, limit int) (int, error)
}

// Runner polls its jobs.
type Runner struct {
	jobs  []Job
	now   func() time.Time
	poll  time.Duration
	limit int
	log   *slog.Logger
	wake  chan struct{}
	// OnDone, when set, is called after a pass that did work (the server
	// wakes the sync engine with it, since most jobs change cards).
	OnDone func()
}

// Config configures a Runner; zero values take the defaults.
type Config struct {
	Now    func() time.Time
	Poll   time.Duration
	Limit  int
	Logger *slog.Logger
}

// New makes a Runner of jobs.
func New(cfg Config, jobs ...Job) *Runner {
	r := &Runner{jobs: jobs, now: cfg.Now, poll: cfg.Poll, limit: cfg.Limit, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if r.now == nil {
		r.now = time.Now
	}
	if r.poll <= 0 {
		r.poll = DefaultPoll
	}
	if r.limit <= 0 {
		r.limit = DefaultLimit
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Add adds jobs; call it before Run.
func (r *Runner) Add(jobs ...Job) { r.jobs = append(r.jobs, jobs...) }

// Wake makes the Runner look now (a test that moved its clock, or a change
// that made something due).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// RunOnce drains every job of what is due at the clock's time and reports
// how many items were done in all. A job's error is logged and returned
// (joined) after the other jobs have run.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, j := range r.jobs {
		for {
			n, err := j.RunDue(ctx, r.now(), r.limit)
			total += n
			if err != nil {
				if ctx.Err() == nil {
					r.log.Error("time-driven job failed", "job", j.Name(), "err", err)
				}
				errs = append(errs, err)
				break
			}
			if n < r.limit || ctx.Err() != nil {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

// Run polls until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		if n, _ := r.RunOnce(ctx); n > 0 && r.OnDone != nil {
			r.OnDone()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

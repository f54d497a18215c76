// Package lease decides which passd instances are alive, so that work a
// crashed instance had claimed goes back to the pool within seconds instead
// of when its lease runs out.
//
// Claimed work (a sync job today; webhook deliveries may follow) records
// its owner, the claiming instance's id, beside its lease time. Every
// instance registers in the store and heart-beats every Beat. An instance
// is dead when
//
//   - its last heartbeat is older than DeadAfter (it hung, lost its
//     network, or was killed), or
//   - the store reports its database session gone (PostgreSQL: the session
//     the instance holds open for its heartbeats is no longer in
//     pg_stat_activity, which happens as soon as its process dies), or
//   - a local proof says so (SQLite: the instance's lock file in the data
//     folder is no longer locked, which the kernel ensures on any exit,
//     kill -9 included).
//
// At every beat each instance releases the claims of the dead ones (they
// are due at once, with no owner) and forgets those instances. A restarted
// process does this before it serves, so it takes a crashed predecessor's
// claims back at once.
//
// Work done inside one transaction (the time-driven jobs of
// internal/automations) holds no lease and needs none of this: a crash
// rolls it back and the next pass redoes it.
package lease

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Defaults: a heartbeat every 3 s, dead after 12 s without one, so that a
// hung instance's work is back within 15 s.
const (
	DefaultBeat      = 3 * time.Second
	DefaultDeadAfter = 12 * time.Second
)

// Instance is a passd process as the store knows it.
type Instance struct {
	ID          string
	Host        string
	PID         int
	StartedAt   time.Time
	HeartbeatAt time.Time
	// SessionGone reports that the database session the instance heart-beats
	// on has ended (PostgreSQL only; always false on SQLite).
	SessionGone bool
}

// Store keeps the instances and the claims.
type Store interface {
	// Heartbeat records inst (inserting it the first time) with
	// HeartbeatAt as its last heartbeat.
	Heartbeat(ctx context.Context, inst Instance) error
	// Instances lists the registered instances.
	Instances(ctx context.Context) ([]Instance, error)
	// ReleaseInstances makes every claim owned by ids due at once with no
	// owner, and forgets those instances, in one transaction; it answers
	// how many claims it released.
	ReleaseInstances(ctx context.Context, ids []string) (int64, error)
}

// Config configures a Registry; zero values take the defaults.
type Config struct {
	Store Store
	// ID is this instance's id, the owner its claims record.
	ID  string
	Now func() time.Time
	// Beat is how often the instance heart-beats and looks for dead ones.
	Beat time.Duration
	// DeadAfter is how old a last heartbeat makes an instance dead.
	DeadAfter time.Duration
	// Alive, when set, proves another instance alive or dead locally
	// (SQLite's lock files); known is false when it cannot tell.
	Alive func(id string) (alive, known bool)
	// OnReleased runs after claims were released (to wake the workers).
	OnReleased func()
	Logger     *slog.Logger
}

// Registry registers this instance and releases dead instances' claims.
type Registry struct {
	cfg     Config
	started time.Time
	host    string
}

// New returns a Registry; Step registers it, Run keeps it alive.
func New(cfg Config) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Beat <= 0 {
		cfg.Beat = DefaultBeat
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Registry{cfg: cfg, started: cfg.Now(), host: host}
}

// ID is this instance's id.
func (r *Registry) ID() string { return r.cfg.ID }

// Dead answers the ids of the instances of list that are dead at now,
// never this one.
func (r *Registry) Dead(list []Instance, now time.Time) []string {
	var dead []string
	for _, in := range list {
		if in.ID == r.cfg.ID {
			continue
		}
		gone := in.SessionGone || now.Sub(in.HeartbeatAt) > r.cfg.DeadAfter
		if !gone && r.cfg.Alive != nil {
			if alive, known := r.cfg.Alive(in.ID); known && !alive {
				gone = true
			}
		}
		if gone {
			dead = append(dead, in.ID)
		}
	}
	return dead
}

// Step heart-beats once and releases the claims of the instances that are
// dead, answering how many claims it released.
func (r *Registry) Step(ctx context.Context) (int64, error) {
	now := r.cfg.Now()
	if err := r.cfg.Store.Heartbeat(ctx, Instance{
		ID: r.cfg.ID, Host: r.host, PID: os.Getpid(), StartedAt: r.started, HeartbeatAt: now,
	}); err != nil {
		return 0, fmt.Errorf("lease heartbeat: %w", err)
	}
	list, err := r.cfg.Store.Instances(ctx)
	if err != nil {
		return 0, fmt.Errorf("lease: list instances: %w", err)
	}
	dead := r.Dead(list, now)
	if len(dead) == 0 {
		return 0, nil
	}
	n, err := r.cfg.Store.ReleaseInstances(ctx, dead)
	if err != nil {
		return 0, fmt.Errorf("lease: release dead instances: %w", err)
	}
	r.cfg.Logger.InfoContext(ctx, "released the claims of stopped instances", "instances", len(dead), "claims", n)
	if n > 0 && r.cfg.OnReleased != nil {
		r.cfg.OnReleased()
	}
	return n, nil
}

// Run heart-beats every Beat until ctx ends; a failed beat is logged and
// tried again at the next (the database may be restarting).
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Step(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "lease heartbeat failed; will retry", "err", err)
		}
	}
}

// Leave releases this instance's own remaining claims and forgets it: a
// clean stop hands its work over at once.
func (r *Registry) Leave(ctx context.Context) error {
	if _, err := r.cfg.Store.ReleaseInstances(ctx, []string{r.cfg.ID}); err != nil {
		return fmt.Errorf("lease: leave: %w", err)
	}
	return nil
}

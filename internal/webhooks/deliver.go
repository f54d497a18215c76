package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one attempt: no answer within it is a timeout,
	// retried.
	DefaultTimeout = 10 * time.Second
	// DefaultPoll is how often workers look for due deliveries unprompted
	// (retries coming due, other instances' events).
	DefaultPoll = time.Second
	// DefaultWorkers bounds the deliveries in flight in one instance.
	DefaultWorkers = 16
	// DefaultPerEndpoint bounds the connections (and deliveries in flight)
	// to one endpoint from one instance.
	DefaultPerEndpoint = 4
	// RetryWindow is how long after its event a delivery is retried.
	RetryWindow = 24 * time.Hour
	// leaseMargin is how long a claim outlives the attempt's timeout, so
	// no other worker claims a delivery while its attempt can still run.
	leaseMargin = 5 * time.Second
	// busyDelay is when a delivery given back for its endpoint's bound is
	// due again.
	busyDelay = 250 * time.Millisecond
	// maxBody bounds the receiver's answer read (and then discarded).
	maxBody = 64 << 10
)

// Store is what delivery needs of the store.
type Store interface {
	ClaimWebhooks(ctx context.Context, limit int, lease time.Duration) ([]store.WebhookDelivery, error)
	RecordWebhookAttempt(ctx context.Context, d store.WebhookDelivery, a store.WebhookAttempt, o store.WebhookOutcome) error
	ReleaseWebhook(ctx context.Context, d store.WebhookDelivery, at time.Time) error
}

// Config holds a Deliverer's dependencies; zero values take the defaults.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// AllowHTTP lets plain http reach loopback and private addresses
	// (PASSD_WEBHOOK_ALLOW_HTTP).
	AllowHTTP bool
	// TLSConfig is the https client's (nil: the system's roots); tests
	// trust their receiver's certificate with it.
	TLSConfig   *tls.Config
	Timeout     time.Duration
	Poll        time.Duration
	Workers     int
	PerEndpoint int
	// Observe, when set, is told each attempt's outcome: "delivered",
	// "retry", "failed" or "disabled".
	Observe func(outcome string)
}

// Deliverer delivers the outbox.
type Deliverer struct {
	cfg       Config
	client    *http.Client
	transport *transport
	lease     time.Duration
	wake      chan struct{}
	slots     chan struct{}

	mu        sync.Mutex
	endpoints map[string]int
}

// New returns a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhooks: a store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PerEndpoint <= 0 {
		cfg.PerEndpoint = DefaultPerEndpoint
	}
	t := newTransport(net.DefaultResolver, cfg.TLSConfig, cfg.AllowHTTP, cfg.PerEndpoint)
	return &Deliverer{
		cfg: cfg, transport: t, lease: cfg.Timeout + leaseMargin,
		client: &http.Client{
			Transport: t,
			Timeout:   cfg.Timeout,
			// A redirect would reach an address nobody subscribed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		wake:      make(chan struct{}, 1),
		slots:     make(chan struct{}, cfg.Workers),
		endpoints: map[string]int{},
	}, nil
}

// Wake makes a running Deliverer look for due deliveries now (a change
// was committed).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight
// (which end with ctx: an attempt cut short is not recorded, and its
// delivery is claimed again once its lease runs out, with the same
// webhook-id).
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		d.transport.closeIdle()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if _, err := d.dispatch(ctx, &wg); err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "claim webhook deliveries", "err", err)
		}
		timer.Reset(d.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// RunOnce claims what is due and delivers it, and waits for those
// attempts; it answers how many it claimed. Tests drive delivery with it
// after moving their clock.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	n, err := d.dispatch(ctx, &wg)
	wg.Wait()
	return n, err
}

// dispatch claims as many due deliveries as there are free workers and
// starts an attempt at each, in wg.
func (d *Deliverer) dispatch(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	free := cap(d.slots) - len(d.slots)
	if free == 0 {
		return 0, nil
	}
	ds, err := d.cfg.Store.ClaimWebhooks(ctx, free, d.lease)
	if err != nil {
		return 0, err
	}
	for _, dv := range ds {
		if !d.acquire(dv.EndpointID) {
			// The endpoint has its bound of attempts in flight: give the
			// delivery back for a moment.
			if err := d.cfg.Store.ReleaseWebhook(ctx, dv, d.cfg.Now().Add(busyDelay)); err != nil {
				d.cfg.Logger.WarnContext(ctx, "release webhook delivery", "err", err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.release(dv.EndpointID)
			d.attempt(ctx, dv)
		}()
	}
	return len(ds), nil
}

// acquire takes a worker slot and one of the endpoint's, or nothing.
func (d *Deliverer) acquire(endpoint string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.endpoints[endpoint] >= d.cfg.PerEndpoint {
		return false
	}
	select {
	case d.slots <- struct{}{}:
	default:
		return false
	}
	d.endpoints[endpoint]++
	return true
}

func (d *Deliverer) release(endpoint string) {
	d.mu.Lock()
	if d.endpoints[endpoint]--; d.endpoints[endpoint] <= 0 {
		delete(d.endpoints, endpoint)
	}
	<-d.slots
	d.mu.Unlock()
	d.Wake()
}

// body is what a delivery posts.
type body struct {
	ID        string            `json:"id"`
	Type      loyalty.EventType `json:"type"`
	CreatedAt time.Time         `json:"created_at"`
	Data      json.RawMessage   `json:"data"`
}

// attempt posts one delivery and records the attempt and its outcome.
func (d *Deliverer) attempt(ctx context.Context, dv store.WebhookDelivery) {
	now := d.cfg.Now()
	a := store.WebhookAttempt{EndpointID: dv.EndpointID, EventID: dv.EventID, Type: dv.Type, AttemptedAt: now}
	status, retryAfter, err := d.post(ctx, dv, now)
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut, not answered. The lease
		// runs out and the delivery is claimed again.
		return
	}
	a.Status, a.Duration = status, d.cfg.Now().Sub(now)
	if err != nil {
		a.Error = err.Error()
	}
	o := Decide(status, err, retryAfter, dv.CreatedAt, dv.Attempts+1, d.cfg.Now())
	if err := d.cfg.Store.RecordWebhookAttempt(ctx, dv, a, o); err != nil {
		d.cfg.Logger.WarnContext(ctx, "record webhook attempt", "endpoint", dv.EndpointID, "event", dv.EventID, "err", err)
		return
	}
	outcome := o.State
	switch {
	case o.DisableEndpoint != "":
		outcome = "disabled"
		d.cfg.Logger.InfoContext(ctx, "webhook endpoint disabled", "endpoint", dv.EndpointID, "reason", o.DisableEndpoint)
	case o.State == store.WebhookPending:
		outcome = "retry"
	}
	if outcome != store.WebhookDelivered {
		d.cfg.Logger.DebugContext(ctx, "webhook attempt", "endpoint", dv.EndpointID, "event", dv.EventID,
			"status", status, "outcome", outcome, "err", a.Error)
	}
	if d.cfg.Observe != nil {
		d.cfg.Observe(outcome)
	}
}

// post sends a delivery signed at now and answers the receiver's status
// (0 when none came), its Retry-After and the transport's error.
func (d *Deliverer) post(ctx context.Context, dv store.WebhookDelivery, now time.Time) (int, string, error) {
	key, err := loyalty.WebhookSecretKey(dv.Secret)
	if err != nil {
		return 0, "", err
	}
	b, err := json.Marshal(body{ID: dv.EventID, Type: dv.Type, CreatedAt: dv.CreatedAt.UTC(), Data: dv.Data})
	if err != nil {
		return 0, "", fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dv.URL, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "passd-webhooks")
	req.Header.Set(HeaderID, dv.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(key, dv.EventID, ts, b))
	res, err := d.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	return res.StatusCode, res.Header.Get("Retry-After"), nil
}

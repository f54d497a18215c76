package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/internal/webhooks/webhookstest"
)

// The Standard Webhooks specification's published test vector.
func TestSignStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	key, err := loyalty.WebhookSecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign(vector) = %q, want %q", got, want)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	created := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := created.Add(time.Minute)
	failed := store.WebhookOutcome{State: store.WebhookFailed}
	retry := func(d time.Duration) store.WebhookOutcome {
		return store.WebhookOutcome{State: store.WebhookPending, RetryAt: now.Add(d)}
	}
	tests := []struct {
		name       string
		status     int
		err        error
		retryAfter string
		attempts   int
		now        time.Time
		want       store.WebhookOutcome
	}{
		{"ok", 200, nil, "", 1, now, store.WebhookOutcome{State: store.WebhookDelivered}},
		{"no content", 204, nil, "", 3, now, store.WebhookOutcome{State: store.WebhookDelivered}},
		{"gone", 410, nil, "", 1, now, store.WebhookOutcome{State: store.WebhookFailed, DisableEndpoint: "the receiver answered 410 Gone"}},
		{"server error first", 500, nil, "", 1, now, retry(5 * time.Second)},
		{"unavailable third", 503, nil, "", 3, now, retry(2 * time.Minute)},
		{"timeout", 0, errors.New("timeout"), "", 2, now, retry(30 * time.Second)},
		{"late attempts every 4h", 502, nil, "", 20, now, retry(4 * time.Hour)},
		{"too many, seconds", 429, nil, "120", 1, now, retry(2 * time.Minute)},
		{"unavailable, date", 503, nil, now.Add(time.Hour).Format(http.TimeFormat), 1, now, retry(time.Hour)},
		{"too many, bad header", 429, nil, "soon", 2, now, retry(30 * time.Second)},
		{"retry-after past the window", 429, nil, "90000", 1, now, failed},
		{"window over", 503, nil, "", 9, created.Add(RetryWindow - time.Hour), failed},
		{"window not over", 503, nil, "", 1, created.Add(RetryWindow - time.Hour), store.WebhookOutcome{State: store.WebhookPending, RetryAt: created.Add(RetryWindow - time.Hour + 5*time.Second)}},
		{"not found", 404, nil, "", 1, now, failed},
		{"redirect", 301, nil, "", 1, now, failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.status, tc.err, tc.retryAfter, created, tc.attempts, tc.now)
			if got != tc.want {
				t.Errorf("Decide(%d, %v, %q, attempt %d) = %+v, want %+v", tc.status, tc.err, tc.retryAfter, tc.attempts, got, tc.want)
			}
		})
	}
}

// fakeResolver answers addrs for every name.
type fakeResolver []netip.Addr

func (f fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return f, nil
}

func TestGuardedDial(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	addr := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	tests := []struct {
		name  string
		addrs fakeResolver
		host  string
		plain bool
		ok    bool
	}{
		{"loopback name over http", fakeResolver{addr("127.0.0.1")}, "receiver.test", true, true},
		{"loopback over https", fakeResolver{addr("127.0.0.1")}, "receiver.test", false, true},
		{"metadata name (rebinding)", fakeResolver{addr("169.254.169.254")}, "receiver.test", false, false},
		{"one bad address among good", fakeResolver{addr("127.0.0.1"), addr("169.254.169.254")}, "receiver.test", false, false},
		{"alibaba metadata", fakeResolver{addr("100.100.100.200")}, "receiver.test", false, false},
		{"ipv6 link-local", fakeResolver{addr("fe80::1")}, "receiver.test", false, false},
		{"mapped link-local", fakeResolver{addr("::ffff:169.254.1.1")}, "receiver.test", false, false},
		{"public over http", fakeResolver{addr("8.8.8.8")}, "receiver.test", true, false},
		{"literal metadata", nil, "169.254.169.254", false, false},
		{"unspecified", fakeResolver{addr("0.0.0.0")}, "receiver.test", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := guardedDial(tc.addrs, tc.plain)(ctx, "tcp", net.JoinHostPort(tc.host, port))
			if c != nil {
				c.Close()
			}
			if tc.ok && err != nil {
				t.Errorf("dial = %v, want a connection", err)
			}
			if !tc.ok && !errors.Is(err, loyalty.ErrWebhookAddr) {
				t.Errorf("dial = %v, want ErrWebhookAddr", err)
			}
		})
	}
}

// rig is a store, an endpoint on a receiver and a deliverer, on one
// settable clock.
type rig struct {
	clock    *testkit.Clock
	store    *store.Store
	endpoint loyalty.WebhookEndpoint
	d        *Deliverer
	rc       *webhookstest.Receiver
}

func newRig(t *testing.T, cfg Config, tls bool, answer webhookstest.Answer) *rig {
	t.Helper()
	r := &rig{clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second))}
	r.store = testkit.OpenSQLite(t, store.Options{Now: r.clock.Now})
	r.rc = webhookstest.New(t, tls, answer)
	secret, err := loyalty.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	if r.endpoint, err = r.store.CreateWebhook(context.Background(), loyalty.WebhookEndpoint{ID: uuid.NewString(), Program: "demo",
		URL: r.rc.URL("/hook"), Events: loyalty.EventTypes(), Secret: secret}); err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Now = r.store, r.clock.Now
	if tls {
		cfg.TLSConfig = r.rc.TLSConfig()
	}
	if r.d, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) runOnce(t *testing.T) int {
	t.Helper()
	n, err := r.d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce = %v", err)
	}
	return n
}

func (r *rig) post(t *testing.T, memberID string, points int64) {
	t.Helper()
	if _, err := r.store.Post(context.Background(), memberID, uuid.NewString(), "h", balances.Request{Type: balances.Earn, Points: points}, storetest.Rules); err != nil {
		t.Fatal(err)
	}
}

// verify checks a delivery as a receiver would and answers its body.
func verify(t *testing.T, secret string, d webhookstest.Delivery) webhookstest.Event {
	t.Helper()
	ev, err := webhookstest.Verify(secret, d)
	if err != nil {
		t.Errorf("Verify = %v", err)
	}
	return ev
}

func TestDeliverSignedInOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{}, true, nil)
	m := storetest.NewMember(t, r.store, "demo")
	r.post(t, m.ID, 150) // Bronze to Silver
	for r.runOnce(t) > 0 {
	}
	var types []string
	for _, d := range r.rc.Deliveries() {
		body := verify(t, r.endpoint.Secret, d)
		types = append(types, body.Type)
		ts, _ := strconv.ParseInt(d.Header.Get("webhook-timestamp"), 10, 64)
		if ts != r.clock.Now().Unix() {
			t.Errorf("webhook-timestamp = %d, want the clock's %d", ts, r.clock.Now().Unix())
		}
		if body.Data["member_id"] != m.ID {
			t.Errorf("data = %v, want member_id %s", body.Data, m.ID)
		}
	}
	if got := strings.Join(types, " "); got != "member.enrolled transaction.posted tier.changed" {
		t.Errorf("received %s", got)
	}
}

func TestRetryKeepsTheIDAndHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{}, true, func(n int, _ webhookstest.Delivery) (int, http.Header) {
		switch n {
		case 0:
			return 503, nil
		case 1:
			return 429, http.Header{"Retry-After": {"120"}}
		}
		return 200, nil
	})
	storetest.NewMember(t, r.store, "demo")
	if n := r.runOnce(t); n != 1 {
		t.Fatalf("first pass claimed %d", n)
	}
	// Not due before the backoff.
	r.clock.Add(Backoff(1) - time.Second)
	if n := r.runOnce(t); n != 0 {
		t.Fatalf("pass before the backoff claimed %d", n)
	}
	r.clock.Add(time.Second)
	if n := r.runOnce(t); n != 1 {
		t.Fatalf("pass after the backoff claimed %d", n)
	}
	// The 429 said 120 s, longer than the backoff's 30 s.
	r.clock.Add(119 * time.Second)
	if n := r.runOnce(t); n != 0 {
		t.Fatalf("pass before Retry-After claimed %d", n)
	}
	r.clock.Add(time.Second)
	if n := r.runOnce(t); n != 1 {
		t.Fatalf("pass at Retry-After claimed %d", n)
	}
	ds := r.rc.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("received %d attempts, want 3", len(ds))
	}
	for _, d := range ds {
		verify(t, r.endpoint.Secret, d)
		if d.Header.Get("webhook-id") != ds[0].Header.Get("webhook-id") || string(d.Body) != string(ds[0].Body) {
			t.Errorf("attempt carries id %q body %s, want the first's", d.Header.Get("webhook-id"), d.Body)
		}
	}
	log, err := r.store.WebhookAttempts(context.Background(), r.endpoint.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, a := range log {
		statuses = append(statuses, a.Status)
	}
	if len(statuses) != 3 || statuses[0] != 200 || statuses[1] != 429 || statuses[2] != 503 {
		t.Errorf("attempts log statuses = %v, want [200 429 503]", statuses)
	}
	if n := r.runOnce(t); n != 0 {
		t.Errorf("pass after delivery claimed %d", n)
	}
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{}, true, func(int, webhookstest.Delivery) (int, http.Header) { return 410, nil })
	m := storetest.NewMember(t, r.store, "demo")
	r.runOnce(t)
	r.post(t, m.ID, 5)
	r.clock.Add(time.Hour)
	if n := r.runOnce(t); n != 0 {
		t.Errorf("pass after a 410 claimed %d", n)
	}
	if got := len(r.rc.Deliveries()); got != 1 {
		t.Errorf("receiver got %d requests, want 1", got)
	}
	e, err := r.store.Webhook(context.Background(), r.endpoint.ID)
	if err != nil || e.DisabledAt == nil {
		t.Errorf("endpoint after a 410 = %+v, %v; want disabled", e, err)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	r := newRig(t, Config{Timeout: 200 * time.Millisecond}, true, func(n int, _ webhookstest.Delivery) (int, http.Header) {
		if n == 0 {
			<-release
		}
		return 204, nil
	})
	defer close(release)
	storetest.NewMember(t, r.store, "demo")
	r.runOnce(t)
	log, err := r.store.WebhookAttempts(context.Background(), r.endpoint.ID, 0)
	if err != nil || len(log) != 1 || log[0].Status != 0 || log[0].Error == "" {
		t.Fatalf("attempts after a timeout = %+v, %v; want one without status, with an error", log, err)
	}
	r.clock.Add(Backoff(1))
	if n := r.runOnce(t); n != 1 {
		t.Errorf("pass after the backoff claimed %d, want the retry", n)
	}
}

// A receiver that never answers holds at most PerEndpoint connections;
// other deliveries wait for them.
func TestSlowReceiverBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	r := newRig(t, Config{PerEndpoint: 2, Workers: 8}, true, func(int, webhookstest.Delivery) (int, http.Header) {
		<-release
		return 204, nil
	})
	defer once.Do(func() { close(release) })
	for range 6 {
		storetest.NewMember(t, r.store, "demo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.d.Run(ctx); close(done) }()
	testkit.WaitFor(t, func() bool { return r.rc.InFlight() == 2 })
	// Another pass finds the endpoint at its bound and gives back what it
	// claims.
	if _, err := r.d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.rc.MaxInFlight(); got != 2 {
		t.Errorf("concurrent requests to one endpoint = %d, want 2", got)
	}
	once.Do(func() { close(release) })
	testkit.WaitFor(t, func() bool {
		// The deliveries given back come due as the clock moves.
		r.clock.Add(time.Second)
		r.d.Wake()
		log, err := r.store.WebhookAttempts(context.Background(), r.endpoint.ID, 0)
		return err == nil && len(log) == 6
	})
	cancel()
	<-done
	if got, n := r.rc.MaxInFlight(), len(r.rc.Deliveries()); got != 2 || n != 6 {
		t.Errorf("concurrent requests to one endpoint = %d (want 2), requests %d (want 6)", got, n)
	}
}

func TestPlainHTTPNeedsAllowHTTP(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{}, false, nil)
	storetest.NewMember(t, r.store, "demo")
	r.runOnce(t)
	if got := len(r.rc.Deliveries()); got != 0 {
		t.Errorf("plain http receiver got %d requests without AllowHTTP", got)
	}
	log, err := r.store.WebhookAttempts(context.Background(), r.endpoint.ID, 0)
	if err != nil || len(log) != 1 || !strings.Contains(log[0].Error, "PASSD_WEBHOOK_ALLOW_HTTP") {
		t.Errorf("attempts = %+v, %v; want one refused", log, err)
	}

	allowed := newRig(t, Config{AllowHTTP: true}, false, nil)
	storetest.NewMember(t, allowed.store, "demo")
	allowed.runOnce(t)
	if got := len(allowed.rc.Deliveries()); got != 1 {
		t.Errorf("plain http loopback receiver got %d requests with AllowHTTP, want 1", got)
	}
}

// Two instances on one PostgreSQL deliver every attempt once, each
// member's events in order, retries included.
func TestTwoInstancesOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := testpg.FreshSchema(t)
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	open := func() *store.Store {
		s, err := store.OpenPostgres(context.Background(), dsn, store.Options{Now: clock.Now, MaxConns: 4, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	var mu sync.Mutex
	refused := map[string]bool{}
	rc := webhookstest.New(t, true, func(_ int, d webhookstest.Delivery) (int, http.Header) {
		// Every event's first attempt gets a 503, to be retried at once
		// (the clock stands still: no lease ever runs out).
		mu.Lock()
		defer mu.Unlock()
		id := d.Header.Get("webhook-id")
		if !refused[id] {
			refused[id] = true
			return 503, http.Header{"Retry-After": {"0"}}
		}
		return 200, nil
	})
	secret, err := loyalty.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.CreateWebhook(context.Background(), loyalty.WebhookEndpoint{ID: uuid.NewString(), Program: "demo",
		URL: rc.URL("/hook"), Events: loyalty.EventTypes(), Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	const members = 12
	for i := range members {
		s := []*store.Store{a, b}[i%2]
		m := storetest.NewMember(t, s, "demo")
		for range 2 {
			if _, err := s.Post(context.Background(), m.ID, uuid.NewString(), "h", balances.Request{Type: balances.Earn, Points: 10}, storetest.Rules); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*store.Store{a, b} {
		d, err := New(Config{Store: s, Now: clock.Now, TLSConfig: rc.TLSConfig(), Poll: 5 * time.Millisecond, Workers: 8, PerEndpoint: 8})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { d.Run(ctx) })
	}
	const events = members * 3
	testkit.WaitFor(t, func() bool {
		log, err := b.WebhookAttempts(context.Background(), e.ID, 0)
		return len(rc.Deliveries()) >= 2*events && err == nil && len(log) == 2*events
	})
	cancel()
	wg.Wait()

	perID := map[string]int{}
	balances := map[string][]float64{}
	for _, d := range rc.Deliveries() {
		ev := verify(t, e.Secret, d)
		perID[ev.ID]++
		if perID[ev.ID] == 2 {
			member := ev.Data["member_id"].(string)
			bal, _ := ev.Data["balance_after"].(float64)
			balances[member] = append(balances[member], bal)
		}
	}
	if len(perID) != events {
		t.Errorf("received %d events, want %d", len(perID), events)
	}
	for id, n := range perID {
		if n != 2 {
			t.Errorf("event %s attempted %d times, want 2 (a 503, then 200)", id, n)
		}
	}
	// Per member: enrolled (no balance), then the earns in order.
	for m, bs := range balances {
		if len(bs) != 3 || bs[0] != 0 || bs[1] != 10 || bs[2] != 20 {
			t.Errorf("member %s's events came with balances %v, want [0 10 20]", m, bs)
		}
	}
	if n := len(rc.Deliveries()); n != 2*events {
		t.Errorf("receiver got %d requests, want %d", n, 2*events)
	}
}

// FuzzParseRetryAfter: a Retry-After header never makes a negative wait,
// and any wait it makes either retries within the window or fails.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"0", "120", "-5", "99999999999999999999", now.Add(time.Hour).Format(http.TimeFormat), "Wed, 21 Oct 2015 07:28:00 GMT", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		wait, ok := parseRetryAfter(v, now)
		if ok && wait < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v", v, wait)
		}
		o := Decide(429, nil, v, now, 1, now)
		switch o.State {
		case store.WebhookFailed:
			if !ok || wait <= RetryWindow {
				t.Fatalf("Decide(429, Retry-After %q) failed with wait %v, ok %v", v, wait, ok)
			}
		case store.WebhookPending:
			if o.RetryAt.Before(now) || o.RetryAt.After(now.Add(RetryWindow)) {
				t.Fatalf("Decide(429, Retry-After %q) retries at %v", v, o.RetryAt)
			}
		default:
			t.Fatalf("Decide(429, Retry-After %q) = %+v", v, o)
		}
	})
}

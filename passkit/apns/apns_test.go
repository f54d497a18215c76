package apns_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/passkit"
	"github.com/passd/passd/passkit/apns"
	"github.com/passd/passd/passkit/apns/apnstest"
)

const topic = "pass.com.example.loyalty"

// token makes a distinct 64-hex-digit push token.
func token(i int) string { return fmt.Sprintf("%064x", i+0xabcdef) }

// setup starts a mock whose client CA issued the returned client's
// certificate.
func setup(t testing.TB, opts apnstest.Options, cfg apns.Config) (*apnstest.Server, *apns.Client) {
	t.Helper()
	ca := apnstest.NewCA(t, "test pass certificates")
	if opts.ClientCAs == nil {
		opts.ClientCAs = ca.Pool()
	}
	srv := apnstest.NewServer(t, opts)
	cfg.BaseURL = srv.URL
	cfg.RootCAs = srv.CAPool()
	if cfg.Topic == "" {
		cfg.Topic = topic
	}
	if len(cfg.Certificate.Certificate) == 0 {
		cfg.Certificate = ca.ClientCertificate(t, "Pass Type ID: "+topic)
	}
	c, err := apns.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(c.Close)
	return srv, c
}

func TestPushDelivered(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{Topic: topic}, apns.Config{})
	tok := token(1)

	r := c.Push(t.Context(), tok)
	if r.Outcome != apns.Delivered || r.Status != http.StatusOK || r.Err != nil {
		t.Fatalf("Push() = %+v, want delivered 200", r)
	}
	if r.ID == "" {
		t.Errorf("Push().ID is empty, want the apns-id")
	}
	if r.Token != tok {
		t.Errorf("Push().Token = %q, want %q", r.Token, tok)
	}

	pushes := srv.Pushes()
	if len(pushes) != 1 {
		t.Fatalf("server got %d pushes, want 1", len(pushes))
	}
	p := pushes[0]
	if p.Token != tok || p.Topic != topic || p.Proto != "HTTP/2.0" {
		t.Errorf("push = token %q topic %q proto %q, want %q %q HTTP/2.0", p.Token, p.Topic, p.Proto, tok, topic)
	}
	if string(p.Body) != "{}" {
		t.Errorf("push body = %q, want {}", p.Body)
	}
	for _, h := range []string{"Apns-Push-Type", "Apns-Priority", "Apns-Expiration", "Authorization"} {
		if v := p.Header.Get(h); v != "" {
			t.Errorf("header %s = %q, want it absent", h, v)
		}
	}
	if ct := p.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func TestPushHeadersConfigured(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv, c := setup(t, apnstest.Options{}, apns.Config{
		PushType:   "background",
		Expiration: time.Hour,
		Now:        func() time.Time { return now },
	})
	if r := c.Push(t.Context(), token(1)); r.Outcome != apns.Delivered {
		t.Fatalf("Push() = %+v, want delivered", r)
	}
	h := srv.Pushes()[0].Header
	want := map[string]string{
		"Apns-Push-Type":  "background",
		"Apns-Priority":   "5",
		"Apns-Expiration": fmt.Sprint(now.Add(time.Hour).Unix()),
		"Apns-Topic":      topic,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestPushOutcomes(t *testing.T) {
	t.Parallel()
	invalidSince := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	retryAt := time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		reply      apnstest.Reply
		outcome    apns.Outcome
		retryAfter time.Duration // exact, or a lower bound when negative
		timestamp  time.Time
	}{
		{"410 unregistered", apnstest.Unregistered(invalidSince), apns.Unregistered, 0, invalidSince},
		{"410 expired token", apnstest.Reply{Status: 410, Reason: "ExpiredToken"}, apns.Unregistered, 0, time.Time{}},
		{"400 bad device token", apnstest.BadDeviceToken(), apns.Unregistered, 0, time.Time{}},
		{"400 token not for topic", apnstest.Reply{Status: 400, Reason: "DeviceTokenNotForTopic"}, apns.CertificateProblem, 0, time.Time{}},
		{"400 topic disallowed", apnstest.Reply{Status: 400, Reason: "TopicDisallowed"}, apns.CertificateProblem, 0, time.Time{}},
		{"400 idle timeout", apnstest.Reply{Status: 400, Reason: "IdleTimeout"}, apns.Retry, 0, time.Time{}},
		{"400 payload empty", apnstest.Reply{Status: 400, Reason: "PayloadEmpty"}, apns.Permanent, 0, time.Time{}},
		{"429", apnstest.TooManyRequests(), apns.Retry, 0, time.Time{}},
		{"429 retry-after seconds", apnstest.Reply{Status: 429, Reason: "TooManyRequests", RetryAfter: "7"}, apns.Retry, 7 * time.Second, time.Time{}},
		{"503", apnstest.ServiceUnavailable(), apns.Retry, 0, time.Time{}},
		{"503 retry-after date", apnstest.Reply{Status: 503, Reason: "Shutdown", RetryAfter: retryAt}, apns.Retry, -50 * time.Second, time.Time{}},
		{"500", apnstest.Reply{Status: 500, Reason: "InternalServerError"}, apns.Retry, 0, time.Time{}},
		{"403 bad certificate", apnstest.BadCertificate(), apns.CertificateProblem, 0, time.Time{}},
		{"403 environment", apnstest.Reply{Status: 403, Reason: "BadCertificateEnvironment"}, apns.CertificateProblem, 0, time.Time{}},
		{"403 expired provider token", apnstest.Reply{Status: 403, Reason: "ExpiredProviderToken"}, apns.CertificateProblem, 0, time.Time{}},
		{"413", apnstest.Reply{Status: 413, Reason: "PayloadTooLarge"}, apns.Permanent, 0, time.Time{}},
		{"404 bad path", apnstest.Reply{Status: 404, Reason: "BadPath"}, apns.Permanent, 0, time.Time{}},
		{"418 no body", apnstest.Reply{Status: 418}, apns.Permanent, 0, time.Time{}},
	}
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	for i, tt := range tests {
		tok := token(100 + i)
		srv.Script(apnstest.Rule{Token: tok, Reply: tt.reply})
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := c.Push(t.Context(), tok)
			if r.Outcome != tt.outcome {
				t.Errorf("Push().Outcome = %v, want %v (%+v)", r.Outcome, tt.outcome, r)
			}
			if r.Status != tt.reply.Status || r.Reason != tt.reply.Reason {
				t.Errorf("Push() = %d %q, want %d %q", r.Status, r.Reason, tt.reply.Status, tt.reply.Reason)
			}
			if !errors.Is(r.Err, apns.ErrRejected) {
				t.Errorf("Push().Err = %v, want ErrRejected", r.Err)
			}
			if tt.retryAfter >= 0 && r.RetryAfter != tt.retryAfter {
				t.Errorf("Push().RetryAfter = %v, want %v", r.RetryAfter, tt.retryAfter)
			}
			if tt.retryAfter < 0 && (r.RetryAfter < -tt.retryAfter || r.RetryAfter > time.Minute) {
				t.Errorf("Push().RetryAfter = %v, want about 1m", r.RetryAfter)
			}
			if !r.Timestamp.Equal(tt.timestamp) {
				t.Errorf("Push().Timestamp = %v, want %v", r.Timestamp, tt.timestamp)
			}
			if strings.Contains(r.Err.Error(), tok) {
				t.Errorf("Push().Err = %q holds the full token", r.Err)
			}
		})
	}
}

func TestPushInvalidTokenNotSent(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	for _, tok := range []string{"", "not-hex", "abc/../x", strings.Repeat("a", apns.MaxTokenLength+1)} {
		r := c.Push(t.Context(), tok)
		if r.Outcome != apns.Unregistered || !errors.Is(r.Err, apns.ErrInvalidToken) {
			t.Errorf("Push(%q) = %v %v, want unregistered ErrInvalidToken", tok, r.Outcome, r.Err)
		}
	}
	if n := len(srv.Pushes()); n != 0 {
		t.Errorf("server got %d pushes, want 0", n)
	}
}

func TestScriptedTimesAndDuration(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, c := setup(t, apnstest.Options{Now: clock}, apns.Config{})
	srv.Script(apnstest.Rule{Times: 2, Reply: apnstest.ServiceUnavailable()})
	srv.Script(apnstest.Rule{For: time.Minute, Reply: apnstest.TooManyRequests()})

	var got []int
	for range 3 {
		got = append(got, c.Push(t.Context(), token(1)).Status)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	got = append(got, c.Push(t.Context(), token(1)).Status)
	want := []int{503, 503, 429, 200}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if counts := srv.Counts(); counts[503] != 2 || counts[429] != 1 || counts[200] != 1 {
		t.Errorf("Counts() = %v, want 2×503, 1×429, 1×200", counts)
	}
}

func TestClientCertificateRefused(t *testing.T) {
	t.Parallel()
	srv := apnstest.NewServer(t, apnstest.Options{ClientCAs: apnstest.NewCA(t, "trusted").Pool()})
	stranger := apnstest.NewCA(t, "someone else").ClientCertificate(t, "Pass Type ID: "+topic)
	c, err := apns.New(apns.Config{BaseURL: srv.URL, RootCAs: srv.CAPool(), Certificate: stranger, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	r := c.Push(t.Context(), token(1))
	if r.Outcome != apns.CertificateProblem || !errors.Is(r.Err, apns.ErrTLSCredentials) {
		t.Errorf("Push() = %v %v, want certificate_problem ErrTLSCredentials", r.Outcome, r.Err)
	}
	if n := len(srv.Pushes()); n != 0 || srv.Handshakes() != 0 {
		t.Errorf("server got %d pushes and %d handshakes, want none", n, srv.Handshakes())
	}
}

func TestNoClientCertificate(t *testing.T) {
	t.Parallel()
	srv := apnstest.NewServer(t, apnstest.Options{})

	if _, err := apns.New(apns.Config{BaseURL: srv.URL, Topic: topic}); err == nil {
		t.Errorf("New() without a certificate: error = nil, want one")
	}

	// A bare HTTP/2 client that trusts the server but shows no certificate.
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CAPool()}, Protocols: protocols}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(srv.URL+"/3/device/"+token(1), "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST without a client certificate: status %d, want a TLS error", resp.StatusCode)
	}
	if n := len(srv.Pushes()); n != 0 || srv.Handshakes() != 0 {
		t.Errorf("server got %d pushes and %d handshakes, want none", n, srv.Handshakes())
	}
	// In TLS 1.3 the client may see the server's alert before the server
	// has logged its side of the failed handshake: wait for it, bounded.
	refused := func() bool { return strings.Contains(strings.Join(srv.Errors(), "\n"), "certificate") }
	if !testkit.Poll(5*time.Second, refused) {
		t.Errorf("server errors = %q, want a refused handshake over the certificate", srv.Errors())
	}
}

func TestServerNotTrusted(t *testing.T) {
	t.Parallel()
	ca := apnstest.NewCA(t, "pass certificates")
	srv := apnstest.NewServer(t, apnstest.Options{ClientCAs: ca.Pool()})
	c, err := apns.New(apns.Config{
		BaseURL: srv.URL, Topic: topic, Certificate: ca.ClientCertificate(t, topic),
		RootCAs: x509.NewCertPool(), // trusts nothing
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Push(t.Context(), token(1))
	if r.Outcome != apns.CertificateProblem || !errors.Is(r.Err, apns.ErrTLSCredentials) {
		t.Errorf("Push() = %v %v, want certificate_problem ErrTLSCredentials", r.Outcome, r.Err)
	}
}

func TestServerWithoutHTTP2(t *testing.T) {
	t.Parallel()
	ca := apnstest.NewCA(t, "pass certificates")
	var hits sync.Map
	h1 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, r.Proto)
	}))
	h1.Config.ErrorLog = log.New(io.Discard, "", 0)
	h1.StartTLS() // HTTP/1.1 only, with httptest's own certificate
	defer h1.Close()
	roots := x509.NewCertPool()
	roots.AddCert(h1.Certificate())

	c, err := apns.New(apns.Config{BaseURL: h1.URL, Topic: topic, Certificate: ca.ClientCertificate(t, topic), RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Push(t.Context(), token(1))
	if r.Outcome == apns.Delivered || r.Err == nil {
		t.Fatalf("Push() to an HTTP/1.1 server = %+v, want a failure", r)
	}
	t.Logf("Push() to an HTTP/1.1 server: %v: %v", r.Outcome, r.Err)
	hits.Range(func(k, v any) bool {
		t.Errorf("HTTP/1.1 server got %v over %v, want no request", k, v)
		return true
	})
}

func TestPassdDevCertificateAuthenticates(t *testing.T) {
	t.Parallel()
	creds, err := passkit.NewDevCredentials(topic, "ABCDE12345", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	devCA := x509.NewCertPool()
	devCA.AddCert(creds.WWDR)
	srv := apnstest.NewServer(t, apnstest.Options{ClientCAs: devCA, Topic: topic})
	c, err := apns.New(apns.Config{
		BaseURL: srv.URL, RootCAs: srv.CAPool(), Topic: topic,
		Certificate: tls.Certificate{Certificate: [][]byte{creds.Certificate.Raw}, PrivateKey: creds.Key, Leaf: creds.Certificate},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := c.Push(t.Context(), token(1)); r.Outcome != apns.Delivered {
		t.Fatalf("Push() with passd's dev pass certificate = %+v, want delivered", r)
	}
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	// Warm-up push: opens the one connection.
	if r := c.Push(t.Context(), token(0)); r.Outcome != apns.Delivered {
		t.Fatalf("Push() = %+v", r)
	}
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = token(i + 1)
	}
	for i, r := range c.PushMany(t.Context(), tokens) {
		if r.Outcome != apns.Delivered {
			t.Fatalf("PushMany()[%d] = %+v, want delivered", i, r)
		}
	}
	for i := range 20 {
		c.Push(t.Context(), token(i))
	}
	if got := len(srv.Pushes()); got != 1021 {
		t.Errorf("server got %d pushes, want 1021", got)
	}
	if srv.Connections() != 1 || srv.Handshakes() != 1 {
		t.Errorf("connections = %d, handshakes = %d, want 1 and 1", srv.Connections(), srv.Handshakes())
	}
}

func TestConnectionReuseColdBurst(t *testing.T) {
	t.Parallel()
	// No warm-up: 1,000 pushes start together on a cold client, and the
	// server allows fewer streams per connection than the client's bound.
	srv, c := setup(t, apnstest.Options{MaxConcurrentStreams: 16}, apns.Config{MaxConcurrentStreams: 100})
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = token(i)
	}
	for i, r := range c.PushMany(t.Context(), tokens) {
		if r.Outcome != apns.Delivered {
			t.Fatalf("PushMany()[%d] = %+v, want delivered", i, r)
		}
	}
	// 100 in flight over connections of 16 streams: a handful of
	// connections (the transport opens one more whenever all are full,
	// racing the ones in progress), not one per request.
	if n := srv.Connections(); n > 25 {
		t.Errorf("connections = %d for a cold burst of 1,000, want at most 25", n)
	}
	if m := srv.MaxInFlight(); m > 100 {
		t.Errorf("server saw %d requests in flight, want at most the client's 100", m)
	}
	t.Logf("cold burst, 16 streams per connection: %d connections", srv.Connections())
}

func TestReconnectAfterServerDrops(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	if r := c.Push(t.Context(), token(1)); r.Outcome != apns.Delivered {
		t.Fatalf("Push() = %+v", r)
	}
	srv.DropConnections()
	// The first push after the drop may meet the dead connection and be
	// classified Retry; within a few pushes a new connection carries them.
	var last apns.Result
	for i := range 5 {
		if last = c.Push(t.Context(), token(2+i)); last.Outcome == apns.Delivered {
			break
		}
	}
	if last.Outcome != apns.Delivered {
		t.Fatalf("Push() after the server dropped the connection = %+v, want delivered", last)
	}
	// The new push connection, and perhaps Check's probe if a push
	// met the dead connection.
	if n := srv.Connections(); n < 2 || n > 3 {
		t.Errorf("connections = %d, want 2 or 3", n)
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	const limit = 8
	srv, c := setup(t, apnstest.Options{Latency: 5 * time.Millisecond}, apns.Config{MaxConcurrentStreams: limit})
	tokens := make([]string, 200)
	for i := range tokens {
		tokens[i] = token(i)
	}
	// PushMany and lone Push calls share the bound.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { c.Push(t.Context(), token(1000+i)) })
	}
	for _, r := range c.PushMany(t.Context(), tokens) {
		if r.Outcome != apns.Delivered {
			t.Fatalf("PushMany() result %+v, want delivered", r)
		}
	}
	wg.Wait()
	if m := srv.MaxInFlight(); m > limit || m < 2 {
		t.Errorf("server saw at most %d requests in flight, want 2..%d", m, limit)
	}
}

func TestPushManyOrderAndDuplicates(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{MaxConcurrentStreams: 3})
	dead := token(2)
	srv.Script(apnstest.Rule{Token: dead, Reply: apnstest.Unregistered(time.Now())})
	tokens := []string{token(1), dead, token(3), token(1), "bogus", dead}
	rs := c.PushMany(t.Context(), tokens)
	if len(rs) != len(tokens) {
		t.Fatalf("PushMany() gave %d results, want %d", len(rs), len(tokens))
	}
	want := []apns.Outcome{apns.Delivered, apns.Unregistered, apns.Delivered, apns.Delivered, apns.Unregistered, apns.Unregistered}
	for i, r := range rs {
		if r.Token != tokens[i] || r.Outcome != want[i] {
			t.Errorf("PushMany()[%d] = %s %v, want %s %v", i, apns.Redact(r.Token), r.Outcome, apns.Redact(tokens[i]), want[i])
		}
	}
	if n := len(srv.Pushes()); n != 3 {
		t.Errorf("server got %d pushes, want 3 (duplicates and the invalid token not sent)", n)
	}
}

func TestPushManyCancelled(t *testing.T) {
	t.Parallel()
	_, c := setup(t, apnstest.Options{}, apns.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for i, r := range c.PushMany(ctx, []string{token(1), token(2)}) {
		if r.Outcome != apns.Retry || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("PushMany(cancelled)[%d] = %v %v, want retry context.Canceled", i, r.Outcome, r.Err)
		}
	}
}

func TestPushTimeout(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{Timeout: 100 * time.Millisecond})
	srv.Script(apnstest.Rule{Reply: apnstest.Reply{Delay: 5 * time.Second}})
	start := time.Now()
	r := c.Push(t.Context(), token(1))
	if r.Outcome != apns.Retry || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("Push() = %v %v, want retry DeadlineExceeded", r.Outcome, r.Err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Push() took %v, want about the 100ms timeout", d)
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	go c.PushMany(context.Background(), []string{token(1), token(2), token(1) + "0"})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, 3); err != nil {
		t.Fatalf("WaitFor(3) = %v", err)
	}
	if err := srv.WaitForToken(ctx, token(2), 1); err != nil {
		t.Fatalf("WaitForToken() = %v", err)
	}
	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if err := srv.WaitFor(short, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor(4) = %v, want DeadlineExceeded", err)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	cert := apnstest.NewCA(t, "ca").ClientCertificate(t, topic)
	tests := []struct {
		name string
		cfg  apns.Config
	}{
		{"no certificate", apns.Config{Topic: topic}},
		{"no topic", apns.Config{Certificate: cert}},
		{"http", apns.Config{Certificate: cert, Topic: topic, BaseURL: "http://api.push.apple.com"}},
		{"path", apns.Config{Certificate: cert, Topic: topic, BaseURL: "https://api.push.apple.com/3/device"}},
		{"bad priority", apns.Config{Certificate: cert, Topic: topic, Priority: 7}},
		{"background at 10", apns.Config{Certificate: cert, Topic: topic, PushType: "background", Priority: 10}},
		{"negative streams", apns.Config{Certificate: cert, Topic: topic, MaxConcurrentStreams: -1}},
	}
	for _, tt := range tests {
		if _, err := apns.New(tt.cfg); err == nil {
			t.Errorf("New(%s) error = nil, want one", tt.name)
		}
	}
	if _, err := apns.New(apns.Config{Certificate: cert, Topic: topic, BaseURL: "https://api.push.apple.com:2197/"}); err != nil {
		t.Errorf("New(port 2197, trailing slash) = %v, want nil", err)
	}
}

func TestRedactAndLogValue(t *testing.T) {
	t.Parallel()
	tok := token(42)
	if got, want := apns.Redact(tok), tok[:8]+"…"; got != want {
		t.Errorf("Redact(%q) = %q, want %q", tok, got, want)
	}
	if got := apns.Redact("abc"); got != "***" {
		t.Errorf("Redact(abc) = %q, want ***", got)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("push", "result", apns.Result{Token: tok, Status: 410, Reason: "Unregistered", Outcome: apns.Unregistered,
		Err: fmt.Errorf("%w: %s", apns.ErrRejected, apns.Redact(tok))})
	if strings.Contains(buf.String(), tok) || !strings.Contains(buf.String(), `"outcome":"unregistered"`) {
		t.Errorf("log line %s: want outcome and no full token", buf.String())
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r       apns.Result
		attempt int
		want    time.Duration
	}{
		{apns.Result{Outcome: apns.Retry}, 0, time.Second},
		{apns.Result{Outcome: apns.Retry}, 3, 8 * time.Second},
		{apns.Result{Outcome: apns.Retry}, 30, 5 * time.Minute},
		{apns.Result{Outcome: apns.Retry, RetryAfter: 42 * time.Second}, 5, 42 * time.Second},
		{apns.Result{Outcome: apns.CertificateProblem}, 0, 5 * time.Minute},
		{apns.Result{Outcome: apns.CertificateProblem}, 10, time.Hour},
		{apns.Result{Outcome: apns.Delivered}, 0, 0},
		{apns.Result{Outcome: apns.Unregistered}, 0, 0},
		{apns.Result{Outcome: apns.Permanent}, 0, 0},
	}
	for _, tt := range tests {
		if got := tt.r.RetryDelay(tt.attempt); got != tt.want {
			t.Errorf("Result{%v, %v}.RetryDelay(%d) = %v, want %v", tt.r.Outcome, tt.r.RetryAfter, tt.attempt, got, tt.want)
		}
	}
}

// BenchmarkPushFanout pushes to 10,000 devices per iteration over loopback
// TLS and HTTP/2, through the mock (which records every push), with 100
// streams in flight on one connection and on two.
func BenchmarkPushFanout(b *testing.B) {
	for _, conns := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			srv, c := setup(b, apnstest.Options{}, apns.Config{MaxConcurrentStreams: 100, Connections: conns})
			tokens := make([]string, 10_000)
			for i := range tokens {
				tokens[i] = token(i)
			}
			c.PushMany(b.Context(), []string{token(-1), token(-2)}) // connect outside the timing
			start := time.Now()
			for b.Loop() {
				for _, r := range c.PushMany(b.Context(), tokens) {
					if r.Outcome != apns.Delivered {
						b.Fatalf("PushMany() result %+v", r)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(tokens))/time.Since(start).Seconds(), "pushes/s")
			b.ReportMetric(float64(srv.Connections()), "conns")
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{})
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("Check() = %v, want nil", err)
	}
	if n := len(srv.Pushes()); n != 0 {
		t.Errorf("Check() sent %d pushes, want 0", n)
	}

	stranger := apnstest.NewCA(t, "someone else").ClientCertificate(t, topic)
	bad, err := apns.New(apns.Config{BaseURL: srv.URL, RootCAs: srv.CAPool(), Certificate: stranger, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Check(t.Context()); !errors.Is(err, apns.ErrTLSCredentials) {
		t.Errorf("Check() with a refused certificate = %v, want ErrTLSCredentials", err)
	}

	// Nothing listens there any more.
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.Listener.Addr().String()
	closed.Close()
	gone, err := apns.New(apns.Config{BaseURL: "https://" + addr, Certificate: stranger, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Check(t.Context()); err == nil || errors.Is(err, apns.ErrTLSCredentials) || errors.Is(err, apns.ErrNotHTTP2) {
		t.Errorf("Check() with nothing listening = %v, want a network error", err)
	}
	if r := gone.Push(t.Context(), token(1)); r.Outcome != apns.Retry {
		t.Errorf("Push() with nothing listening = %v %v, want retry", r.Outcome, r.Err)
	}
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	for o, want := range map[apns.Outcome]string{
		apns.Delivered: "delivered", apns.Unregistered: "unregistered", apns.Retry: "retry",
		apns.CertificateProblem: "certificate_problem", apns.Permanent: "permanent", 0: "unknown",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

// TestMockOnPush checks the mock's hook sees every push, with its token
// and status, as the devices of the server benchmarks rely on.
func TestMockOnPush(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, apnstest.Options{}, apns.Config{Connections: 2})
	srv.Script(apnstest.Rule{Token: token(3), Reply: apnstest.BadDeviceToken()})
	var mu sync.Mutex
	seen := map[string]int{}
	srv.OnPush(func(p apnstest.Push) {
		mu.Lock()
		seen[p.Token] = p.Status
		mu.Unlock()
	})
	tokens := []string{token(1), token(2), token(3)}
	c.PushMany(t.Context(), tokens)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[token(1)] != http.StatusOK || seen[token(3)] != http.StatusBadRequest {
		t.Errorf("OnPush saw %v, want the three tokens, the third refused with 400", seen)
	}
	srv.OnPush(nil)
}

package apns

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is APNs's production endpoint, the only one that delivers
// pass update pushes (Apple: "works only in the production environment").
const DefaultBaseURL = "https://api.push.apple.com"

// Defaults for the zero values of Config.
const (
	DefaultMaxConcurrentStreams = 100
	DefaultTimeout              = 15 * time.Second
)

// Payload is the body of every pass update push: Apple asks for an empty
// JSON dictionary. An empty body would be rejected (400 PayloadEmpty).
const Payload = "{}"

// MaxTokenLength bounds a push token in hex characters. Today's tokens are
// 64; Apple warns they may grow, and documents no size beyond 100 bytes.
const MaxTokenLength = 200

// maxResponseBody bounds how much of an APNs answer is read. Error bodies
// are a small JSON object; success bodies are empty.
const maxResponseBody = 4 << 10

// Sentinel errors carried (wrapped) by Result.Err.
var (
	// ErrInvalidToken: the push token is empty, not hexadecimal or too long,
	// so it was not sent. Such a token can never be delivered to.
	ErrInvalidToken = errors.New("apns: invalid push token")
	// ErrRejected: APNs answered with an error status; Result.Status and
	// Result.Reason say which.
	ErrRejected = errors.New("apns: push rejected")
	// ErrNotHTTP2: the server did not speak HTTP/2, which APNs always does;
	// the base URL or a proxy in between is wrong.
	ErrNotHTTP2 = errors.New("apns: server did not negotiate HTTP/2")
	// ErrTLSCredentials: the TLS handshake failed over a certificate, ours
	// (refused, expired, revoked) or the server's (not trusted).
	ErrTLSCredentials = errors.New("apns: TLS certificate problem")
)

// Config configures a Client. Certificate and Topic are required.
type Config struct {
	// BaseURL is the APNs origin, DefaultBaseURL when empty. It must be
	// https; tests point it at package apnstest's mock.
	BaseURL string
	// Certificate is the Pass Type ID certificate and its private key,
	// presented as the TLS client certificate.
	Certificate tls.Certificate
	// RootCAs verifies the server; nil means the system roots. Add an
	// extra CA here (PASSD_APNS_CA) for tests and intercepting proxies.
	RootCAs *x509.CertPool
	// Topic is the pass type identifier, sent as apns-topic.
	Topic string
	// MaxConcurrentStreams bounds the pushes in flight across all calls
	// of the client (DefaultMaxConcurrentStreams when zero). They share
	// one connection as long as APNs allows that many streams on it
	// (it commonly advertises 1000); beyond its limit the transport opens
	// another connection.
	MaxConcurrentStreams int
	// Connections is how many HTTP/2 connections share the pushes, round
	// robin (1 when zero). Go's HTTP/2 client serializes writes per
	// connection, so one connection tops out at a few thousand pushes/s;
	// more can help a large fan-out on more cores.
	Connections int
	// Timeout bounds one push, from the wait for a stream slot to the
	// answer (DefaultTimeout when zero).
	Timeout time.Duration
	// PushType is sent as apns-push-type when not empty. Apple defines no
	// push type for passes and the usual practice is to omit it (the
	// default). With "background", Priority defaults to 5, since APNs
	// rejects background pushes at priority 10.
	PushType string
	// Priority is sent as apns-priority when not zero (APNs's default is
	// 10, immediate delivery; 5 and 1 defer to power considerations).
	Priority int
	// Expiration, when positive, is sent as apns-expiration (now +
	// Expiration): how long APNs keeps trying an offline device. When
	// zero, APNs keeps one pending push per device and topic by its own
	// policy, which suits pass pushes since they carry nothing.
	Expiration time.Duration
	// Now is the clock for apns-expiration and Retry-After dates
	// (time.Now when nil).
	Now func() time.Time
}

// Client sends pass update pushes to APNs. It is safe for concurrent use;
// create one per certificate and keep it for the life of the process so its
// connection is reused, as Apple asks.
type Client struct {
	base      string // scheme://host[:port], no trailing slash
	topic     string
	pushType  string
	priority  string
	expire    time.Duration
	timeout   time.Duration
	now       func() time.Time
	hostport  string // for Check's own connections
	tlsConfig *tls.Config
	sem       chan struct{}
	lanes     []*lane
	next      atomic.Uint32

	diagMu  sync.Mutex
	diagAt  time.Time
	diagErr error
}

// New checks cfg and prepares a client. No connection is opened until the
// first push.
func New(cfg Config) (*Client, error) {
	if len(cfg.Certificate.Certificate) == 0 || cfg.Certificate.PrivateKey == nil {
		return nil, errors.New("apns: a client certificate with its private key is required")
	}
	if cfg.Topic == "" {
		return nil, errors.New("apns: topic (the pass type identifier) is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("apns: base URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("apns: base URL %q: want https://host[:port]", base)
	}
	if p := strings.Trim(u.Path, "/"); p != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("apns: base URL %q: want no path or query", base)
	}
	if cfg.MaxConcurrentStreams < 0 || cfg.Timeout < 0 || cfg.Expiration < 0 || cfg.Connections < 0 {
		return nil, errors.New("apns: negative MaxConcurrentStreams, Connections, Timeout or Expiration")
	}
	priority := cfg.Priority
	if priority == 0 && cfg.PushType == "background" {
		priority = 5
	}
	switch {
	case priority != 0 && priority != 1 && priority != 5 && priority != 10:
		return nil, fmt.Errorf("apns: priority %d: want 1, 5 or 10", priority)
	case cfg.PushType == "background" && priority == 10:
		return nil, errors.New("apns: background pushes must not use priority 10")
	}
	streams := cfg.MaxConcurrentStreams
	if streams == 0 {
		streams = DefaultMaxConcurrentStreams
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	c := &Client{
		base:     u.Scheme + "://" + u.Host,
		topic:    cfg.Topic,
		pushType: cfg.PushType,
		expire:   cfg.Expiration,
		timeout:  timeout,
		now:      now,
		hostport: hostport(u),
		tlsConfig: &tls.Config{
			Certificates: []tls.Certificate{cfg.Certificate},
			RootCAs:      cfg.RootCAs,
			MinVersion:   tls.VersionTLS12,
		},
		sem: make(chan struct{}, streams),
	}
	for range max(cfg.Connections, 1) {
		c.lanes = append(c.lanes, newLane(c.tlsConfig))
	}
	if priority != 0 {
		c.priority = strconv.Itoa(priority)
	}
	return c, nil
}

// hostport is u's host with the https port made explicit.
func hostport(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// Close drops the client's idle connections. Pushes in flight finish; a
// later push opens a new connection.
func (c *Client) Close() {
	for _, l := range c.lanes {
		l.transport.CloseIdleConnections()
	}
}

// lane is one HTTP/2 transport: normally one connection.
type lane struct {
	transport *http.Transport
	http      *http.Client
	warm      atomic.Bool   // a request was answered on the current connection
	warmMu    chan struct{} // held by the one request that may connect
}

func newLane(tlsConfig *tls.Config) *lane {
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true) // and not HTTP/1: APNs is HTTP/2 only
	tr := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:     tlsConfig.Clone(),
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		Protocols:           protocols,
		// One dial at a time: a cold burst would otherwise dial a
		// connection per request before the first one is up. The HTTP/2
		// transport still opens another connection when every one is at
		// APNs's SETTINGS_MAX_CONCURRENT_STREAMS (Apple: "open more
		// connections for throughput"), and replaces one APNs closes.
		MaxConnsPerHost: 1,
		// Apple asks providers to keep connections open rather than
		// reconnect per push; a long idle timeout and pings keep them so.
		IdleConnTimeout: 30 * time.Minute,
		// StrictMaxConcurrentRequests stays off: with it, Go 1.26's
		// transport stalled for good once a connection's streams were
		// all taken (seen against a server advertising 16).
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: time.Minute,
			PingTimeout:     15 * time.Second,
		},
	}
	return &lane{
		transport: tr,
		http: &http.Client{
			Transport: tr,
			// APNs never redirects; following one would leak the push
			// to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		warmMu: make(chan struct{}, 1),
	}
}

// Push sends one pass update push to pushToken and says what became of it.
// It waits for a free stream slot (see Config.MaxConcurrentStreams) within
// the client's timeout and ctx. It never panics on bad input: an invalid
// token comes back as Unregistered with ErrInvalidToken.
func (c *Client) Push(ctx context.Context, pushToken string) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return transportResult(pushToken, fmt.Errorf("apns: waiting for a stream: %w", ctx.Err()))
	}
	defer func() { <-c.sem }()
	return c.push(ctx, pushToken)
}

// PushMany sends one push to each token, at most Config.MaxConcurrentStreams
// at a time (shared with concurrent Push calls), and returns the results in
// the order of tokens. A token listed twice is pushed once: one push per
// device is all Wallet needs, and both entries get the same result. Tokens
// not yet sent when ctx ends come back as Retry with ctx's error.
func (c *Client) PushMany(ctx context.Context, tokens []string) []Result {
	results := make([]Result, len(tokens))
	first := make(map[string]int, len(tokens))
	dups := false
	var wg sync.WaitGroup
	for i, tok := range tokens {
		if _, dup := first[tok]; dup {
			dups = true
			continue
		}
		first[tok] = i
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = transportResult(tok, fmt.Errorf("apns: waiting for a stream: %w", ctx.Err()))
			continue
		}
		wg.Go(func() {
			defer func() { <-c.sem }()
			pctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			results[i] = c.push(pctx, tok)
		})
	}
	wg.Wait()
	if dups {
		for i, tok := range tokens {
			if j := first[tok]; j != i {
				results[i] = results[j]
			}
		}
	}
	return results
}

// push sends one request; the caller holds a stream slot.
func (c *Client) push(ctx context.Context, token string) Result {
	if !ValidToken(token) {
		return Result{
			Token:   token,
			Outcome: Unregistered,
			Err:     fmt.Errorf("%w %q", ErrInvalidToken, Redact(token)),
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/3/device/"+token, strings.NewReader(Payload))
	if err != nil {
		// Unreachable with a hex token and a parsed base URL.
		return Result{Token: token, Outcome: Permanent, Err: fmt.Errorf("apns: request: %w", err)}
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Apns-Topic"] = []string{c.topic}
	if c.pushType != "" {
		h["Apns-Push-Type"] = []string{c.pushType}
	}
	if c.priority != "" {
		h["Apns-Priority"] = []string{c.priority}
	}
	if c.expire > 0 {
		h["Apns-Expiration"] = []string{strconv.FormatInt(c.now().Add(c.expire).Unix(), 10)}
	}

	l := c.lanes[0]
	if len(c.lanes) > 1 {
		l = c.lanes[int(c.next.Add(1))%len(c.lanes)]
	}
	resp, err := l.do(req)
	if err != nil {
		r := transportResult(token, err)
		if r.Outcome == Retry && ctx.Err() == nil {
			// With TLS 1.3 the server judges our certificate after our
			// side of the handshake, and Go's HTTP/2 transport reports
			// the refusal only as "client conn could not be
			// established". Find out what went wrong on a connection
			// of our own.
			if cause := c.diagnose(ctx); cause != nil {
				r.Outcome = CertificateProblem
				r.Err = fmt.Errorf("%w (push: %w)", cause, err)
			}
		}
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil && resp.StatusCode != http.StatusOK {
		return transportResult(token, fmt.Errorf("apns: read answer: %w", err))
	}
	if resp.ProtoMajor != 2 {
		return Result{
			Token:   token,
			Status:  resp.StatusCode,
			Outcome: CertificateProblem,
			Err:     fmt.Errorf("%w (got %s from %s)", ErrNotHTTP2, resp.Proto, c.base),
		}
	}
	return c.classify(token, resp, body)
}

// do sends req. Until a request has been answered on the current
// connection, requests go one at a time: before the server's SETTINGS
// arrive the HTTP/2 transport assumes 100 streams, and a server that allows
// fewer refuses the excess, which the transport retries only after seconds
// of backoff.
func (l *lane) do(req *http.Request) (*http.Response, error) {
	if !l.warm.Load() {
		select {
		case l.warmMu <- struct{}{}:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if !l.warm.Load() {
			resp, err := l.http.Do(req)
			l.warm.Store(err == nil)
			<-l.warmMu
			return resp, err
		}
		<-l.warmMu
	}
	resp, err := l.http.Do(req)
	if err != nil {
		// The connection may be gone: let the next one start alone.
		l.warm.Store(false)
	}
	return resp, err
}

// diagnoseEvery bounds how often a failing client probes the server.
const diagnoseEvery = 30 * time.Second

// diagnose explains a transport failure with Check, at most once per
// diagnoseEvery; it returns ErrTLSCredentials or ErrNotHTTP2 (wrapped)
// when the probe finds one of them, and nil otherwise.
func (c *Client) diagnose(ctx context.Context) error {
	c.diagMu.Lock()
	defer c.diagMu.Unlock()
	if now := c.now(); c.diagAt.IsZero() || now.Sub(c.diagAt) >= diagnoseEvery {
		c.diagErr = c.Check(ctx)
		c.diagAt = now
	}
	if errors.Is(c.diagErr, ErrTLSCredentials) || errors.Is(c.diagErr, ErrNotHTTP2) {
		return c.diagErr
	}
	return nil
}

// h2Preface is HTTP/2's client connection preface followed by an empty
// SETTINGS frame (RFC 9113, section 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// Check opens a connection of its own to APNs, completes the TLS handshake
// with the client certificate and waits for the server's first HTTP/2
// frame, then closes it. It returns nil when the server accepts the
// certificate and speaks HTTP/2, an error wrapping ErrTLSCredentials or
// ErrNotHTTP2 when it does not, and another error when it cannot tell (a
// network failure). Use it at start-up to fail loudly on a wrong or expired
// certificate; Push uses it to explain connection failures.
func (c *Client) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	d := tls.Dialer{Config: c.tlsConfig.Clone()}
	d.Config.NextProtos = []string{"h2"}
	conn, err := d.DialContext(ctx, "tcp", c.hostport)
	if err != nil {
		return checkError(err)
	}
	defer conn.Close()
	if p := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("%w (ALPN %q from %s)", ErrNotHTTP2, p, c.hostport)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, h2Preface); err != nil {
		return checkError(err)
	}
	// The server's connection preface is a SETTINGS frame; a server that
	// refused our certificate sends a TLS alert instead.
	var frame [9]byte
	if _, err := io.ReadFull(conn, frame[:]); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("apns: check %s: %w", c.hostport, ctx.Err())
		}
		return checkError(err)
	}
	if frame[3] != 0x4 {
		return fmt.Errorf("%w (first frame of type %d from %s)", ErrNotHTTP2, frame[3], c.hostport)
	}
	return nil
}

func checkError(err error) error {
	if cause := tlsProblem(err); cause != nil {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return fmt.Errorf("apns: check: %w", err)
}

// classify turns an HTTP/2 answer into a Result.
func (c *Client) classify(token string, resp *http.Response, body []byte) Result {
	r := Result{
		Token:  token,
		Status: resp.StatusCode,
		ID:     resp.Header.Get("Apns-Id"),
	}
	if r.Status == http.StatusOK {
		r.Outcome = Delivered
		return r
	}
	var e struct {
		Reason    string `json:"reason"`
		Timestamp int64  `json:"timestamp"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		// A body that is not Apple's JSON leaves the reason empty; the
		// status alone still classifies the answer.
		_ = json.Unmarshal(body, &e)
	}
	r.Reason = e.Reason
	if e.Timestamp > 0 {
		r.Timestamp = time.UnixMilli(e.Timestamp).UTC()
	}
	r.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), c.now())
	r.Outcome = outcomeFor(r.Status, r.Reason)
	r.Err = fmt.Errorf("%w: %d %s for %s", ErrRejected, r.Status, reasonOrStatus(r), Redact(token))
	return r
}

func reasonOrStatus(r Result) string {
	if r.Reason != "" {
		return r.Reason
	}
	return http.StatusText(r.Status)
}

// outcomeFor maps APNs's status and reason to what the caller should do,
// following Apple's "Handling notification responses from APNs".
func outcomeFor(status int, reason string) Outcome {
	switch {
	case status == http.StatusOK:
		return Delivered
	case status == http.StatusGone:
		// Unregistered or ExpiredToken: the token is no longer active.
		return Unregistered
	case status == http.StatusBadRequest:
		switch reason {
		case "BadDeviceToken":
			return Unregistered
		case "DeviceTokenNotForTopic", "BadTopic", "MissingTopic", "TopicDisallowed":
			// The token is fine: our certificate or topic does not fit
			// it, so every push fails alike. Deleting registrations on
			// this would wipe them all; it needs an operator instead.
			return CertificateProblem
		case "IdleTimeout":
			return Retry
		}
		return Permanent
	case status == http.StatusForbidden:
		return CertificateProblem
	case status == http.StatusTooManyRequests, status >= 500:
		return Retry
	}
	return Permanent
}

// retryAfter parses a Retry-After header, in seconds or as an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// transportResult classifies a failure to get any answer from APNs.
func transportResult(token string, err error) Result {
	r := Result{Token: token, Outcome: Retry, Err: err}
	if cause := tlsProblem(err); cause != nil {
		r.Outcome = CertificateProblem
		r.Err = fmt.Errorf("%w: %w", cause, err)
	}
	return r
}

// tlsProblem tells a TLS failure that retrying soon cannot fix: it
// returns ErrTLSCredentials when a certificate was refused (ours, by a TLS
// alert) or not trusted (the server's), ErrNotHTTP2 when the server does
// not offer HTTP/2, and nil otherwise.
func tlsProblem(err error) error {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return ErrTLSCredentials
	}
	// A TLS alert from the peer surfaces as a net.OpError "remote error"
	// around crypto/tls's unexported alert type.
	var oerr *net.OpError
	if errors.As(err, &oerr) && oerr.Op == "remote error" && oerr.Err != nil {
		switch msg := oerr.Err.Error(); {
		case strings.Contains(msg, "certificate"):
			return ErrTLSCredentials
		case strings.Contains(msg, "no application protocol"):
			return ErrNotHTTP2
		}
	}
	return nil
}

// ValidToken reports whether token looks like an APNs device token: 1 to
// MaxTokenLength hexadecimal characters. Anything else is never sent,
// which also keeps it out of the request path.
func ValidToken(token string) bool {
	if token == "" || len(token) > MaxTokenLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// Redact shortens a push token for logs and errors: its first 8 characters
// and an ellipsis, enough to correlate lines without replaying the token.
func Redact(token string) string {
	const keep = 8
	if len(token) <= keep {
		// Too short to be a real token; still never print it whole.
		return strings.Repeat("*", len(token))
	}
	return token[:keep] + "…"
}

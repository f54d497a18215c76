// Package apnstest runs a mock APNs provider API for tests: real TLS with
// client certificates, HTTP/2 only, recording every push and answering as
// scripted.
//
// It mimics the parts of Apple's API that pass update pushes use
// (https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
// and https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns):
// POST /3/device/{token}, the apns-* headers, JSON error bodies with a
// reason (and a timestamp for 410), and the request checks Apple makes
// (method, path, empty or oversized payload, topic, priority).
//
// A typical test:
//
//	clientCA := apnstest.NewCA(t, "pass certificates")
//	srv := apnstest.NewServer(t, apnstest.Options{ClientCAs: clientCA.Pool()})
//	srv.Script(apnstest.Rule{Token: dead, Reply: apnstest.Unregistered(time.Now())})
//	c, _ := apns.New(apns.Config{BaseURL: srv.URL, RootCAs: srv.CAPool(),
//		Certificate: clientCA.ClientCertificate(t, "pass.example"), Topic: "pass.example"})
package apnstest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultMaxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS the
// mock advertises unless told otherwise; APNs commonly advertises 1000 to
// certificate-authenticated providers.
const DefaultMaxConcurrentStreams = 1000

// maxPayload is APNs's payload limit for these pushes.
const maxPayload = 4096

// Options configure a Server. The zero value works.
type Options struct {
	// ClientCAs verifies client certificates (for instance passd's dev CA,
	// which issues its Pass Type ID certificate). When nil, the server's
	// own CA does, and Server.ClientCertificate issues certificates.
	ClientCAs *x509.CertPool
	// Topic, when set, is the only apns-topic accepted: a missing topic
	// gets 400 MissingTopic and another one 400 TopicDisallowed.
	Topic string
	// MaxConcurrentStreams is advertised to clients per connection
	// (DefaultMaxConcurrentStreams when zero).
	MaxConcurrentStreams int
	// Latency delays every answer, so that concurrency shows.
	Latency time.Duration
	// Now is the clock for Push.Time and Rule.For (time.Now when nil).
	Now func() time.Time
}

// Push is one request the mock received.
type Push struct {
	// Token is the device token from the path.
	Token string
	// Topic is the apns-topic header.
	Topic string
	// Header holds every request header.
	Header http.Header
	// Body is the payload.
	Body []byte
	// Proto is the request's protocol ("HTTP/2.0").
	Proto string
	// Time is when the mock received it.
	Time time.Time
	// Status and Reason are what the mock answered.
	Status int
	Reason string
}

// Reply is a scripted answer.
type Reply struct {
	// Status is the HTTP status (200 when zero).
	Status int
	// Reason goes in the JSON error body.
	Reason string
	// Timestamp goes in the body of a 410 (milliseconds since the epoch).
	Timestamp time.Time
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Delay holds the answer back, in addition to Options.Latency.
	Delay time.Duration
}

// Unregistered is APNs's 410 for a token no longer active, invalid since
// ts.
func Unregistered(ts time.Time) Reply {
	return Reply{Status: http.StatusGone, Reason: "Unregistered", Timestamp: ts}
}

// BadDeviceToken is APNs's 400 for a malformed or wrong-environment token.
func BadDeviceToken() Reply {
	return Reply{Status: http.StatusBadRequest, Reason: "BadDeviceToken"}
}

// TooManyRequests is APNs's 429 for too many pushes to one token.
func TooManyRequests() Reply {
	return Reply{Status: http.StatusTooManyRequests, Reason: "TooManyRequests"}
}

// ServiceUnavailable is APNs's 503 when it is overloaded.
func ServiceUnavailable() Reply {
	return Reply{Status: http.StatusServiceUnavailable, Reason: "ServiceUnavailable"}
}

// BadCertificate is APNs's 403 for a certificate it does not accept.
func BadCertificate() Reply {
	return Reply{Status: http.StatusForbidden, Reason: "BadCertificate"}
}

// Rule scripts the answers to matching requests. The oldest active rule
// that matches a request answers it; without one the answer is 200.
type Rule struct {
	// Token limits the rule to one device token; empty matches all.
	Token string
	// Times retires the rule after answering this many requests; zero
	// means no limit.
	Times int
	// For retires the rule this long after Script; zero means no limit.
	For time.Duration
	// Reply is the answer.
	Reply Reply
}

type rule struct {
	Rule
	used  int
	until time.Time
}

// Server is a mock APNs server listening on loopback. It is closed by the
// test's cleanup.
type Server struct {
	// URL is the base URL to give apns.Config.BaseURL.
	URL string

	srv     *httptest.Server
	ca      *CA
	opts    Options
	now     func() time.Time
	topic   string
	latency time.Duration

	conns       atomic.Int64
	handshakes  atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64

	mu      sync.Mutex
	pushes  []Push
	counts  map[int]int
	rules   []*rule
	errs    []string
	changed chan struct{} // closed and replaced on every push
	onPush  func(Push)
}

// NewServer starts a mock APNs server with its own CA for its TLS
// certificate, speaking HTTP/2 only and requiring a client certificate
// verified against opts.ClientCAs (or its own CA). t's cleanup closes it.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		ca:      NewCA(t, "apnstest CA"),
		opts:    opts,
		now:     opts.Now,
		topic:   opts.Topic,
		latency: opts.Latency,
		counts:  map[int]int{},
		changed: make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	clientCAs := opts.ClientCAs
	if clientCAs == nil {
		clientCAs = s.ca.Pool()
	}
	streams := opts.MaxConcurrentStreams
	if streams == 0 {
		streams = DefaultMaxConcurrentStreams
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{s.ca.serverCertificate(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2"}, // no http/1.1: an HTTP/1-only client fails ALPN
		VerifyConnection: func(tls.ConnectionState) error {
			s.handshakes.Add(1)
			return nil
		},
	}
	srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: streams}
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(errorLog{s}, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.srv = srv
	s.URL = srv.URL
	return s
}

// errorLog keeps the http.Server's error lines (TLS handshake failures
// among them) instead of printing them.
type errorLog struct{ s *Server }

func (e errorLog) Write(p []byte) (int, error) {
	e.s.mu.Lock()
	e.s.errs = append(e.s.errs, strings.TrimSpace(string(p)))
	e.s.mu.Unlock()
	return len(p), nil
}

// CAPool returns a pool that trusts the server's certificate, for
// apns.Config.RootCAs.
func (s *Server) CAPool() *x509.CertPool { return s.ca.Pool() }

// CAPEM returns the server's CA certificate in PEM, as PASSD_APNS_CA holds
// it.
func (s *Server) CAPEM() []byte { return s.ca.PEM() }

// ClientCertificate issues a client certificate from the server's own CA.
// The server accepts it only when Options.ClientCAs was nil.
func (s *Server) ClientCertificate(t testing.TB, commonName string) tls.Certificate {
	t.Helper()
	return s.ca.ClientCertificate(t, commonName)
}

// Script adds a rule for the answers to come.
func (s *Server) Script(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nr := &rule{Rule: r}
	if r.For > 0 {
		nr.until = s.now().Add(r.For)
	}
	s.rules = append(s.rules, nr)
}

// ClearScript drops every rule: all later requests get 200.
func (s *Server) ClearScript() {
	s.mu.Lock()
	s.rules = nil
	s.mu.Unlock()
}

// DropConnections closes every client connection, as APNs does when it
// sends GOAWAY or restarts; clients must reconnect.
func (s *Server) DropConnections() { s.srv.CloseClientConnections() }

// Pushes returns a copy of every request received so far, in arrival
// order.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// PushesTo returns the requests received for token.
func (s *Server) PushesTo(token string) []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Push
	for _, p := range s.pushes {
		if p.Token == token {
			out = append(out, p)
		}
	}
	return out
}

// Counts returns how many requests got each status.
func (s *Server) Counts() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Connections returns how many TCP connections clients opened.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Handshakes returns how many TLS handshakes completed on the server's
// side (client certificate accepted).
func (s *Server) Handshakes() int { return int(s.handshakes.Load()) }

// MaxInFlight returns the most requests the server was handling at once.
func (s *Server) MaxInFlight() int { return int(s.maxInFlight.Load()) }

// Errors returns the server's error log lines, such as refused TLS
// handshakes.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// WaitFor waits until the server has received at least n requests, or
// until ctx ends; give ctx a deadline.
func (s *Server) WaitFor(ctx context.Context, n int) error {
	return s.wait(ctx, func() bool { return len(s.pushes) >= n },
		func() string { return fmt.Sprintf("%d requests, want %d", len(s.pushes), n) })
}

// WaitForToken waits until the server has received at least n requests
// for token, or until ctx ends.
func (s *Server) WaitForToken(ctx context.Context, token string, n int) error {
	count := func() int {
		c := 0
		for _, p := range s.pushes {
			if p.Token == token {
				c++
			}
		}
		return c
	}
	return s.wait(ctx, func() bool { return count() >= n },
		func() string { return fmt.Sprintf("%d requests for the token, want %d", count(), n) })
}

// wait evaluates done under the lock each time a push arrives.
func (s *Server) wait(ctx context.Context, done func() bool, state func() string) error {
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			msg := state()
			s.mu.Unlock()
			return fmt.Errorf("apnstest: %s: %w", msg, ctx.Err())
		}
	}
}

// serve answers one request the way APNs would.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}

	p := Push{
		Topic:  r.Header.Get("Apns-Topic"),
		Header: r.Header.Clone(),
		Proto:  r.Proto,
		Time:   s.now(),
	}
	if tok, ok := strings.CutPrefix(r.URL.Path, "/3/device/"); ok {
		p.Token = tok
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	p.Body = body

	reply := s.check(r, p, err)
	if reply.Status == 0 {
		reply = s.scripted(p.Token)
	}
	if d := s.latency + reply.Delay; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
		}
	}
	if reply.Status == 0 {
		reply.Status = http.StatusOK
	}
	p.Status, p.Reason = reply.Status, reply.Reason
	s.record(p)

	w.Header().Set("Apns-Id", newID())
	if reply.RetryAfter != "" {
		w.Header().Set("Retry-After", reply.RetryAfter)
	}
	if reply.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	e := struct {
		Reason    string `json:"reason,omitempty"`
		Timestamp int64  `json:"timestamp,omitempty"`
	}{Reason: reply.Reason}
	if reply.Status == http.StatusGone && !reply.Timestamp.IsZero() {
		e.Timestamp = reply.Timestamp.UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// check applies APNs's own request validation; a zero Reply passes.
func (s *Server) check(r *http.Request, p Push, readErr error) Reply {
	bad := func(status int, reason string) Reply { return Reply{Status: status, Reason: reason} }
	switch {
	case r.ProtoMajor != 2:
		return bad(http.StatusHTTPVersionNotSupported, "HTTP2Required")
	case r.Method != http.MethodPost:
		return bad(http.StatusMethodNotAllowed, "MethodNotAllowed")
	case !strings.HasPrefix(r.URL.Path, "/3/device/") || strings.Contains(p.Token, "/"):
		return bad(http.StatusNotFound, "BadPath")
	case p.Token == "":
		return bad(http.StatusBadRequest, "MissingDeviceToken")
	case readErr != nil:
		return bad(http.StatusBadRequest, "BadPayload")
	case len(p.Body) == 0:
		return bad(http.StatusBadRequest, "PayloadEmpty")
	case len(p.Body) > maxPayload:
		return bad(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	case s.topic != "" && p.Topic == "":
		return bad(http.StatusBadRequest, "MissingTopic")
	case s.topic != "" && p.Topic != s.topic:
		return bad(http.StatusBadRequest, "TopicDisallowed")
	case len(r.Header.Values("Apns-Topic")) > 1:
		return bad(http.StatusBadRequest, "DuplicateHeaders")
	}
	if pr := r.Header.Get("Apns-Priority"); pr != "" {
		if pr != "1" && pr != "5" && pr != "10" {
			return bad(http.StatusBadRequest, "BadPriority")
		}
		if pr == "10" && r.Header.Get("Apns-Push-Type") == "background" {
			return bad(http.StatusBadRequest, "BadPriority")
		}
	}
	if ex := r.Header.Get("Apns-Expiration"); ex != "" {
		if _, err := strconv.ParseInt(ex, 10, 64); err != nil {
			return bad(http.StatusBadRequest, "BadExpirationDate")
		}
	}
	if !json.Valid(p.Body) {
		return bad(http.StatusBadRequest, "BadPayload")
	}
	return Reply{}
}

// scripted finds the answer the rules give for token.
func (s *Server) scripted(token string) Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	kept := s.rules[:0]
	var reply Reply
	matched := false
	for _, r := range s.rules {
		if !r.until.IsZero() && !now.Before(r.until) {
			continue // expired
		}
		if !matched && (r.Token == "" || r.Token == token) {
			matched = true
			reply = r.Reply
			r.used++
			if r.Times > 0 && r.used >= r.Times {
				continue // used up
			}
		}
		kept = append(kept, r)
	}
	clear(s.rules[len(kept):])
	s.rules = kept
	return reply
}

func (s *Server) record(p Push) {
	s.mu.Lock()
	s.pushes = append(s.pushes, p)
	s.counts[p.Status]++
	close(s.changed)
	s.changed = make(chan struct{})
	hook := s.onPush
	s.mu.Unlock()
	if hook != nil {
		hook(p)
	}
}

// OnPush has f called with every push from now on, once recorded and
// before it is answered, on the request's goroutine: a test's devices
// react to their pushes as they arrive. Nil removes it.
func (s *Server) OnPush(f func(Push)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onPush = f
}

// newID makes an apns-id, a UUID-shaped random string.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// Package webhookstest is a webhook receiver for tests: a real HTTP or
// HTTPS server on loopback that records every delivery, answers as the
// test scripts, and checks signatures as a receiver would, with its own
// HMAC code (not passd's signer).
package webhookstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Answer decides the status and headers of the n-th request (from 0),
// received as d.
type Answer func(n int, d Delivery) (int, http.Header)

// Delivery is one request the receiver got.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Receiver records deliveries.
type Receiver struct {
	Server   *httptest.Server
	answer   Answer
	mu       sync.Mutex
	got      []Delivery
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

// New starts a receiver (HTTPS when tls) until the test ends; a nil
// answer answers 204 to everything.
func New(t testing.TB, tls bool, answer Answer) *Receiver {
	rc := &Receiver{answer: answer}
	if tls {
		rc.Server = httptest.NewTLSServer(rc)
	} else {
		rc.Server = httptest.NewServer(rc)
	}
	t.Cleanup(rc.Server.Close)
	return rc
}

// URL is where the receiver listens, with path appended.
func (rc *Receiver) URL(path string) string { return rc.Server.URL + path }

// TLSConfig trusts the receiver's certificate.
func (rc *Receiver) TLSConfig() *tls.Config {
	return rc.Server.Client().Transport.(*http.Transport).TLSClientConfig
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := rc.inFlight.Add(1)
	defer rc.inFlight.Add(-1)
	for {
		m := rc.maxSeen.Load()
		if cur <= m || rc.maxSeen.CompareAndSwap(m, cur) {
			break
		}
	}
	b, _ := io.ReadAll(r.Body)
	d := Delivery{Header: r.Header.Clone(), Body: b}
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, d)
	rc.mu.Unlock()
	status, hdr := http.StatusNoContent, http.Header(nil)
	if rc.answer != nil {
		status, hdr = rc.answer(n, d)
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

// Deliveries answers what was received so far, in arrival order.
func (rc *Receiver) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.got...)
}

// InFlight is how many requests are being answered now; MaxInFlight the
// most at once so far.
func (rc *Receiver) InFlight() int    { return int(rc.inFlight.Load()) }
func (rc *Receiver) MaxInFlight() int { return int(rc.maxSeen.Load()) }

// Event is a delivery's body.
type Event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// Verify checks a delivery as a Standard Webhooks receiver does with the
// endpoint's secret ("whsec_" + base64 key): the signature is v1, base64
// HMAC-SHA256 of "id.timestamp.body"; the body's id is the header's. It
// answers the body.
func Verify(secret string, d Delivery) (Event, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return Event{}, fmt.Errorf("secret: %w", err)
	}
	id, ts := d.Header.Get("webhook-id"), d.Header.Get("webhook-timestamp")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(d.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(d.Header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if !ok {
		return Event{}, fmt.Errorf("webhook-signature %q does not verify", d.Header.Get("webhook-signature"))
	}
	var ev Event
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		return Event{}, fmt.Errorf("body %s: %w", d.Body, err)
	}
	if ev.ID != id || id == "" {
		return Event{}, errors.New("the body's id is not the webhook-id header")
	}
	if ct := d.Header.Get("Content-Type"); ct != "application/json" {
		return Event{}, fmt.Errorf("Content-Type %q", ct)
	}
	return ev, nil
}

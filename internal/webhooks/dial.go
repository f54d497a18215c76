package webhooks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// resolver is what the guarded dialer needs of a DNS resolver.
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// guardedDial resolves the host, checks every address with
// loyalty.CheckWebhookAddr and connects to a checked address itself, so a
// name that resolves to a forbidden address at connection time (DNS
// rebinding) is refused however it resolved when the endpoint was made.
// A name with any forbidden address is refused outright.
func guardedDial(r resolver, plain bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, portText, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", portText, err)
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("%s: no address", host)
		}
		for _, a := range addrs {
			if err := loyalty.CheckWebhookAddr(a, plain); err != nil {
				return nil, err
			}
		}
		var errs []error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

// transport sends https requests through a guarded dialer, and plain http
// ones through another that reaches only loopback and private addresses,
// when allowHTTP; otherwise http is refused.
type transport struct {
	https, http *http.Transport
}

func newTransport(r resolver, tlsConfig *tls.Config, allowHTTP bool, perEndpoint int) *transport {
	mk := func(plain bool) *http.Transport {
		return &http.Transport{
			// No proxy: a proxy would connect to addresses nobody checked.
			Proxy:       nil,
			DialContext: guardedDial(r, plain),
			// Each transport its own copy: with HTTP/2 forced, a
			// transport adds "h2" to its config's NextProtos on first
			// use, which must not race the other transport's reads.
			TLSClientConfig:       tlsConfig.Clone(),
			ForceAttemptHTTP2:     true,
			MaxConnsPerHost:       perEndpoint,
			MaxIdleConnsPerHost:   perEndpoint,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 0,
		}
	}
	t := &transport{https: mk(false)}
	if allowHTTP {
		t.http = mk(true)
	}
	return t
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.URL.Scheme == "https":
		return t.https.RoundTrip(req)
	case req.URL.Scheme == "http" && t.http != nil:
		return t.http.RoundTrip(req)
	}
	return nil, fmt.Errorf("%s URLs are not allowed (http needs PASSD_WEBHOOK_ALLOW_HTTP=1)", req.URL.Scheme)
}

func (t *transport) closeIdle() {
	t.https.CloseIdleConnections()
	if t.http != nil {
		t.http.CloseIdleConnections()
	}
}

// Package clientaddr answers the address of the client behind a request:
// the peer's address, or, when the peer is a trusted reverse proxy
// (PASSD_TRUSTED_PROXIES), the address that proxy chain names in
// X-Forwarded-For, read right to left past the trusted hops. An address
// anyone could forge (the left end of the header, past an untrusted hop)
// is never taken.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses; the zero Resolver (and nil) trusts no
// proxy and answers the peer's address.
type Resolver struct {
	trusted []netip.Prefix
}

// New answers a resolver that trusts the proxies within trusted.
func New(trusted []netip.Prefix) *Resolver { return &Resolver{trusted: trusted} }

// ParsePrefixes reads a comma-separated list of CIDR prefixes and single
// addresses (192.0.2.10, 10.0.0.0/8, fd00::/8).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr answers the client address of req; the zero Addr when the peer's
// address cannot be read (never over TCP).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	return r.Forwarded(peer, req.Header.Values("X-Forwarded-For"))
}

// Forwarded answers the client address for a request from peer that
// carries the X-Forwarded-For header values xff: peer itself unless it is
// trusted; else the right-most address of xff that is not a trusted
// proxy. A malformed entry ends the walk at the hop that wrote it.
func (r *Resolver) Forwarded(peer netip.Addr, xff []string) netip.Addr {
	if !peer.IsValid() || !r.isTrusted(peer) {
		return peer
	}
	client := peer
	hops := strings.Split(strings.Join(xff, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !r.isTrusted(client) {
			break
		}
	}
	return client
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Key is what limits count an address by: an IPv4 address, or the /64
// network of an IPv6 address (one subscriber's usual share, which it can
// walk through at will); "unknown" for the zero Addr.
func Key(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

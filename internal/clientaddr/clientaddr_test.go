package clientaddr_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/passd/passd/internal/clientaddr"
)

func resolver(t *testing.T, list string) *clientaddr.Resolver {
	t.Helper()
	p, err := clientaddr.ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return clientaddr.New(p)
}

func TestAddr(t *testing.T) {
	t.Parallel()
	r := resolver(t, "10.0.0.0/8, 192.0.2.10, fd00::/8")
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"untrusted peer's header is ignored", "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"one trusted proxy", "10.1.2.3:443", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged left end is skipped", "10.1.2.3:443", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops", "192.0.2.10:443", []string{"203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"header lines joined", "10.1.2.3:443", []string{"1.2.3.4", "203.0.113.9, 10.0.0.1"}, "203.0.113.9"},
		{"all hops trusted", "10.1.2.3:443", []string{"10.0.0.5"}, "10.0.0.5"},
		{"trusted proxy without a header", "10.1.2.3:443", nil, "10.1.2.3"},
		{"garbage ends the walk", "10.1.2.3:443", []string{"203.0.113.9, not-an-ip"}, "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"ipv6 proxy", "[fd00::5]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"v4-mapped proxy", "[::ffff:10.1.2.3]:443", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.remote
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := r.Addr(req).String(); got != c.want {
			t.Errorf("%s: Addr(%s, %q) = %s, want %s", c.name, c.remote, c.xff, got, c.want)
		}
	}
	var none *clientaddr.Resolver
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:443"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := none.Addr(req).String(); got != "10.1.2.3" {
		t.Errorf("nil resolver Addr = %s, want the peer", got)
	}
}

func TestParsePrefixesRefusesGarbage(t *testing.T) {
	t.Parallel()
	if _, err := clientaddr.ParsePrefixes("10.0.0.0/8, proxy.example"); err == nil || !strings.Contains(err.Error(), "proxy.example") {
		t.Errorf("ParsePrefixes(garbage) = %v, want an error naming it", err)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::bad": "2001:db8:1:2::/64",
	} {
		if got := clientaddr.Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if got := clientaddr.Key(netip.Addr{}); got != "unknown" {
		t.Errorf("Key(zero) = %s, want unknown", got)
	}
}

// FuzzForwarded: whatever the header says, the answer is the peer or an
// address the header names, and never one left of an untrusted hop.
func FuzzForwarded(f *testing.F) {
	r := clientaddr.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f.Add("10.0.0.1", "1.2.3.4, 5.6.7.8")
	f.Add("10.0.0.1", "garbage,,10.0.0.2")
	f.Add("192.0.2.1", "10.0.0.3")
	f.Add("10.0.0.1", "")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		p, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		p = p.Unmap()
		got := r.Forwarded(p, []string{xff})
		if got == p {
			return
		}
		if !p.Is4() || !netip.MustParsePrefix("10.0.0.0/8").Contains(p) {
			t.Fatalf("Forwarded(untrusted %s, %q) = %s, want the peer", p, xff, got)
		}
		hops := strings.Split(xff, ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				t.Fatalf("Forwarded(%s, %q) = %s, past a malformed hop", p, xff, got)
			}
			if a.Unmap() == got {
				return
			}
			if !netip.MustParsePrefix("10.0.0.0/8").Contains(a.Unmap()) {
				t.Fatalf("Forwarded(%s, %q) = %s, left of the untrusted hop %s", p, xff, got, a)
			}
		}
		t.Fatalf("Forwarded(%s, %q) = %s, not in the header", p, xff, got)
	})
}

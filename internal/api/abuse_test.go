package api_test

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/testkit"
)

// TestScanLimitSurvivesRestart: the failed scans of a key are in the
// store, so a restarted API (or another instance) refuses the key too.
func TestScanLimitSurvivesRestart(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := newScanEnv(t, clk, api.RateLimit{PerMinute: 10, Burst: 5})
	token := e.enroll("Ada")["barcode"].(string)
	pos := e.newKey("pos", "")
	for range 5 {
		e.scan(pos, forge(token)).want(t, 422, "invalid_barcode")
	}
	e.scan(pos, forge(token)).want(t, 429, "rate_limited")

	again := serve(t, api.Config{
		Deps: surface.Deps{Store: e.store, Programs: scanCatalog(t), Secret: secret,
			Links: links.New(secret, "https://passd.example"), Logger: slog.New(slog.DiscardHandler), Now: clk.Now},
		ScanFailureLimit: api.RateLimit{PerMinute: 10, Burst: 5},
	})
	a := again.scan(pos, token).want(t, 429, "rate_limited")
	if ra := a.header.Get("Retry-After"); ra != "6" {
		t.Errorf("Retry-After after a restart = %q, want 6", ra)
	}
	clk.Add(6 * time.Second)
	again.scan(pos, token).want(t, 200, "")
}

// TestAuthFailureLimit: unknown API keys from one address are answered
// 401 up to the burst, then 429 with Retry-After before any key is looked
// at; other addresses are not affected, and behind a trusted proxy the
// address is the forwarded one.
func TestAuthFailureLimit(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	st := testkit.OpenSQLite(t, store.Options{})
	svc := seededPrograms(t, st)
	e := serve(t, api.Config{
		Deps: surface.Deps{Store: st, Programs: svc.Catalog(), Secret: secret,
			Links: links.New(secret, "https://passd.example"), Logger: slog.New(slog.DiscardHandler), Now: clk.Now,
			ClientAddr: clientaddr.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})},
		BootstrapAdminKey: adminKey, ProgramEditor: svc,
		AuthFailureLimit: api.RateLimit{PerMinute: 6, Burst: 3},
	})
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	// Known keys cost nothing.
	for range 5 {
		e.do("GET", "/api/v1/programs", adminKey, nil, from("203.0.113.1")...).want(t, 200, "")
	}
	for range 3 {
		e.do("GET", "/api/v1/programs", "guess-guess-guess-guess", nil, from("203.0.113.1")...).want(t, 401, "unauthorized")
	}
	a := e.do("GET", "/api/v1/programs", "guess-guess-guess-guess", nil, from("203.0.113.1")...).want(t, 429, "rate_limited")
	if ra := a.header.Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After = %q, want 10", ra)
	}
	// The address is refused before its key is looked at: even a good key.
	e.do("GET", "/api/v1/programs", adminKey, nil, from("203.0.113.1")...).want(t, 429, "rate_limited")
	// Another client behind the same proxy is not.
	e.do("GET", "/api/v1/programs", "guess-guess-guess-guess", nil, from("203.0.113.2")...).want(t, 401, "unauthorized")
	e.do("GET", "/api/v1/programs", adminKey, nil, from("203.0.113.2")...).want(t, 200, "")
	clk.Add(10 * time.Second)
	e.do("GET", "/api/v1/programs", adminKey, nil, from("203.0.113.1")...).want(t, 200, "")
}

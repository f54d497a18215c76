package api_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/templates"
)

// manualProgram is a program that accepts typed member numbers.
var manualProgram = fstest.MapFS{
	"manual/program.json": {Data: []byte(`{
		"id": "manual", "name": "Manual Entry Club", "organization_name": "Manual Co.",
		"colors": {"background": "#000000", "foreground": "#ffffff", "label": "#cccccc"},
		"currency": "EUR", "earn": {"points_per_unit": 1},
		"tiers": [{"name": "Member", "threshold": 0}],
		"allow_manual_entry": true, "default_locale": "en",
		"locales": {"en": {"program_name": "Manual Entry Club"}}}`)},
	"manual/icon.png": {Data: []byte("png")},
}

// newScanEnv is newEnv with a test clock, a scan failure limit and a second
// program ("manual") that allows manual entry.
func newScanEnv(t *testing.T, clk *testkit.Clock, limit api.RateLimit) *env {
	t.Helper()
	return serve(t, api.Config{
		Deps: surface.Deps{
			Store: testkit.OpenSQLite(t, store.Options{}), Programs: scanCatalog(t), Secret: secret, Links: links.New(secret, "https://passd.example"),
			Logger: slog.New(slog.DiscardHandler), Now: clk.Now,
		},
		BootstrapAdminKey: adminKey, ScanFailureLimit: limit,
	})
}

// scanCatalog is the embedded templates and the "manual" programme.
func scanCatalog(t *testing.T) *loyalty.Catalog {
	t.Helper()
	cat, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."},
		loyalty.TemplateSource{Name: "test", FS: manualProgram, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func (e *env) scan(key, code string) answer {
	e.t.Helper()
	return e.do("POST", "/api/v1/pos/scan", key, map[string]any{"barcode": code})
}

// mistype changes the digit at i of a token.
func mistype(token string, i int) string {
	b := []byte(token)
	b[i] = '0' + (b[i]-'0'+1)%10
	return string(b)
}

// forge changes the last character of a token's MAC.
func forge(token string) string {
	last := "A"
	if strings.HasSuffix(token, last) {
		last = "B"
	}
	return token[:len(token)-1] + last
}

func TestScan(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := newScanEnv(t, clk, api.RateLimit{PerMinute: 600, Burst: 100})
	m := e.enroll("Ada")
	token := m["barcode"].(string)
	pos := e.newKey("pos", "")

	got := e.scan(pos, token).want(t, 200, "").body
	for _, k := range []string{"id", "number", "name", "points", "tier", "barcode", "apple_pass_url"} {
		if got[k] != m[k] {
			t.Errorf("scan()[%s] = %v, want %v", k, got[k], m[k])
		}
	}
	// Scanners may deliver lower case and stray whitespace.
	e.scan(pos, " "+strings.ToLower(token)+"\n").want(t, 200, "")

	mac := token[strings.Index(token, "-")+1:]
	for name, code := range map[string]string{
		"forged mac":        forge(token),
		"mac of another":    "1234567897-" + mac,
		"mistyped digit":    mistype(token, 3),
		"mistyped check":    mistype(token, 9),
		"no mac":            token[:10] + "-",
		"garbage":           "hello-world",
		"bare number (off)": token[:10],
	} {
		a := e.scan(pos, code)
		if a.status != 422 || a.body["code"] != "invalid_barcode" {
			t.Errorf("scan(%s %q) = %d %s, want 422 invalid_barcode", name, code, a.status, a.raw)
		}
	}
	e.scan(pos, "").want(t, 422, "validation_failed")
	e.scan(pos, strings.Repeat("1", 200)).want(t, 422, "validation_failed")
	e.do("POST", "/api/v1/pos/scan", pos, `{"barcode": 5}`).want(t, 400, "malformed_json")

	// Auth: no key, unknown key, a key scoped to another program.
	e.scan("", token).want(t, 401, "unauthorized")
	e.scan("not-a-key-not-a-key", token).want(t, 401, "unauthorized")
	e.scan(e.newKey("pos", "manual"), token).want(t, 403, "forbidden")
	e.scan(e.newKey("pos", "demo"), token).want(t, 200, "")

	// A valid token of an erased member is not found.
	e.do("DELETE", "/api/v1/members/"+m["id"].(string), adminKey, nil).want(t, 204, "")
	e.scan(pos, token).want(t, 404, "not_found")
}

func TestScanManualEntry(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := newScanEnv(t, clk, api.RateLimit{PerMinute: 600, Burst: 100})
	demo := e.enroll("Ada")
	manual := e.do("POST", "/api/v1/programs/manual/members", adminKey, map[string]any{"name": "Grace"}).want(t, 201, "").body
	pos := e.newKey("pos", "")
	num := manual["number"].(string)

	got := e.scan(pos, num).want(t, 200, "").body
	if got["id"] != manual["id"] {
		t.Errorf("scan(typed %s) = member %v, want %v", num, got["id"], manual["id"])
	}
	e.scan(pos, num[:3]+" "+num[3:6]+" "+num[6:]).want(t, 200, "")
	// The check digit is required.
	e.scan(pos, mistype(num, 2)).want(t, 422, "invalid_barcode")
	// A valid number nobody has.
	e.scan(pos, "1234567897").want(t, 404, "not_found")
	// The demo program keeps manual entry off, even for a key that sees both.
	a := e.scan(pos, demo["number"].(string)).want(t, 422, "invalid_barcode")
	if !strings.Contains(a.body["detail"].(string), "typed member number") {
		t.Errorf("detail = %v, want it to say typed numbers are refused", a.body["detail"])
	}
	// A key scoped to demo cannot type numbers at all, and cannot reach the
	// manual program's members.
	demoKey := e.newKey("pos", "demo")
	e.scan(demoKey, num).want(t, 422, "invalid_barcode")
	e.scan(e.newKey("pos", "manual"), num).want(t, 200, "")
	// Tokens still work in a manual-entry program.
	e.scan(pos, manual["barcode"].(string)).want(t, 200, "")
}

func TestScanRateLimit(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := newScanEnv(t, clk, api.RateLimit{PerMinute: 10, Burst: 20})
	token := e.enroll("Ada")["barcode"].(string)
	pos, other := e.newKey("pos", ""), e.newKey("pos", "")

	// Successful scans cost nothing.
	for range 30 {
		e.scan(pos, token).want(t, 200, "")
	}
	forged := mistype(token, 4)
	for i := range 20 {
		if a := e.scan(pos, forged); a.status != 422 {
			t.Fatalf("forged scan %d = %d %s, want 422 within the burst", i, a.status, a.raw)
		}
	}
	a := e.scan(pos, forged).want(t, 429, "rate_limited")
	if ra := a.header.Get("Retry-After"); ra != "6" {
		t.Errorf("Retry-After = %q, want 6 (one try per 6 s)", ra)
	}
	// Once limited, even a valid code waits: the key is refused before its
	// code is looked at.
	e.scan(pos, token).want(t, 429, "rate_limited")
	// Another key is not affected.
	e.scan(other, forged).want(t, 422, "invalid_barcode")

	clk.Add(5 * time.Second)
	e.scan(pos, token).want(t, 429, "rate_limited")
	clk.Add(time.Second)
	e.scan(pos, token).want(t, 200, "")
	e.scan(pos, forged).want(t, 422, "invalid_barcode")
	e.scan(pos, forged).want(t, 429, "rate_limited")

	// Concurrent forged scans stay within the burst.
	third := e.newKey("pos", "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 50 {
		wg.Go(func() {
			a := e.scan(third, forged)
			mu.Lock()
			statuses[a.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[422] != 20 || statuses[429] != 30 {
		t.Errorf("50 concurrent forged scans answered %v, want 20 422s and 30 429s", statuses)
	}

	// After two minutes of quiet the whole burst is back.
	clk.Add(2 * time.Minute)
	for i := range 20 {
		if a := e.scan(pos, forged); a.status != 422 {
			t.Fatalf("forged scan %d after refill = %d, want 422", i, a.status)
		}
	}
	e.scan(pos, forged).want(t, 429, "rate_limited")
}

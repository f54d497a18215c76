package console_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/surface"
)

const pw = "correct horse battery"

// api calls passd's JSON API with the bootstrap admin key and answers the
// status and the decoded body.
func (p *passd) api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+"/api/v1"+path, in)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(path, "/members/") && method == "POST" {
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// barcode answers the text of a member's card barcode.
func (p *passd) barcode(t *testing.T, memberID string) string {
	t.Helper()
	status, m := p.api(t, "GET", "/members/"+memberID, nil)
	code, _ := m["barcode"].(string)
	if status != 200 || code == "" {
		t.Fatalf("GET member %s = %d, %v", memberID, status, m)
	}
	return code
}

// ledger answers the member's transactions, newest first.
func (p *passd) ledger(t *testing.T, memberID string) []map[string]any {
	t.Helper()
	status, body := p.api(t, "GET", "/members/"+memberID+"/transactions", nil)
	items, _ := body["items"].([]any)
	if status != 200 {
		t.Fatalf("GET transactions = %d, %v", status, body)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// scanAnswer is a scanner endpoint's answer to the page's script.
type scanAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a scanAnswer) code() string {
	c, _ := a.body["code"].(string)
	return c
}

// postJSON posts a scanner form as the page's script does (Accept JSON).
func (b *browser) postJSON(path string, form url.Values) scanAnswer {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	a := scanAnswer{status: res.StatusCode, header: res.Header}
	if err := json.NewDecoder(res.Body).Decode(&a.body); err != nil {
		b.t.Fatalf("POST %s: %d, body not JSON: %v", path, res.StatusCode, err)
	}
	return a
}

// scanner signs a new user in and answers their browser and the
// scanner's CSRF token.
func (p *passd) scanner(t *testing.T, email, role, program string) (*browser, string) {
	t.Helper()
	p.user(t, email, role, program, pw)
	b := p.browser(t)
	if res := b.signIn(email, pw); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s = %d", email, res.StatusCode)
	}
	return b, b.csrf("/console/scan")
}

func TestScanSignedOut(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	m := storetest.NewMember(t, p.srv.Store, "demo")
	b := p.browser(t)
	if res, _ := b.do("GET", "/console/scan", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
		t.Errorf("GET /console/scan signed out = %d to %q, want 303 to sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	form := url.Values{"barcode": {p.barcode(t, m.ID)}}
	if res, page := b.do("POST", "/console/scan", form); res.StatusCode != http.StatusSeeOther || strings.Contains(page, m.Name) {
		t.Errorf("POST /console/scan signed out = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if a := b.postJSON("/console/scan", form); a.status != http.StatusUnauthorized || a.code() != "unauthorized" ||
		!strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("scripted lookup signed out = %d %v, want a 401 problem", a.status, a.body)
	}
	if a := b.postJSON("/console/scan/members/"+m.ID+"/earn", url.Values{"key": {"k1"}, "amount": {"5"}}); a.status != http.StatusUnauthorized {
		t.Errorf("scripted earn signed out = %d %v, want 401", a.status, a.body)
	}
	if n := len(p.ledger(t, m.ID)); n != 0 {
		t.Errorf("ledger after signed-out posts has %d entries, want 0", n)
	}
}

func TestScanPage(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	b, _ := p.scanner(t, "till@example.com", loyalty.RolePOS, "demo")

	// A pos user's /console is the scanner.
	if res, _ := b.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/scan" {
		t.Errorf("pos GET /console = %d to %q, want 303 to the scanner", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := b.do("GET", "/console/scan", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET /console/scan = %d", res.StatusCode)
	}
	// The camera view and manual entry, a strict CSP: script from 'self'
	// only, no inline script, nothing unsafe.
	for _, want := range []string{`<video id="camera"`, `id="lookup-form"`, `name="barcode"`, `name="csrf"`,
		`<link rel="manifest" href="/console/scan/manifest.webmanifest">`, `<script src="/console/scan/zxing.min.js" defer></script>`,
		`<script src="/console/scan/scan.js" defer></script>`, `<meta name="theme-color" content="#1d1d1f">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the scanner page lacks %s", want)
		}
	}
	if n, m := strings.Count(page, "<script"), strings.Count(page, "<script src="); n != 2 || m != 2 {
		t.Errorf("the scanner page has %d script elements, %d with src; want the two files only", n, m)
	}
	if strings.Contains(page, " style=") || strings.Contains(page, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("the scanner page has inline style or event attributes")
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "manifest-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("scanner CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("scanner CSP %q allows unsafe or any source", csp)
	}

	// The manifest and its icons, fetched without cookies as browsers do.
	res, err := http.Get(p.url + "/console/scan/manifest.webmanifest")
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Name       string `json:"name"`
		StartURL   string `json:"start_url"`
		Display    string `json:"display"`
		ThemeColor string `json:"theme_color"`
		Icons      []struct{ Src, Sizes, Type string }
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(raw, &man); err != nil ||
		res.Header.Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("manifest = %s (%s), %v", raw, res.Header.Get("Content-Type"), err)
	}
	if man.StartURL != "/console/scan" || man.Display != "standalone" || man.ThemeColor != "#1d1d1f" || len(man.Icons) != 2 || man.Name == "" {
		t.Errorf("manifest = %+v", man)
	}
	for _, ic := range man.Icons {
		res, err := http.Get(p.url + ic.Src)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(res.Body)
		res.Body.Close()
		if err != nil || res.Header.Get("Content-Type") != "image/png" {
			t.Errorf("icon %s = %v (%s)", ic.Src, err, res.Header.Get("Content-Type"))
			continue
		}
		if w, h := strconv.Itoa(img.Bounds().Dx()), strconv.Itoa(img.Bounds().Dy()); ic.Sizes != w+"x"+h || w != h {
			t.Errorf("icon %s is %v, manifest says %s", ic.Src, img.Bounds(), ic.Sizes)
		}
	}
	// The script and the decoder, from the binary.
	for name, ct := range map[string]string{"scan.js": "text/javascript; charset=utf-8", "zxing.min.js": "text/javascript; charset=utf-8",
		"scan.css": "text/css; charset=utf-8", "zxing-LICENSE.txt": "text/plain; charset=utf-8"} {
		res, err := http.Get(p.url + "/console/scan/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ct || len(body) == 0 || res.Header.Get("ETag") == "" {
			t.Errorf("GET /console/scan/%s = %d %q, %d bytes", name, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		req, _ := http.NewRequest("GET", p.url+"/console/scan/"+name, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		if again, err := http.DefaultClient.Do(req); err != nil || again.StatusCode != http.StatusNotModified {
			t.Errorf("GET /console/scan/%s again with its ETag = %v, %v, want 304", name, again, err)
		}
	}
	// In French.
	req, _ := http.NewRequest("GET", p.url+"/console/scan", nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	if res, err := b.c.Do(req); err != nil || res.Header.Get("Content-Language") != "fr" {
		t.Errorf("the scanner in French = %v, %v", res, err)
	} else {
		fr, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(fr), "Saisir le code") || !strings.Contains(string(fr), "Trouver le membre") {
			t.Error("the French scanner page lacks its French words")
		}
	}
	if res, _ := b.do("GET", "/console/scan/nothing.js", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown scanner file = %d, want 404", res.StatusCode)
	}
}

// TestVendoredDecoder checks the embedded decoder against the checksums
// make vendor-zxing wrote.
func TestVendoredDecoder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("static", "scan-zxing")
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zxing.min.js", "LICENSE", "VERSION"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  "+name+"\n") {
			t.Errorf("%s/%s does not match SHA256SUMS (run make vendor-zxing)", dir, name)
		}
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "VERSION")); !regexp.MustCompile(`^\d+\.\d+\.\d+\n$`).Match(v) {
		t.Errorf("VERSION = %q, want a pinned version", v)
	}
	if l, _ := os.ReadFile(filepath.Join(dir, "LICENSE")); !strings.Contains(string(l), "Apache License") {
		t.Error("the decoder's LICENSE is not its Apache License")
	}
}

// TestScanPOSOnlyScanner: a pos user reaches the scanner and no other
// console page. Every GET route of the console is tried.
func TestScanPOSOnlyScanner(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	b, _ := p.scanner(t, "till@example.com", loyalty.RolePOS, "demo")
	secret := []byte("route-walk-secret-0123456789")
	c, err := console.New(console.Config{
		Deps: surface.Deps{Store: p.srv.Store, Programs: p.srv.Programs, Secret: secret, Links: p.srv.Links},
		Till: func(loyalty.StaffUser) http.Handler { return http.NotFoundHandler() },
	})
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{"/login": true, "/set-password": true, "/scan": true, "/scan/{asset}": true}
	tried := 0
	err = chi.Walk(c.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != "GET" || open[route] {
			return nil
		}
		path := "/console" + regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(route, "demo")
		tried++
		res, page := b.do("GET", path, nil)
		if res.StatusCode == 200 || strings.Contains(page, "Demo Coffee") {
			t.Errorf("pos GET %s = %d, want no page", path, res.StatusCode)
		}
		if res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/console/scan" {
			t.Errorf("pos GET %s leads to %q, want the scanner", path, res.Header.Get("Location"))
		}
		return nil
	})
	if err != nil || tried == 0 {
		t.Fatalf("walked %d console routes, %v", tried, err)
	}
	if res, _ := b.do("GET", "/console/scan", nil); res.StatusCode != 200 {
		t.Errorf("pos GET /console/scan = %d, want the scanner", res.StatusCode)
	}
}

func TestScanner(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			testScanner(t, pg)
		})
	}
}

func testScanner(t *testing.T, pg bool) {
	p := start(t, pg, nil)
	m := storetest.NewMember(t, p.srv.Store, "demo")
	code := p.barcode(t, m.ID)
	b, csrf := p.scanner(t, "till@example.com", loyalty.RolePOS, "demo")

	// Manual entry without script: the form posts, the page shows the member.
	res, page := b.do("POST", "/console/scan", url.Values{"csrf": {csrf}, "barcode": {" " + code + " "}})
	if res.StatusCode != 200 || !strings.Contains(page, `<h2 id="member-name">Ada Lovelace</h2>`) ||
		!strings.Contains(page, `id="member-points">0<`) || !strings.Contains(page, `id="earn-form"`) {
		t.Fatalf("manual entry = %d, page without the member and the earn form", res.StatusCode)
	}
	// A forged card: the page says so in plain words.
	forged := code[:len(code)-1] + map[bool]string{true: "A", false: "B"}[strings.HasSuffix(code, "B")]
	res, page = b.do("POST", "/console/scan", url.Values{"csrf": {csrf}, "barcode": {forged}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not a valid card") || strings.Contains(page, "Ada Lovelace") {
		t.Errorf("forged card = %d, want 422 with the plain words and no member", res.StatusCode)
	}
	// A typed number where the programme wants the barcode.
	if a := b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {m.Number}}); a.status != http.StatusUnprocessableEntity || a.code() != "invalid_barcode" {
		t.Errorf("typed number = %d %v, want invalid_barcode", a.status, a.body)
	}

	// The script's lookup: JSON with the API's member and the panel.
	a := b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}})
	result, _ := a.body["member"].(map[string]any)
	panel, _ := a.body["panel"].(string)
	if a.status != 200 || result["id"] != m.ID || result["points"] != float64(0) || !strings.Contains(panel, "Ada Lovelace") || a.body["message"] == "" {
		t.Fatalf("scripted lookup = %d %v", a.status, a.body)
	}
	// Only what the scanner shows: no email, birthday or card links.
	for _, field := range []string{"email", "birthday", "barcode", "apple_pass_url"} {
		if _, ok := result[field]; ok {
			t.Errorf("the scanner's member has %s", field)
		}
	}
	earnPath := "/console/scan/members/" + m.ID + "/earn"

	// CSRF: none, forged, or another session's: refused, nothing posted.
	_, otherCSRF := p.scanner(t, "till2@example.com", loyalty.RolePOS, "demo")
	for name, token := range map[string]string{"none": "", "forged": csrf + "x", "another session's": otherCSRF} {
		form := url.Values{"key": {uuid.NewString()}, "amount": {"5"}}
		if token != "" {
			form.Set("csrf", token)
		}
		if a := b.postJSON(earnPath, form); a.status != http.StatusForbidden || a.code() != "forbidden" {
			t.Errorf("earn with %s CSRF token = %d %v, want 403", name, a.status, a.body)
		}
		if res, _ := b.do("POST", earnPath, form); res.StatusCode != http.StatusForbidden {
			t.Errorf("form earn with %s CSRF token = %d, want 403", name, res.StatusCode)
		}
	}
	if n := len(p.ledger(t, m.ID)); n != 0 {
		t.Fatalf("ledger after refused posts has %d entries, want 0", n)
	}

	// An earn of 12.50 EUR: 125 points at 10 a euro, posted once however
	// often its key is sent.
	key := uuid.NewString()
	earn := url.Values{"csrf": {csrf}, "key": {key}, "amount": {"12,50"}}
	a = b.postJSON(earnPath, earn)
	tx, _ := a.body["transaction"].(map[string]any)
	if a.status != http.StatusCreated || tx["points"] != float64(125) || tx["amount"] != float64(1250) || a.body["replayed"] != false ||
		!strings.Contains(a.body["panel"].(string), `id="member-points">125<`) || !strings.Contains(a.body["message"].(string), "125") {
		t.Fatalf("earn = %d %v", a.status, a.body)
	}
	a = b.postJSON(earnPath, earn)
	if a.status != http.StatusOK || a.body["replayed"] != true || !strings.Contains(a.body["message"].(string), "Already recorded") {
		t.Errorf("the same earn again = %d %v, want 200 replayed", a.status, a.body)
	}
	// A double tap: the same key twice at once.
	key2 := uuid.NewString()
	var wg sync.WaitGroup
	answers := make([]scanAnswer, 2)
	for i := range answers {
		wg.Go(func() {
			answers[i] = b.postJSON(earnPath, url.Values{"csrf": {csrf}, "key": {key2}, "amount": {"3"}})
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a.status != http.StatusCreated && a.status != http.StatusOK && a.code() != "request_in_progress" {
			t.Errorf("double tap answer = %d %v", a.status, a.body)
		}
	}
	entries := p.ledger(t, m.ID)
	if len(entries) != 2 || entries[0]["points"] != float64(30) || entries[1]["points"] != float64(125) {
		t.Fatalf("ledger = %v, want the 125 and the 30 once each", entries)
	}
	// The same key for another amount: refused.
	if a := b.postJSON(earnPath, url.Values{"csrf": {csrf}, "key": {key}, "amount": {"99"}}); a.code() != "idempotency_conflict" ||
		!strings.Contains(a.body["detail"].(string), "already used") {
		t.Errorf("key reused for another amount = %d %v", a.status, a.body)
	}
	// No key: nothing posted, and words that say what to do.
	if a := b.postJSON(earnPath, url.Values{"csrf": {csrf}, "amount": {"5"}}); a.code() != "idempotency_key_required" ||
		!strings.Contains(a.body["detail"].(string), "Reload the page") {
		t.Errorf("earn without a key = %d %v", a.status, a.body)
	}
	// An unknown action.
	if a := b.postJSON("/console/scan/members/"+m.ID+"/adjust", url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "amount": {"5"}}); a.status != http.StatusNotFound {
		t.Errorf("adjust through the scanner = %d %v, want 404", a.status, a.body)
	}
	// An amount that is not one.
	if a := b.postJSON(earnPath, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "amount": {"12.345"}}); a.status != http.StatusUnprocessableEntity ||
		a.code() != "validation_failed" || !strings.Contains(a.body["detail"].(string), "at most 2 decimals") {
		t.Errorf("amount 12.345 = %d %v", a.status, a.body)
	}

	// Rewards: redeem the one the member affords, refuse the one they do not.
	_, cheapReward := p.api(t, "POST", "/programs/demo/rewards", map[string]any{"name": "Espresso", "cost_points": 100, "valid_days": 30})
	_, dear := p.api(t, "POST", "/programs/demo/rewards", map[string]any{"name": "Espresso machine", "cost_points": 100000})
	a = b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}})
	if panel := a.body["panel"].(string); !strings.Contains(panel, "Espresso machine") || !strings.Contains(panel, `value="`+cheapReward["id"].(string)+`"`) {
		t.Errorf("panel lacks the active rewards: %s", panel)
	}
	redeem := "/console/scan/members/" + m.ID + "/redeem"
	if a := b.postJSON(redeem, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "reward": {dear["id"].(string)}}); a.code() != "insufficient_points" ||
		!strings.Contains(a.body["detail"].(string), "Not enough points") {
		t.Errorf("redeem the dear reward = %d %v, want insufficient_points", a.status, a.body)
	}
	a = b.postJSON(redeem, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "reward": {cheapReward["id"].(string)}})
	voucher, _ := a.body["voucher"].(map[string]any)
	vcode, _ := voucher["code"].(string)
	if a.status != http.StatusCreated || vcode == "" || !strings.Contains(a.body["panel"].(string), `id="member-points">55<`) ||
		!strings.Contains(a.body["panel"].(string), vcode) {
		t.Fatalf("redeem = %d %v", a.status, a.body)
	}
	// Use the voucher; then again: already used.
	use := "/console/scan/members/" + m.ID + "/use"
	useKey := uuid.NewString()
	if a := b.postJSON(use, url.Values{"csrf": {csrf}, "key": {useKey}, "voucher": {vcode}}); a.status != http.StatusCreated || a.body["voucher"].(map[string]any)["status"] != "used" ||
		strings.Contains(a.body["panel"].(string), vcode) || !strings.Contains(a.body["message"].(string), "Voucher used") {
		t.Errorf("use voucher = %d %v", a.status, a.body)
	}
	if a := b.postJSON(use, url.Values{"csrf": {csrf}, "key": {useKey}, "voucher": {vcode}}); a.status != http.StatusOK || a.body["replayed"] != true {
		t.Errorf("use voucher, same key = %d %v, want a replay", a.status, a.body)
	}
	if a := b.postJSON(use, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "voucher": {vcode}}); a.code() != "voucher_used" ||
		!strings.Contains(a.body["detail"].(string), "already used") {
		t.Errorf("use voucher again = %d %v, want voucher_used", a.status, a.body)
	}
	// Without script, a refusal shows the page with the member and the words.
	res, page = b.do("POST", use, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "voucher": {vcode}})
	if res.StatusCode != http.StatusConflict && res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "already used") || !strings.Contains(page, "Ada Lovelace") {
		t.Errorf("form use of a used voucher = %d", res.StatusCode)
	}
	// An expired voucher: one valid for a day, tried 25 hours on (the
	// session kept alive meanwhile).
	_, daily := p.api(t, "POST", "/programs/demo/rewards", map[string]any{"name": "Croissant", "cost_points": 10, "valid_days": 1})
	a = b.postJSON(redeem, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "reward": {daily["id"].(string)}})
	if a.status != http.StatusCreated {
		t.Fatalf("redeem the croissant = %d %v", a.status, a.body)
	}
	vcode = a.body["voucher"].(map[string]any)["code"].(string)
	for _, d := range []time.Duration{11 * time.Hour, 11 * time.Hour, 3 * time.Hour} {
		p.clock.Add(d)
		if res, _ := b.do("GET", "/console/scan", nil); res.StatusCode != 200 {
			t.Fatalf("GET /console/scan = %d", res.StatusCode)
		}
	}
	if a := b.postJSON(use, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "voucher": {vcode}}); a.code() != "voucher_expired" ||
		!strings.Contains(a.body["detail"].(string), "expired") {
		t.Errorf("use an expired voucher = %d %v, want voucher_expired", a.status, a.body)
	}

	// Without script, an earn posts as a plain form with the key the
	// server put in it, and the page shows the outcome; sent again, it is
	// not posted twice.
	_, page = b.do("POST", "/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}})
	formKey := regexp.MustCompile(`id="earn-form"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if formKey == nil {
		t.Fatal("the earn form has no key")
	}
	before := len(p.ledger(t, m.ID))
	for i, want := range []string{"Earned 10 points.", "Already recorded, not posted again: Earned 10 points."} {
		res, page := b.do("POST", earnPath, url.Values{"csrf": {csrf}, "key": {formKey[1]}, "amount": {"1"}})
		if res.StatusCode != 200 || !strings.Contains(page, `<p class="done" id="done" role="status">`+want+`</p>`) {
			t.Errorf("form earn %d = %d, want the page saying %q", i+1, res.StatusCode, want)
		}
	}
	if after := len(p.ledger(t, m.ID)); after != before+1 {
		t.Errorf("ledger grew by %d after a form earn sent twice, want 1", after-before)
	}
}

func TestScanStamp(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	_, reward := p.api(t, "POST", "/programs/demo/rewards", map[string]any{"name": "Free coffee", "cost_points": 1})
	if status, body := p.api(t, "PATCH", "/programs/demo", map[string]any{"stamps": map[string]any{"goal": 2, "reward_id": reward["id"]}}); status != 200 {
		t.Fatalf("PATCH demo stamps = %d %v", status, body)
	}
	m := storetest.NewMember(t, p.srv.Store, "demo")
	b, csrf := p.scanner(t, "till@example.com", loyalty.RolePOS, "demo")
	a := b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {p.barcode(t, m.ID)}})
	if !strings.Contains(a.body["panel"].(string), `id="member-stamps">0 of 2<`) || !strings.Contains(a.body["panel"].(string), `id="stamp-form"`) {
		t.Fatalf("stamp programme panel = %d %v", a.status, a.body)
	}
	stamp := "/console/scan/members/" + m.ID + "/stamp"
	if a := b.postJSON(stamp, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}}); a.status != http.StatusCreated ||
		!strings.Contains(a.body["panel"].(string), `id="member-stamps">1 of 2<`) {
		t.Errorf("stamp = %d %v", a.status, a.body)
	}
	// The card fills: a voucher for the free coffee.
	if a := b.postJSON(stamp, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}}); a.status != http.StatusCreated ||
		!strings.Contains(a.body["panel"].(string), `id="member-stamps">0 of 2<`) || !strings.Contains(a.body["panel"].(string), "Free coffee ·") {
		t.Errorf("stamp that fills the card = %d %v", a.status, a.body)
	}
}

// TestScanOtherProgramme: a merchant of one programme cannot scan, or act
// on, another programme's card.
func TestScanOtherProgramme(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	body := map[string]any{
		"id": "bakery", "name": "Bakery", "organization_name": "Bakery Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"tiers":          []any{map[string]any{"name": "Member", "threshold": 0}},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Bread Club"}},
	}
	if status, out := p.api(t, "POST", "/programs", body); status != 201 {
		t.Fatalf("create bakery = %d %v", status, out)
	}
	m := storetest.NewMember(t, p.srv.Store, "demo")
	code := p.barcode(t, m.ID)
	b, csrf := p.scanner(t, "baker@example.com", loyalty.RoleMerchant, "bakery")
	a := b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}})
	if a.status != http.StatusForbidden || a.code() != "forbidden" || strings.Contains(a.body["detail"].(string), m.Name) {
		t.Errorf("bakery scans a demo card = %d %v, want 403", a.status, a.body)
	}
	if res, page := b.do("POST", "/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}}); res.StatusCode != http.StatusForbidden || strings.Contains(page, m.Name) {
		t.Errorf("bakery form-scans a demo card = %d", res.StatusCode)
	}
	for _, action := range []string{"earn", "stamp"} {
		a := b.postJSON("/console/scan/members/"+m.ID+"/"+action, url.Values{"csrf": {csrf}, "key": {uuid.NewString()}, "amount": {"5"}})
		if a.status != http.StatusForbidden {
			t.Errorf("bakery %s on a demo member = %d %v, want 403", action, a.status, a.body)
		}
	}
	if n := len(p.ledger(t, m.ID)); n != 0 {
		t.Errorf("demo member's ledger has %d entries after bakery's tries, want 0", n)
	}
	// demo's merchant scans it.
	d, dcsrf := p.scanner(t, "cafe@example.com", loyalty.RoleMerchant, "demo")
	if a := d.postJSON("/console/scan", url.Values{"csrf": {dcsrf}, "barcode": {code}}); a.status != 200 {
		t.Errorf("demo merchant scans a demo card = %d %v", a.status, a.body)
	}
}

// TestScanRateLimited: forged codes are refused, then rate-limited with
// the wait in plain words.
func TestScanRateLimited(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	m := storetest.NewMember(t, p.srv.Store, "demo")
	code := p.barcode(t, m.ID)
	b, csrf := p.scanner(t, "till@example.com", loyalty.RolePOS, "demo")
	var last scanAnswer
	for i := range 40 {
		last = b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {"forged-" + strconv.Itoa(i) + code[len(code)/2:]}})
		if last.status == http.StatusTooManyRequests {
			break
		}
		if last.code() != "invalid_barcode" {
			t.Fatalf("forged scan %d = %d %v", i, last.status, last.body)
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" ||
		!regexp.MustCompile(`Wait \d+ seconds`).MatchString(last.body["detail"].(string)) {
		t.Fatalf("after many forged scans = %d %v, want 429 with the wait", last.status, last.body)
	}
	// A genuine card waits too: the limiter refuses before looking.
	if a := b.postJSON("/console/scan", url.Values{"csrf": {csrf}, "barcode": {code}}); a.status != http.StatusTooManyRequests {
		t.Errorf("genuine scan while limited = %d", a.status)
	}
}

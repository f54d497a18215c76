package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/testkit/headless"
	"github.com/passd/passd/passkit"
)

// ArtifactDir is where the browser test leaves its screenshot (ignored by
// git; CI may keep it).
const artifactDir = "testdata/artifacts"

// publicHost is the name passd's public URL uses in the browser test; the
// browser maps it to the test's TLS front and the test's HTTP client dials
// the front for it.
const publicHost = "passd.test"

// startPassd runs a whole passd with Google Wallet on (against a fake
// Wallet API) behind a TLS front, as production runs behind a TLS
// terminator: PASSD_PUBLIC_URL is https://passd.test, which the browser
// resolves to the front. It answers the public base URL, the front's
// loopback address, an HTTP client that reaches the public URL, and passd's
// data folder.
func startPassd(t *testing.T) (base, front string, client *http.Client, dataDir string) {
	t.Helper()
	gw := wallettest.New(t)
	dataDir = t.TempDir()
	base = "https://" + publicHost
	env := map[string]string{"PASSD_ADDR": "127.0.0.1:0", "PASSD_PUBLIC_URL": base, "PASSD_DATA_DIR": dataDir,
		"PASSD_BOOTSTRAP_ADMIN_KEY": "browser-test-admin-key-0123",
		// One enrolment per address an hour: the second shows the 429 page.
		"PASSD_JOIN_LIMIT_PER_ADDRESS": "1/1h",
		"PASSD_GOOGLE_ISSUER_ID":       wallettest.IssuerID, "PASSD_GOOGLE_CREDENTIALS": gw.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL": gw.URL}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, _ := servertest.Start(t, env, log, server.Options{GoogleHTTPClient: gw.HTTPClient()})
	// The TLS front: a reverse proxy to passd that keeps the Host header.
	target, _ := url.Parse(s.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	fr := httptest.NewTLSServer(rp)
	t.Cleanup(fr.Close)
	front = strings.TrimPrefix(fr.URL, "https://")
	tr := fr.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.InsecureSkipVerify = true // the front's test certificate names 127.0.0.1, not passd.test
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, front)
	}
	client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("passd did not become healthy within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, front, client, dataDir
}

// googleOn asks passd's JSON API whether Google Wallet is on: the member
// object then carries google_save_url.
func googleOn(t *testing.T, client *http.Client, base, memberID string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/members/"+memberID, nil)
	req.Header.Set("Authorization", "Bearer browser-test-admin-key-0123")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET member = %d, %v", res.StatusCode, err)
	}
	_, on := m["google_save_url"]
	return on
}

// axeDir holds axe-core's built file, vendored by `make vendor-axe` with
// its licences, VERSION and SHA256SUMS.
const axeDir = "testdata/axe"

// readVerified reads the files SHA256SUMS (sha256sum's format) names in dir
// and answers them by name, or an error if one is missing or its checksum
// differs, or if SHA256SUMS names none.
func readVerified(dir string) (map[string][]byte, error) {
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(want) != sha256.Size*2 || name == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("%s/SHA256SUMS: malformed line %q", dir, sc.Text())
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			return nil, fmt.Errorf("%s/%s has SHA-256 %x, SHA256SUMS says %s (run make vendor-axe)", dir, name, sum, want)
		}
		files[name] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s/SHA256SUMS names no file", dir)
	}
	return files, nil
}

// loadAxe answers the vendored axe.min.js and its version, checked against
// SHA256SUMS: a changed or truncated file fails the test.
func loadAxe(t *testing.T) (script, version string) {
	t.Helper()
	files, err := readVerified(axeDir)
	if err != nil {
		t.Fatalf("vendored axe-core: %v", err)
	}
	js, ok := files["axe.min.js"]
	if !ok {
		t.Fatalf("%s/SHA256SUMS does not name axe.min.js", axeDir)
	}
	v, ok := files["VERSION"]
	if !ok {
		t.Fatalf("%s/SHA256SUMS does not name VERSION", axeDir)
	}
	return string(js), strings.TrimSpace(string(v))
}

func TestAxeChecksum(t *testing.T) {
	files, err := readVerified(axeDir)
	if err != nil {
		t.Fatalf("vendored axe-core: %v", err)
	}
	dir := t.TempDir()
	sums, _ := os.ReadFile(filepath.Join(axeDir, "SHA256SUMS"))
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("SHA256SUMS", sums)
	for name, b := range files {
		write(name, b)
	}
	if _, err := readVerified(dir); err != nil {
		t.Fatalf("a faithful copy: %v", err)
	}
	js := bytes.Clone(files["axe.min.js"])
	js[len(js)/2] ^= 1
	write("axe.min.js", js)
	if _, err := readVerified(dir); err == nil || !strings.Contains(err.Error(), "axe.min.js has SHA-256") {
		t.Errorf("a changed axe.min.js: err = %v, want a checksum error", err)
	}
	os.Remove(filepath.Join(dir, "axe.min.js"))
	if _, err := readVerified(dir); err == nil {
		t.Error("a missing axe.min.js: no error")
	}
}

// axeTags are the rule sets the pages must pass: WCAG 2.0 and 2.1, levels A
// and AA.
const axeTags = `['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']`

// axeReport is what checkAxe's script answers: the violations in full, and
// the counts of passed and incomplete ("needs review") rules.
type axeReport struct {
	Version    string `json:"version"`
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		URL    string `json:"helpUrl"`
		Nodes  []struct {
			Target  json.RawMessage `json:"target"`
			Summary string          `json:"summary"`
		} `json:"nodes"`
	} `json:"violations"`
	Passes     int      `json:"passes"`
	Incomplete []string `json:"incomplete"`
}

// checkAxe injects axe-core into the page through the DevTools protocol
// (which the page's CSP does not govern; the page itself still runs no
// script) and runs the WCAG 2.1 A and AA rules, in the light and the dark
// colour scheme, since the stylesheet has both. Each violation fails the
// test with its rule, impact, help and the failing elements.
func checkAxe(t *testing.T, ctx context.Context, page, script, version string) {
	t.Helper()
	if loaded, err := chromedp.Run(ctx, chromedp.Evaluate[string](script+"\n;typeof axe === 'object' ? axe.version : 'missing'")); err != nil || loaded != version {
		t.Fatalf("%s: injecting axe-core = %q, %v, want version %s", page, loaded, err, version)
	}
	run := `axe.run(document, {runOnly: {type: 'tag', values: ` + axeTags + `}}).then(r => ({
		version: r.testEngine.version,
		violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})),
		passes: r.passes.length,
		incomplete: r.incomplete.map(v => v.id + ' (' + v.nodes.map(n => JSON.stringify(n.target)).join(', ') + ')')}))`
	for _, scheme := range []string{"light", "dark"} {
		if err := chromedp.Do(ctx, prefersColorScheme(scheme)); err != nil {
			t.Fatalf("%s: emulate prefers-color-scheme %s: %v", page, scheme, err)
		}
		rep, err := chromedp.Run(ctx, chromedp.Evaluate[axeReport](run, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s (%s): axe.run: %v", page, scheme, err)
		}
		if rep.Version != version || rep.Passes == 0 {
			t.Fatalf("%s (%s): axe-core %s passed %d rules; want version %s and some rules run", page, scheme, rep.Version, rep.Passes, version)
		}
		for _, v := range rep.Violations {
			var b strings.Builder
			for _, n := range v.Nodes {
				fmt.Fprintf(&b, "\n\t%s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", "\n\t\t"))
			}
			t.Errorf("%s (%s): axe-core %s [%s]: %s (%s)%s", page, scheme, v.ID, v.Impact, v.Help, v.URL, b.String())
		}
		if len(rep.Incomplete) > 0 {
			t.Logf("%s (%s): axe-core could not decide, review by hand: %s", page, scheme, strings.Join(rep.Incomplete, "; "))
		}
	}
	if err := chromedp.Do(ctx, prefersColorScheme("")); err != nil {
		t.Fatalf("%s: reset prefers-color-scheme: %v", page, err)
	}
}

// prefersColorScheme emulates the prefers-color-scheme media feature; ""
// ends the emulation.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		p := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return chromedp.Void{}, err
	}
}

func TestBrowserJoin(t *testing.T) {
	axeJS, axeVersion := loadAxe(t)
	base, front, client, dataDir := startPassd(t)

	bctx := headless.Browser(t, 90*time.Second, 1280, 1100,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP "+publicHost+":443 "+front),
		chromedp.Flag("ignore-certificate-errors", true),
	)

	// The empty form.
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/join/demo"),
		chromedp.WaitVisible(chromedp.ID("join-form")),
	)
	if err != nil {
		t.Fatalf("join form: %v", err)
	}
	checkAxe(t, bctx, "join form", axeJS, axeVersion)
	// The favicon (the programme's icon) loads under the page's policy,
	// and the privacy notice is on the form.
	icon, err := chromedp.Run(bctx, chromedp.Evaluate[int](`new Promise(done => { const i = new Image();
		i.onload = () => done(i.naturalWidth); i.onerror = () => done(0); i.src = document.querySelector('link[rel=icon]').href; })`, chromedp.EvalAwaitPromise))
	if err != nil || icon == 0 {
		t.Errorf("favicon width = %d, %v, want it loaded", icon, err)
	}
	if txt, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("privacy"))); err != nil || !strings.Contains(txt, "erased") {
		t.Errorf("privacy notice = %q, %v", txt, err)
	}

	// An invalid form comes back with the errors next to the fields.
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("email"), "not-an-email"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("name-error")),
	)
	if err != nil {
		t.Fatalf("invalid submit: %v", err)
	}
	for id, want := range map[string]string{"name-error": "Enter your name.", "email-error": "Enter an email address", "consent-error": "accept the terms"} {
		got, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID(id)))
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("text of #%s = %q, %v, want %q", id, got, err, want)
		}
	}
	checkAxe(t, bctx, "form with errors", axeJS, axeVersion)

	// The marketing question is its own checkbox, unticked, named by its
	// label, apart from the terms.
	box, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const b = document.getElementById('marketing');
		return b.checked + '|' + b.required + '|' + b.labels[0].textContent.trim() + '|' + (b.labels[0].contains(document.getElementById('consent'))); })()`))
	if err != nil || box != "false|false|Send me offers and news by email (optional)|false" {
		t.Errorf("marketing checkbox = %q, %v; want unticked, optional, labelled, apart from the terms", box, err)
	}

	// A valid one leads to the result page.
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("name"), "Ada Lovelace"),
		chromedp.SetValue(chromedp.ID("email"), "ada@example.com"),
		chromedp.Click(chromedp.ID("consent"), chromedp.NodeVisible),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("add-apple")),
		chromedp.WaitVisible(chromedp.ID("handoff-qr")),
		chromedp.WaitVisible(chromedp.ID("card-barcode")),
	)
	if err != nil {
		t.Fatalf("valid submit: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, base+"/join/demo/card/") || !strings.Contains(loc, "?sig=") {
		t.Fatalf("result page at %q, %v, want a signed /join/demo/card/ link", loc, err)
	}
	memberID := strings.TrimPrefix(loc[:strings.Index(loc, "?")], base+"/join/demo/card/")
	if name, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("card-name"))); name != "Ada Lovelace" {
		t.Errorf("card name = %q, want Ada Lovelace", name)
	}
	// The inline stylesheet passed the CSP (the card wears the program's
	// colour) and the images (logo and both QR codes) loaded.
	bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById('card')).backgroundColor`))
	if err != nil || bg != "rgb(59, 47, 47)" {
		t.Errorf("card background = %q, %v, want the demo program's rgb(59, 47, 47)", bg, err)
	}
	for _, sel := range []string{"#card-barcode", "#handoff-qr", ".card-logo"} {
		w, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector('`+sel+`').naturalWidth`))
		if err != nil || w == 0 {
			t.Errorf("image %s did not load (naturalWidth %d, %v)", sel, w, err)
		}
	}
	apple, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.ID("add-apple"), "href"))
	if err != nil || !strings.HasPrefix(apple.Value, base+"/passes/"+memberID+".pkpass?sig=") {
		t.Fatalf("Apple button href = %q, %v", apple.Value, err)
	}
	// Google Wallet is on, so the page offers both wallets.
	if !googleOn(t, client, base, memberID) {
		t.Fatal("the member has no google_save_url although Google Wallet is on")
	}
	gl, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.ID("add-google"), "href"))
	if err != nil || !strings.HasPrefix(gl.Value, "https://pay.google.com/gp/v/save/") {
		t.Fatalf("Google button href = %q, %v, want a save link", gl.Value, err)
	}

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(artifactDir, "join-result.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the result page: %s", shotPath)
	checkAxe(t, bctx, "result page", axeJS, axeVersion)

	// The error pages: a program's (a result link with a wrong signature),
	// with the program's header and a link back to its form, and passd's
	// own (no such program).
	for _, ep := range []struct{ name, url string }{
		{"program error page", loc[:strings.Index(loc, "?")] + "?sig=wrong"},
		{"error page", base + "/join/no-such-program"},
	} {
		if err := chromedp.Do(bctx, chromedp.Navigate(ep.url), chromedp.WaitVisible(chromedp.ID("error-message"))); err != nil {
			t.Fatalf("%s: %v", ep.name, err)
		}
		checkAxe(t, bctx, ep.name, axeJS, axeVersion)
	}

	// A second enrolment from the same address is over the limit: the 429
	// page, which passes axe too.
	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/join/demo"),
		chromedp.WaitVisible(chromedp.ID("join-form")),
		chromedp.SetValue(chromedp.ID("name"), "Grace Hopper"),
		chromedp.SetValue(chromedp.ID("email"), "grace@example.com"),
		chromedp.Click(chromedp.ID("consent"), chromedp.NodeVisible),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("error-message")),
	)
	if err != nil {
		t.Fatalf("second enrolment: %v", err)
	}
	if msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("error-message"))); !strings.Contains(msg, "try again in 60 min") {
		t.Errorf("429 page message = %q, want the wait", msg)
	}
	checkAxe(t, bctx, "rate-limited page", axeJS, axeVersion)

	// The Apple button's link serves a valid, signed pass.
	res, err := client.Get(apple.Value)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	pkpass, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != passkit.ContentType {
		t.Fatalf("GET Apple link = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	pem, err := os.ReadFile(filepath.Join(dataDir, passkit.DevWWDRFile))
	if err != nil {
		t.Fatal(err)
	}
	wwdr, err := passkit.ParseCertificate(pem)
	if err != nil {
		t.Fatal(err)
	}
	if ps := passkit.Verify(pkpass, passkit.VerifyOptions{WWDR: wwdr}); len(ps) > 0 {
		t.Errorf("passkit.Verify(Apple link's pass) = %v", ps)
	}
}

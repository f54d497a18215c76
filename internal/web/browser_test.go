package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/passkit"
)

// ArtifactDir is where the browser test leaves its screenshot (ignored by
// git; CI may keep it).
const artifactDir = "testdata/artifacts"

// chromiumPath finds Debian's chromium. Without it the browser test skips
// locally but fails in CI (CI set), so CI can never silently skip it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI for the browser test (apt-get install chromium)")
	}
	t.Skip("chromium not installed; skipping the browser test (apt-get install chromium)")
	return ""
}

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
		"PASSD_GOOGLE_ISSUER_ID":    wallettest.IssuerID, "PASSD_GOOGLE_CREDENTIALS": gw.WriteCredentials(t),
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

func TestBrowserJoin(t *testing.T) {
	chromium := chromiumPath(t)
	base, front, client, dataDir := startPassd(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP "+publicHost+":443 "+front),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	// An invalid form comes back with the errors next to the fields.
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/join/demo"),
		chromedp.WaitVisible(chromedp.ID("join-form")),
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

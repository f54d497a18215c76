package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
	chrome "github.com/passd/passd/internal/testkit/headless"
)

// axeDir is internal/web's vendored axe-core (make vendor-axe).
var axeDir = filepath.Join("..", "web", "testdata", "axe")

// loadAxe answers axe.min.js and its version, checked against the
// vendored SHA256SUMS.
func loadAxe(t *testing.T) (script, version string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(axeDir, "SHA256SUMS"))
	if err != nil {
		t.Fatalf("vendored axe-core: %v", err)
	}
	files := map[string]string{}
	for _, name := range []string{"axe.min.js", "VERSION"} {
		b, err := os.ReadFile(filepath.Join(axeDir, name))
		if err != nil {
			t.Fatalf("vendored axe-core: %v", err)
		}
		sum := sha256.Sum256(b)
		if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  "+name+"\n") {
			t.Fatalf("%s/%s does not match SHA256SUMS (run make vendor-axe)", axeDir, name)
		}
		files[name] = string(b)
	}
	return files["axe.min.js"], strings.TrimSpace(files["VERSION"])
}

// checkAxe runs axe-core's WCAG 2.1 A and AA rules on the page, injected
// through the DevTools protocol (the page's CSP does not govern it; the
// page itself runs no script). Each violation fails the test.
func checkAxe(t *testing.T, ctx context.Context, page, script, version string) {
	t.Helper()
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](script+"\n;typeof axe === 'object' ? axe.version : 'missing'")); err != nil || v != version {
		t.Fatalf("%s: injecting axe-core = %q, %v, want %s", page, v, err, version)
	}
	type report struct {
		Violations []json.RawMessage `json:"violations"`
		Passes     int               `json:"passes"`
	}
	rep, err := chromedp.Run(ctx, chromedp.Evaluate[report](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r => ({
		violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)})),
		passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
	if err != nil || rep.Passes == 0 {
		t.Fatalf("%s: axe.run = %d rules passed, %v", page, rep.Passes, err)
	}
	for _, v := range rep.Violations {
		t.Errorf("%s: axe-core violation %s", page, v)
	}
}

// chromium starts a headless Debian chromium for the test with opts
// added, and answers its context (cancelled at the test's end). Without
// chromium the test skips locally but fails in CI.
func chromium(t *testing.T, width, height int, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return chromiumFor(t, 90*time.Second, width, height, opts...)
}

// chromiumFor is chromium with the browser's time limit.
func chromiumFor(t *testing.T, limit time.Duration, width, height int, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return chrome.Browser(t, limit, width, height, opts...)
}

func TestBrowserSignIn(t *testing.T) {
	bctx := chromium(t, 1280, 900)
	axeJS, axeVersion := loadAxe(t)
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	storetest.NewMember(t, p.srv.Store, "demo")

	// Signed out, /console leads to the sign-in form.
	if err := chromedp.Do(bctx, chromedp.Navigate(p.url+"/console"), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
		t.Fatalf("sign-in form: %v", err)
	}
	checkAxe(t, bctx, "sign-in form", axeJS, axeVersion)

	// A wrong password: the form again, with the message.
	err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("email"), "ada@example.com"),
		chromedp.SetValue(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	checkAxe(t, bctx, "sign-in refused", axeJS, axeVersion)

	// The right one: the dashboard with the programme and its member.
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("programs")),
	)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	table, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("programs")))
	if err != nil || !strings.Contains(table, "Demo Coffee Rewards") {
		t.Errorf("dashboard table = %q, %v, want the demo programme", table, err)
	}
	if n, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("members-demo"))); n != "1" {
		t.Errorf("demo's members = %q, want 1", n)
	}
	// The stylesheet passed the CSP: the header is dark.
	if bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.top')).backgroundColor`)); err != nil || bg != "rgb(29, 29, 31)" {
		t.Errorf("header background = %q, %v, want the stylesheet's rgb(29, 29, 31)", bg, err)
	}
	checkAxe(t, bctx, "dashboard", axeJS, axeVersion)

	// Sign out: back to the form, and /console is closed again.
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.ID("sign-out"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("done")),
		chromedp.Navigate(p.url+"/console"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if err != nil {
		t.Fatalf("sign-out: %v", err)
	}
	checkAxe(t, bctx, "signed out", axeJS, axeVersion)

	// A new user's set-password page, then sign-in with the chosen password.
	grace := p.user(t, "grace@example.com", loyalty.RoleAdmin, "", "")
	link, err := console.SetPasswordLink(context.Background(), p.srv.Store, p.url, grace.ID, p.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("setpw-form"))); err != nil {
		t.Fatalf("set-password form: %v", err)
	}
	checkAxe(t, bctx, "set-password form", axeJS, axeVersion)
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("password"), "a brand new password"),
		chromedp.SetValue(chromedp.ID("confirm"), "a brand new password"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("done")),
		chromedp.SetValue(chromedp.ID("email"), "grace@example.com"),
		chromedp.SetValue(chromedp.ID("password"), "a brand new password"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("programs")),
	)
	if err != nil {
		t.Fatalf("set password, then sign in: %v", err)
	}
}

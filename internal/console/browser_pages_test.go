package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
)

// headless is chromium with a time limit and no scrollbars (for
// screenshots).
func headless(t *testing.T, width, height int, limit time.Duration) context.Context {
	t.Helper()
	return chromiumFor(t, limit, width, height, chromedp.Flag("hide-scrollbars", true))
}

// tabTo presses Tab until the element with id has the focus, at most max
// times; it answers the ids focused on the way.
func tabTo(t *testing.T, ctx context.Context, id string, max int) []string {
	t.Helper()
	var seen []string
	for range max {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, got)
		if got == id {
			return seen
		}
	}
	t.Fatalf("Tab %d times never reached #%s; focus went %v", max, id, seen)
	return nil
}

// typeKeys types s into the focused element, key by key.
func typeKeys(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(s)); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserMerchant drives the merchant pages in headless chromium: a
// search, an adjust and a message to a tier done with the keyboard only
// (each control reached by Tab in the page's order, each form sent with
// Enter or Space), and axe-core on every main page.
func TestBrowserMerchant(t *testing.T) {
	ctx := headless(t, 1280, 900, 120*time.Second)
	axeJS, axeVersion := loadAxe(t)
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	st := p.srv.Store
	grace := storetest.NewMember(t, st, "demo")
	storetest.NewMember(t, st, "demo")
	prog, err := p.srv.Programs.Fresh(context.Background(), "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Post(context.Background(), grace.ID, "k1", "h1", balances.Request{Type: balances.Earn, Points: 1020}, prog.Rules()); err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SetValue(chromedp.ID("email"), "ada@example.com"),
		chromedp.SetValue(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("figures")))
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("fig-members"))); n != "2" {
		t.Errorf("dashboard members = %q, want 2", n)
	}
	checkAxe(t, ctx, "dashboard with figures", axeJS, axeVersion)

	// Search with the keyboard: Tab to the search box, type, Enter.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/programs/demo/members"), chromedp.WaitVisible(chromedp.ID("search-form"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "members", axeJS, axeVersion)
	tabTo(t, ctx, "q", 20)
	typeKeys(t, ctx, grace.Number[:7]+kb.Enter)
	// The unsearched page has a members table too: wait for the answer
	// to the search itself, loaded, to list her.
	var table string
	if !testkit.Poll(15*time.Second, func() bool {
		var err error
		table, err = chromedp.Run(ctx, chromedp.Evaluate[string](
			`location.search.includes("q=") && document.readyState === "complete" && document.getElementById("members") ? document.getElementById("members").innerText : ""`))
		return err == nil && strings.Contains(table, grace.Number)
	}) {
		t.Fatalf("search results = %q, want grace", table)
	}
	checkAxe(t, ctx, "search results", axeJS, axeVersion)

	// Her page, then an adjust by keyboard: points, reason and the button
	// follow one another in the focus order.
	if err := chromedp.Do(ctx, chromedp.Click(`#members a`, chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("adjust-form"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "member", axeJS, axeVersion)
	tabTo(t, ctx, "points", 40)
	typeKeys(t, ctx, "-20")
	tabTo(t, ctx, "reason", 1)
	typeKeys(t, ctx, "broken cup")
	tabTo(t, ctx, "adjust-submit", 1)
	typeKeys(t, ctx, kb.Enter)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("adjust: %v", err)
	}
	if b, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("balance"))); b != "1000" {
		t.Errorf("balance after -20 = %q, want 1000", b)
	}
	if m, _ := st.Member(context.Background(), grace.ID); m.Account.Points != 1000 {
		t.Errorf("stored balance = %d, want 1000", m.Account.Points)
	}
	checkAxe(t, ctx, "member after an adjust", axeJS, axeVersion)

	// A message to one tier: the count first, then send.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/programs/demo/messages"), chromedp.WaitVisible(chromedp.ID("compose-form"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "messages", axeJS, axeVersion)
	tabTo(t, ctx, "text", 20)
	typeKeys(t, ctx, "Silver members: free cookie")
	tabTo(t, ctx, "aud-all", 2)
	typeKeys(t, ctx, kb.ArrowDown) // the radio group's next choice: one tier
	tabTo(t, ctx, "msg-tier", 2)
	typeKeys(t, ctx, "S") // a closed select jumps to the first choice with that letter
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("msg-tier"))); v != "Silver" {
		t.Fatalf("tier chosen by keyboard = %q, want Silver", v)
	}
	tabTo(t, ctx, "preview", 4)
	typeKeys(t, ctx, kb.Enter)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#audience-count, #notice`)); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('notice') || {}).textContent || ''`)); n != "" {
		t.Fatalf("preview refused: %s", n)
	}
	if c, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("audience-count"))); !strings.Contains(c, "1 cards") {
		t.Errorf("audience = %q, want 1 card (grace is Silver)", c)
	}
	checkAxe(t, ctx, "message confirmation", axeJS, axeVersion)
	tabTo(t, ctx, "send", 20)
	typeKeys(t, ctx, " ")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("send: %v", err)
	}
	if m, _ := st.Member(context.Background(), grace.ID); m.MemberMessage != "Silver members: free cookie" {
		t.Errorf("grace's message = %q", m.MemberMessage)
	}

	// The catalogue's pages, a refused form included.
	for _, pg := range []struct{ path, form string }{{"/console/programs/demo/rewards", "reward-form"}, {"/console/programs/demo/campaigns", "campaign-form"}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.url+pg.path), chromedp.WaitVisible(chromedp.ID(pg.form))); err != nil {
			t.Fatal(err)
		}
		checkAxe(t, ctx, pg.path, axeJS, axeVersion)
	}
	err = chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("name"), "Double days"), chromedp.SetValue(chromedp.ID("multiplier"), "20"),
		chromedp.SetValue(chromedp.ID("starts_at"), "2030-01-01T10:00"), chromedp.SetValue(chromedp.ID("ends_at"), "2030-01-02T10:00"),
		chromedp.Click(chromedp.ID("campaign-submit"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("notice")))
	if err != nil {
		t.Fatalf("a refused campaign: %v", err)
	}
	checkAxe(t, ctx, "a refused campaign", axeJS, axeVersion)

	// The webhooks page: an endpoint made by keyboard and mouse, its
	// secret shown once, then its page with the (empty) deliveries log.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/programs/demo/webhooks"), chromedp.WaitVisible(chromedp.ID("webhook-form"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "webhooks", axeJS, axeVersion)
	tabTo(t, ctx, "url", 20)
	typeKeys(t, ctx, "https://receiver.example/hook")
	err = chromedp.Do(ctx, chromedp.Click(`[id="event-member.enrolled"]`, chromedp.NodeVisible),
		chromedp.Click(chromedp.ID("webhook-submit"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("secret")))
	if err != nil {
		t.Fatalf("create a webhook: %v", err)
	}
	if sec, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret"))); !strings.HasPrefix(sec, "whsec_") {
		t.Errorf("the new endpoint's secret = %q", sec)
	}
	checkAxe(t, ctx, "webhooks with a new secret", axeJS, axeVersion)
	if err := chromedp.Do(ctx, chromedp.Click(`#webhooks a`, chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("test-form"))); err != nil {
		t.Fatalf("the endpoint's page: %v", err)
	}
	checkAxe(t, ctx, "webhook endpoint", axeJS, axeVersion)
}

// TestScreenshots writes the main pages at a phone's and a desktop's
// width as PNGs into $PASSD_SCREENSHOTS (make screenshots: docs/screenshots),
// from a passd with the demo programme and a few members; without the
// variable it is skipped.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PASSD_SCREENSHOTS")
	if dir == "" {
		t.Skip("PASSD_SCREENSHOTS is not set (make screenshots)")
	}
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	st := p.srv.Store
	ctx0 := context.Background()
	prog, err := p.srv.Programs.Fresh(ctx0, "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	var first loyalty.Member
	for i, pts := range []int64{1250, 80, 5400, 300, 40} {
		m := storetest.NewMember(t, st, "demo")
		if i == 0 {
			first = m
		}
		if _, err := st.Post(ctx0, m.ID, "seed", "h", balances.Request{Type: balances.Earn, Points: pts, Reference: "receipt 10" + string(rune('0'+i))}, prog.Rules()); err != nil {
			t.Fatal(err)
		}
	}
	pages := []struct{ name, path, wait string }{
		{"login", "/console/login", "login-form"},
		{"dashboard", "/console", "figures"},
		{"members", "/console/programs/demo/members", "members"},
		{"member", "/console/programs/demo/members/" + first.ID, "adjust-form"},
		{"messages", "/console/programs/demo/messages", "compose-form"},
		{"campaigns", "/console/programs/demo/campaigns", "campaign-form"},
		{"programme", "/console/programs/demo/edit", "edit-form"},
	}
	for _, size := range []struct {
		name          string
		width, height int
	}{{"phone", 390, 844}, {"desktop", 1280, 900}} {
		ctx := headless(t, size.width, size.height, 120*time.Second)
		for _, pg := range pages {
			steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(p.url + pg.path)}
			if pg.name == "dashboard" { // signing in leads there
				steps = []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("email"), "ada@example.com"),
					chromedp.SetValue(chromedp.ID("password"), "correct horse battery"),
					chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible)}
			}
			if err := chromedp.Do(ctx, append(steps, chromedp.WaitVisible(chromedp.ID(pg.wait)))...); err != nil {
				t.Fatalf("%s: %v", pg.name, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, pg.name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBrowserAdmin: the admin pages pass axe-core, a new key included.
func TestBrowserAdmin(t *testing.T) {
	ctx := headless(t, 1280, 900, 90*time.Second)
	axeJS, axeVersion := loadAxe(t)
	p := start(t, false, nil)
	p.user(t, "root@example.com", loyalty.RoleAdmin, "", "correct horse battery")
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "")
	err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SetValue(chromedp.ID("email"), "root@example.com"),
		chromedp.SetValue(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("programs")),
		chromedp.Navigate(p.url+"/console/admin/keys"), chromedp.WaitVisible(chromedp.ID("key-form")))
	if err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "API keys", axeJS, axeVersion)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("key-submit"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("secret"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "a new API key", axeJS, axeVersion)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/admin/users"), chromedp.WaitVisible(chromedp.ID("users"))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "staff users", axeJS, axeVersion)

	// More users than a page: the Next link leads to the rest, with a
	// link back to the first page.
	for i := range console.ListPage {
		p.user(t, fmt.Sprintf("cashier%02d@example.com", i), loyalty.RolePOS, "demo", "")
	}
	err = chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/admin/users"), chromedp.WaitVisible(chromedp.ID("next-page")),
		chromedp.Click(chromedp.ID("next-page"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("first-page")))
	if err != nil {
		t.Fatalf("the users' next page: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#users tbody tr').length`))
	if err != nil || rows != 2 {
		t.Errorf("the users' second page has %d rows (%v), want the last 2 of %d", rows, err, console.ListPage+2)
	}
	checkAxe(t, ctx, "staff users, page 2", axeJS, axeVersion)
}

// TestBrowserProgramEdit: a programme edit in headless chromium, previewed
// before saving; the editor and the preview pass axe-core.
func TestBrowserProgramEdit(t *testing.T) {
	ctx := headless(t, 1280, 900, 90*time.Second)
	axeJS, axeVersion := loadAxe(t)
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	storetest.NewMember(t, p.srv.Store, "demo")
	err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/console/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SetValue(chromedp.ID("email"), "ada@example.com"),
		chromedp.SetValue(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("figures")),
		chromedp.Click(chromedp.ID("nav-edit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("edit-form")))
	if err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, "programme editor", axeJS, axeVersion)
	err = chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("name"), "Demo Coffee Club"),
		chromedp.SetValue(chromedp.ID("program_name_en"), "Demo Coffee Club"),
		chromedp.SetValue(chromedp.ID("background"), "#225588"),
		chromedp.Click(chromedp.ID("preview-submit"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("faces")))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('tier0-card-front-title').textContent`))
	cards, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("cards-to-update")))
	if title != "Demo Coffee Club" || !strings.Contains(cards, "1 cards") {
		t.Errorf("preview: card title %q, %q; want the new name and 1 card", title, cards)
	}
	if fill, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#tier0-card-front rect').getAttribute('fill')`)); fill != "#225588" {
		t.Errorf("preview background = %q, want #225588", fill)
	}
	checkAxe(t, ctx, "programme preview", axeJS, axeVersion)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("save"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("save: %v", err)
	}
	if got, _ := p.srv.Programs.Fresh(context.Background(), "demo", 2); got.Locales["en"].ProgramName != "Demo Coffee Club" {
		t.Errorf("saved name = %q", got.Locales["en"].ProgramName)
	}

	// A logo previewed before it is saved: each sample card loads it
	// from passd under the page's CSP, which refuses any data: image.
	// A listener added through the DevTools protocol (the page runs no
	// script of its own) records every CSP violation.
	logo := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(logo, pngOf(t, 160, 50), 0o600); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, recordCSPViolations(), chromedp.Navigate(p.url+"/console/programs/demo/edit"), chromedp.WaitVisible(chromedp.ID("image-form")),
		chromedp.SetValue(chromedp.ID("slot"), "logo"), chromedp.SetUploadFiles(chromedp.ID("image"), []string{logo}),
		chromedp.Click(chromedp.ID("image-preview"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("faces")))
	if err != nil {
		t.Fatalf("preview of a logo: %v", err)
	}
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`Promise.all([...document.querySelectorAll('.card-logo')].map(i =>
		i.complete ? i.naturalWidth : new Promise(done => { i.onload = () => done(i.naturalWidth); i.onerror = () => done(-1); })))`, chromedp.EvalAwaitPromise))
	if err != nil || len(widths) == 0 {
		t.Fatalf("the preview's logos: %v, %v", widths, err)
	}
	for i, w := range widths {
		if w != 160 {
			t.Errorf("sample card %d: the logo's naturalWidth = %d, want 160 (loaded)", i, w)
		}
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cspViolations`)); err != nil || len(v) != 0 {
		t.Errorf("CSP violations on the preview: %v, %v; want none", v, err)
	}
	checkAxe(t, ctx, "image preview", axeJS, axeVersion)
	// The listener works, and the CSP is why the image is served by
	// passd: a data: image added to the page is refused.
	refused, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`new Promise(done => {
		document.addEventListener('securitypolicyviolation', () => done(window.cspViolations));
		const i = new Image(); i.src = 'data:image/png;base64,iVBORw0KGgo='; document.body.appendChild(i); })`, chromedp.EvalAwaitPromise))
	if err != nil || len(refused) != 1 || !strings.HasPrefix(refused[0], "img-src data") {
		t.Errorf("a data: image = violations %v, %v; want one img-src violation", refused, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("save"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("save the logo: %v", err)
	}
	if got, _ := p.srv.Programs.Fresh(context.Background(), "demo", 3); got.Version != 3 {
		t.Errorf("after saving the logo the programme is at version %d, want 3", got.Version)
	}
}

// recordCSPViolations makes every document the tab opens next keep its
// Content-Security-Policy violations in window.cspViolations, as
// "directive blocked-URI" (the script comes through the DevTools
// protocol, which the page's CSP does not govern).
func recordCSPViolations() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI));`})
		return chromedp.Void{}, err
	}
}

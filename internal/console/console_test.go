package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/store/storetest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// cheap argon2id parameters keep the tests fast under -race; stored with
// the hash, they are what sign-in checks against.
var cheap = loyalty.PasswordParams{Memory: 64, Time: 1, Threads: 1}

const adminKey = "console-test-admin-key-0123"

type passd struct {
	srv   *server.Server
	url   string
	clock *testkit.Clock
}

// start runs a whole passd on SQLite, or on a fresh PostgreSQL schema when
// pg is set (skipped without PASSD_TEST_DATABASE_URL, failing under CI).
func start(t *testing.T, pg bool, env map[string]string) *passd {
	t.Helper()
	clock := testkit.NewClock(time.Now().UTC())
	all := map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey}
	if pg {
		all["PASSD_DATABASE_URL"] = testpg.FreshSchema(t)
	}
	for k, v := range env {
		all[k] = v
	}
	s, _ := servertest.Start(t, all, nil, server.Options{Now: clock.Now})
	return &passd{srv: s, url: s.URL(), clock: clock}
}

// user stores a staff user with password pw (none when empty).
func (p *passd) user(t *testing.T, email, role, program, pw string) loyalty.StaffUser {
	t.Helper()
	u := loyalty.StaffUser{ID: "usr_" + strings.NewReplacer("@", "_", ".", "_").Replace(email), Email: email, Role: role, Program: program}
	if pw != "" {
		var err error
		if u.PasswordHash, err = loyalty.HashPassword(pw, cheap); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.srv.Store.CreateStaffUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (p *passd) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: p.url, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf answers the CSRF token of the first form of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	res, page := b.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil || m[1] == "" {
		b.t.Fatalf("GET %s = %d without a CSRF field", path, res.StatusCode)
	}
	return m[1]
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base + "/console")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) signIn(email, pw string) *http.Response {
	b.t.Helper()
	res, _ := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf("/console/login")}, "email": {email}, "password": {pw}})
	return res
}

// signedIn reports whether GET /console shows the dashboard (or, for a
// pos user, leads to the scanner page) rather than redirecting to sign-in.
func (b *browser) signedIn() (bool, string) {
	b.t.Helper()
	res, page := b.do("GET", "/console", nil)
	if res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/console/scan" {
		res, page = b.do("GET", "/console/scan", nil)
	}
	switch {
	case res.StatusCode == 200:
		return true, page
	case res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/console/login":
		return false, ""
	}
	b.t.Fatalf("GET /console = %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	return false, ""
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			testSignIn(t, pg)
		})
	}
}

func testSignIn(t *testing.T, pg bool) {
	p := start(t, pg, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	storetest.NewMember(t, p.srv.Store, "demo")
	storetest.NewMember(t, p.srv.Store, "demo")
	b := p.browser(t)
	if in, _ := b.signedIn(); in {
		t.Fatal("signed out, /console showed a page")
	}

	// The form: a CSRF field, a strict CSP.
	res, page := b.do("GET", "/console/login", nil)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !csrfField.MatchString(page) || !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
		t.Fatalf("GET /console/login = %d, CSP %q", res.StatusCode, csp)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, " style=") {
		t.Error("the sign-in page has inline script or style attributes")
	}
	token := csrfField.FindStringSubmatch(page)[1]
	req, _ := http.NewRequest("GET", p.url+"/console/login", nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	if res, err := http.DefaultClient.Do(req); err != nil || res.Header.Get("Content-Language") != "fr" {
		t.Errorf("GET /console/login in French = %v, %v, want Content-Language fr", res, err)
	} else {
		fr, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(fr), "Mot de passe") {
			t.Error("the French sign-in page lacks \"Mot de passe\"")
		}
	}

	// A missing or forged CSRF field, or a wrong password: no session.
	for name, form := range map[string]url.Values{
		"no csrf":        {"email": {"ada@example.com"}, "password": {"correct horse battery"}},
		"forged csrf":    {"csrf": {token + "x"}, "email": {"ada@example.com"}, "password": {"correct horse battery"}},
		"wrong password": {"csrf": {token}, "email": {"ada@example.com"}, "password": {"correct horse batterx"}},
		"unknown email":  {"csrf": {token}, "email": {"bob@example.com"}, "password": {"correct horse battery"}},
	} {
		res, _ := b.do("POST", "/console/login", form)
		want := map[bool]int{true: http.StatusForbidden, false: http.StatusUnauthorized}[strings.Contains(name, "csrf")]
		if res.StatusCode != want || b.cookie(console.SessionCookie) != "" {
			t.Errorf("%s: POST /console/login = %d, session cookie %q; want %d and none", name, res.StatusCode, b.cookie(console.SessionCookie), want)
		}
	}
	if in, _ := b.signedIn(); in {
		t.Fatal("signed in after refused attempts")
	}

	// Fixation: a session id planted before sign-in is replaced.
	u, _ := url.Parse(p.url + "/console")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: console.SessionCookie, Value: "planted-by-an-attacker-0123456789", Path: "/console"}})
	res = b.signIn("Ada@Example.com", "correct horse battery")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console" {
		t.Fatalf("sign-in = %d to %q, want 303 to /console", res.StatusCode, res.Header.Get("Location"))
	}
	var set *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == console.SessionCookie {
			set = c
		}
	}
	if set == nil || set.Value == "planted-by-an-attacker-0123456789" || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/console" || set.Secure {
		t.Fatalf("session cookie = %+v; want a new id, HttpOnly, SameSite=Lax, Path=/console, not Secure over http", set)
	}
	in, page := b.signedIn()
	if !in || !strings.Contains(page, "Demo Coffee Rewards") || !regexp.MustCompile(`id="members-demo">2<`).MatchString(page) {
		t.Fatalf("dashboard: signed in %t, page:\n%s", in, page)
	}

	// A sign-out form without its CSRF token does nothing.
	if res, _ := b.do("POST", "/console/logout", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF = %d, want 403", res.StatusCode)
	}
	if in, _ := b.signedIn(); !in {
		t.Fatal("a forged sign-out ended the session")
	}
	old := b.cookie(console.SessionCookie)
	res, _ = b.do("POST", "/console/logout", url.Values{"csrf": {b.csrf("/console")}})
	if res.StatusCode != http.StatusSeeOther || b.cookie(console.SessionCookie) != "" {
		t.Fatalf("logout = %d, cookie %q", res.StatusCode, b.cookie(console.SessionCookie))
	}
	// The old id is dead on the server too, not just forgotten.
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: console.SessionCookie, Value: old, Path: "/console"}})
	if in, _ := b.signedIn(); in {
		t.Error("the session id still works after sign-out")
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleAdmin, "", "correct horse battery")
	p.user(t, "bob@example.com", loyalty.RoleAdmin, "", "correct horse battery")
	phone, laptop, bob := p.browser(t), p.browser(t), p.browser(t)
	for _, b := range []*browser{phone, laptop} {
		b.signIn("ada@example.com", "correct horse battery")
	}
	bob.signIn("bob@example.com", "correct horse battery")
	if res, _ := laptop.do("POST", "/console/logout-everywhere", url.Values{"csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("logout-everywhere with a forged token = %d, want 403", res.StatusCode)
	}
	if in, _ := phone.signedIn(); !in {
		t.Fatal("phone signed out by a forged request")
	}
	res, _ := laptop.do("POST", "/console/logout-everywhere", url.Values{"csrf": {laptop.csrf("/console")}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout-everywhere = %d", res.StatusCode)
	}
	for name, b := range map[string]*browser{"phone": phone, "laptop": laptop} {
		if in, _ := b.signedIn(); in {
			t.Errorf("%s still signed in after logout-everywhere", name)
		}
	}
	if in, _ := bob.signedIn(); !in {
		t.Error("another user's session ended too")
	}
}

func TestDisabledUser(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	u := p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	b := p.browser(t)
	b.signIn("ada@example.com", "correct horse battery")
	if in, _ := b.signedIn(); !in {
		t.Fatal("not signed in")
	}
	if err := p.srv.Store.DisableStaffUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	if in, _ := b.signedIn(); in {
		t.Error("a disabled user's session lives on")
	}
	if res := b.signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in of a disabled user = %d, want 401", res.StatusCode)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")

	idle := p.browser(t)
	idle.signIn("ada@example.com", "correct horse battery")
	busy := p.browser(t)
	busy.signIn("ada@example.com", "correct horse battery")
	// Used every 11 hours, a session outlives the idle timeout...
	for range 15 {
		p.clock.Add(11 * time.Hour)
		if in, _ := busy.signedIn(); !in {
			t.Fatalf("a session used every 11 h ended at %v", p.clock.Now())
		}
	}
	// ...but not the absolute one: 165 h + 4 h is past 7 days.
	p.clock.Add(4 * time.Hour)
	if in, _ := busy.signedIn(); in {
		t.Error("a session lived past the 7-day absolute timeout")
	}
	if in, _ := idle.signedIn(); in {
		t.Error("a session unused for days is still valid")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	// A second programme, bakery, with a member.
	body, _ := json.Marshal(map[string]any{
		"id": "bakery", "name": "Bakery", "organization_name": "Bakery Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"tiers":          []any{map[string]any{"name": "Member", "threshold": 0}},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Bread Club"}},
	})
	req, _ := http.NewRequest("POST", p.url+"/api/v1/programs", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create programme bakery = %v, %v", res, err)
	}
	res.Body.Close()
	storetest.NewMember(t, p.srv.Store, "bakery")
	p.user(t, "demo@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	p.user(t, "bakery@example.com", loyalty.RoleMerchant, "bakery", "correct horse battery")
	p.user(t, "admin@example.com", loyalty.RoleAdmin, "", "correct horse battery")
	p.user(t, "till@example.com", loyalty.RolePOS, "demo", "correct horse battery")
	for _, tc := range []struct {
		email         string
		want, notWant []string
	}{
		{"demo@example.com", []string{"Demo Coffee Rewards", `id="members-demo"`}, []string{"Bread Club", "members-bakery"}},
		{"bakery@example.com", []string{"Bread Club", `id="members-bakery">1<`}, []string{"Demo Coffee", "members-demo"}},
		{"admin@example.com", []string{"Demo Coffee Rewards", "Bread Club"}, nil},
		{"till@example.com", []string{`id="lookup-form"`, `id="camera"`}, []string{"Demo Coffee", "Bread Club", "members-"}},
	} {
		b := p.browser(t)
		b.signIn(tc.email, "correct horse battery")
		in, page := b.signedIn()
		if !in {
			t.Errorf("%s: not signed in", tc.email)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %q", tc.email, w)
			}
		}
		for _, nw := range tc.notWant {
			if strings.Contains(page, nw) {
				t.Errorf("%s: the page shows %q", tc.email, nw)
			}
		}
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	b := p.browser(t)
	for i := range console.AccountFailures {
		if res := b.signIn("ada@example.com", "wrong password "+strconv.Itoa(i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, res.StatusCode)
		}
	}
	// Now even the right password waits, with a clear message.
	res, page := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf("/console/login")}, "email": {"ada@example.com"}, "password": {"correct horse battery"}})
	retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != http.StatusTooManyRequests || retry <= 0 || retry > int(console.ThrottleWindow.Seconds()) || !strings.Contains(page, "Too many failed sign-ins") {
		t.Fatalf("throttled sign-in = %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if b.cookie(console.SessionCookie) != "" {
		t.Fatal("a throttled sign-in made a session")
	}
	p.clock.Add(console.ThrottleWindow)
	if res := b.signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after the window = %d, want 303", res.StatusCode)
	}

	// Per address: failures spread over many accounts add up.
	b = p.browser(t)
	for i := range console.AddressFailures {
		b.signIn("nobody"+strconv.Itoa(i)+"@example.com", "wrong password here")
	}
	if res := b.signIn("someone.else@example.com", "any password at all"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in after %d failures from one address = %d, want 429", console.AddressFailures, res.StatusCode)
	}
}

// TestThrottleAcrossServers: the sign-in throttle is kept in the store,
// so a second passd on the same database refuses an account the first one
// throttled, and so does a passd started after the first one stopped.
func TestThrottleAcrossServers(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Now().UTC())
	env := map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey, "PASSD_DATA_DIR": t.TempDir()}
	instance := func() (*passd, func()) {
		s, stop := servertest.Start(t, env, nil, server.Options{Now: clock.Now})
		return &passd{srv: s, url: s.URL(), clock: clock}, stop
	}
	first, stopFirst := instance()
	first.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	b := first.browser(t)
	for i := range console.AccountFailures {
		if res := b.signIn("ada@example.com", "wrong password "+strconv.Itoa(i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, res.StatusCode)
		}
	}
	second, stopSecond := instance()
	if res := second.browser(t).signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("sign-in on a second passd = %d, Retry-After %q; want 429 with a Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	stopFirst()
	stopSecond()
	restarted, _ := instance()
	if res := restarted.browser(t).signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in after a restart = %d, want 429", res.StatusCode)
	}
	clock.Add(console.ThrottleWindow)
	if res := restarted.browser(t).signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in after the window = %d, want 303", res.StatusCode)
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	p := start(t, false, map[string]string{"PASSD_PUBLIC_URL": "https://passd.example"})
	u := p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "")
	link, err := console.SetPasswordLink(context.Background(), p.srv.Store, "https://passd.example", u.ID, p.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, "https://passd.example")
	token := strings.TrimPrefix(path, "/console/set-password?token=")
	b := p.browser(t)
	// PASSD_PUBLIC_URL is https: the cookies are Secure.
	res, _ := b.do("GET", path, nil)
	for _, c := range res.Cookies() {
		if c.Name == console.PreCookie && (!c.Secure || !c.HttpOnly) {
			t.Errorf("form cookie under an https public URL = %+v, want Secure and HttpOnly", c)
		}
	}
	// The test talks plain HTTP, so the jar would not send Secure cookies:
	// hand it the form cookie by hand.
	var pre string
	for _, c := range res.Cookies() {
		if c.Name == console.PreCookie {
			pre = c.Value
		}
	}
	u2, _ := url.Parse(p.url + "/console")
	b.c.Jar.SetCookies(u2, []*http.Cookie{{Name: console.PreCookie, Value: pre, Path: "/console"}})
	csrf := b.csrf(path)
	for name, tc := range map[string]struct {
		pw, confirm string
		want        int
	}{
		"short":    {"short one", "short one", http.StatusUnprocessableEntity},
		"mismatch": {"a long enough password", "a long enough passwort", http.StatusUnprocessableEntity},
	} {
		if res, _ := b.do("POST", "/console/set-password", url.Values{"csrf": {csrf}, "token": {token}, "password": {tc.pw}, "confirm": {tc.confirm}}); res.StatusCode != tc.want {
			t.Errorf("%s: set-password = %d, want %d", name, res.StatusCode, tc.want)
		}
	}
	if res, _ := b.do("POST", "/console/set-password", url.Values{"token": {token}, "password": {"a long enough password"}, "confirm": {"a long enough password"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("set-password without CSRF = %d, want refused", res.StatusCode)
	}
	res, _ = b.do("POST", "/console/set-password", url.Values{"csrf": {csrf}, "token": {token}, "password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login?done=password-set" {
		t.Fatalf("set-password = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	stored, _ := p.srv.Store.StaffUser(context.Background(), u.ID)
	params, _, _, err := loyalty.ParsePasswordHash(stored.PasswordHash)
	if err != nil || params != loyalty.DefaultPasswordParams {
		t.Errorf("stored hash params = %+v, %v, want the defaults", params, err)
	}
	if ok, _ := loyalty.CheckPassword(stored.PasswordHash, "a long enough password"); !ok {
		t.Error("the chosen password does not check")
	}
	// One time only.
	if res, _ := b.do("GET", path, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET a used link = %d, want 404", res.StatusCode)
	}
	if res, _ := b.do("POST", "/console/set-password", url.Values{"csrf": {csrf}, "token": {token}, "password": {"another long password"}, "confirm": {"another long password"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("POST a used link = %d, want 404", res.StatusCode)
	}
}

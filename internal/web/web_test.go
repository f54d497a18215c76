package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/web"
	"github.com/passd/passd/templates"
)

var secret = []byte("web-test-secret-web-test-secret-0123")

const publicURL = "https://passd.example"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	store *store.Store
	links *links.Signer
	clock *testkit.Clock
}

func newEnv(t *testing.T, google func(string) (string, error)) *env {
	t.Helper()
	return newEnvWith(t, func(c *web.Config) { c.GoogleSaveURL = google })
}

// newEnvWith is newEnv with the configuration changed by tweak.
func newEnvWith(t *testing.T, tweak func(*web.Config)) *env {
	t.Helper()
	st := testkit.OpenSQLite(t, store.Options{})
	cat, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	l := links.New(secret, publicURL)
	cfg := web.Config{Deps: surface.Deps{Store: st, Programs: cat, Secret: secret, Links: l, Now: clk.Now}}
	tweak(&cfg)
	w, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: testkit.Serve(t, "/join", w.Handler()), store: st, links: l, clock: clk}
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects.
type browser struct {
	e    *env
	c    *http.Client
	lang string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) page {
	b.e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// token is the form token of a form page.
func (p page) token(t *testing.T) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form token in page:\n%s", p.body)
	}
	return html.UnescapeString(m[1])
}

func (p page) has(t *testing.T, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func valid(token string) url.Values {
	return url.Values{"token": {token}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "birthday": {"1990-12-10"}, "consent": {"yes"}}
}

// nonceMember answers the member a form token's nonce created, if any.
func (e *env) nonceMember(token string) (loyalty.MemberRow, bool) {
	e.t.Helper()
	nonce, _, _ := strings.Cut(token, ".")
	m, err := e.store.MemberByExternalID(context.Background(), "demo", "join:"+nonce)
	return m, err == nil
}

func TestFormPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := e.browser().do("GET", "/join/demo", nil)
	if p.status != 200 || p.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /join/demo = %d %s", p.status, p.header.Get("Content-Type"))
	}
	p.has(t, `<html lang="en">`, "Join Demo Coffee Rewards", "Earn points with every coffee.", "Points have no cash value",
		`name="name"`, `name="email"`, `name="birthday"`, `name="consent"`, "--brand-bg:#3b2f2f", `src="/join/demo/logo.png"`)
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(p.body, "<script") {
		t.Errorf("the page allows or carries scripts: CSP %q", csp)
	}
	// The inline stylesheet is allowed by exactly its hash.
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(p.body)
	sum := sha256.Sum256([]byte(style[1]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q, the hash of the page's stylesheet", csp, want)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if c := p.header.Get("Set-Cookie"); !strings.Contains(c, web.CookieName+"=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("Set-Cookie = %q, want an HttpOnly SameSite=Lax form cookie", c)
	}
	if p := e.browser().do("GET", "/join/nope", nil); p.status != 404 {
		t.Errorf("GET /join/nope = %d, want 404", p.status)
	}
}

func TestFrench(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for header, want := range map[string]string{
		"fr-CA,fr;q=0.9,en;q=0.5": "fr",
		"en;q=0.4, fr;q=0.8":      "fr",
		"de-DE, en;q=0.5":         "en",
		"fr;q=0, en":              "en",
		"":                        "en",
	} {
		b := e.browser()
		b.lang = header
		p := b.do("GET", "/join/demo", nil)
		if !strings.Contains(p.body, `<html lang="`+want+`">`) || p.header.Get("Content-Language") != want {
			t.Errorf("Accept-Language %q: page language %q, want %s", header, p.header.Get("Content-Language"), want)
		}
	}
	b := e.browser()
	b.lang = "fr-FR,fr;q=0.9"
	p := b.do("GET", "/join/demo", nil)
	p.has(t, "Rejoindre Demo Coffee Fidélité", "Gagnez des points", "J&#39;accepte les conditions", "Les points n&#39;ont aucune valeur")
	p = b.do("POST", "/join/demo", url.Values{"token": {p.token(t)}})
	p.has(t, "Indiquez votre nom.", "Vous devez accepter les conditions")
	p = b.do("POST", "/join/demo", valid(p.token(t)))
	p = b.do("GET", p.header.Get("Location"), nil)
	p.has(t, "Votre carte est prête", "Ajouter à Apple Wallet", "Niveau")
}

func TestValidationStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	token := b.do("GET", "/join/demo", nil).token(t)
	for name, tc := range map[string]struct {
		form  url.Values
		field string
		text  string
	}{
		"no name":       {url.Values{"name": {"  "}, "email": {"a@example.com"}, "consent": {"yes"}}, "name", "Enter your name."},
		"no email":      {url.Values{"name": {"Ada"}, "consent": {"yes"}}, "email", "Enter your email address."},
		"bad email":     {url.Values{"name": {"Ada"}, "email": {"ada@"}, "consent": {"yes"}}, "email", "Enter an email address"},
		"bad birthday":  {url.Values{"name": {"Ada"}, "email": {"a@example.com"}, "birthday": {"31/12/1990"}, "consent": {"yes"}}, "birthday", "Enter a date"},
		"future bday":   {url.Values{"name": {"Ada"}, "email": {"a@example.com"}, "birthday": {"2030-01-01"}, "consent": {"yes"}}, "birthday", "past date"},
		"no consent":    {url.Values{"name": {"Ada"}, "email": {"a@example.com"}}, "consent", "You must accept the terms"},
		"control chars": {url.Values{"name": {"A\x00da"}, "email": {"a@example.com"}, "consent": {"yes"}}, "name", "not allowed"},
	} {
		tc.form.Set("token", token)
		p := b.do("POST", "/join/demo", tc.form)
		if p.status != 422 {
			t.Errorf("%s: status %d, want 422", name, p.status)
			continue
		}
		p.has(t, `id="`+tc.field+`-error"`, tc.text, `aria-invalid="true"`, "Please correct the fields")
		// What was typed is kept, and the same token stays valid.
		if v := tc.form.Get("email"); v != "" {
			p.has(t, `value="`+html.EscapeString(v)+`"`)
		}
		if got := p.token(t); got != token {
			t.Errorf("%s: the form came back with another token", name)
		}
	}
	if _, ok := e.nonceMember(token); ok {
		t.Fatal("a bad submit stored a member")
	}
	// The same token then works.
	if p := b.do("POST", "/join/demo", valid(token)); p.status != 303 {
		t.Errorf("valid submit after errors = %d, want 303", p.status)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	token := b.do("GET", "/join/demo", nil).token(t)
	nonce, rest, _ := strings.Cut(token, ".")
	issued, mac, _ := strings.Cut(rest, ".")
	other := e.browser()
	otherToken := other.do("GET", "/join/demo", nil).token(t)

	for name, tc := range map[string]struct {
		b     *browser
		token string
		hdr   []string
	}{
		"no token":          {b, "", nil},
		"forged mac":        {b, nonce + "." + issued + "." + strings.Repeat("A", len(mac)), nil},
		"changed nonce":     {b, otherFirst(nonce) + "." + issued + "." + mac, nil},
		"changed time":      {b, nonce + "." + issued[:len(issued)-1] + string('0'+(issued[len(issued)-1]-'0'+1)%10) + "." + mac, nil},
		"another's token":   {b, otherToken, nil},
		"no cookie":         {&browser{e: e, c: &http.Client{CheckRedirect: other.c.CheckRedirect}}, token, nil},
		"cross-site":        {b, token, []string{"Sec-Fetch-Site", "cross-site"}},
		"foreign origin":    {b, token, []string{"Origin", "https://evil.example"}},
		"other program url": {b, token, nil},
	} {
		path := "/join/demo"
		if name == "other program url" {
			// A token is bound to its program; there is one program here,
			// so post to an unknown one.
			path = "/join/elsewhere"
		}
		p := tc.b.do("POST", path, valid(tc.token), tc.hdr...)
		want := 403
		if path != "/join/demo" {
			want = 404
		}
		if p.status != want {
			t.Errorf("%s: status %d, want %d", name, p.status, want)
			continue
		}
		if want == 403 {
			p.has(t, "This form expired")
			if strings.Contains(p.body, "Ada Lovelace") {
				t.Errorf("%s: a refused form carried its values over", name)
			}
		}
	}
	if _, ok := e.nonceMember(token); ok {
		t.Fatal("a refused form stored a member")
	}
	// Same-origin browsers pass, by Sec-Fetch-Site or (older ones) Origin.
	if p := b.do("POST", "/join/demo", valid(token), "Sec-Fetch-Site", "same-origin"); p.status != 303 {
		t.Errorf("same-origin submit = %d, want 303", p.status)
	}
	if p := b.do("POST", "/join/demo", valid(b.do("GET", "/join/demo", nil).token(t)), "Origin", e.srv.URL); p.status != 303 {
		t.Errorf("submit with a same-origin Origin = %d, want 303", p.status)
	}
	// Tokens expire.
	late := b.do("GET", "/join/demo", nil).token(t)
	e.clock.Add(web.FormTTL + time.Minute)
	if p := b.do("POST", "/join/demo", valid(late)); p.status != 403 {
		t.Errorf("expired token: status %d, want 403", p.status)
	}
}

func TestDoubleSubmitMakesOneMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	token := b.do("GET", "/join/demo", nil).token(t)
	first := b.do("POST", "/join/demo", valid(token))
	second := b.do("POST", "/join/demo", valid(token))
	if first.status != 303 || second.status != 303 {
		t.Fatalf("submits = %d, %d, want 303, 303", first.status, second.status)
	}
	if a, b := first.header.Get("Location"), second.header.Get("Location"); a != b || !strings.HasPrefix(a, "/join/demo/card/") {
		t.Errorf("second submit went to %q, want the first result %q", b, a)
	}
	m, ok := e.nonceMember(token)
	if !ok || m.Name != "Ada Lovelace" || m.Email != "ada@example.com" || m.Birthday != "1990-12-10" {
		t.Fatalf("member = %+v, %v", m, ok)
	}
	// A new form is a new member.
	again := b.do("POST", "/join/demo", valid(b.do("GET", "/join/demo", nil).token(t)))
	if again.header.Get("Location") == first.header.Get("Location") {
		t.Error("a fresh form answered the earlier member")
	}
}

var resultRE = regexp.MustCompile(`^/join/demo/card/([0-9a-f-]{36})\?sig=[A-Za-z0-9_-]+$`)

func TestResultPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	loc := b.do("POST", "/join/demo", valid(b.do("GET", "/join/demo", nil).token(t))).header.Get("Location")
	m := resultRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("Location = %q, want a signed result link", loc)
	}
	id := m[1]
	p := b.do("GET", loc, nil)
	if p.status != 200 {
		t.Fatalf("GET result = %d", p.status)
	}
	p.has(t, "Your card is ready", "Ada Lovelace", `id="card-points">0<`, `id="card-tier">Bronze<`,
		`id="add-apple" href="`+html.EscapeString(e.links.PassURL(id))+`"`, "Add to Apple Wallet",
		`id="card-barcode" src="data:image/png;base64,`, `id="handoff-qr" src="data:image/png;base64,`)
	if strings.Contains(p.body, "add-google") {
		t.Error("a Google button with Google off")
	}
	// Anyone with the link may reload it; nobody else.
	if p := e.browser().do("GET", loc, nil); p.status != 200 {
		t.Errorf("reload in another browser = %d, want 200", p.status)
	}
	other := b.do("POST", "/join/demo", valid(b.do("GET", "/join/demo", nil).token(t))).header.Get("Location")
	otherID := resultRE.FindStringSubmatch(other)[1]
	for name, path := range map[string]string{
		"no sig":        "/join/demo/card/" + id,
		"bad sig":       "/join/demo/card/" + id + "?sig=AAAAAAAAAAAAAAAAAAAAAA",
		"foreign sig":   "/join/demo/card/" + otherID + loc[strings.Index(loc, "?"):],
		"pass sig":      "/join/demo/card/" + id + "?sig=" + e.links.Sign(links.KindPass, id),
		"not a uuid":    "/join/demo/card/nope?sig=x",
		"wrong program": "/join/other/card/" + id + loc[strings.Index(loc, "?"):],
	} {
		if p := b.do("GET", path, nil); p.status != 404 {
			t.Errorf("%s: GET %s = %d, want 404", name, path, p.status)
		}
	}
	if err := e.store.EraseMember(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if p := b.do("GET", loc, nil); p.status != 404 || strings.Contains(p.body, "Ada") {
		t.Errorf("erased member's result page = %d, want 404 without personal data", p.status)
	}
}

func TestResultPageWithGoogle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(id string) (string, error) { return "https://pay.google.com/gp/v/save/jwt-for-" + id, nil })
	b := e.browser()
	loc := b.do("POST", "/join/demo", valid(b.do("GET", "/join/demo", nil).token(t))).header.Get("Location")
	id := resultRE.FindStringSubmatch(loc)[1]
	p := b.do("GET", loc, nil)
	p.has(t, `id="add-apple"`, `id="add-google" href="https://pay.google.com/gp/v/save/jwt-for-`+id+`"`, "Add to Google Wallet")
}

func TestImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	for path, size := range map[string]int{"/join/demo/logo.png": 0, "/join/demo/qr.png": 256, "/join/demo/qr.png?size=100": 100} {
		p := b.do("GET", path, nil)
		if p.status != 200 || p.header.Get("Content-Type") != "image/png" {
			t.Errorf("GET %s = %d %s", path, p.status, p.header.Get("Content-Type"))
			continue
		}
		img, err := png.Decode(bytes.NewReader([]byte(p.body)))
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		if size > 0 && (img.Bounds().Dx() != size || img.Bounds().Dy() != size) {
			t.Errorf("GET %s: %v, want %dx%d", path, img.Bounds(), size, size)
		}
	}
	for path, want := range map[string]int{"/join/demo/qr.png?size=10": 422, "/join/demo/qr.png?size=2000": 422, "/join/nope/qr.png": 404, "/join/nope/logo.png": 404} {
		p := b.do("GET", path, nil)
		if p.status != want || p.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s = %d %s, want %d problem+json", path, p.status, p.header.Get("Content-Type"), want)
		}
	}
}

func TestFormBodyIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	token := b.do("GET", "/join/demo", nil).token(t)
	f := valid(token)
	f.Set("name", strings.Repeat("x", web.MaxFormBytes))
	if p := b.do("POST", "/join/demo", f); p.status != 413 {
		t.Errorf("oversized form = %d, want 413", p.status)
	}
	if _, ok := e.nonceMember(token); ok {
		t.Error("an oversized form stored a member")
	}
}

// otherFirst answers s with its first character replaced by another one
// (a fixed replacement would leave s unchanged when it starts with it).
func otherFirst(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}

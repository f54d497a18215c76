package web_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/ratelimit"
	"github.com/passd/passd/internal/web"
)

// join fills and posts the form from a fresh browser (its own cookie)
// whose requests come through the test's loopback proxy for addr.
func (e *env) join(addr, lang, name string) page {
	e.t.Helper()
	b := e.browser()
	b.lang = lang
	tok := b.do("GET", "/join/demo", nil).token(e.t)
	form := valid(tok)
	form.Set("name", name)
	return b.do("POST", "/join/demo", form, "X-Forwarded-For", addr)
}

func (e *env) members() int {
	e.t.Helper()
	n, err := e.store.CountMembers(context.Background(), "demo")
	if err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}

// TestJoinRateLimits: enrolments are limited per client address (taken
// from X-Forwarded-For only because the loopback proxy is trusted) and
// per programme; above a limit the visitor gets a 429 page in their
// language with Retry-After, and nothing is stored.
func TestJoinRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *web.Config) {
		c.ClientAddr = clientaddr.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
		c.JoinLimitPerAddress = ratelimit.Limit{PerMinute: 1, Burst: 2}
		c.JoinLimitPerProgram = ratelimit.Limit{PerMinute: 6, Burst: 4}
	})
	for i := range 2 {
		if p := e.join("203.0.113.1", "en", "Ada"); p.status != 303 {
			t.Fatalf("enrolment %d from one address = %d, want 303", i, p.status)
		}
	}
	p := e.join("203.0.113.1", "fr-FR", "Ada")
	if p.status != 429 || p.header.Get("Retry-After") != "60" {
		t.Fatalf("third enrolment from one address = %d (Retry-After %q), want 429 after 60 s", p.status, p.header.Get("Retry-After"))
	}
	p.has(t, `lang="fr"`, "Merci de patienter", "réessayer dans 1 min", `href="/join/demo"`)
	if n := e.members(); n != 2 {
		t.Fatalf("members after a refused enrolment = %d, want 2", n)
	}
	// Other addresses go on until the programme's own limit.
	for i, addr := range []string{"203.0.113.2", "2001:db8::1"} {
		if p := e.join(addr, "en", "Grace"); p.status != 303 {
			t.Fatalf("enrolment from address %d = %d, want 303", i, p.status)
		}
	}
	p = e.join("203.0.113.3", "en", "Grace")
	if p.status != 429 || p.header.Get("Retry-After") != "10" {
		t.Fatalf("enrolment above the programme's limit = %d (Retry-After %q), want 429 after 10 s", p.status, p.header.Get("Retry-After"))
	}
	p.has(t, `lang="en"`, "Please wait a moment", "try again in 1 min")
	e.clock.Add(10 * time.Second)
	if p := e.join("203.0.113.3", "en", "Grace"); p.status != 303 {
		t.Fatalf("enrolment 10 s later = %d, want 303", p.status)
	}
	// An untrusted peer's X-Forwarded-For is not believed: without the
	// proxy trusted, every request is the loopback peer's.
	u := newEnvWith(t, func(c *web.Config) { c.JoinLimitPerAddress = ratelimit.Limit{PerMinute: 1, Burst: 1} })
	if p := u.join("203.0.113.1", "en", "Ada"); p.status != 303 {
		t.Fatalf("first enrolment = %d", p.status)
	}
	if p := u.join("203.0.113.99", "en", "Ada"); p.status != 429 {
		t.Fatalf("forged X-Forwarded-For from an untrusted peer = %d, want 429 (counted as the peer)", p.status)
	}
}

// TestJoinHoneypot: a form whose hidden trap field is filled enrols
// nobody and is answered as a fresh form; the trap is out of sight.
func TestJoinHoneypot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	form := b.do("GET", "/join/demo", nil)
	form.has(t, `<div class="hp">`, `name="`+web.HoneypotField+`"`, `tabindex="-1"`)
	f := valid(form.token(t))
	f.Set(web.HoneypotField, "http://spam.example")
	p := b.do("POST", "/join/demo", f)
	if p.status != 200 || !strings.Contains(p.body, `id="join-form"`) || strings.Contains(p.body, "Ada Lovelace") {
		t.Fatalf("honeypot POST = %d, want 200 and an empty form:\n%s", p.status, p.body)
	}
	if _, ok := e.nonceMember(f.Get("token")); ok || e.members() != 0 {
		t.Fatal("a filled honeypot enrolled a member")
	}
}

// TestNotFoundPages: an unknown programme and an unknown page under /join
// answer 404 pages in the visitor's language, with passd's favicon.
func TestNotFoundPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	p := b.do("GET", "/join/no-such-shop", nil)
	if p.status != 404 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown programme = %d %s, want a 404 page", p.status, p.header.Get("Content-Type"))
	}
	p.has(t, `lang="en"`, "<title>Page not found</title>", "There is no loyalty programme at this address", `href="/join/favicon.svg"`, `name="robots" content="noindex"`)
	b.lang = "fr"
	b.do("POST", "/join/no-such-shop", nil).has(t, `lang="fr"`, "Page introuvable", "Aucun programme de fidélité")
	b.do("GET", "/join/demo/no/such/page", nil).has(t, "Page introuvable", "Aucune page à cette adresse.")
	fav := b.do("GET", "/join/favicon.svg", nil)
	if fav.status != 200 || fav.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(fav.body, "<svg") {
		t.Errorf("favicon = %d %s", fav.status, fav.header.Get("Content-Type"))
	}
}

// TestFormPrivacyAndMeta: the public form has a meta description, the
// programme's icon as favicon and a privacy notice: the programme's own
// when it has one, else the default in the page's language naming the
// organisation.
func TestFormPrivacyAndMeta(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	p := b.do("GET", "/join/demo", nil)
	p.has(t, `<meta name="description" content="`, `<link rel="icon" href="/join/demo/icon.png">`,
		`<h2 id="privacy-heading">Your data</h2>`, "erased when you leave the programme", "To get a copy of your data")
	if strings.Contains(p.body, "noindex") {
		t.Error("the public form is marked noindex")
	}
	b.lang = "fr"
	b.do("GET", "/join/demo", nil).has(t, "Vos données", "effacées quand vous quittez le programme")
	icon := b.do("GET", "/join/demo/icon.png", nil)
	if icon.status != 200 || icon.header.Get("Content-Type") != "image/png" {
		t.Errorf("programme icon = %d %s", icon.status, icon.header.Get("Content-Type"))
	}
}

// TestFormPrivacyFromProgramme: a programme's own privacy text replaces
// the default notice.
func TestFormPrivacyFromProgramme(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *web.Config) {
		p, err := c.Programs.Get("demo")
		if err != nil {
			t.Fatal(err)
		}
		texts := p.Locales["en"]
		texts.Privacy = "Demo Coffee keeps your card for two years. Write to privacy@demo.example."
		p.Locales["en"] = texts
	})
	p := e.browser().do("GET", "/join/demo", nil)
	p.has(t, "Demo Coffee keeps your card for two years. Write to privacy@demo.example.")
	if strings.Contains(p.body, "To get a copy of your data") {
		t.Error("the default notice is shown beside the programme's own")
	}
}

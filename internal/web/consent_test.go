package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

var marketingBox = regexp.MustCompile(`<input id="marketing" name="marketing" type="checkbox"[^>]*>`)

// TestMarketingConsent checks the join page's marketing question: its own
// checkbox, apart from the terms, unticked unless the visitor ticks it,
// worded in the page's language, and recorded with the source join_page.
func TestMarketingConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for lang, want := range map[string]string{
		"en": "Send me offers and news by email (optional)",
		"fr": "Envoyez-moi des offres et des nouvelles par e-mail (facultatif)",
	} {
		b := e.browser()
		b.lang = lang
		p := b.do("GET", "/join/demo", nil)
		box := marketingBox.FindString(p.body)
		if box == "" || strings.Contains(box, "checked") || strings.Contains(box, "required") {
			t.Errorf("%s: marketing checkbox = %q, want an unticked, optional box", lang, box)
		}
		p.has(t, `<label for="marketing">`, want, `id="consent"`)
	}

	b := e.browser()
	for _, tc := range []struct {
		ticked bool
		form   func(token string) map[string][]string
	}{
		{false, func(token string) map[string][]string { return valid(token) }},
		{true, func(token string) map[string][]string { v := valid(token); v.Set("marketing", "yes"); return v }},
	} {
		token := b.do("GET", "/join/demo", nil).token(t)
		if p := b.do("POST", "/join/demo", tc.form(token)); p.status != 303 {
			t.Fatalf("submit (marketing %v) = %d, want 303", tc.ticked, p.status)
		}
		m, ok := e.nonceMember(token)
		if !ok || m.MarketingOptIn != tc.ticked {
			t.Fatalf("member (marketing ticked %v) = opt-in %v, found %v", tc.ticked, m.MarketingOptIn, ok)
		}
		x, err := e.store.Export(context.Background(), m.ID)
		if err != nil || len(x.Consents) != 1 || x.Consents[0].MarketingOptIn != tc.ticked || x.Consents[0].Source != "join_page" {
			t.Errorf("consents (marketing ticked %v) = %+v, %v; want one from join_page", tc.ticked, x.Consents, err)
		}
	}

	// A refused form keeps the visitor's tick.
	token := b.do("GET", "/join/demo", nil).token(t)
	v := valid(token)
	v.Set("marketing", "yes")
	v.Del("consent")
	p := b.do("POST", "/join/demo", v)
	if box := marketingBox.FindString(p.body); p.status != 422 || !strings.Contains(box, "checked") {
		t.Errorf("refused form = %d, marketing box %q; want 422 with the box still ticked", p.status, box)
	}
}

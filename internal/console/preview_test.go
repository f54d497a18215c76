package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/passd/passd/internal/console"
	"github.com/passd/passd/internal/loyalty"
)

// heldURL answers the URL of the uploaded image the preview page shows
// first (on a card face, or on its own), "" when none.
func heldURL(page string) string {
	return unescape(regexpFirst(`<img (?:class="[^"]*" )?src="([^"]+)"`, page))
}

// TestImagePreview: an uploaded image is previewed on the sample cards
// before it is saved, served from passd (the page's CSP allows images
// from passd only) to the session and programme that uploaded it only,
// until it expires; the preview's Save stores it; the upload's checks
// hold for a preview too; the images held are bounded.
func TestImagePreview(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	p.newProgram(t, "other")
	ctx := context.Background()
	p.user(t, "ada@example.com", loyalty.RoleMerchant, "demo", "correct horse battery")
	b := p.browser(t)
	if res := b.signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", res.StatusCode)
	}
	before, err := p.srv.Programs.Fresh(ctx, "demo", 0)
	if err != nil {
		t.Fatal(err)
	}

	// A logo of Apple's size: every sample card shows it, nothing saved.
	logo := pngOf(t, 160, 50)
	res, page := b.upload(map[string]string{"slot": "logo", "action": "preview"}, logo)
	src := heldURL(page)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(src, "/console/programs/demo/edit/images/") {
		t.Fatalf("preview of a logo = %d, image %q; page:\n%s", res.StatusCode, src, page)
	}
	if n := strings.Count(page, `src="`+src+`"`); n != strings.Count(page, `class="face"`) || n == 0 {
		t.Errorf("the logo shows on %d of %d sample cards", n, strings.Count(page, `class="face"`))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self'") || strings.Contains(csp, "data:") {
		t.Errorf("the preview's CSP %q does not allow passd's images (and only them)", csp)
	}
	if now, _ := p.srv.Programs.Fresh(ctx, "demo", 0); now.Version != before.Version {
		t.Errorf("a preview changed the programme to version %d", now.Version)
	}
	res, body := b.do("GET", src, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || body != string(logo) ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("GET the held logo = %d, %q, %d bytes, nosniff %q, Cache-Control %q; want the upload, not cached",
			res.StatusCode, res.Header.Get("Content-Type"), len(body), res.Header.Get("X-Content-Type-Options"), res.Header.Get("Cache-Control"))
	}

	// Another session of the same user, another programme's URL, another
	// programme's merchant and no session at all get nothing.
	b2 := p.browser(t)
	if res := b2.signIn("ada@example.com", "correct horse battery"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in = %d", res.StatusCode)
	}
	b2.page(src, http.StatusNotFound)
	admin := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	admin.page(src, http.StatusNotFound)
	admin.page(strings.Replace(src, "/demo/", "/other/", 1), http.StatusNotFound)
	if res, _ := p.browser(t).do("GET", src, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET the held logo signed out = %d, want the sign-in redirect", res.StatusCode)
	}

	// The preview's Save stores the held image, once.
	id := src[strings.LastIndex(src, "/")+1:]
	if res, page := b.upload(map[string]string{"held": id}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the previewed logo = %d; page:\n%s", res.StatusCode, page)
	}
	if now, _ := p.srv.Programs.Fresh(ctx, "demo", before.Version+1); now.Version != before.Version+1 {
		t.Errorf("after saving the previewed logo the programme is at version %d, want %d", now.Version, before.Version+1)
	}
	b.page(src, http.StatusNotFound)

	// A strip shows on the cards; expired, it is gone and cannot be saved.
	_, page = b.upload(map[string]string{"slot": "strip@2x", "action": "preview"}, pngOf(t, 750, 246))
	strip := heldURL(page)
	if !strings.Contains(page, `class="card-strip" src="`+strip+`"`) {
		t.Fatalf("the strip's preview shows no strip on the cards; page:\n%s", page)
	}
	b.page(strip, http.StatusOK)
	p.clock.Add(console.HeldImageTTL)
	b.page(strip, http.StatusNotFound)
	if res, page := b.upload(map[string]string{"held": strip[strings.LastIndex(strip, "/")+1:]}, nil); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(text(page, "notice"), "no longer kept") {
		t.Errorf("save an expired preview = %d, notice %q; want 422 in words", res.StatusCode, text(page, "notice"))
	}

	// An image off the card (the icon) shows on its own; one of the wrong
	// size is refused with Apple's rule, as an upload is.
	if _, page := b.upload(map[string]string{"slot": "icon", "action": "preview"}, pngOf(t, 29, 29)); !strings.Contains(page, `id="held-image"`) {
		t.Error("the icon's preview does not show it")
	}
	if res, page := b.upload(map[string]string{"slot": "logo", "action": "preview"}, pngOf(t, 500, 50)); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(text(page, "notice"), "logo") || heldURL(page) != "" {
		t.Errorf("preview of a logo too wide = %d, notice %q; want 422 naming the logo", res.StatusCode, text(page, "notice"))
	}

	// Bounds: four sessions preview nine images each, more than
	// MaxHeldImages; the oldest go, the newest stay. (The icon above has
	// expired by then.)
	p.clock.Add(console.HeldImageTTL)
	slots := []struct {
		slot string
		w, h int
	}{{"logo", 160, 50}, {"logo@2x", 320, 100}, {"logo@3x", 480, 150}, {"strip", 375, 123}, {"strip@2x", 750, 246},
		{"strip@3x", 1125, 369}, {"icon", 29, 29}, {"icon@2x", 58, 58}, {"icon@3x", 87, 87}}
	type held struct {
		b   *browser
		url string
	}
	var all []held
	for i := range 4 {
		s := p.signedInAs(t, "staff"+string(rune('a'+i))+"@example.com", loyalty.RoleMerchant, "demo")
		for _, sl := range slots {
			_, page := s.upload(map[string]string{"slot": sl.slot, "action": "preview"}, pngOf(t, sl.w, sl.h))
			u := heldURL(page)
			if u == "" {
				t.Fatalf("no preview of %s", sl.slot)
			}
			all = append(all, held{s, u})
		}
	}
	if len(all) <= console.MaxHeldImages {
		t.Fatalf("%d previews do not pass the bound %d", len(all), console.MaxHeldImages)
	}
	gone := len(all) - console.MaxHeldImages
	for i, h := range all {
		want := http.StatusOK
		if i < gone {
			want = http.StatusNotFound
		}
		if res, _ := h.b.do("GET", h.url, nil); res.StatusCode != want {
			t.Errorf("held image %d of %d = %d, want %d (the oldest %d go)", i+1, len(all), res.StatusCode, want, gone)
		}
	}
}

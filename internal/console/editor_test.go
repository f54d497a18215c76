package console_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store/storetest"
)

// editForm answers the editor's form of programme demo as the page fills
// it, to change and send.
func editForm(t *testing.T, b *browser) url.Values {
	t.Helper()
	page := b.page("/console/programs/demo/edit", http.StatusOK)
	f := url.Values{}
	for _, m := range regexpAll(`<input type="(?:hidden|text|color|number)" (?:id="[^"]*" )?name="([^"]+)"[^>]*value="([^"]*)"`, page) {
		f.Add(m[1], unescape(m[2]))
	}
	for _, m := range regexpAll(`<textarea id="[^"]*" name="([^"]+)"[^>]*>([^<]*)</textarea>`, page) {
		f.Set(m[1], unescape(m[2]))
	}
	return f
}

// pngOf answers a PNG of w x h transparent pixels.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return img.Bytes()
}

// upload sends the editor's image form of programme demo with fields and,
// unless nil, the file data; it answers the response and its page.
func (b *browser) upload(fields map[string]string, data []byte) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", b.csrf("/console/programs/demo/edit"))
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if data != nil {
		fw, _ := mw.CreateFormFile("image", "image.png")
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.base+"/console/programs/demo/images", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	return res, out.String()
}

// TestProgramEditor: an edit is checked and previewed (the card per tier,
// how many cards will update) before anything is saved; saving is the
// API's PATCH with the version of the form; images go through the
// programmes service's checks.
func TestProgramEditor(t *testing.T) {
	t.Parallel()
	p := start(t, false, nil)
	ctx := context.Background()
	storetest.NewMember(t, p.srv.Store, "demo")
	storetest.NewMember(t, p.srv.Store, "demo")
	before, err := p.srv.Programs.Fresh(ctx, "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	f := editForm(t, b)
	if f.Get("program_name_en") != "Demo Coffee Rewards" || f.Get("background") != before.Colors.Background || f.Get("version") == "" {
		t.Fatalf("editor form = %v", f)
	}
	f.Set("program_name_en", "Demo Coffee Club")
	f.Set("name", "Demo Coffee Club")
	f.Set("background", "#112233")
	f["tier_name"][len(f["tier_name"])-1], f["tier_threshold"][len(f["tier_threshold"])-1] = "Platinum", "20000"
	f.Set("rules", `{"welcome_bonus": 50, "timezone": "Europe/Paris"}`)

	res, page := b.post("/console/programs/demo/edit", "/console/programs/demo/edit/preview", f)
	if res.StatusCode != 200 || strings.Count(page, `class="card-front"`) != 4 || !strings.Contains(page, "Demo Coffee Club") || !strings.Contains(text(page, "cards-to-update"), "2 cards") {
		t.Fatalf("preview = %d, %d faces, cards %q", res.StatusCode, strings.Count(page, `class="card-front"`), text(page, "cards-to-update"))
	}
	if !strings.Contains(page, `fill="#112233"`) {
		t.Error("the preview is not drawn in the new background colour")
	}
	if now, _ := p.srv.Programs.Fresh(ctx, "demo", 0); now.Version != before.Version {
		t.Fatal("the preview saved the programme")
	}
	save := url.Values{"version": {hidden(page, "version")}, "patch": {hidden(page, "patch")}}
	res, _ = b.post("/console/programs/demo/edit", "/console/programs/demo/edit", save)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/programs/demo?saved=2" {
		t.Fatalf("save = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	after, err := p.srv.Programs.Fresh(ctx, "demo", before.Version+1)
	if err != nil || after.Locales["en"].ProgramName != "Demo Coffee Club" || after.Name != "Demo Coffee Club" || after.Colors.Background != "#112233" ||
		len(after.Tiers) != 4 || after.WelcomeBonus != 50 || after.Timezone != "Europe/Paris" || after.Locales["fr"] != before.Locales["fr"] {
		t.Fatalf("saved programme = %+v, %v", after, err)
	}
	if done := b.page("/console/programs/demo?saved=2", http.StatusOK); !strings.Contains(text(done, "done"), "2 cards") {
		t.Error("the figures page does not say how many cards update")
	}
	// The same form again is stale: nothing saved, the reason shown.
	if res, page := b.post("/console/programs/demo/edit", "/console/programs/demo/edit", save); res.StatusCode != http.StatusConflict || text(page, "notice") == "" {
		t.Errorf("a stale save = %d, notice %q", res.StatusCode, text(page, "notice"))
	}

	for _, tc := range []struct{ field, value, named string }{
		{"rules", `{"welcome_bonus": 50, "colour": "red"}`, "rules.colour"},
		{"rules", `not json`, "rules"},
		{"points_per_unit", "ten", "earn.points_per_unit"},
		{"rules", `{"expiry": {"after_days": -1}}`, "expiry"},
	} {
		f := editForm(t, b)
		f.Set(tc.field, tc.value)
		if res, page := b.post("/console/programs/demo/edit", "/console/programs/demo/edit/preview", f); res.StatusCode != 422 || !strings.Contains(text(page, "notice"), tc.named) {
			t.Errorf("preview with %s=%s = %d, notice %q; want 422 naming %s", tc.field, tc.value, res.StatusCode, text(page, "notice"), tc.named)
		}
	}

	// Images: a PNG of the wrong size is refused with Apple's rule; one
	// of the right size is stored.
	upload := func(slot string, w, h int) (*http.Response, string) {
		return b.upload(map[string]string{"slot": slot}, pngOf(t, w, h))
	}
	if res, page := upload("icon", 10, 300); res.StatusCode != 422 || !strings.Contains(text(page, "notice"), "icon") {
		t.Errorf("a bad icon = %d, notice %q", res.StatusCode, text(page, "notice"))
	}
	if res, _ := upload("icon", 29, 29); res.StatusCode != http.StatusSeeOther {
		t.Errorf("an icon of 29x29 = %d", res.StatusCode)
	}
	if now, _ := p.srv.Programs.Fresh(ctx, "demo", after.Version+1); now.Version != after.Version+1 {
		t.Errorf("after the upload the programme is at version %d, want %d", now.Version, after.Version+1)
	}

	// Another programme's merchant cannot open or send the editor.
	p.newProgram(t, "other")
	other := p.signedInAs(t, "bob@example.com", loyalty.RoleMerchant, "other")
	other.page("/console/programs/demo/edit", http.StatusNotFound)
	if res, _ := other.post("/console/programs/other/edit", "/console/programs/demo/edit", save); res.StatusCode != http.StatusNotFound {
		t.Errorf("saving demo as other's merchant = %d, want 404", res.StatusCode)
	}
}

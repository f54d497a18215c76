package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passd/passd/internal/api"
)

// newProgram answers a valid program object with the given id.
func newProgram(id string) map[string]any {
	return map[string]any{
		"id": id, "name": "Shop Rewards", "organization_name": "Shop Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"tiers":          []any{map[string]any{"name": "Member", "threshold": 0}, map[string]any{"name": "Gold", "threshold": 500}},
		"default_locale": "en",
		"locales":        map[string]any{"en": map[string]any{"program_name": "Shop Rewards"}},
	}
}

// pngOf answers a w x h PNG.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fieldsOf lists the fields a validation_failed answer names.
func fieldsOf(a answer) []string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func wantFields(t *testing.T, a answer, fields ...string) {
	t.Helper()
	got := fieldsOf(a)
	for _, f := range fields {
		if !slices.Contains(got, f) {
			t.Errorf("errors name %v, want %s among them; body %s", got, f, a.raw)
		}
	}
}

// version reads the program's stored version through the API.
func (e *env) version(id string) float64 {
	e.t.Helper()
	return e.do("GET", "/api/v1/programs/"+id, adminKey, nil).want(e.t, 200, "").body["version"].(float64)
}

func (e *env) patch(id, key string, body any, hdr ...string) answer {
	e.t.Helper()
	return e.do("PATCH", "/api/v1/programs/"+id, key, body, append([]string{"Content-Type", "application/merge-patch+json"}, hdr...)...)
}

func (e *env) putImage(id, key, name string, data []byte, hdr ...string) answer {
	e.t.Helper()
	return e.do("PUT", "/api/v1/programs/"+id+"/images/"+name, key, data, append([]string{"Content-Type", "image/png"}, hdr...)...)
}

func TestListProgramsByKeyScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"zeta", "alpha"} {
		e.do("POST", "/api/v1/programs", adminKey, newProgram(id)).want(t, 201, "")
	}
	all := []string{"alpha", "demo", "zeta"}
	if got := ids(e.do("GET", "/api/v1/programs", e.newKey("pos", ""), nil).want(t, 200, "")); !slices.Equal(got, all) {
		t.Errorf("GET /programs with an unscoped pos key = %v, want %v (by id)", got, all)
	}
	if got := ids(e.do("GET", "/api/v1/programs", e.newKey("merchant", "zeta"), nil).want(t, 200, "")); !slices.Equal(got, []string{"zeta"}) {
		t.Errorf("GET /programs with a key scoped to zeta = %v, want [zeta]", got)
	}
	e.do("GET", "/api/v1/programs", "", nil).want(t, 401, "unauthorized")
}

func TestGetProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.do("GET", "/api/v1/programs/demo", e.newKey("pos", "demo"), nil).want(t, 200, "")
	if a.header.Get("ETag") != `"1"` || a.body["version"] != float64(1) {
		t.Errorf("GET demo: ETag %q, version %v; want \"1\" and 1", a.header.Get("ETag"), a.body["version"])
	}
	if c := a.body["colors"].(map[string]any); c["background"] != "#3b2f2f" || a.body["currency"] != "EUR" || a.body["created_at"] == nil || a.body["updated_at"] == nil {
		t.Errorf("GET demo = %s, want the template's fields and the row's times", a.raw)
	}
	if tiers := a.body["tiers"].([]any); len(tiers) != 3 {
		t.Errorf("GET demo tiers = %v, want the template's three", tiers)
	}
	e.do("GET", "/api/v1/programs/nope", adminKey, nil).want(t, 404, "not_found")
	e.do("POST", "/api/v1/programs", adminKey, newProgram("other")).want(t, 201, "")
	e.do("GET", "/api/v1/programs/other", e.newKey("pos", "demo"), nil).want(t, 403, "forbidden")
	// A scoped key learns nothing of other ids, known or not.
	e.do("GET", "/api/v1/programs/nope", e.newKey("pos", "demo"), nil).want(t, 403, "forbidden")
}

func TestCreateProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.do("POST", "/api/v1/programs", adminKey, newProgram("shop")).want(t, 201, "")
	if a.header.Get("Location") != "/api/v1/programs/shop" || a.header.Get("ETag") != `"1"` || a.body["version"] != float64(1) {
		t.Errorf("POST: Location %q, ETag %q, version %v; want /api/v1/programs/shop, \"1\", 1",
			a.header.Get("Location"), a.header.Get("ETag"), a.body["version"])
	}
	for k, want := range map[string]any{"barcode_format": "qr", "timezone": "UTC", "tier_window": "lifetime"} {
		if a.body[k] != want {
			t.Errorf("POST answer %s = %v, want the default %v", k, a.body[k], want)
		}
	}
	if got := e.do("GET", "/api/v1/programs/shop", adminKey, nil).want(t, 200, "").body["name"]; got != "Shop Rewards" {
		t.Errorf("GET the new program: name %v", got)
	}
	// The new programme enrols members at once.
	e.do("POST", "/api/v1/programs/shop/members", adminKey, map[string]any{"name": "Ada"}).want(t, 201, "")

	wantFields(t, e.do("POST", "/api/v1/programs", adminKey, newProgram("shop")).want(t, 422, "validation_failed"), "id")

	bad := newProgram("bad-one")
	bad["colors"].(map[string]any)["background"] = "red"
	bad["currency"] = "euro"
	bad["expiry"] = map[string]any{"after_days": 0}
	bad["locations"] = []any{map[string]any{"latitude": 91, "longitude": 0, "relevant_text": "here"}}
	bad["colour"] = "typo"
	wantFields(t, e.do("POST", "/api/v1/programs", adminKey, bad).want(t, 422, "validation_failed"),
		"colors.background", "currency", "expiry.after_days", "locations[0].latitude", "colour")
	e.do("GET", "/api/v1/programs/bad-one", adminKey, nil).want(t, 404, "not_found")

	e.do("POST", "/api/v1/programs", adminKey, `{"id": "x",`).want(t, 400, "malformed_json")
	e.do("POST", "/api/v1/programs", adminKey, newProgram("txt"), "Content-Type", "text/plain").want(t, 415, "unsupported_media_type")
	e.do("POST", "/api/v1/programs", e.newKey("merchant", ""), newProgram("m")).want(t, 403, "forbidden")
	e.do("POST", "/api/v1/programs", e.newKey("admin", "shop"), newProgram("elsewhere")).want(t, 403, "forbidden")
	e.do("GET", "/api/v1/programs/elsewhere", adminKey, nil).want(t, 404, "not_found")
}

func TestPatchProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.patch("demo", adminKey, `{"colors":{"background":"#000080"}}`, "If-Match", `"1"`).want(t, 200, "")
	if a.body["version"] != float64(2) || a.header.Get("ETag") != `"2"` {
		t.Fatalf("PATCH: version %v ETag %q, want 2 and \"2\"", a.body["version"], a.header.Get("ETag"))
	}
	c := e.do("GET", "/api/v1/programs/demo", adminKey, nil).want(t, 200, "").body["colors"].(map[string]any)
	if c["background"] != "#000080" || c["foreground"] != "#ffffff" {
		t.Errorf("colors after PATCH = %v, want the new background and the old foreground", c)
	}

	// A stale If-Match writes nothing.
	e.patch("demo", adminKey, `{"colors":{"background":"#800000"}}`, "If-Match", `"1"`).want(t, 412, "version_mismatch")
	after := e.do("GET", "/api/v1/programs/demo", adminKey, nil).want(t, 200, "")
	if after.body["version"] != float64(2) || after.body["colors"].(map[string]any)["background"] != "#000080" {
		t.Errorf("after a stale PATCH: %s, want version 2 unchanged", after.raw)
	}
	for _, m := range []string{`"0"`, `"abc"`, `"2", "3"`, `"2`, `xyz`, `-2`} {
		e.patch("demo", adminKey, `{"name":"Never"}`, "If-Match", m).want(t, 412, "version_mismatch")
	}
	// Every form of the current version, and any.
	for i, m := range []string{`W/"2"`, `3`, `*`, ``} {
		a := e.patch("demo", adminKey, fmt.Sprintf(`{"description":"v%d"}`, i), "If-Match", m).want(t, 200, "")
		if a.body["version"] != float64(3+i) {
			t.Errorf("PATCH with If-Match %q: version %v, want %d", m, a.body["version"], 3+i)
		}
	}
	v := e.version("demo")

	// Invalid: every field named, nothing written.
	a = e.patch("demo", adminKey, `{"colors":{"background":"red"},"expiry":{"after_days":0},"locations":[{"latitude":100,"longitude":0,"relevant_text":"x"}],"id":"other","bogus":1}`).want(t, 422, "validation_failed")
	wantFields(t, a, "colors.background", "expiry.after_days", "locations[0].latitude", "id", "bogus")
	if got := e.version("demo"); got != v {
		t.Errorf("version after an invalid PATCH = %v, want %v", got, v)
	}

	// Merge semantics: a rule block added, then deleted with null; the rest stays.
	a = e.patch("demo", adminKey, `{"expiry":{"after_days":365,"remind_days":30},"welcome_bonus":50}`).want(t, 200, "")
	if ex, _ := a.body["expiry"].(map[string]any); ex["after_days"] != float64(365) || a.body["welcome_bonus"] != float64(50) {
		t.Fatalf("PATCH adding expiry: %s", a.raw)
	}
	a = e.patch("demo", adminKey, `{"expiry":null,"tiers":[{"name":"Bronze","threshold":0},{"name":"Gold","threshold":100}]}`).want(t, 200, "")
	if _, ok := a.body["expiry"]; ok || a.body["welcome_bonus"] != float64(50) || len(a.body["tiers"].([]any)) != 2 {
		t.Errorf("PATCH expiry:null = %s, want no expiry, the welcome bonus kept, the tiers replaced", a.raw)
	}

	// A GET answer sent back whole changes nothing.
	got := e.do("GET", "/api/v1/programs/demo", adminKey, nil).want(t, 200, "")
	v = got.body["version"].(float64)
	if again := e.patch("demo", adminKey, got.raw).want(t, 200, ""); again.body["version"] != v {
		t.Errorf("PATCH with the GET answer: version %v, want %v (nothing changed)", again.body["version"], v)
	}

	e.patch("demo", adminKey, `{"name":"x"}`, "Content-Type", "application/json").want(t, 200, "")
	e.patch("demo", adminKey, `{"name":"x"}`, "Content-Type", "text/plain").want(t, 415, "unsupported_media_type")
	e.patch("demo", adminKey, `{"name":"x"}`, "Content-Type", "").want(t, 415, "unsupported_media_type")
	e.patch("demo", adminKey, `{"name":`).want(t, 400, "malformed_json")
	e.patch("demo", adminKey, `{"name":"`+strings.Repeat("x", api.MaxBodyBytes)+`"}`).want(t, 413, "body_too_large")
	e.patch("nope", adminKey, `{"name":"x"}`).want(t, 404, "not_found")
}

func TestPatchProgramRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/api/v1/programs", adminKey, newProgram("other")).want(t, 201, "")
	body := `{"name":"Renamed"}`
	e.patch("demo", e.newKey("pos", ""), body).want(t, 403, "forbidden")
	e.patch("demo", e.newKey("merchant", "other"), body).want(t, 403, "forbidden")
	e.putImage("demo", e.newKey("merchant", "other"), "icon", pngOf(t, 29, 29)).want(t, 403, "forbidden")
	e.putImage("demo", e.newKey("pos", "demo"), "icon", pngOf(t, 29, 29)).want(t, 403, "forbidden")
	if v := e.version("demo"); v != 1 {
		t.Errorf("version after refused changes = %v, want 1", v)
	}
	e.patch("demo", e.newKey("merchant", "demo"), body).want(t, 200, "")
}

func TestPutProgramImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.version("demo")
	for _, c := range []struct {
		name string
		w, h int
	}{
		{"icon", 29, 29}, {"icon@2x", 58, 58}, {"icon@3x", 114, 114},
		{"logo", 160, 50}, {"logo@2x", 200, 100}, {"strip", 375, 123}, {"strip@3x", 1125, 432},
		{"strip-Gold@2x", 750, 246}, {"google-logo", 660, 660},
	} {
		data := pngOf(t, c.w, c.h)
		a := e.putImage("demo", adminKey, c.name, data).want(t, 200, "")
		v++
		if a.body["version"] != v || a.header.Get("ETag") != fmt.Sprintf(`"%d"`, int(v)) {
			t.Errorf("PUT %s: version %v ETag %q, want %v", c.name, a.body["version"], a.header.Get("ETag"), v)
		}
		p, err := e.programs.Load(context.Background(), "demo")
		if err != nil || !bytes.Equal(p.Files[c.name+".png"], data) {
			t.Errorf("after PUT %s the stored program lacks %s.png (%v)", c.name, c.name, err)
		}
	}
	for _, c := range []struct {
		what, name string
		data       []byte
	}{
		{"not a PNG", "logo", []byte("GIF89a not a png")},
		{"empty", "logo", nil},
		{"the wrong size", "icon", pngOf(t, 30, 20)},
		{"a strip too narrow", "strip", pngOf(t, 300, 123)},
		{"a small google logo", "google-logo", pngOf(t, 100, 100)},
		{"an unknown tier", "strip-Platinum", pngOf(t, 375, 123)},
		{"an unknown name", "banner", pngOf(t, 29, 29)},
		{"an unknown scale", "icon@4x", pngOf(t, 116, 116)},
	} {
		e.putImage("demo", adminKey, c.name, c.data).want(t, 422, "invalid_image")
		if got := e.version("demo"); got != v {
			t.Errorf("PUT %s (%s): version %v, want %v: nothing written", c.name, c.what, got, v)
		}
	}
	e.putImage("demo", adminKey, "icon", pngOf(t, 29, 29), "Content-Type", "image/jpeg").want(t, 415, "unsupported_media_type")
	e.putImage("demo", adminKey, "icon", pngOf(t, 29, 29), "If-Match", `"1"`).want(t, 412, "version_mismatch")
	e.putImage("demo", adminKey, "icon", pngOf(t, 29, 29), "If-Match", fmt.Sprintf(`"%d"`, int(v))).want(t, 200, "")
	e.putImage("nope", adminKey, "icon", pngOf(t, 29, 29)).want(t, 404, "not_found")
	e.putImage("demo", adminKey, "strip", make([]byte, api.MaxBodyBytes+1)).want(t, 413, "body_too_large")
	e.putImage("demo", adminKey, "strip-Gold%2F..", pngOf(t, 375, 123)).want(t, 422, "invalid_image")

	// A tier whose name has a space takes its own strip by its escaped name.
	e.patch("demo", adminKey, `{"tiers":[{"name":"Bronze","threshold":0},{"name":"Very Gold","threshold":10}]}`).want(t, 200, "")
	e.putImage("demo", adminKey, "strip-Very%20Gold@2x", pngOf(t, 750, 246)).want(t, 200, "")
	if p, err := e.programs.Load(context.Background(), "demo"); err != nil || p.Files["strip-Very Gold@2x.png"] == nil {
		t.Errorf("the stored program lacks strip-Very Gold@2x.png (%v)", err)
	}
}

func TestOpenAPIDescribesPrograms(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	patch := dig(doc, "paths", "/api/v1/programs/{program}", "patch")
	if dig(patch, "requestBody", "content", "application/merge-patch+json") == nil || dig(patch, "responses", "412") == nil ||
		dig(patch, "responses", "200", "headers", "ETag") == nil || !strings.Contains(mustJSON(t, patch), "IfMatch") {
		t.Errorf("PATCH /programs/{program} lacks the merge patch body, 412, ETag or If-Match: %s", mustJSON(t, patch))
	}
	put := dig(doc, "paths", "/api/v1/programs/{program}/images/{name}", "put")
	if dig(put, "requestBody", "content", "image/png") == nil || dig(put, "responses", "422") == nil ||
		!strings.Contains(mustJSON(t, put), "google-logo") {
		t.Errorf("PUT image lacks the PNG body, 422 invalid_image or google-logo: %s", mustJSON(t, put))
	}
	if dig(doc, "paths", "/api/v1/programs", "post", "responses", "201", "headers", "Location") == nil {
		t.Errorf("POST /programs lacks its Location header")
	}
	for _, f := range []string{"expiry", "stamps", "cashback", "referral", "dormant", "locations", "tiers", "timezone", "tier_window", "version"} {
		if dig(doc, "components", "schemas", "Program", "properties", f) == nil {
			t.Errorf("the Program schema lacks %s", f)
		}
	}
}

// TestConcurrentPatchesWithOneIfMatch: of patches racing with the same
// If-Match, exactly one is written.
func TestConcurrentPatchesWithOneIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses <- e.patch("demo", adminKey, fmt.Sprintf(`{"description":"racer %d"}`, i), "If-Match", `"1"`).status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[412] != n-1 {
		t.Errorf("statuses of %d racing patches = %v, want one 200 and %d 412", n, count, n-1)
	}
	if v := e.version("demo"); v != 2 {
		t.Errorf("version after the race = %v, want 2", v)
	}
}

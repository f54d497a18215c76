package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/templates"
)

// lookProgram is a programme whose Silver tier has its own colours and
// strip, with two places and a square logo for Google.
const lookProgram = `{
  "id": "looks",
  "name": "Look Coffee",
  "organization_name": "Look Coffee Co.",
  "colors": {"background": "#3b2f2f", "foreground": "#ffffff", "label": "#f5d6a0"},
  "currency": "EUR",
  "earn": {"points_per_unit": 10},
  "tiers": [
    {"name": "Bronze", "threshold": 0},
    {"name": "Silver", "threshold": 100, "colors": {"background": "#c0c0c0", "label": "#202020"}}
  ],
  "locations": [{"latitude": 48.8566, "longitude": 2.3522, "relevant_text": "Coffee on the Rue de Rivoli"}],
  "default_locale": "en",
  "locales": {"en": {"program_name": "Look Coffee"}}
}`

// solidPNG is a w x h PNG of one colour.
func solidPNG(t *testing.T, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lookTemplates writes the looks programme's template folder (the demo's
// icons, Silver's strip and a square Google logo) and answers the folder of
// templates and the images it wrote by name.
func lookTemplates(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "looks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"program.json":     []byte(lookProgram),
		"strip-Silver.png": solidPNG(t, 375, 144, color.Gray{Y: 0xc0}),
		"google-logo.png":  solidPNG(t, 660, 660, color.RGBA{R: 0x3b, G: 0x2f, B: 0x2f, A: 0xff}),
	}
	for _, name := range []string{"icon.png", "icon@2x.png", "icon@3x.png", "strip.png"} {
		b, err := fs.ReadFile(templates.FS, "demo/"+name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, files
}

func enrollIn(t *testing.T, s *started, program, name string) map[string]any {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/programs/"+program+"/members", map[string]any{"name": name})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("enroll in %s: %d %s", program, res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// tierField reads the tier the phone's pass shows.
func (p *phone) tierField() any {
	for _, f := range p.pass["storeCard"].(map[string]any)["headerFields"].([]any) {
		if f.(map[string]any)["key"] == "tier" {
			return f.(map[string]any)["value"]
		}
	}
	return nil
}

// TestCardTakesTierLook follows a member from Bronze to Silver, on each
// store (the programme's images live in it): the earn that reaches Silver
// pushes the pass, and the phone's new pass has Silver's colours and strip.
func TestCardTakesTierLook(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run("store="+store, func(t *testing.T) {
			t.Parallel()
			ae := newAppleEnv(t)
			if store == "postgres" {
				ae.env["PASSD_DATABASE_URL"] = testpg.FreshSchema(t)
			}
			cardTakesTierLook(t, ae)
		})
	}
}

func cardTakesTierLook(t *testing.T, ae appleEnv) {
	dir, files := lookTemplates(t)
	ae.env["PASSD_TEMPLATES_DIR"] = dir
	s := start(t, ae.env, fastSync)
	m := enrollIn(t, s, "looks", "Ada Lovelace")
	ph := addPass(t, s, m, "device-look", pushToken)

	if bg, tier := ph.pass["backgroundColor"], ph.tierField(); bg != "rgb(59, 47, 47)" || tier != "Bronze" {
		t.Fatalf("new card = %v, background %v; want Bronze with the programme's rgb(59, 47, 47)", tier, bg)
	}
	locs, _ := ph.pass["locations"].([]any)
	if len(locs) != 1 || locs[0].(map[string]any)["relevantText"] != "Coffee on the Rue de Rivoli" {
		t.Errorf("locations = %v, want the programme's place", ph.pass["locations"])
	}
	settled(t, s, ph.serial)
	if got := ph.register(ph.token); got != http.StatusCreated {
		t.Fatalf("register = %d, want 201", got)
	}
	if st, _ := ph.updated(); st != http.StatusOK {
		t.Fatalf("serials (no tag) = %d, want 200", st)
	}

	earn(t, s, ph.serial, 150, "look-silver")
	waitDelivered(t, ae.apns, pushToken, 1)
	if st, serials := ph.updated(); st != http.StatusOK || len(serials) != 1 || serials[0] != ph.serial {
		t.Fatalf("serials after the push = %d %v, want this pass", st, serials)
	}
	if st := ph.fetch(); st != http.StatusOK {
		t.Fatalf("fetch after the push = %d, want 200", st)
	}
	want := map[string]any{"tier": "Silver", "backgroundColor": "rgb(192, 192, 192)", "labelColor": "rgb(32, 32, 32)", "foregroundColor": "rgb(255, 255, 255)"}
	got := map[string]any{"tier": ph.tierField(), "backgroundColor": ph.pass["backgroundColor"], "labelColor": ph.pass["labelColor"], "foregroundColor": ph.pass["foregroundColor"]}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("re-fetched pass %s = %v, want %v", k, got[k], want[k])
		}
	}

	// The bundle carries Silver's strip as strip.png, and the extra
	// images under no name of their own.
	res, body := call(t, "GET", s.localURL(m["apple_pass_url"].(string)), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download pass: %d", res.StatusCode)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("pass is not a zip: %v", err)
	}
	if got, err := fs.ReadFile(zr, "strip.png"); err != nil || !bytes.Equal(got, files["strip-Silver.png"]) {
		t.Errorf("Silver's bundle strip.png = %d bytes, %v; want strip-Silver.png", len(got), err)
	}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "strip-") || f.Name == "google-logo.png" {
			t.Errorf("bundle carries %s", f.Name)
		}
	}
}

// TestGoogleSquareLogo checks that a programme with google-logo.png has
// it served as square-logo.png and shown as its class's programLogo.
func TestGoogleSquareLogo(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	dir, files := lookTemplates(t)
	s := start(t, map[string]string{
		"PASSD_PUBLIC_URL":         googlePublicURL,
		"PASSD_GOOGLE_ISSUER_ID":   wallettest.IssuerID,
		"PASSD_GOOGLE_CREDENTIALS": fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":     fake.URL,
		"PASSD_TEMPLATES_DIR":      dir,
	}, server.Options{GoogleHTTPClient: fake.HTTPClient(), SyncPoll: 100 * time.Millisecond, SyncDebounce: 10 * time.Millisecond})

	classID := wallettest.IssuerID + ".looks"
	waitFor(t, func() bool { return fake.Class(classID) != nil })
	logo, _ := fake.Class(classID)["programLogo"].(map[string]any)
	src, _ := logo["sourceUri"].(map[string]any)
	uri, _ := src["uri"].(string)
	if !strings.HasPrefix(uri, googlePublicURL+"/programs/looks/square-logo.png?v=") {
		t.Fatalf("class programLogo = %q, want passd's square-logo.png with the programme hash", uri)
	}
	res, err := http.Get(strings.Replace(uri, googlePublicURL, s.url, 1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, files["google-logo.png"]) {
		t.Errorf("GET %s = %d %s, %d bytes; want 200 image/png with google-logo.png", uri, res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}

	// The demo has no square logo: its class keeps logo.png, and
	// square-logo.png is not found.
	demoLogo, _ := fake.Class(wallettest.IssuerID + ".demo")["programLogo"].(map[string]any)
	demoSrc, _ := demoLogo["sourceUri"].(map[string]any)
	if u, _ := demoSrc["uri"].(string); !strings.HasPrefix(u, googlePublicURL+"/programs/demo/logo.png?v=") {
		t.Errorf("demo class programLogo = %q, want its logo.png", u)
	}
	for _, p := range []string{"/programs/demo/square-logo.png", "/programs/looks/google-logo.png"} {
		res, err := http.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

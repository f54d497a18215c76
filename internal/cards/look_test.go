package cards

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

// silverLook is the demo programme with Silver's own background colour and
// two places near which the card shows.
func silverLook(t *testing.T) *loyalty.Program {
	t.Helper()
	p := *demo(t)
	p.Tiers = slices.Clone(p.Tiers)
	for i := range p.Tiers {
		if p.Tiers[i].Name == "Silver" {
			p.Tiers[i].Colors = &loyalty.Colors{Background: "#c0c0c0"}
		}
	}
	p.Locations = []loyalty.Place{
		{Latitude: 48.8566, Longitude: 2.3522, RelevantText: "Coffee on the Rue de Rivoli"},
		{Latitude: -33.8688, Longitude: 151.2093, RelevantText: "Coffee by the harbour"},
	}
	p.Files = maps.Clone(p.Files)
	p.Hash = "silver-look-1"
	return &p
}

func TestTierLookPassGolden(t *testing.T) {
	t.Parallel()
	p := silverLook(t)
	c := Card{Member: ada(), Program: p} // Ada is Silver
	pass := Pass(c, secret, "https://loyalty.example.com", "pass.com.example.loyalty", "ABCDE12345")
	if err := pass.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	b, err := json.MarshalIndent(pass, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "silver.pass.golden.json", append(b, '\n'))
	// Silver sets only its background: foreground and label stay the
	// programme's.
	want := [3]string{"rgb(255, 255, 255)", "rgb(192, 192, 192)", "rgb(245, 214, 160)"}
	if got := [3]string{pass.ForegroundColor, pass.BackgroundColor, pass.LabelColor}; got != want {
		t.Errorf("Silver's colours (foreground, background, label) = %v, want %v", got, want)
	}
	if len(pass.Locations) != 2 || pass.Locations[1].RelevantText != "Coffee by the harbour" || pass.Locations[1].Latitude != -33.8688 {
		t.Errorf("locations = %+v, want the programme's two places", pass.Locations)
	}

	bronze := ada()
	bronze.Account.Tier = "Bronze"
	if got := Pass(Card{Member: bronze, Program: p}, secret, "https://x", "pass.a.b", "T"); got.BackgroundColor != rgb(p.Colors.Background) {
		t.Errorf("a Bronze card's background = %q, want the programme's %q", got.BackgroundColor, rgb(p.Colors.Background))
	}
	erased := ada()
	now := time.Now()
	erased.ErasedAt = &now
	if got := Pass(Card{Member: erased, Program: p}, secret, "https://x", "pass.a.b", "T"); got.BackgroundColor != rgb(p.Colors.Background) || got.Locations != nil {
		t.Errorf("a voided card = background %q, locations %v; want the programme's colour and no places", got.BackgroundColor, got.Locations)
	}
}

func TestPassWithoutLocationsHasNone(t *testing.T) {
	t.Parallel()
	p := Pass(Card{Member: ada(), Program: demo(t)}, secret, "https://x", "pass.a.b", "T")
	b, _ := json.Marshal(p)
	if p.Locations != nil || strings.Contains(string(b), `"locations"`) {
		t.Errorf("pass of a programme without places = %s, want no locations key", b)
	}
}

// strip makes a strip-sized PNG of one colour at a scale.
func strip(t *testing.T, scale int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 375*scale, 144*scale))
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b, a := c.RGBA()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), uint8(a>>8)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// devSigner answers development credentials and a signer whose clock
// stands at now.
func devSigner(t *testing.T, passTypeID, team string, now time.Time) (*passkit.Credentials, *passkit.Signer) {
	t.Helper()
	creds, err := passkit.NewDevCredentials(passTypeID, team, now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := passkit.NewSigner(creds)
	if err != nil {
		t.Fatal(err)
	}
	signer.Now = func() time.Time { return now }
	return creds, signer
}

// bundleFiles answers the files of a .pkpass by name.
func bundleFiles(t *testing.T, pkpass []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	return files
}

func TestTierStripInBundle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	creds, signer := devSigner(t, "pass.com.example.look", "LOOKTEAM01", now)

	p := silverLook(t)
	silver1, silver2 := strip(t, 1, color.Gray{Y: 0xc0}), strip(t, 2, color.Gray{Y: 0xc1})
	// Silver has no @3x: its card carries no strip@3x rather than the
	// programme's.
	p.Files["strip-Silver.png"], p.Files["strip-Silver@2x.png"] = silver1, silver2
	p.Files["google-logo.png"] = []byte("square logo")
	catalog := loyalty.NewCatalog()
	catalog.Put(p)
	s := New(Config{Signer: signer, Programs: catalog, Secret: secret, PublicURL: "https://loyalty.example.com"})

	bundle := func(m loyalty.MemberRow) map[string][]byte {
		t.Helper()
		data, _, err := s.Bundle(context.Background(), m)
		if err != nil {
			t.Fatalf("Bundle(%s) = %v", m.Account.Tier, err)
		}
		if ps := passkit.Verify(data, passkit.VerifyOptions{WWDR: creds.WWDR, Now: now}); len(ps) > 0 {
			t.Fatalf("Bundle(%s) does not verify: %v", m.Account.Tier, ps)
		}
		files := bundleFiles(t, data)
		for name := range files {
			if strings.HasPrefix(name, "strip-") || name == "google-logo.png" {
				t.Errorf("Bundle(%s) carries %s under its own name", m.Account.Tier, name)
			}
		}
		return files
	}

	// A Bronze member's card, then the same member's next version in Silver.
	m := ada()
	m.Account.Tier, m.Account.PassVersion = "Bronze", 3
	bronze := bundle(m)
	for _, name := range []string{"strip.png", "strip@2x.png", "strip@3x.png"} {
		if !bytes.Equal(bronze[name], p.Files[name]) {
			t.Errorf("Bronze bundle's %s is not the programme's", name)
		}
	}
	m.Account.Tier, m.Account.PassVersion = "Silver", 4
	silver := bundle(m)
	if !bytes.Equal(silver["strip.png"], silver1) || !bytes.Equal(silver["strip@2x.png"], silver2) {
		t.Errorf("Silver bundle's strip.png and strip@2x.png are not Silver's own")
	}
	if _, ok := silver["strip@3x.png"]; ok {
		t.Errorf("Silver bundle carries strip@3x.png, want none: Silver's strips never mix with the programme's")
	}
	var pass passkit.Pass
	if err := json.Unmarshal(silver["pass.json"], &pass); err != nil {
		t.Fatal(err)
	}
	if pass.BackgroundColor != "rgb(192, 192, 192)" {
		t.Errorf("Silver bundle's backgroundColor = %q, want Silver's rgb(192, 192, 192)", pass.BackgroundColor)
	}

	// Gold has no strip of its own: it shares the programme's prepared
	// files with Bronze.
	m.Account.Tier, m.Account.PassVersion = "Gold", 5
	if gold := bundle(m); !bytes.Equal(gold["strip.png"], p.Files["strip.png"]) {
		t.Errorf("Gold bundle's strip.png is not the programme's")
	}
	if n := fileSets(s, p.ID); n != 2 {
		t.Errorf("prepared file sets after Bronze, Silver and Gold = %d, want 2 (the programme's and Silver's)", n)
	}
	// A new version of the programme replaces the sets of the old one.
	q := *p
	q.Hash = "silver-look-2"
	catalog.Put(&q)
	m.Account.PassVersion = 6
	bundle(m)
	if n := fileSets(s, p.ID); n != 1 {
		t.Errorf("prepared file sets after a programme change = %d, want 1", n)
	}
}

func fileSets(s *Service, program string) int {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	return len(s.files[program].sets)
}

func TestTierFilesWithoutOwnStrip(t *testing.T) {
	t.Parallel()
	p := silverLook(t)
	p.Files["strip-Gold@3x.png"] = []byte("gold")
	p.Files["google-logo.png"] = []byte("square")
	if got := StripTier(p, "Silver"); got != "" {
		t.Errorf("StripTier(Silver) = %q, want \"\" (Silver has no strip)", got)
	}
	if got := StripTier(p, "Gold"); got != "Gold" {
		t.Errorf("StripTier(Gold) = %q, want Gold", got)
	}
	p.Files["strip-Platinum.png"] = []byte("a tier the programme no longer has")
	if got := StripTier(p, "Platinum"); got != "" {
		t.Errorf("StripTier(Platinum) = %q, want \"\" (not a tier of the programme)", got)
	}
	silver := TierFiles(p, "Silver")
	want := slices.Sorted(maps.Keys(Files(p)))
	if got := slices.Sorted(maps.Keys(silver)); !slices.Equal(got, want) {
		t.Errorf("TierFiles(Silver) names = %v, want the programme's %v", got, want)
	}
	for _, name := range want {
		if strings.HasPrefix(name, "strip-") || name == "google-logo.png" {
			t.Errorf("Files() holds %s", name)
		}
	}
	gold := TierFiles(p, "Gold")
	if string(gold["strip@3x.png"]) != "gold" || gold["strip.png"] != nil || gold["strip@2x.png"] != nil {
		t.Errorf("TierFiles(Gold) strips = %q, %q, %q; want only Gold's @3x", gold["strip.png"], gold["strip@2x.png"], gold["strip@3x.png"])
	}
}

func TestGoogleSquareLogo(t *testing.T) {
	t.Parallel()
	p := silverLook(t)
	if gp := GoogleProgram(p, "https://passd.example/"); gp.SquareLogoURL != "" {
		t.Errorf("GoogleProgram() of a programme without google-logo.png has SquareLogoURL %q, want none", gp.SquareLogoURL)
	}
	if _, ok := GoogleImage(p, GoogleSquareLogo); ok {
		t.Errorf("GoogleImage(%s) of a programme without google-logo.png is found", GoogleSquareLogo)
	}
	p.Files["google-logo.png"] = []byte("square logo")
	gp := GoogleProgram(p, "https://passd.example/")
	if want := "https://passd.example/programs/demo/square-logo.png?v=silver-look-1"; gp.SquareLogoURL != want {
		t.Errorf("GoogleProgram().SquareLogoURL = %q, want %q", gp.SquareLogoURL, want)
	}
	if want := "https://passd.example/programs/demo/logo.png?v=silver-look-1"; gp.LogoURL != want {
		t.Errorf("GoogleProgram().LogoURL = %q, want %q", gp.LogoURL, want)
	}
	if b, ok := GoogleImage(p, GoogleSquareLogo); !ok || string(b) != "square logo" {
		t.Errorf("GoogleImage(%s) = %q, %v; want google-logo.png", GoogleSquareLogo, b, ok)
	}
	if _, ok := GoogleImage(p, "google-logo.png"); ok {
		t.Errorf("GoogleImage(google-logo.png) is found: only the served names are images")
	}
}

// A member of a tier with its own strip gets it as the Google card's own
// banner, served under the tier's position; other tiers keep the class's.
func TestGoogleTierHero(t *testing.T) {
	t.Parallel()
	p := silverLook(t)
	p.Files["strip-Silver.png"], p.Files["strip-Silver@2x.png"] = []byte("silver 1x"), []byte("silver 2x")
	m := ada() // Silver, the second tier
	c := GoogleCard(m, p, "", secret, "https://passd.example/")
	if want := "https://passd.example/programs/demo/hero-1.png?v=silver-look-1"; c.HeroURL != want {
		t.Errorf("GoogleCard(Silver).HeroURL = %q, want %q", c.HeroURL, want)
	}
	if b, ok := GoogleImage(p, GoogleTierHero(1)); !ok || string(b) != "silver 2x" {
		t.Errorf("GoogleImage(%s) = %q, %v; want Silver's largest strip", GoogleTierHero(1), b, ok)
	}
	m.Account.Tier = "Gold"
	if c := GoogleCard(m, p, "", secret, "https://passd.example/"); c.HeroURL != "" {
		t.Errorf("GoogleCard(Gold).HeroURL = %q, want none (Gold has no strip of its own)", c.HeroURL)
	}
	for _, name := range []string{GoogleTierHero(2), GoogleTierHero(0), "hero-9.png", "hero-01.png", "hero-x.png", "hero-.png"} {
		if _, ok := GoogleImage(p, name); ok {
			t.Errorf("GoogleImage(%s) is found, want none", name)
		}
	}
}

// A programme without tiers (an optional rule block) shows no tier on the
// card, and its Google card has no tier row.
func TestCardWithoutTiers(t *testing.T) {
	t.Parallel()
	p := silverLook(t)
	p.Tiers = nil
	m := ada()
	m.Account.Tier = ""
	pass := Pass(Card{Member: m, Program: p}, secret, "https://passd.example", "pass.com.example", "TEAM")
	if n := len(pass.StoreCard.HeaderFields); n != 0 {
		t.Errorf("pass without tiers has %d header fields %+v, want none", n, pass.StoreCard.HeaderFields)
	}
	if c := GoogleCard(m, p, "", secret, "https://passd.example"); c.Tier != "" || c.HeroURL != "" {
		t.Errorf("GoogleCard without tiers = tier %q hero %q, want neither", c.Tier, c.HeroURL)
	}
}

package cards

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

var stampLook = loyalty.Colors{Background: "#102030", Foreground: "#f0c040", Label: "#80a0ff"}

func decodeStrip(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode strip: %v", err)
	}
	return img
}

func sameRGB(c color.Color, want color.NRGBA) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return n.R == want.R && n.G == want.G && n.B == want.B
}

func TestStampStripSizes(t *testing.T) {
	t.Parallel()
	for scale := 1; scale <= 3; scale++ {
		for _, goal := range []int{1, 10, 37, loyalty.MaxStampGoal} {
			data, err := StampStrip(goal/2, goal, scale, stampLook, nil)
			if err != nil {
				t.Fatalf("StampStrip(scale %d, goal %d) = %v", scale, goal, err)
			}
			b := decodeStrip(t, data).Bounds()
			if b.Dx() != 375*scale || b.Dy() != 144*scale {
				t.Errorf("scale %d goal %d: %dx%d px, want %dx%d", scale, goal, b.Dx(), b.Dy(), 375*scale, 144*scale)
			}
			name := "strip.png"
			if scale > 1 {
				name = "strip@" + strconv.Itoa(scale) + "x.png"
			}
			if err := passkit.CheckImage(name, data); err != nil {
				t.Errorf("passkit.CheckImage(%s, goal %d) = %v", name, goal, err)
			}
		}
	}
	// An uploaded strip of the archived guide's 123 pt keeps its height.
	base := image.NewNRGBA(image.Rect(0, 0, 750, 246))
	var buf bytes.Buffer
	if err := png.Encode(&buf, base); err != nil {
		t.Fatal(err)
	}
	data, err := StampStrip(3, 10, 2, stampLook, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b := decodeStrip(t, data).Bounds(); b.Dx() != 750 || b.Dy() != 246 {
		t.Errorf("over a 750x246 strip: %dx%d px, want 750x246", b.Dx(), b.Dy())
	}
	if _, err := StampStrip(1, 10, 4, stampLook, nil); err == nil {
		t.Errorf("StampStrip(scale 4) succeeded, want an error")
	}
}

// TestStampStripFillsCount looks at each stamp's centre: filled ones have
// the foreground colour, the others the background inside their ring.
func TestStampStripFillsCount(t *testing.T) {
	t.Parallel()
	fg, _ := parseHex(stampLook.Foreground)
	bg, _ := parseHex(stampLook.Background)
	ring, _ := parseHex(stampLook.Label)
	const goal, scale = 10, 2
	var last []byte
	lastWant := -1
	for _, count := range []int{0, 1, 7, 10, 12, -3} {
		data, err := StampStrip(count, goal, scale, stampLook, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := min(max(count, 0), goal)
		if same := bytes.Equal(data, last); same != (want == lastWant) {
			t.Errorf("count %d: strip equal to the one before = %v, want %v", count, same, want == lastWant)
		}
		last, lastWant = data, want
		img := decodeStrip(t, data)
		centres, r := StampLayout(goal, img.Bounds().Dx(), img.Bounds().Dy())
		filled := 0
		for i, c := range centres {
			switch at := img.At(c.X, c.Y); {
			case sameRGB(at, fg):
				filled++
				if i >= want {
					t.Errorf("count %d: stamp %d is filled", count, i)
				}
			case sameRGB(at, bg):
				// An empty stamp: its ring is drawn at the edge.
				if edge := img.At(c.X+int(r)-1, c.Y); !sameRGB(edge, ring) {
					t.Errorf("count %d: empty stamp %d has no ring in the label colour at its edge (%v)", count, i, edge)
				}
			default:
				t.Errorf("count %d: stamp %d's centre is %v, neither filled nor empty", count, i, at)
			}
		}
		if filled != want {
			t.Errorf("count %d: %d stamps filled, want %d", count, filled, want)
		}
	}
}

func TestStampLayoutFits(t *testing.T) {
	t.Parallel()
	const w, h = 1125, 432
	for goal := 1; goal <= loyalty.MaxStampGoal; goal++ {
		centres, r := StampLayout(goal, w, h)
		if len(centres) != goal {
			t.Fatalf("goal %d: %d centres", goal, len(centres))
		}
		if r < 8 {
			t.Errorf("goal %d: radius %.1f px at @3x, too small to see", goal, r)
		}
		for i, c := range centres {
			if float64(c.X)-r < 0 || float64(c.X)+r > w || float64(c.Y)+r > h || float64(c.Y)-r < h*stampArea {
				t.Errorf("goal %d: stamp %d at %v (radius %.1f) leaves the stamp area", goal, i, c, r)
			}
			for _, d := range centres[:i] {
				if math.Hypot(float64(c.X-d.X), float64(c.Y-d.Y)) < 2*r {
					t.Errorf("goal %d: stamps at %v and %v overlap", goal, c, d)
				}
			}
		}
	}
}

// TestStampStripInBundle checks a stamp card's pass carries the strips
// drawn for its count, in its tier's look, over the programme's strip.
func TestStampStripInBundle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	creds, signer := devSigner(t, "pass.com.example.stamps", "STAMPTEAM1", now)
	p := silverLook(t)
	p.Stamps = &loyalty.Stamps{Goal: 10, RewardID: "coffee"}
	catalog := loyalty.NewCatalog()
	catalog.Put(p)
	s := New(Config{Signer: signer, Programs: catalog, Secret: secret, PublicURL: "https://loyalty.example.com"})

	m := ada() // Silver
	var before map[string][]byte
	for _, stamps := range []int64{7, 8} {
		m.Account.Stamps, m.Account.PassVersion = stamps, stamps
		data, _, err := s.Bundle(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if ps := passkit.Verify(data, passkit.VerifyOptions{WWDR: creds.WWDR, Now: now}); len(ps) > 0 {
			t.Fatalf("stamp card with %d stamps does not verify: %v", stamps, ps)
		}
		files := bundleFiles(t, data)
		for i, sc := range stripScales {
			want, err := StampStrip(int(stamps), 10, i+1, p.TierLook("Silver"), p.Files["strip"+sc])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(files["strip"+sc], want) {
				t.Errorf("%d stamps: the pass's strip%s is not the strip drawn for %d of 10 in Silver's look", stamps, sc, stamps)
			}
			if before != nil && bytes.Equal(files["strip"+sc], before["strip"+sc]) {
				t.Errorf("strip%s did not change from 7 to 8 stamps", sc)
			}
		}
		before = files
	}
	if n := s.stampFiles.Len(); n != 2 {
		t.Errorf("prepared stamp file sets = %d, want 2 (7 and 8 stamps)", n)
	}
	// A programme without stamps keeps its uploaded strip.
	plain := silverLook(t)
	plain.Hash = "plain"
	catalog.Put(plain)
	m.Account.PassVersion = 9
	data, _, err := s.Bundle(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if files := bundleFiles(t, data); !bytes.Equal(files["strip.png"], plain.Files["strip.png"]) {
		t.Errorf("a programme without stamps does not carry its own strip.png")
	}
}

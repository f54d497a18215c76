package api_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
)

func TestBarcodePNG(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.enroll("Ada")
	path := "/api/v1/members/" + m["id"].(string) + "/barcode.png"
	pos := e.newKey("pos", "demo")
	for name, tc := range map[string]struct {
		query string
		size  int
	}{
		"default": {"", cards.DefaultQRSize},
		"min":     {"?size=64", 64},
		"odd":     {"?size=301", 301},
		"max":     {"?size=1024", 1024},
	} {
		a := e.do("GET", path+tc.query, pos, nil).want(t, 200, "")
		if ct := a.header.Get("Content-Type"); ct != "image/png" {
			t.Errorf("%s: Content-Type = %q, want image/png", name, ct)
		}
		img, err := png.Decode(bytes.NewReader([]byte(a.raw)))
		if err != nil {
			t.Fatalf("%s: png.Decode() = %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
			t.Errorf("%s: image is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), tc.size, tc.size)
		}
		// The image carries the member's barcode token.
		checkQR(t, img, m["barcode"].(string))
	}
	for _, q := range []string{"?size=63", "?size=1025", "?size=big", "?size=-1", "?size=2.5"} {
		e.do("GET", path+q, pos, nil).want(t, 422, "validation_failed")
	}
	e.do("GET", path, "", nil).want(t, 401, "unauthorized")
	other, _, err := loyalty.CreateKey(context.Background(), e.store, "pos", "other-program", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", path, other, nil).want(t, 403, "forbidden")
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000/barcode.png", pos, nil).want(t, 404, "not_found")
	e.do("DELETE", "/api/v1/members/"+m["id"].(string), adminKey, nil).want(t, 204, "")
	e.do("GET", path, pos, nil).want(t, 404, "not_found")
}

// checkQR compares img module by module with the QR symbol of content.
func checkQR(t *testing.T, img image.Image, content string) {
	t.Helper()
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	n := len(bm)
	size := img.Bounds().Dx()
	scale := size / n
	off := (size - n*scale) / 2
	for y := range n {
		for x := range n {
			// Sample the centre of each module.
			r, _, _, _ := img.At(off+x*scale+scale/2, off+y*scale+scale/2).RGBA()
			if dark := r < 0x8000; dark != bm[y][x] {
				t.Fatalf("module (%d,%d) dark = %v, want %v", x, y, dark, bm[y][x])
			}
		}
	}
}

func TestQRPNGTooSmall(t *testing.T) {
	t.Parallel()
	if _, err := cards.QRPNG(string(bytes.Repeat([]byte("x"), 1000)), cards.MinQRSize); err == nil {
		t.Error("QRPNG(1000 bytes, 64 px) = nil error, want an error (the symbol does not fit)")
	}
}

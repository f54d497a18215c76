package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
)

// scanStatic is the scanner's script and stylesheet, and its barcode
// decoder: @zxing/library's UMD build at the version in
// static/scan-zxing/VERSION with its licence and SHA256SUMS, vendored by
// make vendor-zxing.
//
//go:embed static/scan.js static/scan.css static/scan-zxing
var scanStatic embed.FS

// scanFile is one of the scanner's files as served.
type scanFile struct {
	body        []byte
	contentType string
	etag        string
}

// scanFiles loads the scanner's files by the name they are served under
// in /console/scan/, and draws its icons.
func scanFiles() (map[string]scanFile, error) {
	files := map[string]scanFile{}
	add := func(name, contentType string, body []byte) {
		sum := sha256.Sum256(body)
		files[name] = scanFile{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	for name, src := range map[string]string{
		"scan.js":           "static/scan.js",
		"scan.css":          "static/scan.css",
		"zxing.min.js":      "static/scan-zxing/zxing.min.js",
		"zxing-LICENSE.txt": "static/scan-zxing/LICENSE",
	} {
		b, err := fs.ReadFile(scanStatic, src)
		if err != nil {
			return nil, fmt.Errorf("scanner file: %w", err)
		}
		ct := "text/javascript; charset=utf-8"
		switch {
		case name == "scan.css":
			ct = "text/css; charset=utf-8"
		case name == "zxing-LICENSE.txt":
			ct = "text/plain; charset=utf-8"
		}
		add(name, ct, b)
	}
	for _, size := range []int{192, 512} {
		b, err := scanIcon(size)
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("icon-%d.png", size), "image/png", b)
	}
	return files, nil
}

// scanIcon draws the scanner's icon, size pixels square: a barcode in a
// white frame on the theme colour, inside the middle 60% so that a
// maskable icon's crop keeps it whole.
func scanIcon(size int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	dark := color.NRGBA{0x1d, 0x1d, 0x1f, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	fill := func(x0, y0, x1, y1 int, c color.NRGBA) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	fill(0, 0, size, size, dark)
	u := size / 50 // one module
	lo, hi := size/5, size-size/5
	fill(lo, lo, hi, hi, white)
	// Bars of widths 1-3 modules, as a Code 128 symbol looks.
	x := lo + 3*u
	for i, w := range []int{2, 1, 1, 3, 1, 2, 2, 1, 3, 1, 1, 2, 1, 3} {
		if x+w*u > hi-3*u {
			break
		}
		if i%2 == 0 {
			fill(x, lo+4*u, x+w*u, hi-4*u, dark)
		}
		x += w * u
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("scanner icon: %w", err)
	}
	return b.Bytes(), nil
}

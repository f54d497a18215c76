package cards

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"

	"github.com/passd/passd/balances"
	"github.com/skip2/go-qrcode"
)

// QR image sizes in pixels, for every QR endpoint of passd.
const (
	MinQRSize     = 64
	MaxQRSize     = 1024
	DefaultQRSize = 256
)

// QRSize reads the optional size query parameter of a QR image request:
// DefaultQRSize when absent, else an integer from MinQRSize to MaxQRSize.
// Anything else is a validation error (422 validation_failed).
func QRSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("size")
	if v == "" {
		return DefaultQRSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < MinQRSize || n > MaxQRSize {
		ve := &balances.ValidationError{}
		ve.Add("size", fmt.Sprintf("must be an integer from %d to %d (pixels)", MinQRSize, MaxQRSize))
		return 0, ve
	}
	return n, nil
}

// QRPNG renders content as a size x size PNG QR code (error correction
// level M, black on white). Every module is a whole number of pixels, so
// scanners read sharp edges; the rest of the image is white margin beyond
// the symbol's own quiet zone. A content too long to fit size is an error.
func QRPNG(content string, size int) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap() // includes the 4-module quiet zone
	n := len(bm)
	scale := size / n
	if scale < 1 {
		return nil, fmt.Errorf("qr code: %d modules do not fit %d pixels", n, size)
	}
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	off := (size - n*scale) / 2
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				start := img.PixOffset(off+x*scale, off+y*scale+dy)
				for dx := range scale {
					img.Pix[start+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return b.Bytes(), nil
}

// WritePNG answers a PNG image.
func WritePNG(w http.ResponseWriter, data []byte, cacheControl string) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}

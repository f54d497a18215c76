package cards

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"

	"github.com/passd/passd/internal/loyalty"
)

// Apple's store card strip, in points (see passkit.CheckImage): drawn
// strips have exactly this size at each scale.
const (
	stripWidth  = 375
	stripHeight = 144
)

// stampArea is the share of the strip's height, from the top, left to the
// primary field ("7 / 10") that Wallet draws over the strip; the stamps
// fill the rest.
const stampArea = 0.42

// StampLayout answers where a strip of width x height pixels draws goal
// stamps: their centres, in order, and their radius. The rows and columns
// are chosen for the largest stamps that fit below the primary field.
func StampLayout(goal, width, height int) (centres []image.Point, radius float64) {
	if goal < 1 {
		return nil, 0
	}
	top := float64(height) * stampArea
	margin := float64(height) * 0.04
	w, h := float64(width)-2*margin, float64(height)-top-margin
	best, rows := 0.0, 1
	for r := 1; r <= goal; r++ {
		c := (goal + r - 1) / r
		cell := math.Min(w/float64(c), h/float64(r))
		if cell > best {
			best, rows = cell, r
		}
	}
	cols := (goal + rows - 1) / rows
	x0 := margin + (w-best*float64(cols))/2
	y0 := top + (h-best*float64(rows))/2
	for i := range goal {
		r, c := i/cols, i%cols
		centres = append(centres, image.Pt(int(x0+best*(float64(c)+0.5)), int(y0+best*(float64(r)+0.5))))
	}
	return centres, best * 0.4
}

// StampStrip draws a stamp card's strip at scale (1-3): goal stamps, the
// first filled of them in the look's foreground colour, the others rings
// in its label colour, over base (the programme's or the tier's own strip
// at this scale, as uploaded) or, without one, over the background colour.
// The PNG has Apple's store card strip size, 375x144 points; an uploaded
// base of another allowed height (123 points) keeps its own size.
func StampStrip(filled, goal, scale int, look loyalty.Colors, base []byte) ([]byte, error) {
	if scale < 1 || scale > 3 {
		return nil, fmt.Errorf("stamp strip: scale %d, want 1 to 3", scale)
	}
	filled = min(max(filled, 0), goal)
	img := image.NewNRGBA(image.Rect(0, 0, stripWidth*scale, stripHeight*scale))
	if under, err := png.Decode(bytes.NewReader(base)); err == nil && under.Bounds().Dx() == stripWidth*scale {
		img = image.NewNRGBA(image.Rect(0, 0, under.Bounds().Dx(), under.Bounds().Dy()))
		draw.Draw(img, img.Bounds(), under, under.Bounds().Min, draw.Src)
	} else {
		draw.Draw(img, img.Bounds(), image.NewUniform(hexColor(look.Background, color.NRGBA{255, 255, 255, 255})), image.Point{}, draw.Src)
	}
	fg := hexColor(look.Foreground, color.NRGBA{0, 0, 0, 255})
	ring := hexColor(look.Label, fg)
	centres, r := StampLayout(goal, img.Bounds().Dx(), img.Bounds().Dy())
	width := math.Max(1.5*float64(scale), r*0.16)
	for i, c := range centres {
		if i < filled {
			disc(img, c, r, 0, fg)
		} else {
			disc(img, c, r, r-width, ring)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("stamp strip: %w", err)
	}
	return buf.Bytes(), nil
}

// disc paints the ring between radii inner and outer around c (a full
// disc with inner 0), its edges anti-aliased by pixel coverage.
func disc(img *image.NRGBA, c image.Point, outer, inner float64, col color.NRGBA) {
	cx, cy := float64(c.X)+0.5, float64(c.Y)+0.5
	box := image.Rect(int(cx-outer-1), int(cy-outer-1), int(cx+outer+2), int(cy+outer+2)).Intersect(img.Bounds())
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			a := coverage(outer, d)
			if inner > 0 {
				a -= coverage(inner, d)
			}
			if a <= 0 {
				continue
			}
			blend(img, x, y, col, a)
		}
	}
}

// coverage is the share of a pixel at distance d from a circle's centre
// that lies inside radius r.
func coverage(r, d float64) float64 { return min(max(r-d+0.5, 0), 1) }

// blend lays col over the pixel at x, y with opacity a.
func blend(img *image.NRGBA, x, y int, col color.NRGBA, a float64) {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4 : i+4]
	a *= float64(col.A) / 255
	mix := func(dst, src uint8) uint8 { return uint8(math.Round(float64(dst)*(1-a) + float64(src)*a)) }
	p[0], p[1], p[2] = mix(p[0], col.R), mix(p[1], col.G), mix(p[2], col.B)
	p[3] = uint8(math.Round(float64(p[3])*(1-a) + 255*a))
}

// hexColor parses "#rrggbb", or answers def.
func hexColor(hex string, def color.NRGBA) color.NRGBA {
	if c, ok := parseHex(hex); ok {
		return c
	}
	return def
}

// parseHex parses a "#rrggbb" colour.
func parseHex(hex string) (color.NRGBA, bool) {
	if len(hex) != 7 || hex[0] != '#' {
		return color.NRGBA{}, false
	}
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil {
		return color.NRGBA{}, false
	}
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, true
}

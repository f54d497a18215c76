package console

import (
	"cmp"

	"github.com/passd/passd/internal/cards"
)

// faceView lays a card's face out as an SVG drawn on the server: the
// programme's colours are SVG paint, not style attributes, so the strict
// CSP holds.
type faceView struct {
	cards.Face
	Width, Height                                int
	Rows                                         []faceRow
	BarcodeY, BarcodeW, BarcodeMid, BarcodeTextY int
	VoidWord, BackWord                           string
	// Prefix tells apart the element ids of several faces on one page.
	Prefix string
	// Logo and Strip are the URLs of the images the face shows (an
	// upload in the editor's preview); none when empty.
	Logo, Strip string
	// LogoAlt and StripAlt are their text alternatives; TitleX is where
	// the title starts (beside the logo); the rest is their geometry.
	LogoAlt, StripAlt                    string
	TitleX                               int
	LogoW, LogoH, StripY, StripW, StripH int
}

type faceRow struct {
	cards.FaceField
	LabelY, ValueY int
}

// Card face geometry, in SVG user units: the face is faceWidth wide, its
// first row's label at faceTop. A logo is drawn in the top left corner
// (at most logoW x logoH, Apple's 160x50 pt at the face's scale) with
// the title beside it; a strip runs the face's width under the header,
// stripH high (Apple's 375x123 pt), and the rows move down under it.
const (
	faceWidth = 340
	faceTop   = 64
	faceRowH  = 44
	logoW     = 150
	logoH     = 47
	stripY    = 50
	stripH    = 112
)

func newFaceView(f cards.Face, t T) faceView {
	v := faceView{Face: f, Width: faceWidth, VoidWord: t.Get("card_voided"), BackWord: t.Get("card_back"),
		LogoAlt: t.Get("held_logo_alt"), StripAlt: t.Get("held_strip_alt"), TitleX: 18}
	// A programme without colours shows Wallet's own: dark on light.
	v.Colors.Background = cmp.Or(f.Colors.Background, "#f5f4f2")
	v.Colors.Foreground = cmp.Or(f.Colors.Foreground, "#1d1d1f")
	v.Colors.Label = cmp.Or(f.Colors.Label, v.Colors.Foreground)
	v.layout(faceTop)
	return v
}

// withImages draws the face with a logo and a strip (their URLs; none
// when empty).
func (v *faceView) withImages(logo, strip string) {
	v.Logo, v.Strip = logo, strip
	if logo != "" {
		v.TitleX = 18 + logoW + 8
	}
	top := faceTop
	if strip != "" {
		top += stripH
	}
	v.layout(top)
}

// layout places the rows from top down, then the barcode.
func (v *faceView) layout(top int) {
	v.LogoW, v.LogoH, v.StripY, v.StripW, v.StripH = logoW, logoH, stripY, faceWidth, stripH
	v.Rows = v.Rows[:0]
	y := top
	for _, fd := range v.Front {
		v.Rows = append(v.Rows, faceRow{FaceField: fd, LabelY: y, ValueY: y + 20})
		y += faceRowH
	}
	if v.Barcode != "" {
		v.BarcodeY, v.BarcodeW = y, faceWidth-36
		v.BarcodeMid, v.BarcodeTextY = faceWidth/2, y+22
		y += 48
	}
	v.Height = y
}

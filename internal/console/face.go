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
	// LogoAlt and StripAlt are their text alternatives.
	LogoAlt, StripAlt string
}

type faceRow struct {
	cards.FaceField
	LabelY, ValueY int
}

// Card face geometry, in SVG user units.
const (
	faceWidth = 340
	faceTop   = 64
	faceRowH  = 44
)

func newFaceView(f cards.Face, t T) faceView {
	v := faceView{Face: f, Width: faceWidth, VoidWord: t.Get("card_voided"), BackWord: t.Get("card_back"),
		LogoAlt: t.Get("held_logo_alt"), StripAlt: t.Get("held_strip_alt")}
	// A programme without colours shows Wallet's own: dark on light.
	v.Colors.Background = cmp.Or(f.Colors.Background, "#f5f4f2")
	v.Colors.Foreground = cmp.Or(f.Colors.Foreground, "#1d1d1f")
	v.Colors.Label = cmp.Or(f.Colors.Label, v.Colors.Foreground)
	y := faceTop
	for _, fd := range f.Front {
		v.Rows = append(v.Rows, faceRow{FaceField: fd, LabelY: y, ValueY: y + 20})
		y += faceRowH
	}
	if f.Barcode != "" {
		v.BarcodeY, v.BarcodeW = y, faceWidth-36
		v.BarcodeMid, v.BarcodeTextY = faceWidth/2, y+22
		y += 48
	}
	v.Height = y
	return v
}

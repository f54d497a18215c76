package cards

import (
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

// FaceField is one field of a card as a person reads it: its label and
// its value in one language.
type FaceField struct {
	Key, Label, Value string
}

// Face is what the front and the back of a member's card show, read from
// the Apple rendering (Pass) in language lang: the console shows it as the
// customer sees it, and a programme's preview before saving.
type Face struct {
	Title  string
	Colors loyalty.Colors
	Front  []FaceField
	Back   []FaceField
	Voided bool
	// Barcode is the text under the barcode (the member number).
	Barcode string
}

// FaceOf answers the face of member m's card in programme p at now, as
// Pass renders it under publicURL with barcodes keyed by secret.
func FaceOf(m loyalty.MemberRow, p *loyalty.Program, lang string, secret []byte, publicURL string, now time.Time) Face {
	pass := Pass(card(m, p, now), secret, publicURL, "", "")
	look := p.Colors
	if !m.Erased() {
		look = p.TierLook(m.Account.Tier)
	}
	_, texts := p.Text(lang)
	f := Face{Title: pass.LogoText, Colors: look, Voided: pass.Voided}
	if len(pass.Barcodes) > 0 {
		f.Barcode = pass.Barcodes[0].AltText
	}
	read := func(fs []passkit.Field) []FaceField {
		out := make([]FaceField, 0, len(fs))
		for _, fd := range fs {
			label := p.Localize(lang, fd.Label, defaultStrings[fd.Label])
			value := fd.Value.String()
			// Wallet shows a value that is a key of pass.strings in the
			// phone's language (a tier's name, the back's texts).
			switch value {
			case "how_text":
				value = texts.HowItWorks
			case "terms_text":
				value = texts.Terms
			default:
				value = p.Localize(lang, value, value)
			}
			out = append(out, FaceField{Key: fd.Key, Label: label, Value: value})
		}
		return out
	}
	sc := pass.StoreCard
	f.Front = read(append(append(append(append([]passkit.Field{}, sc.HeaderFields...), sc.PrimaryFields...), sc.SecondaryFields...), sc.AuxiliaryFields...))
	f.Back = read(sc.BackFields)
	return f
}

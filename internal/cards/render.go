// Package cards turns a member and their program into the member's Apple
// Wallet card: the pass.json content (points, tier, name, number, the
// merchant's latest message, how the program works and its terms, localized
// through the template's *.lproj/pass.strings) and the signed .pkpass,
// signed once per pass version and kept in a bounded cache.
package cards

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

// Card is what a member's pass shows.
type Card struct {
	Member  loyalty.MemberRow
	Program *loyalty.Program
	// Message is the latest merchant message of the member's card: the
	// program's or the member's own, whichever is newer (may be empty).
	Message string
}

// WebServicePath is where the PassKit web service lives under the public URL.
const WebServicePath = "/passkit"

// Change messages shown on the lock screen when a field changes. They are
// English and double as localization keys: a template's fr.lproj/pass.strings
// maps "You now have %@ points" to its French text.
const (
	PointsChange  = "You now have %@ points"
	TierChange    = "You are now %@"
	MessageChange = "%@"
)

// Keys of the localizable strings the rendered pass uses; a template's
// pass.strings may define them, and passd supplies English defaults.
var defaultStrings = map[string]string{
	"points_label":  "POINTS",
	"tier_label":    "TIER",
	"member_label":  "MEMBER",
	"number_label":  "NUMBER",
	"message_label": "MESSAGE",
	"how_label":     "HOW IT WORKS",
	"terms_label":   "TERMS",
}

// Pass renders the pass.json of a card. secret keys the barcode token.
func Pass(c Card, secret []byte, publicURL, passTypeID, teamID string) *passkit.Pass {
	p, m := c.Program, c.Member
	_, texts := p.Text()
	pass := &passkit.Pass{
		FormatVersion:      1,
		PassTypeIdentifier: passTypeID,
		SerialNumber:       m.ID,
		TeamIdentifier:     teamID,
		OrganizationName:   p.OrganizationName,
		Description:        p.Description,
		LogoText:           p.Name,
		ForegroundColor:    rgb(p.Colors.Foreground),
		BackgroundColor:    rgb(p.Colors.Background),
		LabelColor:         rgb(p.Colors.Label),
		SharingProhibited:  true,
		StoreCard:          &passkit.Fields{},
	}
	if pass.Description == "" {
		pass.Description = p.Name
	}
	sc := pass.StoreCard
	if m.Erased() {
		// A voided card carries no personal data and no web service keys,
		// so phones show it void and stop asking for updates.
		pass.Voided = true
		sc.PrimaryFields = []passkit.Field{{Key: "points", Label: "points_label", Value: passkit.IntValue(0)}}
		return pass
	}
	pass.WebServiceURL = strings.TrimRight(publicURL, "/") + WebServicePath
	pass.AuthenticationToken = m.AuthToken
	pass.Barcodes = []passkit.Barcode{{
		Format:          barcodeFormats[p.Barcode].apple,
		Message:         loyalty.BarcodeToken(secret, m.Number),
		MessageEncoding: "iso-8859-1",
		AltText:         m.Number,
	}}
	sc.HeaderFields = []passkit.Field{{Key: "tier", Label: "tier_label", Value: passkit.StringValue(m.Account.Tier), ChangeMessage: TierChange}}
	sc.PrimaryFields = []passkit.Field{{Key: "points", Label: "points_label", Value: passkit.IntValue(m.Account.Points),
		ChangeMessage: PointsChange, NumberStyle: passkit.PKNumberStyleDecimal}}
	sc.SecondaryFields = []passkit.Field{{Key: "name", Label: "member_label", Value: passkit.StringValue(m.Name)}}
	sc.AuxiliaryFields = []passkit.Field{{Key: "number", Label: "number_label", Value: passkit.StringValue(m.Number)}}
	if c.Message != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "message", Label: "message_label",
			Value: passkit.StringValue(c.Message), ChangeMessage: MessageChange})
	}
	if texts.HowItWorks != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "how", Label: "how_label", Value: passkit.StringValue("how_text")})
	}
	if texts.Terms != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "terms", Label: "terms_label", Value: passkit.StringValue("terms_text")})
	}
	return pass
}

// Files answers the pass's files: the template's images and, for every
// language of the program, a pass.strings holding the template's strings,
// passd's defaults for keys the template lacks, and the program's texts.
// It depends only on the program, so callers may keep it.
func Files(p *loyalty.Program) map[string][]byte {
	files := map[string][]byte{}
	for name, b := range p.Files {
		if !strings.HasSuffix(name, ".lproj/pass.strings") {
			files[name] = b
		}
	}
	for lang, t := range p.Locales {
		name := loyalty.StringsFile(lang)
		var b strings.Builder
		tmpl := string(p.Files[name])
		b.WriteString(tmpl)
		if tmpl != "" && !strings.HasSuffix(tmpl, "\n") {
			b.WriteByte('\n')
		}
		keys := make([]string, 0, len(defaultStrings))
		for k := range defaultStrings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		own := p.Strings(lang)
		for _, k := range keys {
			if _, ok := own[k]; !ok {
				fmt.Fprintf(&b, "%s = %s;\n", quote(k), quote(defaultStrings[k]))
			}
		}
		fmt.Fprintf(&b, "%s = %s;\n", quote("how_text"), quote(t.HowItWorks))
		fmt.Fprintf(&b, "%s = %s;\n", quote("terms_text"), quote(t.Terms))
		files[name] = []byte(b.String())
	}
	return files
}

// quote writes a .strings literal: double quotes, with backslash, quote and
// line breaks escaped.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// barcodeFormats maps a program's barcode format to each wallet's name
// for it; an unknown format (the loader refuses them) reads as QR.
var barcodeFormats = map[string]struct {
	apple  passkit.BarcodeFormat
	google googlewallet.BarcodeFormat
}{
	"":                     {passkit.PKBarcodeFormatQR, googlewallet.BarcodeQR},
	loyalty.BarcodeQR:      {passkit.PKBarcodeFormatQR, googlewallet.BarcodeQR},
	loyalty.BarcodePDF417:  {passkit.PKBarcodeFormatPDF417, googlewallet.BarcodePDF417},
	loyalty.BarcodeAztec:   {passkit.PKBarcodeFormatAztec, googlewallet.BarcodeAztec},
	loyalty.BarcodeCode128: {passkit.PKBarcodeFormatCode128, googlewallet.BarcodeCode128},
}

// rgb converts #rrggbb (validated by the program loader) to Apple's
// rgb(r, g, b) notation.
func rgb(hex string) string {
	if len(hex) != 7 {
		return ""
	}
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil {
		return ""
	}
	return passkit.RGB(uint8(v>>16), uint8(v>>8), uint8(v))
}

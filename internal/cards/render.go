// Package cards turns a member and their program into the member's Apple
// Wallet card: the pass.json content (points, tier, name, number, the
// merchant's latest message, how the program works and its terms, localized
// through the template's *.lproj/pass.strings) in the colours and strip of
// the member's tier, relevant near the program's locations, and the signed
// .pkpass, signed once per pass version and kept in a bounded cache.
package cards

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/links"
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
	// Vouchers are the member's unused vouchers the card shows: those not
	// past expires_at when the card was built.
	Vouchers []loyalty.OpenVoucher
	// Dormant is the programme's dormant message while the member is in a
	// greeted dormant spell ("" otherwise): see DormantMessage.
	Dormant string
	// Birthday is true on the member's birthday in a programme with a
	// birthday bonus: the card greets the member (see Greets).
	Birthday bool
}

// Greets reports whether the card of m in p greets the member at now: on
// the member's birthday, in the programme's timezone, in a programme with
// a birthday bonus (the card changes that day with the bonus, so the
// phone shows the greeting).
func Greets(m loyalty.MemberRow, p *loyalty.Program, now time.Time) bool {
	return p.BirthdayBonus > 0 && !m.Erased() && loyalty.IsBirthday(m.Birthday, p.Location(), now)
}

// DormantMessage is the programme's dormant message when the member was
// greeted for a dormant spell that their next transaction has not ended
// yet, "" otherwise (and always for an erased member).
func DormantMessage(m loyalty.MemberRow, p *loyalty.Program) string {
	if p.Dormant == nil || m.DormantAt.IsZero() || m.Erased() {
		return ""
	}
	return p.Dormant.Message
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
	// The count of unused vouchers on the front, and their codes on the
	// back. "%d" is the count.
	"rewards_label":     "REWARDS",
	"rewards_ready_one": "1 reward ready",
	"rewards_ready":     "%d rewards ready",
	"vouchers_label":    "VOUCHERS",
	// Stamp and cashback programmes.
	"stamps_label":   "STAMPS",
	"cashback_label": "CASHBACK",
	// The member's referral link on the back, in programmes with a
	// referral bonus.
	"referral_label": "INVITE A FRIEND",
	// The reminder of points that expire; "%d" is the points, "%s" the
	// day (ExpiringText).
	"expiring_label":  "EXPIRING",
	"points_expiring": "%d points expire on %s",
	// The greeting on the member's birthday, in programmes with a
	// birthday bonus.
	"birthday_label":    "BIRTHDAY",
	"birthday_greeting": "Happy birthday!",
}

// RewardsChange is the change message of the front field of vouchers.
const RewardsChange = "%@"

// RewardsReady is the front text of n unused vouchers ("" for none),
// through localize (a program's strings in one language, with def as the
// English default). pass.strings has no plurals and no numbers, so the
// text is rendered by passd, in the program's default language, rather
// than by the phone.
func RewardsReady(n int, localize func(key, def string) string) string {
	switch {
	case n <= 0:
		return ""
	case n == 1:
		return localize("rewards_ready_one", defaultStrings["rewards_ready_one"])
	}
	return strings.ReplaceAll(localize("rewards_ready", defaultStrings["rewards_ready"]), "%d", strconv.Itoa(n))
}

// voucherLines are the back-of-card lines of vouchers: code, reward and
// the last day it can be used (UTC).
func voucherLines(vs []loyalty.OpenVoucher) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = v.Code + " - " + v.Reward + " (until " + v.ExpiresAt.UTC().Format("2006-01-02") + ")"
	}
	return strings.Join(lines, "\n")
}

// Pass renders the pass.json of a card. secret keys the barcode token. The
// colours are those of the member's tier (loyalty.Program.TierLook); a
// voided card has the program's colours and no locations.
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
		SharingProhibited:  true,
		StoreCard:          &passkit.Fields{},
	}
	look := p.Colors
	if !m.Erased() {
		look = p.TierLook(m.Account.Tier)
	}
	pass.ForegroundColor, pass.BackgroundColor, pass.LabelColor = rgb(look.Foreground), rgb(look.Background), rgb(look.Label)
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
	pass.Locations = locations(p.Locations)
	pass.AuthenticationToken = m.AuthToken
	pass.Barcodes = []passkit.Barcode{{
		Format:          barcodeFormats[p.Barcode].apple,
		Message:         loyalty.BarcodeToken(secret, m.Number),
		MessageEncoding: "iso-8859-1",
		AltText:         m.Number,
	}}
	if m.Account.Tier != "" { // a programme without tiers shows none
		sc.HeaderFields = []passkit.Field{{Key: "tier", Label: "tier_label", Value: passkit.StringValue(m.Account.Tier), ChangeMessage: TierChange}}
	}
	sc.PrimaryFields = []passkit.Field{{Key: "points", Label: "points_label", Value: passkit.IntValue(m.Account.Points),
		ChangeMessage: PointsChange, NumberStyle: passkit.PKNumberStyleDecimal}}
	sc.SecondaryFields = []passkit.Field{{Key: "name", Label: "member_label", Value: passkit.StringValue(m.Name)}}
	balanceFields(sc, p, m)
	sc.AuxiliaryFields = []passkit.Field{{Key: "number", Label: "number_label", Value: passkit.StringValue(m.Number)}}
	if n := len(c.Vouchers); n > 0 {
		// A count, localized as a whole: pass.strings has no plurals, so
		// the front text is rendered here in the program's default
		// language.
		lang, _ := p.Text()
		ready := RewardsReady(n, func(k, def string) string { return p.Localize(lang, k, def) })
		sc.AuxiliaryFields = append(sc.AuxiliaryFields, passkit.Field{Key: "rewards", Label: "rewards_label",
			Value: passkit.StringValue(ready), ChangeMessage: RewardsChange})
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "vouchers", Label: "vouchers_label",
			Value: passkit.StringValue(voucherLines(c.Vouchers))})
	}
	if f := expiringField(m, p); f != nil {
		sc.AuxiliaryFields = append(sc.AuxiliaryFields, *f)
	}
	if c.Message != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "message", Label: "message_label",
			Value: passkit.StringValue(c.Message), ChangeMessage: MessageChange})
	}
	if c.Birthday {
		// Localized by the phone (pass.strings); the change message shows
		// it on the lock screen when the birthday bonus arrives.
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "birthday", Label: "birthday_label",
			Value: passkit.StringValue("birthday_greeting"), ChangeMessage: MessageChange})
	}
	if c.Dormant != "" {
		// A back field with a change message: the phone shows it on the
		// lock screen when the member is greeted.
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "dormant", Label: "message_label",
			Value: passkit.StringValue(c.Dormant), ChangeMessage: MessageChange})
	}
	if p.Referral != nil && m.ReferralCode != "" {
		// Wallet shows a URL in a back field as a link to share.
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "referral", Label: "referral_label",
			Value: passkit.StringValue(links.ReferralURL(publicURL, p.ID, m.ReferralCode))})
	}
	if texts.HowItWorks != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "how", Label: "how_label", Value: passkit.StringValue("how_text")})
	}
	if texts.Terms != "" {
		sc.BackFields = append(sc.BackFields, passkit.Field{Key: "terms", Label: "terms_label", Value: passkit.StringValue("terms_text")})
	}
	return pass
}

// locations answers the program's places as pass.json locations (the
// program allows at most passkit's ten), nil when it has none.
func locations(places []loyalty.Place) []passkit.Location {
	if len(places) == 0 {
		return nil
	}
	out := make([]passkit.Location, len(places))
	for i, pl := range places {
		out[i] = passkit.Location{Latitude: pl.Latitude, Longitude: pl.Longitude, RelevantText: pl.RelevantText}
	}
	return out
}

// Files answers the files of a card whose tier has no strip of its own:
// TierFiles(p, "").
func Files(p *loyalty.Program) map[string][]byte { return TierFiles(p, "") }

// Program files that are not pass files: a tier's own strips and Google's
// square logo.
const (
	tierStripPrefix = "strip-"
	googleLogoFile  = "google-logo.png"
)

// stripScales are the names of a strip at each scale, after "strip".
var stripScales = [...]string{".png", "@2x.png", "@3x.png"}

// StripTier answers tier when it is one of the program's tiers and has a
// strip of its own at any scale, else "": the cards of tier's members carry
// that strip. Like loyalty.Program.TierLook, a tier the program no longer
// has keeps the program's look, whatever files remain.
func StripTier(p *loyalty.Program, tier string) string {
	if !slices.ContainsFunc(p.Tiers, func(t loyalty.Tier) bool { return t.Name == tier }) {
		return ""
	}
	for _, sc := range stripScales {
		if _, ok := p.Files[tierStripPrefix+tier+sc]; ok {
			return tier
		}
	}
	return ""
}

// TierFiles answers the pass's files for a member of tier: the template's
// images and, for every language of the program, a pass.strings holding
// the template's strings, passd's defaults for keys the template lacks,
// and the program's texts. When the tier has a strip of its own
// (strip-{tier}.png at any scale, see StripTier), its scales are the
// pass's strip.png, strip@2x.png and strip@3x.png and the program's strips
// are left out, so that one card never mixes two strips. Tiers' strips and
// Google's square logo never travel under their own names. It depends only
// on the program and StripTier(p, tier), so callers may keep it.
func TierFiles(p *loyalty.Program, tier string) map[string][]byte {
	own := StripTier(p, tier)
	files := map[string][]byte{}
	for name, b := range p.Files {
		switch {
		case strings.HasSuffix(name, ".lproj/pass.strings"), strings.HasPrefix(name, tierStripPrefix), name == googleLogoFile:
		case own != "" && isStrip(name):
		default:
			files[name] = b
		}
	}
	if own != "" {
		for _, sc := range stripScales {
			if b, ok := p.Files[tierStripPrefix+own+sc]; ok {
				files["strip"+sc] = b
			}
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

// isStrip reports whether name is one of the program's own strips.
func isStrip(name string) bool {
	for _, sc := range stripScales {
		if name == "strip"+sc {
			return true
		}
	}
	return false
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
	c, ok := parseHex(hex)
	if !ok {
		return ""
	}
	return passkit.RGB(c.R, c.G, c.B)
}

package cards

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
)

// GoogleCallbackPath is the path, below the public URL, where Google posts
// the save and delete events of a program's cards (the class's
// callbackOptions.url).
const GoogleCallbackPath = "/google/callbacks"

// Program images served for Google Wallet, which fetches them from a public
// URL (PASSD_PUBLIC_URL + GoogleImagePath) rather than from a bundle.
const (
	// GoogleLogo is the program logo of the class, from the Apple logo
	// (or icon); Google crops it to a circle.
	GoogleLogo = "logo.png"
	// GoogleSquareLogo is the class's square program logo, from the
	// program's google-logo.png; when the program has one the class shows
	// it instead of GoogleLogo.
	GoogleSquareLogo = "square-logo.png"
	// GoogleHero is the wide banner of the class, from the Apple strip.
	GoogleHero = "hero.png"
)

// googleImageFiles lists, per served image, the template files it is taken
// from, best first: Google shows the logo at up to 660 px and the hero at
// about 1032 px wide, so the largest variant wins.
var googleImageFiles = map[string][]string{
	GoogleLogo:       {"logo@3x.png", "logo@2x.png", "logo.png", "icon@3x.png", "icon@2x.png", "icon.png"},
	GoogleSquareLogo: {googleLogoFile},
	GoogleHero:       {"strip@3x.png", "strip@2x.png", "strip.png"},
}

// GoogleImagePath is the path, below the public URL, of a program image
// served for Google Wallet (name is GoogleLogo, GoogleSquareLogo or
// GoogleHero).
func GoogleImagePath(programID, name string) string {
	return "/programs/" + url.PathEscape(programID) + "/" + name
}

// GoogleTierHero is the served name of the banner of the cards of the
// program's i-th tier (from 0), from the tier's own strip: tiers are named
// by position, so any tier name makes a plain URL.
func GoogleTierHero(i int) string { return "hero-" + strconv.Itoa(i) + ".png" }

// GoogleImage answers the bytes of a program image served for Google
// Wallet (name is GoogleLogo, GoogleSquareLogo, GoogleHero or a
// GoogleTierHero), false when the program has none or name is none of
// them.
func GoogleImage(p *loyalty.Program, name string) ([]byte, bool) {
	files := googleImageFiles[name]
	if i, ok := tierHeroIndex(name); ok && i < len(p.Tiers) {
		if tier := StripTier(p, p.Tiers[i].Name); tier != "" {
			files = []string{tierStripPrefix + tier + "@3x.png", tierStripPrefix + tier + "@2x.png", tierStripPrefix + tier + ".png"}
		}
	}
	for _, f := range files {
		if b, ok := p.Files[f]; ok {
			return b, true
		}
	}
	return nil, false
}

// GoogleProgram renders a program as its Google Wallet loyalty class: the
// default locale's program name (and the other locales' as translations),
// the organization as issuer name, the background colour, the terms, and
// the logo (the square one when the program has google-logo.png) and hero
// served by passd under publicURL, and Google posts the class's save and
// delete events to publicURL + GoogleCallbackPath. The image URLs carry
// the template hash, so a changed template changes the class and Google
// fetches the new images.
func GoogleProgram(p *loyalty.Program, publicURL string) googlewallet.Program {
	lang, texts := p.Text()
	gp := googlewallet.Program{
		ID:              p.ID,
		Name:            cmpOr(texts.ProgramName, p.Name),
		IssuerName:      p.OrganizationName,
		BackgroundColor: p.Colors.Background,
		Language:        lang,
		Names:           map[string]string{},
		Terms:           map[string]string{},
		Labels:          googleLabels(p),
	}
	base := strings.TrimRight(publicURL, "/")
	gp.LogoURL = base + GoogleImagePath(p.ID, GoogleLogo) + "?v=" + p.Hash
	gp.CallbackURL = base + GoogleCallbackPath
	if _, ok := GoogleImage(p, GoogleSquareLogo); ok {
		gp.SquareLogoURL = base + GoogleImagePath(p.ID, GoogleSquareLogo) + "?v=" + p.Hash
	}
	if _, ok := GoogleImage(p, GoogleHero); ok {
		gp.HeroURL = base + GoogleImagePath(p.ID, GoogleHero) + "?v=" + p.Hash
	}
	for l, t := range p.Locales {
		if t.ProgramName != "" {
			gp.Names[l] = t.ProgramName
		}
		if t.Terms != "" {
			gp.Terms[l] = t.Terms
		}
	}
	return gp
}

// GoogleCard renders what the member's loyalty object shows, as on the
// Apple card: name, number, barcode, points, tier, the card's current
// merchant message (msg, may be empty; see loyalty.MemberRow.CardMessage),
// a due reminder of points that expire (ExpiringText), the dormant
// greeting (DormantMessage) and, in a programme with a referral bonus, the
// member's referral link, as text modules.
// secret keys the barcode token; a tier's own strip is served under
// publicURL as the card's banner.
func GoogleCard(m loyalty.MemberRow, p *loyalty.Program, msg string, secret []byte, publicURL string) googlewallet.Card {
	lang := p.DefaultLocale
	c := googlewallet.Card{
		Language:      lang,
		Labels:        googleLabels(p),
		MemberID:      m.ID,
		ProgramID:     p.ID,
		AccountName:   m.Name,
		AccountID:     m.Number,
		Barcode:       loyalty.BarcodeToken(secret, m.Number),
		BarcodeFormat: barcodeFormats[p.Barcode].google,
		AltText:       m.Number,
		Points:        m.Account.Points,
		Tier:          p.Localize(lang, m.Account.Tier, m.Account.Tier),
		State:         googlewallet.StateActive,
	}
	// A tier's own strip is the card's own banner: Google keeps colours on
	// the class, but a loyalty object may carry its hero image.
	if tier := StripTier(p, m.Account.Tier); tier != "" {
		i := slices.IndexFunc(p.Tiers, func(t loyalty.Tier) bool { return t.Name == tier })
		c.HeroURL = strings.TrimRight(publicURL, "/") + GoogleImagePath(p.ID, GoogleTierHero(i)) + "?v=" + p.Hash
	}
	if msg != "" {
		c.Message = &googlewallet.Message{ID: "message", Header: p.Localize(lang, "message_label", "Message"), Body: msg}
	}
	if text := DormantMessage(m, p); text != "" {
		// The dormant greeting, as on the back of the Apple card.
		c.Modules = append(c.Modules, googlewallet.Message{ID: "dormant",
			Header: p.Localize(lang, "message_label", "Message"), Body: text})
	}
	if p.Referral != nil && m.ReferralCode != "" && !m.Erased() {
		// The referral link, as on the back of the Apple card.
		c.Modules = append(c.Modules, googlewallet.Message{ID: "referral",
			Header: p.Localize(lang, "referral_label", "Invite a friend"), Body: links.ReferralURL(publicURL, p.ID, m.ReferralCode)})
	}
	// The reminder of points that expire, as on the front of the Apple card.
	c.Modules = append(googleExpiring(m, p), c.Modules...)
	return c
}

// GoogleVouchers is the text module of the member's vouchers shown at now
// (none when there are none): "N rewards ready" and, one a line, each
// code, reward and last day, as on the back of the Apple card.
func GoogleVouchers(m loyalty.MemberRow, p *loyalty.Program, now time.Time) []googlewallet.Message {
	vs := loyalty.ShownVouchers(m.Vouchers, now)
	if len(vs) == 0 || m.Erased() {
		return nil
	}
	lang := p.DefaultLocale
	ready := RewardsReady(len(vs), func(k, def string) string { return p.Localize(lang, k, def) })
	return []googlewallet.Message{{ID: "vouchers", Header: ready, Body: voucherLines(vs)}}
}

// GoogleGreeting is the birthday greeting's text module of the member's
// object at now (none but on the birthday, see Greets), as on the back of
// the Apple card.
func GoogleGreeting(m loyalty.MemberRow, p *loyalty.Program, now time.Time) []googlewallet.Message {
	if !Greets(m, p, now) {
		return nil
	}
	lang := p.DefaultLocale
	return []googlewallet.Message{{ID: "birthday", Header: p.Localize(lang, "birthday_label", "Birthday"),
		Body: p.Localize(lang, "birthday_greeting", defaultStrings["birthday_greeting"])}}
}

// GoogleMerchantMessage is the object message for a merchant message (the
// program's or the member's own); its id comes from the posting time, so a
// retried delivery adds it once.
func GoogleMerchantMessage(p *loyalty.Program, at time.Time, text string) googlewallet.Message {
	_, texts := p.Text()
	return googlewallet.Message{
		ID:     "msg-" + strconv.FormatInt(at.UnixMicro(), 10),
		Header: cmpOr(texts.ProgramName, p.Name),
		Body:   text,
	}
}

// GoogleTierMessage is the object message for reaching a tier, with the
// Apple card's change message ("You are now %@") in the default locale.
func GoogleTierMessage(p *loyalty.Program, seq int64, tier string) googlewallet.Message {
	lang, texts := p.Text()
	body := strings.ReplaceAll(p.Localize(lang, TierChange, TierChange), "%@", p.Localize(lang, tier, tier))
	return googlewallet.Message{
		ID:     "tier-" + strconv.FormatInt(seq, 10),
		Header: cmpOr(texts.ProgramName, p.Name),
		Body:   body,
	}
}

// googleLabels are the card's labels and headers in every language of the
// program, from the same strings the Apple card ships.
func googleLabels(p *loyalty.Program) googlewallet.Labels {
	tables := make(map[string]map[string]string, len(p.Locales))
	for lang := range p.Locales {
		tables[lang] = p.Strings(lang)
	}
	return googlewallet.LabelsFromStrings(tables)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tierHeroIndex reads the tier position of a GoogleTierHero name.
func tierHeroIndex(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "hero-")
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".png")
	if !ok || digits == "" || len(digits) > 3 {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil && i >= 0 && strconv.Itoa(i) == digits
}

package googlewallet

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	walletobjects "google.golang.org/api/walletobjects/v1"
)

// Labels shown on the front of every card.
const (
	pointsLabel = "Points"
	tierLabel   = "Tier"
	termsHeader = "Terms"
	termsID     = "terms"
	messageID   = "message"

	reviewUnderReview = "UNDER_REVIEW"
	notifyOnUpdate    = "NOTIFY_ON_UPDATE"
)

// validHexColor reports whether s is "#rgb" or "#rrggbb".
func validHexColor(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// buildClass turns a Program into the LoyaltyClass this package wants Google
// to hold.
func (c *Client) buildClass(p Program) (*walletobjects.LoyaltyClass, error) {
	switch {
	case p.ID == "":
		return nil, fmt.Errorf("googlewallet: program has no id: %w", ErrInvalid)
	case p.Name == "":
		return nil, fmt.Errorf("googlewallet: program %s has no name: %w", p.ID, ErrInvalid)
	case p.IssuerName == "":
		return nil, fmt.Errorf("googlewallet: program %s has no issuer name: %w", p.ID, ErrInvalid)
	case p.SquareLogoURL == "" && !strings.HasPrefix(p.LogoURL, "https://"):
		return nil, fmt.Errorf("googlewallet: program %s logo url %q must be https: %w", p.ID, p.LogoURL, ErrInvalid)
	case p.SquareLogoURL != "" && !strings.HasPrefix(p.SquareLogoURL, "https://"):
		return nil, fmt.Errorf("googlewallet: program %s square logo url %q must be https: %w", p.ID, p.SquareLogoURL, ErrInvalid)
	case p.HeroURL != "" && !strings.HasPrefix(p.HeroURL, "https://"):
		return nil, fmt.Errorf("googlewallet: program %s hero url %q must be https: %w", p.ID, p.HeroURL, ErrInvalid)
	case p.CallbackURL != "" && !strings.HasPrefix(p.CallbackURL, "https://"):
		return nil, fmt.Errorf("googlewallet: program %s callback url %q must be https: %w", p.ID, p.CallbackURL, ErrInvalid)
	case p.BackgroundColor != "" && !validHexColor(p.BackgroundColor):
		return nil, fmt.Errorf("googlewallet: program %s background colour %q must be #rrggbb: %w", p.ID, p.BackgroundColor, ErrInvalid)
	}
	lang := p.Language
	if lang == "" {
		lang = "en"
	}
	cl := &walletobjects.LoyaltyClass{
		Id:                   ClassID(c.issuerID, p.ID),
		IssuerName:           p.IssuerName,
		ProgramName:          p.Name,
		LocalizedProgramName: localized(lang, p.Name, p.Names),
		ProgramLogo: &walletobjects.Image{
			SourceUri:          &walletobjects.ImageUri{Uri: cmp.Or(p.SquareLogoURL, p.LogoURL)},
			ContentDescription: localized(lang, p.Name, nil),
		},
		HexBackgroundColor: strings.ToLower(p.BackgroundColor),
		// A class in DRAFT cannot hold objects; UNDER_REVIEW is approved
		// automatically and must be sent again on every update.
		ReviewStatus:                           reviewUnderReview,
		MultipleDevicesAndHoldersAllowedStatus: "ONE_USER_ALL_DEVICES",
	}
	if p.CallbackURL != "" {
		cl.CallbackOptions = &walletobjects.CallbackOptions{Url: p.CallbackURL}
	}
	if p.HeroURL != "" {
		cl.HeroImage = &walletobjects.Image{
			SourceUri:          &walletobjects.ImageUri{Uri: p.HeroURL},
			ContentDescription: localized(lang, p.Name, nil),
		}
	}
	if terms := p.Terms[lang]; terms != "" {
		header, localHeader := label(lang, termsHeader, p.Labels.Terms)
		cl.TextModulesData = []*walletobjects.TextModuleData{{
			Id:              termsID,
			Header:          header,
			LocalizedHeader: localHeader,
			Body:            terms,
			LocalizedBody:   localized(lang, terms, p.Terms),
		}}
	}
	return cl, nil
}

// label returns the text of a fixed label or header in lang and its
// LocalizedString: tr's text for lang (else def) with tr's other languages
// as translations. When tr holds no text at all it returns def and nil, so
// a caller that translates nothing sends what it always did.
func label(lang, def string, tr map[string]string) (string, *walletobjects.LocalizedString) {
	for _, v := range tr {
		if v != "" {
			def = cmp.Or(tr[lang], def)
			return def, localized(lang, def, tr)
		}
	}
	return def, nil
}

// loyaltyPoints builds a LoyaltyPoints showing bal under a label made by
// label. For a patch, a label without translations is sent with
// localizedLabel null so that translations an earlier version of the card
// had do not stay behind.
func loyaltyPoints(lang, def string, tr map[string]string, bal *walletobjects.LoyaltyPointsBalance, forPatch bool) *walletobjects.LoyaltyPoints {
	text, local := label(lang, def, tr)
	lp := &walletobjects.LoyaltyPoints{Label: text, LocalizedLabel: local, Balance: bal}
	if forPatch && local == nil {
		lp.NullFields = []string{"LocalizedLabel"}
	}
	return lp
}

// localized builds a LocalizedString with def in lang as default and the
// other entries of tr as translations, sorted for stable output.
func localized(lang, def string, tr map[string]string) *walletobjects.LocalizedString {
	ls := &walletobjects.LocalizedString{
		DefaultValue: &walletobjects.TranslatedString{Language: lang, Value: def},
	}
	for _, l := range slices.Sorted(maps.Keys(tr)) {
		if l == lang || tr[l] == "" {
			continue
		}
		ls.TranslatedValues = append(ls.TranslatedValues, &walletobjects.TranslatedString{Language: l, Value: tr[l]})
	}
	return ls
}

// classView keeps only the class fields this package manages, without the
// "kind" markers Google adds, so that a class read back from Google can be
// compared with a freshly built one.
func classView(cl *walletobjects.LoyaltyClass) *walletobjects.LoyaltyClass {
	v := &walletobjects.LoyaltyClass{
		Id:                                     cl.Id,
		IssuerName:                             cl.IssuerName,
		ProgramName:                            cl.ProgramName,
		LocalizedProgramName:                   stripLocalized(cl.LocalizedProgramName),
		ProgramLogo:                            stripImage(cl.ProgramLogo),
		HeroImage:                              stripImage(cl.HeroImage),
		HexBackgroundColor:                     strings.ToLower(cl.HexBackgroundColor),
		MultipleDevicesAndHoldersAllowedStatus: cl.MultipleDevicesAndHoldersAllowedStatus,
	}
	if cl.CallbackOptions != nil && cl.CallbackOptions.Url != "" {
		v.CallbackOptions = &walletobjects.CallbackOptions{Url: cl.CallbackOptions.Url}
	}
	// Approved or pending classes are fine; a DRAFT (or REJECTED) class is
	// pushed again with UNDER_REVIEW.
	switch cl.ReviewStatus {
	case reviewUnderReview, "APPROVED", "underReview", "approved":
	default:
		v.ReviewStatus = cl.ReviewStatus
	}
	for _, m := range cl.TextModulesData {
		v.TextModulesData = append(v.TextModulesData, &walletobjects.TextModuleData{
			Id: m.Id, Header: m.Header, Body: m.Body,
			LocalizedHeader: stripLocalized(m.LocalizedHeader),
			LocalizedBody:   stripLocalized(m.LocalizedBody),
		})
	}
	return v
}

func stripImage(im *walletobjects.Image) *walletobjects.Image {
	if im == nil {
		return nil
	}
	out := &walletobjects.Image{ContentDescription: stripLocalized(im.ContentDescription), PrivateImageId: im.PrivateImageId}
	if im.SourceUri != nil {
		out.SourceUri = &walletobjects.ImageUri{Uri: im.SourceUri.Uri}
	}
	return out
}

func stripLocalized(ls *walletobjects.LocalizedString) *walletobjects.LocalizedString {
	if ls == nil {
		return nil
	}
	out := &walletobjects.LocalizedString{}
	if ls.DefaultValue != nil {
		out.DefaultValue = &walletobjects.TranslatedString{Language: ls.DefaultValue.Language, Value: ls.DefaultValue.Value}
	}
	for _, t := range ls.TranslatedValues {
		out.TranslatedValues = append(out.TranslatedValues, &walletobjects.TranslatedString{Language: t.Language, Value: t.Value})
	}
	return out
}

// buildObject turns a Card into a LoyaltyObject. For an insert it carries
// the class id; for a patch it does not (moving an object between classes
// is undocumented) and it sends JSON null to drop a tier the card no longer
// has. Either way textModulesData is sent whole, even when empty, because
// PATCH replaces arrays.
func (c *Client) buildObject(card Card, forPatch bool) (*walletobjects.LoyaltyObject, error) {
	switch {
	case card.MemberID == "":
		return nil, fmt.Errorf("googlewallet: card has no member id: %w", ErrInvalid)
	case !forPatch && card.ProgramID == "":
		return nil, fmt.Errorf("googlewallet: card of member %s has no program id: %w", card.MemberID, ErrInvalid)
	case card.Barcode == "":
		return nil, fmt.Errorf("googlewallet: card of member %s has no barcode: %w", card.MemberID, ErrInvalid)
	case card.HeroURL != "" && !strings.HasPrefix(card.HeroURL, "https://"):
		return nil, fmt.Errorf("googlewallet: card of member %s hero url %q must be https: %w", card.MemberID, card.HeroURL, ErrInvalid)
	}
	state := card.State
	switch state {
	case "":
		state = StateActive
	case StateActive, StateInactive, StateExpired:
	default:
		return nil, fmt.Errorf("googlewallet: card of member %s has unknown state %q: %w", card.MemberID, card.State, ErrInvalid)
	}
	format := card.BarcodeFormat
	switch format {
	case "":
		format = BarcodeQR
	case BarcodeQR, BarcodePDF417, BarcodeAztec, BarcodeCode128:
	default:
		return nil, fmt.Errorf("googlewallet: card of member %s has unknown barcode format %q: %w", card.MemberID, card.BarcodeFormat, ErrInvalid)
	}
	alt := card.AltText
	if alt == "" {
		alt = card.AccountID
	}
	lang := cmp.Or(card.Language, "en")

	obj := &walletobjects.LoyaltyObject{
		Id:          ObjectID(c.issuerID, card.MemberID),
		State:       string(state),
		AccountId:   card.AccountID,
		AccountName: card.AccountName,
		Barcode: &walletobjects.Barcode{
			Type:          string(format),
			Value:         card.Barcode,
			AlternateText: alt,
		},
		LoyaltyPoints: loyaltyPoints(lang, pointsLabel, card.Labels.Points, &walletobjects.LoyaltyPointsBalance{
			Int: card.Points,
			// Without this a balance of 0 is dropped by omitempty and the
			// card keeps showing the old balance.
			ForceSendFields: []string{"Int"},
		}, forPatch),
		TextModulesData: []*walletobjects.TextModuleData{},
		ForceSendFields: []string{"TextModulesData"},
	}
	if !forPatch {
		obj.ClassId = ClassID(c.issuerID, card.ProgramID)
	}
	if card.Tier != "" {
		obj.SecondaryLoyaltyPoints = loyaltyPoints(lang, tierLabel, card.Labels.Tier,
			&walletobjects.LoyaltyPointsBalance{String: card.Tier}, forPatch)
	} else if forPatch {
		obj.NullFields = append(obj.NullFields, "SecondaryLoyaltyPoints")
	}
	if card.HeroURL != "" {
		obj.HeroImage = &walletobjects.Image{SourceUri: &walletobjects.ImageUri{Uri: card.HeroURL}}
	} else if forPatch {
		obj.NullFields = append(obj.NullFields, "HeroImage")
	}
	if m := card.Message; m != nil {
		id := m.ID
		if id == "" {
			id = messageID
		}
		header, localHeader := label(lang, m.Header, card.Labels.Message)
		obj.TextModulesData = append(obj.TextModulesData, &walletobjects.TextModuleData{
			Id:              moduleID(id),
			Header:          header,
			LocalizedHeader: localHeader,
			Body:            m.Body,
		})
	}
	for _, m := range card.Modules {
		obj.TextModulesData = append(obj.TextModulesData, &walletobjects.TextModuleData{
			Id:     moduleID(m.ID),
			Header: m.Header,
			Body:   m.Body,
		})
	}
	if card.Notify {
		obj.NotifyPreference = notifyOnUpdate
	}
	return obj, nil
}

package googlewallet

// Program describes a loyalty program; it becomes one LoyaltyClass. The
// class is owned by this package: UpsertClass replaces it whole (PUT) from
// the Program, so settings made by hand in the console are overwritten.
type Program struct {
	// ID is the program's id in passd; the class id is ClassID(issuer, ID).
	ID string
	// Name is the program name in the default Language (programName; Google
	// shows an ellipsis past about 20 characters).
	Name string
	// IssuerName is the business name shown on the card (about 20
	// characters at most).
	IssuerName string
	// LogoURL is a public https URL of the program logo. It is the class's
	// programLogo unless SquareLogoURL is set, and is required then only.
	// Google crops programLogo to a circle, so a wide logo (such as the
	// Apple pass logo) loses its sides: prefer SquareLogoURL.
	LogoURL string
	// SquareLogoURL is an optional public https URL of a square logo of at
	// least 660x660 px (see CheckSquareLogo). When set it is the class's
	// programLogo instead of LogoURL.
	SquareLogoURL string
	// HeroURL is an optional public https URL of the wide banner image.
	HeroURL string
	// BackgroundColor is the card colour as "#rrggbb" (or "#rgb"); empty
	// lets Google derive one from the images.
	BackgroundColor string
	// Language is the BCP 47 language of Name and of the default texts;
	// empty means "en".
	Language string
	// Names holds the program name in other languages (language -> name).
	Names map[string]string
	// Terms holds the programme terms per language (language -> text),
	// shown as a "Terms" text module on the back of every card. The module
	// is present only when Terms has an entry for Language.
	Terms map[string]string
	// Labels translates the class's fixed headers; only Labels.Terms is
	// used on the class.
	Labels Labels
	// CallbackURL is an optional public https URL Google posts save and
	// delete events of the class's objects to (callbackOptions.url); see
	// CallbackVerifier. Empty sends no callbackOptions.
	CallbackURL string
}

// Labels holds the texts of the fixed labels and headers on a card, each
// as language -> text, for the program's languages. The text for the
// default language (Program.Language or Card.Language) becomes the label
// and the defaultValue of its localizedLabel or localizedHeader; the texts
// for other languages become its translatedValues. A label whose map holds
// no text keeps its built-in text, given below, and is sent without a
// localized form, as before labels could be translated.
//
// Each field names the key of the pass.strings files (one per xx.lproj
// folder of a program template) it matches; LabelsFromStrings reads them.
type Labels struct {
	// Points labels the points balance (loyaltyPoints); key points_label,
	// built-in "Points".
	Points map[string]string
	// Tier labels the member's tier (secondaryLoyaltyPoints); key
	// tier_label, built-in "Tier".
	Tier map[string]string
	// Terms heads the terms text module of the class; key terms_label,
	// built-in "Terms".
	Terms map[string]string
	// Message heads the text module of Card.Message; key message_label,
	// built-in Message.Header.
	Message map[string]string
}

// pass.strings keys of the Labels fields.
const (
	pointsLabelKey  = "points_label"
	tierLabelKey    = "tier_label"
	termsLabelKey   = "terms_label"
	messageLabelKey = "message_label"
)

// LabelsFromStrings picks the Labels out of a program's pass.strings
// tables, given as language -> key -> text (as in en.lproj/pass.strings,
// fr.lproj/pass.strings...). Keys it does not know are ignored; a key no
// table has leaves its label built-in.
func LabelsFromStrings(tables map[string]map[string]string) Labels {
	pick := func(key string) map[string]string {
		var out map[string]string
		for lang, table := range tables {
			if v := table[key]; v != "" {
				if out == nil {
					out = map[string]string{}
				}
				out[lang] = v
			}
		}
		return out
	}
	return Labels{
		Points:  pick(pointsLabelKey),
		Tier:    pick(tierLabelKey),
		Terms:   pick(termsLabelKey),
		Message: pick(messageLabelKey),
	}
}

// State is the lifecycle state of a pass.
type State string

// States accepted in a Card. Inactive and expired passes move to the
// "Expired passes" area of Google Wallet.
const (
	// StateActive is a pass in use; it is the default.
	StateActive State = "ACTIVE"
	// StateInactive is a pass that is no longer usable, such as an erased
	// member's.
	StateInactive State = "INACTIVE"
	// StateExpired is a pass whose validity has ended.
	StateExpired State = "EXPIRED"
)

// BarcodeFormat is the symbology of a card's barcode, in Google's names.
type BarcodeFormat string

// Barcode formats that fit a member token. TEXT_ONLY is left out because it
// forbids the alternate text this package always sets.
const (
	// BarcodeQR is a QR code; it is the default.
	BarcodeQR BarcodeFormat = "QR_CODE"
	// BarcodePDF417 is a PDF417 stacked barcode.
	BarcodePDF417 BarcodeFormat = "PDF_417"
	// BarcodeAztec is an Aztec code.
	BarcodeAztec BarcodeFormat = "AZTEC"
	// BarcodeCode128 is a Code 128 linear barcode; keep tokens short.
	BarcodeCode128 BarcodeFormat = "CODE_128"
)

// Card is one member's loyalty card; it becomes one LoyaltyObject.
type Card struct {
	// MemberID is the member's id in passd; the object id is
	// ObjectID(issuer, MemberID).
	MemberID string
	// ProgramID is the member's program; the object belongs to the class
	// ClassID(issuer, ProgramID). It is only sent on insert.
	ProgramID string
	// AccountName is the member's display name (accountName).
	AccountName string
	// AccountID is the member number printed on the card (accountId).
	AccountID string
	// Barcode is the exact token encoded in the card's barcode (required).
	Barcode string
	// BarcodeFormat is the symbology; empty means QR code. The class has no
	// barcode field, so the format travels with each card.
	BarcodeFormat BarcodeFormat
	// AltText is the text under the barcode; empty means AccountID.
	AltText string
	// Points is the balance shown as loyaltyPoints (label Labels.Points,
	// "Points" by default). Zero is sent explicitly.
	Points int64
	// Tier is the member's tier, shown as secondaryLoyaltyPoints with label
	// Labels.Tier, "Tier" by default (Google keeps rewardsTier on the
	// class, so it cannot vary per member). It is shown as given in every
	// language: Google has no localized form of a balance. Empty removes
	// the tier from the card.
	Tier string
	// State is the pass state; empty means StateActive.
	State State
	// Language is the BCP 47 language of the default texts of Labels, as
	// Program.Language for the card's program; empty means "en".
	Language string
	// Labels translates the card's fixed labels: Labels.Points,
	// Labels.Tier and Labels.Message are used on the object.
	Labels Labels
	// HeroURL, when set, is the card's own banner (heroImage), shown
	// instead of the class's: a tier's own strip. It must be https. On a
	// patch, empty removes a banner the card had, so the class's shows.
	HeroURL string
	// Message, when set, is shown as a text module on the back of the card.
	// The object's textModulesData array is built from it alone and always
	// sent whole, so a nil Message removes a previous one. To post a
	// message to the message list (optionally with a push notification) use
	// Client.AddMessage instead.
	Message *Message
	// Modules are more text modules shown after Message (the member's
	// vouchers), sent whole like it: a module left out is removed.
	Modules []Message
	// Notify asks Google to push a notification for this update
	// (notifyPreference NOTIFY_ON_UPDATE). The preference is not stored by
	// Google and must be set on every update that should notify; Google only
	// notifies for some fields (points balance among them) and at most 3
	// times per pass per 24 h, see NotifyAllowed.
	Notify bool
}

// Message is a text shown on the back of a pass.
type Message struct {
	// ID identifies the message within the pass. AddMessage uses it to
	// avoid posting the same message twice.
	ID string
	// Header is the message title (at most 35 characters are shown in text
	// modules).
	Header string
	// Body is the message text.
	Body string
}

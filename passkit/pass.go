package passkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidPass is matched (errors.Is) by every error [Pass.Validate]
// returns.
var ErrInvalidPass = errors.New("invalid pass")

// MinAuthenticationTokenLength is the shortest authenticationToken Apple
// accepts (archived PassKit Web Service Reference; pkpassvalidator enforces
// it too).
const MinAuthenticationTokenLength = 16

// Pass is pass.json: the definition of one pass. Field names and JSON keys
// follow Apple's "Pass" dictionary. Empty optional keys are left out of the
// JSON, so the zero value of an optional field means "absent".
//
// Exactly one of the style keys (StoreCard, Coupon, EventTicket, Generic,
// BoardingPass) must be set; loyalty cards use StoreCard.
type Pass struct {
	// FormatVersion is always 1. The Signer fills it in when it is 0.
	FormatVersion int `json:"formatVersion"`
	// PassTypeIdentifier must equal the UID of the signing certificate.
	// The Signer fills it in from the certificate when it is empty.
	PassTypeIdentifier string `json:"passTypeIdentifier"`
	// SerialNumber identifies the pass within its type; it never changes.
	SerialNumber string `json:"serialNumber"`
	// TeamIdentifier must equal the OU of the signing certificate.
	// The Signer fills it in from the certificate when it is empty.
	TeamIdentifier string `json:"teamIdentifier"`
	// OrganizationName is shown on the Lock Screen and in notifications.
	OrganizationName string `json:"organizationName"`
	// Description is the accessibility text of the pass.
	Description string `json:"description"`

	// LogoText is the text beside the logo.
	LogoText string `json:"logoText,omitempty"`
	// ForegroundColor colours field values, as "rgb(r, g, b)" (see RGB).
	ForegroundColor string `json:"foregroundColor,omitempty"`
	// BackgroundColor fills the pass, as "rgb(r, g, b)".
	BackgroundColor string `json:"backgroundColor,omitempty"`
	// LabelColor colours field labels, as "rgb(r, g, b)".
	LabelColor string `json:"labelColor,omitempty"`
	// SuppressStripShine turns the strip shine on or off; nil leaves the key
	// out so Wallet's default applies.
	SuppressStripShine *bool `json:"suppressStripShine,omitempty"`

	// Barcodes lists barcodes in order of preference.
	Barcodes []Barcode `json:"barcodes,omitempty"`
	// Barcode is the deprecated single barcode for iOS 8 and earlier.
	Barcode *Barcode `json:"barcode,omitempty"`

	// Locations (at most 10) make the pass relevant near these places.
	Locations []Location `json:"locations,omitempty"`
	// Beacons (at most 10) make the pass relevant near these iBeacons.
	Beacons []Beacon `json:"beacons,omitempty"`
	// MaxDistance caps the relevance radius, in metres; 0 leaves it out.
	MaxDistance float64 `json:"maxDistance,omitempty"`
	// RelevantDate is ignored by store cards but valid for other styles.
	RelevantDate time.Time `json:"relevantDate,omitzero"`
	// ExpirationDate makes Wallet hide the pass after this time.
	ExpirationDate time.Time `json:"expirationDate,omitzero"`
	// Voided marks the pass as no longer valid.
	Voided bool `json:"voided,omitempty"`
	// SharingProhibited hides the Share button.
	SharingProhibited bool `json:"sharingProhibited,omitempty"`

	// WebServiceURL is the base URL of the PassKit web service. It needs
	// AuthenticationToken.
	WebServiceURL string `json:"webServiceURL,omitempty"`
	// AuthenticationToken is the shared secret the device sends back, at
	// least MinAuthenticationTokenLength characters.
	AuthenticationToken string `json:"authenticationToken,omitempty"`

	// AssociatedStoreIdentifiers are App Store IDs of companion apps.
	AssociatedStoreIdentifiers []int64 `json:"associatedStoreIdentifiers,omitempty"`
	// AppLaunchURL is handed to the companion app; it needs
	// AssociatedStoreIdentifiers.
	AppLaunchURL string `json:"appLaunchURL,omitempty"`
	// UserInfo is any JSON value for companion apps; never shown.
	UserInfo any `json:"userInfo,omitempty"`
	// GroupingIdentifier groups boarding passes and event tickets; Wallet
	// ignores it for store cards.
	GroupingIdentifier string `json:"groupingIdentifier,omitempty"`

	// StoreCard holds the fields of a store (loyalty) card.
	StoreCard *Fields `json:"storeCard,omitempty"`
	// Coupon holds the fields of a coupon.
	Coupon *Fields `json:"coupon,omitempty"`
	// EventTicket holds the fields of an event ticket.
	EventTicket *Fields `json:"eventTicket,omitempty"`
	// Generic holds the fields of a generic pass.
	Generic *Fields `json:"generic,omitempty"`
	// BoardingPass holds the fields of a boarding pass (set TransitType).
	BoardingPass *Fields `json:"boardingPass,omitempty"`
}

// Fields is Apple's PassFields dictionary: the field groups of a style.
type Fields struct {
	// TransitType is required on boarding passes and absent elsewhere.
	TransitType TransitType `json:"transitType,omitempty"`
	// HeaderFields stay visible while passes are stacked (at most 3).
	HeaderFields []Field `json:"headerFields,omitempty"`
	// PrimaryFields hold the most important value (at most 1 on a store
	// card).
	PrimaryFields []Field `json:"primaryFields,omitempty"`
	// SecondaryFields appear below the primary fields (at most 4).
	SecondaryFields []Field `json:"secondaryFields,omitempty"`
	// AuxiliaryFields appear below the secondary fields (at most 4).
	AuxiliaryFields []Field `json:"auxiliaryFields,omitempty"`
	// BackFields appear on the back of the pass.
	BackFields []Field `json:"backFields,omitempty"`
	// AdditionalInfoFields appear in the "Additional Info" section.
	AdditionalInfoFields []Field `json:"additionalInfoFields,omitempty"`
}

// Field is Apple's PassFieldContent dictionary: one field on a pass.
type Field struct {
	// Key identifies the field; it must be unique within the pass.
	Key string `json:"key"`
	// Label is the field's label.
	Label string `json:"label,omitempty"`
	// Value is required: a string, a number or an ISO-8601 date.
	Value Value `json:"value"`
	// AttributedValue overrides Value on the device and may hold <a> links.
	AttributedValue Value `json:"attributedValue,omitzero"`
	// ChangeMessage is shown when the value changes; it must contain "%@".
	ChangeMessage string `json:"changeMessage,omitempty"`
	// CurrencyCode (ISO 4217) formats a numeric value as money.
	CurrencyCode string `json:"currencyCode,omitempty"`
	// NumberStyle formats a numeric value.
	NumberStyle NumberStyle `json:"numberStyle,omitempty"`
	// DateStyle formats a date value.
	DateStyle DateStyle `json:"dateStyle,omitempty"`
	// TimeStyle formats the time of a date value.
	TimeStyle DateStyle `json:"timeStyle,omitempty"`
	// IsRelative shows a date value relative to now.
	IsRelative bool `json:"isRelative,omitempty"`
	// IgnoresTimeZone shows a date in its own time zone.
	IgnoresTimeZone bool `json:"ignoresTimeZone,omitempty"`
	// TextAlignment is not allowed on primary and back fields.
	TextAlignment TextAlignment `json:"textAlignment,omitempty"`
	// DataDetectorTypes applies to back fields only. Nil leaves the key out
	// (all detectors apply); an empty non-nil slice turns them all off.
	DataDetectorTypes []DataDetectorType `json:"dataDetectorTypes,omitzero"`
}

// Barcode is Apple's Barcodes dictionary.
type Barcode struct {
	// Format is one of the PKBarcodeFormat constants.
	Format BarcodeFormat `json:"format"`
	// Message is the payload encoded in the barcode.
	Message string `json:"message"`
	// MessageEncoding is the IANA charset of Message, usually "iso-8859-1".
	MessageEncoding string `json:"messageEncoding"`
	// AltText is shown near the barcode.
	AltText string `json:"altText,omitempty"`
}

// Location is a place where the pass is relevant.
type Location struct {
	// Latitude in degrees; required (0 is a valid latitude).
	Latitude float64 `json:"latitude"`
	// Longitude in degrees; required.
	Longitude float64 `json:"longitude"`
	// Altitude in metres; nil leaves it out.
	Altitude *float64 `json:"altitude,omitempty"`
	// RelevantText is shown on the Lock Screen near the location.
	RelevantText string `json:"relevantText,omitempty"`
}

// Beacon is an iBeacon near which the pass is relevant.
type Beacon struct {
	// ProximityUUID is the beacon's UUID; required.
	ProximityUUID string `json:"proximityUUID"`
	// Major narrows the beacon; nil leaves it out (0 is a valid value).
	Major *uint16 `json:"major,omitempty"`
	// Minor narrows the beacon; nil leaves it out.
	Minor *uint16 `json:"minor,omitempty"`
	// RelevantText is shown on the Lock Screen near the beacon.
	RelevantText string `json:"relevantText,omitempty"`
}

// BarcodeFormat is the "format" of a Barcode.
type BarcodeFormat string

// Barcode formats Wallet knows.
const (
	// PKBarcodeFormatQR is a QR code.
	PKBarcodeFormatQR BarcodeFormat = "PKBarcodeFormatQR"
	// PKBarcodeFormatPDF417 is a PDF417 code.
	PKBarcodeFormatPDF417 BarcodeFormat = "PKBarcodeFormatPDF417"
	// PKBarcodeFormatAztec is an Aztec code.
	PKBarcodeFormatAztec BarcodeFormat = "PKBarcodeFormatAztec"
	// PKBarcodeFormatCode128 is a Code 128 barcode (not on watchOS, not in
	// the deprecated single "barcode" key).
	PKBarcodeFormatCode128 BarcodeFormat = "PKBarcodeFormatCode128"
)

// TransitType is the "transitType" of a boarding pass.
type TransitType string

// Transit types.
const (
	// PKTransitTypeAir is a flight.
	PKTransitTypeAir TransitType = "PKTransitTypeAir"
	// PKTransitTypeBoat is a boat or ferry.
	PKTransitTypeBoat TransitType = "PKTransitTypeBoat"
	// PKTransitTypeBus is a bus.
	PKTransitTypeBus TransitType = "PKTransitTypeBus"
	// PKTransitTypeGeneric is any other transit.
	PKTransitTypeGeneric TransitType = "PKTransitTypeGeneric"
	// PKTransitTypeTrain is a train.
	PKTransitTypeTrain TransitType = "PKTransitTypeTrain"
)

// TextAlignment is the "textAlignment" of a Field.
type TextAlignment string

// Text alignments.
const (
	// PKTextAlignmentLeft aligns left.
	PKTextAlignmentLeft TextAlignment = "PKTextAlignmentLeft"
	// PKTextAlignmentCenter centres.
	PKTextAlignmentCenter TextAlignment = "PKTextAlignmentCenter"
	// PKTextAlignmentRight aligns right.
	PKTextAlignmentRight TextAlignment = "PKTextAlignmentRight"
	// PKTextAlignmentNatural follows the script direction (the default).
	PKTextAlignmentNatural TextAlignment = "PKTextAlignmentNatural"
)

// DateStyle is the "dateStyle" or "timeStyle" of a Field.
type DateStyle string

// Date and time styles.
const (
	// PKDateStyleNone hides the part.
	PKDateStyleNone DateStyle = "PKDateStyleNone"
	// PKDateStyleShort is the short style, e.g. "11/23/37".
	PKDateStyleShort DateStyle = "PKDateStyleShort"
	// PKDateStyleMedium is the medium style, e.g. "Nov 23, 1937".
	PKDateStyleMedium DateStyle = "PKDateStyleMedium"
	// PKDateStyleLong is the long style, e.g. "November 23, 1937".
	PKDateStyleLong DateStyle = "PKDateStyleLong"
	// PKDateStyleFull is the full style, e.g. "Tuesday, April 12, 1952 AD".
	PKDateStyleFull DateStyle = "PKDateStyleFull"
)

// NumberStyle is the "numberStyle" of a Field.
type NumberStyle string

// Number styles.
const (
	// PKNumberStyleDecimal formats as a decimal number.
	PKNumberStyleDecimal NumberStyle = "PKNumberStyleDecimal"
	// PKNumberStylePercent formats as a percentage.
	PKNumberStylePercent NumberStyle = "PKNumberStylePercent"
	// PKNumberStyleScientific formats in scientific notation.
	PKNumberStyleScientific NumberStyle = "PKNumberStyleScientific"
	// PKNumberStyleSpellOut spells the number out.
	PKNumberStyleSpellOut NumberStyle = "PKNumberStyleSpellOut"
)

// DataDetectorType is one entry of a Field's "dataDetectorTypes".
type DataDetectorType string

// Data detector types.
const (
	// PKDataDetectorTypePhoneNumber links phone numbers.
	PKDataDetectorTypePhoneNumber DataDetectorType = "PKDataDetectorTypePhoneNumber"
	// PKDataDetectorTypeLink links URLs.
	PKDataDetectorTypeLink DataDetectorType = "PKDataDetectorTypeLink"
	// PKDataDetectorTypeAddress links postal addresses.
	PKDataDetectorTypeAddress DataDetectorType = "PKDataDetectorTypeAddress"
	// PKDataDetectorTypeCalendarEvent links dates and times.
	PKDataDetectorTypeCalendarEvent DataDetectorType = "PKDataDetectorTypeCalendarEvent"
)

// valueKind tells which JSON type a Value holds.
type valueKind uint8

const (
	kindNone valueKind = iota
	kindString
	kindInt
	kindFloat
)

// Value is a field value: a string or a number. Numbers marshal as JSON
// numbers, so Wallet can format them (numberStyle, currencyCode) and
// compare them. The zero Value is absent.
type Value struct {
	kind valueKind
	s    string
	i    int64
	f    float64
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{kind: kindString, s: s} }

// IntValue returns an integer Value, marshalled as a JSON number.
func IntValue(n int64) Value { return Value{kind: kindInt, i: n} }

// FloatValue returns a numeric Value, marshalled as a JSON number. NaN and
// infinities are rejected by Validate and when marshalling.
func FloatValue(f float64) Value { return Value{kind: kindFloat, f: f} }

// DateValue returns a date Value: an RFC 3339 (ISO 8601) string with its
// time zone, which Wallet formats with dateStyle and timeStyle.
func DateValue(t time.Time) Value { return StringValue(t.Format(time.RFC3339)) }

// IsZero reports whether v is absent.
func (v Value) IsZero() bool { return v.kind == kindNone }

// IsNumber reports whether v marshals as a JSON number.
func (v Value) IsNumber() bool { return v.kind == kindInt || v.kind == kindFloat }

// String returns the value as text, numbers in their JSON form.
func (v Value) String() string {
	switch v.kind {
	case kindString:
		return v.s
	case kindInt:
		return strconv.FormatInt(v.i, 10)
	case kindFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	}
	return ""
}

// MarshalJSON encodes v as a JSON string or number.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case kindString:
		return appendJSONString(make([]byte, 0, len(v.s)+2), v.s), nil
	case kindInt:
		return strconv.AppendInt(nil, v.i, 10), nil
	case kindFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return nil, fmt.Errorf("passkit: field value %v is not a finite number", v.f)
		}
		return json.Marshal(v.f)
	}
	return []byte("null"), nil
}

// UnmarshalJSON decodes a JSON string or number.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return errors.New("passkit: empty field value")
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = StringValue(s)
		return nil
	case 'n':
		*v = Value{}
		return nil
	case 't', 'f', '{', '[':
		return fmt.Errorf("passkit: field value must be a string or a number, got %.20s", b)
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*v = IntValue(n)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("passkit: field value: %w", err)
	}
	*v = FloatValue(f)
	return nil
}

// RGB formats a colour the way pass.json expects: "rgb(r, g, b)".
func RGB(r, g, b uint8) string {
	return "rgb(" + strconv.Itoa(int(r)) + ", " + strconv.Itoa(int(g)) + ", " + strconv.Itoa(int(b)) + ")"
}

// ValidationError lists everything wrong with a pass. It matches
// ErrInvalidPass.
type ValidationError struct {
	// Problems holds one line of text per problem.
	Problems []string
}

// Error joins the problems on one line.
func (e *ValidationError) Error() string {
	return "invalid pass: " + strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrInvalidPass) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidPass }

// Validate reports every problem Apple documents for pass.json, or nil.
// The error is a *ValidationError.
//
// webServiceURL must be https, except for plain http to localhost,
// 127.0.0.1 or ::1: Wallet accepts http only on a device whose developer
// settings allow it, which is only useful while developing on this
// machine, so any other http host is rejected.
func (p *Pass) Validate() error {
	v := &validator{}
	p.validate(v)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

type validator struct {
	problems []string
}

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) text(name, s string) {
	if !utf8.ValidString(s) {
		v.addf("%s is not valid UTF-8", name)
	}
}

func (v *validator) required(name, s string) {
	if strings.TrimSpace(s) == "" {
		v.addf("%s is required", name)
		return
	}
	v.text(name, s)
}

func (p *Pass) validate(v *validator) {
	if p.FormatVersion != 1 {
		v.addf("formatVersion must be 1, got %d", p.FormatVersion)
	}
	v.required("passTypeIdentifier", p.PassTypeIdentifier)
	if p.PassTypeIdentifier != "" && !strings.HasPrefix(p.PassTypeIdentifier, "pass.") {
		v.addf("passTypeIdentifier %q must start with \"pass.\"", p.PassTypeIdentifier)
	}
	v.required("serialNumber", p.SerialNumber)
	v.required("teamIdentifier", p.TeamIdentifier)
	v.required("organizationName", p.OrganizationName)
	v.required("description", p.Description)
	v.text("logoText", p.LogoText)
	v.color("foregroundColor", p.ForegroundColor)
	v.color("backgroundColor", p.BackgroundColor)
	v.color("labelColor", p.LabelColor)

	for i, b := range p.Barcodes {
		v.barcode(fieldLoc{group: "barcodes", i: i}, b, false)
	}
	if p.Barcode != nil {
		v.barcode(fieldLoc{group: "barcode", i: -1}, *p.Barcode, true)
	}

	if len(p.Locations) > 10 {
		v.addf("locations has %d entries, at most 10 are allowed", len(p.Locations))
	}
	for i, l := range p.Locations {
		if math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90 {
			v.addf("locations[%d].latitude %v is out of range -90..90", i, l.Latitude)
		}
		if math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180 {
			v.addf("locations[%d].longitude %v is out of range -180..180", i, l.Longitude)
		}
		if l.Altitude != nil && (math.IsNaN(*l.Altitude) || math.IsInf(*l.Altitude, 0)) {
			v.addf("locations[%d].altitude is not a finite number", i)
		}
		v.textAt(fieldLoc{group: "locations", i: i}, "relevantText", l.RelevantText)
	}
	if len(p.Beacons) > 10 {
		v.addf("beacons has %d entries, at most 10 are allowed", len(p.Beacons))
	}
	for i, b := range p.Beacons {
		if !isUUID(b.ProximityUUID) {
			v.addf("beacons[%d].proximityUUID %q is not a UUID", i, b.ProximityUUID)
		}
		v.textAt(fieldLoc{group: "beacons", i: i}, "relevantText", b.RelevantText)
	}
	if math.IsNaN(p.MaxDistance) || math.IsInf(p.MaxDistance, 0) || p.MaxDistance < 0 {
		v.addf("maxDistance must be a finite, non-negative number of metres, got %v", p.MaxDistance)
	}

	checkWebService(p.WebServiceURL, p.AuthenticationToken, v.addf)

	if p.AppLaunchURL != "" && len(p.AssociatedStoreIdentifiers) == 0 {
		v.addf("appLaunchURL needs associatedStoreIdentifiers")
	}
	for i, id := range p.AssociatedStoreIdentifiers {
		if id <= 0 {
			v.addf("associatedStoreIdentifiers[%d] must be a positive App Store ID, got %d", i, id)
		}
	}
	if p.UserInfo != nil {
		if _, err := json.Marshal(p.UserInfo); err != nil {
			v.addf("userInfo cannot be encoded as JSON: %v", err)
		}
	}

	styles := 0
	keys := make(map[string]bool)
	for _, s := range []struct {
		name   string
		fields *Fields
	}{{"storeCard", p.StoreCard}, {"coupon", p.Coupon}, {"eventTicket", p.EventTicket}, {"generic", p.Generic}, {"boardingPass", p.BoardingPass}} {
		if s.fields == nil {
			continue
		}
		styles++
		v.fields(s.name, s.fields, keys)
	}
	if styles != 1 {
		v.addf("exactly one style key (storeCard, coupon, eventTicket, generic or boardingPass) is required, got %d", styles)
	}
}

// checkWebService applies the rules for webServiceURL and
// authenticationToken; Validate and Verify share it.
func checkWebService(rawURL, token string, addf func(string, ...any)) {
	if rawURL == "" {
		return
	}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		addf("webServiceURL %q is not a URL: %v", rawURL, err)
	case u.Host == "":
		addf("webServiceURL %q must be absolute (scheme and host)", rawURL)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		addf("webServiceURL %q must use https (plain http is accepted only for localhost during development)", rawURL)
	default:
		addf("webServiceURL %q must use https", rawURL)
	}
	if n := utf8.RuneCountInString(token); n < MinAuthenticationTokenLength {
		addf("authenticationToken must be at least %d characters when webServiceURL is set, got %d", MinAuthenticationTokenLength, n)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) color(name, s string) {
	if s == "" {
		return
	}
	if _, ok := parseRGB(s); !ok {
		v.addf("%s %q must be of the form rgb(r, g, b) with r, g, b in 0..255", name, s)
	}
}

// parseRGB parses "rgb(r, g, b)", tolerating spaces around the numbers.
func parseRGB(s string) ([3]uint8, bool) {
	var c [3]uint8
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "rgb(")
	if !ok {
		return c, false
	}
	rest, ok = strings.CutSuffix(rest, ")")
	if !ok {
		return c, false
	}
	parts := strings.Split(rest, ",")
	if len(parts) != 3 {
		return c, false
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || len(p) > 3 {
			return c, false
		}
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return c, false
		}
		c[i] = uint8(n)
	}
	return c, true
}

func (v *validator) barcode(name fieldLoc, b Barcode, legacy bool) {
	switch b.Format {
	case PKBarcodeFormatQR, PKBarcodeFormatPDF417, PKBarcodeFormatAztec:
	case PKBarcodeFormatCode128:
		if legacy {
			v.addf("%v.format %s is not supported by the deprecated barcode key; use barcodes", name, b.Format)
		}
	case "":
		v.addf("%v.format is required", name)
	default:
		v.addf("%v.format %q is not a known barcode format", name, b.Format)
	}
	if b.Message == "" {
		v.addf("%v.message is required", name)
	}
	v.textAt(name, "message", b.Message)
	if b.MessageEncoding == "" {
		v.addf("%v.messageEncoding is required (usually iso-8859-1)", name)
	}
	v.textAt(name, "altText", b.AltText)
}

func (v *validator) fields(style string, f *Fields, keys map[string]bool) {
	groups := []struct {
		name   string
		fields []Field
		max    int
	}{
		{"headerFields", f.HeaderFields, 3},
		{"primaryFields", f.PrimaryFields, 3},
		{"secondaryFields", f.SecondaryFields, 4},
		{"auxiliaryFields", f.AuxiliaryFields, 5},
		{"backFields", f.BackFields, 0},
		{"additionalInfoFields", f.AdditionalInfoFields, 0},
	}
	if style == "storeCard" || style == "coupon" {
		groups[1].max = 1
		groups[3].max = 4
	}
	switch f.TransitType {
	case PKTransitTypeAir, PKTransitTypeBoat, PKTransitTypeBus, PKTransitTypeGeneric, PKTransitTypeTrain:
		if style != "boardingPass" {
			v.addf("%s.transitType applies to boarding passes only", style)
		}
	case "":
		if style == "boardingPass" {
			v.addf("boardingPass.transitType is required")
		}
	default:
		v.addf("%s.transitType %q is not a known transit type", style, f.TransitType)
	}
	for _, g := range groups {
		if g.max > 0 && len(g.fields) > g.max {
			v.addf("%s.%s has %d fields, at most %d are shown", style, g.name, len(g.fields), g.max)
		}
		for i, fl := range g.fields {
			v.field(fieldLoc{style: style, group: g.name, i: i}, fl, keys)
		}
	}
}

// fieldLoc names a field in problems, e.g. storeCard.headerFields[0]. It
// is formatted only when there is a problem to report.
type fieldLoc struct {
	style, group string
	i            int
}

func (l fieldLoc) String() string {
	s := l.group
	if l.style != "" {
		s = l.style + "." + s
	}
	if l.i >= 0 {
		s += "[" + strconv.Itoa(l.i) + "]"
	}
	return s
}

func (v *validator) field(name fieldLoc, f Field, keys map[string]bool) {
	group := name.group
	switch {
	case f.Key == "":
		v.addf("%s.key is required", name)
	case keys[f.Key]:
		v.addf("%s.key %q is used by another field; keys must be unique", name, f.Key)
	default:
		keys[f.Key] = true
	}
	v.textAt(name, "key", f.Key)
	v.textAt(name, "label", f.Label)
	if f.Value.IsZero() {
		v.addf("%s.value is required", name)
	}
	v.valueAt(name, "value", f.Value)
	v.valueAt(name, "attributedValue", f.AttributedValue)
	if f.ChangeMessage != "" && !strings.Contains(f.ChangeMessage, "%@") {
		v.addf("%s.changeMessage %q must contain %%@ (replaced by the new value)", name, f.ChangeMessage)
	}
	v.textAt(name, "changeMessage", f.ChangeMessage)
	if f.CurrencyCode != "" {
		if !isCurrencyCode(f.CurrencyCode) {
			v.addf("%s.currencyCode %q is not an ISO 4217 code", name, f.CurrencyCode)
		}
		if !f.Value.IsNumber() {
			v.addf("%s.currencyCode needs a numeric value", name)
		}
	}
	switch f.NumberStyle {
	case "":
	case PKNumberStyleDecimal, PKNumberStylePercent, PKNumberStyleScientific, PKNumberStyleSpellOut:
		if !f.Value.IsNumber() {
			v.addf("%s.numberStyle needs a numeric value", name)
		}
	default:
		v.addf("%s.numberStyle %q is not a known number style", name, f.NumberStyle)
	}
	for _, ds := range []struct {
		key   string
		style DateStyle
	}{{"dateStyle", f.DateStyle}, {"timeStyle", f.TimeStyle}} {
		switch ds.style {
		case "", PKDateStyleNone, PKDateStyleShort, PKDateStyleMedium, PKDateStyleLong, PKDateStyleFull:
		default:
			v.addf("%s.%s %q is not a known date style", name, ds.key, ds.style)
		}
	}
	switch f.TextAlignment {
	case "":
	case PKTextAlignmentLeft, PKTextAlignmentCenter, PKTextAlignmentRight, PKTextAlignmentNatural:
		if group == "primaryFields" || group == "backFields" {
			v.addf("%s.textAlignment is not allowed on %s", name, group)
		}
	default:
		v.addf("%s.textAlignment %q is not a known alignment", name, f.TextAlignment)
	}
	if f.DataDetectorTypes != nil && group != "backFields" {
		v.addf("%s.dataDetectorTypes applies to back fields only", name)
	}
	for _, d := range f.DataDetectorTypes {
		switch d {
		case PKDataDetectorTypePhoneNumber, PKDataDetectorTypeLink, PKDataDetectorTypeAddress, PKDataDetectorTypeCalendarEvent:
		default:
			v.addf("%s.dataDetectorTypes has unknown type %q", name, d)
		}
	}
}

// textAt and valueAt check before they name, so valid passes cost no
// formatting.
func (v *validator) textAt(loc fieldLoc, key, s string) {
	if !utf8.ValidString(s) {
		v.addf("%v.%s is not valid UTF-8", loc, key)
	}
}

func (v *validator) valueAt(loc fieldLoc, key string, val Value) {
	switch val.kind {
	case kindString:
		v.textAt(loc, key, val.s)
	case kindFloat:
		if math.IsNaN(val.f) || math.IsInf(val.f, 0) {
			v.addf("%v.%s is not a finite number", loc, key)
		}
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isUUID accepts the 8-4-4-4-12 hexadecimal form, either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

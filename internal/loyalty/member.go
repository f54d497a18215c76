// This file holds what passd knows of a loyalty member apart from the
// ledger: the profile, the human member number with its check digit, the
// per-pass authentication token Apple's web service uses, and the barcode
// token printed on every card.

package loyalty

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passd/passd/balances"
)

// Member is a member's profile. Erased members keep their ID, program and
// number (so the anonymous ledger still adds up and old barcodes answer
// "not found"), and lose everything else.
type Member struct {
	ID         string
	Program    string
	Number     string
	Name       string
	Email      string
	Birthday   string // YYYY-MM-DD or empty
	ExternalID string
	// AuthToken authenticates the member's Apple pass to the PassKit web service.
	AuthToken string
	CreatedAt time.Time
	ErasedAt  *time.Time
	// MarketingOptIn is the member's current marketing answer; every
	// change of it is kept as a Consent.
	MarketingOptIn bool
	// ConsentSource, on a member being created, is the surface of the
	// enrolment (ConsentAPI, ConsentJoinPage): the source of the first
	// Consent. Reads leave it empty; the consents keep it.
	ConsentSource string
	// ReferralCode is the member's own code for the join page's ?ref=
	// (NewReferralCode), unique in the programme; "" for a member enrolled
	// before codes existed and not yet given one.
	ReferralCode string
	// ReferredBy is the ID of the member whose referral code the member
	// enrolled with ("" for none).
	ReferredBy string
	// WelcomeBonus, on a member being created, is the programme's welcome
	// bonus, written as a bonus entry in the enrolment's transaction (the
	// account given with it already holds it). Reads leave it 0.
	WelcomeBonus int64
	// WelcomeExpiry, on a member being created, is the programme's expiry
	// rule: the welcome bonus is a lot that expires (nil: it never does).
	WelcomeExpiry *balances.Expiry
}

// Erased reports whether the member's personal data was erased.
func (m Member) Erased() bool { return m.ErasedAt != nil }

// Sentinel errors of the package.
var (
	// ErrMemberNotFound means no such member (or the member was erased).
	ErrMemberNotFound = errors.New("member not found")
	// ErrInvalidBarcode means a barcode token or typed number does not verify.
	ErrInvalidBarcode = errors.New("invalid barcode")
)

// NumberDigits is the length of a member number, check digit included.
const NumberDigits = 10

// NewNumber draws a random member number: nine random digits (the first
// never 0, so the number keeps its length wherever it is typed) and a Luhn
// check digit that catches every single-digit typo and most transpositions.
func NewNumber() (string, error) {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw member number: %w", err)
	}
	digits := make([]byte, 9, NumberDigits)
	for i, v := range b {
		digits[i] = '0' + v%10
	}
	if digits[0] == '0' {
		digits[0] = '1' + b[0]%9
	}
	digits = append(digits, luhnDigit(digits))
	return string(digits), nil
}

// ValidNumber reports whether s has the shape of a member number and its
// check digit matches.
func ValidNumber(s string) bool {
	if len(s) != NumberDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return luhnDigit([]byte(s[:len(s)-1])) == s[len(s)-1]
}

// luhnDigit computes the Luhn check digit of payload.
func luhnDigit(payload []byte) byte {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// NewAuthToken draws a per-pass authentication token: 32 characters of
// base32 (160 random bits), well above Apple's 16-character minimum.
func NewAuthToken() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw auth token: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// barcodeAlphabet is Crockford's base32 alphabet: upper case letters and
// digits only, so the whole token fits a QR code's compact alphanumeric mode
// and reads unambiguously when typed.
const barcodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var barcodeEncoding = base32.NewEncoding(barcodeAlphabet).WithPadding(base32.NoPadding)

// macChars is the length of the MAC part of a barcode token: 16 base32
// characters, 80 bits.
const macChars = 16

// barcodeDomain separates barcode MACs from any other use of the secret.
const barcodeDomain = "passd barcode v1\x00"

// BarcodeToken is the message encoded in a member's card barcode:
// "<member number>-<MAC>", where the MAC is HMAC-SHA256 keyed by the server
// secret over the number, truncated to 80 bits. Another member's token
// cannot be derived from a known number without the secret.
func BarcodeToken(secret []byte, number string) string {
	return number + "-" + barcodeMAC(secret, number)
}

func barcodeMAC(secret []byte, number string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(barcodeDomain))
	m.Write([]byte(number))
	return barcodeEncoding.EncodeToString(m.Sum(nil))[:macChars]
}

// VerifyBarcode checks a scanned barcode token and returns the member number
// it carries. The MAC is compared in constant time. Scanners may deliver
// lower case; it is accepted.
func VerifyBarcode(secret []byte, token string) (string, error) {
	token = strings.ToUpper(strings.TrimSpace(token))
	number, mac, ok := strings.Cut(token, "-")
	if !ok || !ValidNumber(number) || len(mac) != macChars {
		return "", ErrInvalidBarcode
	}
	want := barcodeMAC(secret, number)
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return "", ErrInvalidBarcode
	}
	return number, nil
}

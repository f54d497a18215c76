package loyalty

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ReferralAlphabet is the alphabet of referral codes: digits and capitals
// without 0, O, 1, I, L and U, which are misread or spell words.
const ReferralAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// ReferralCodeLen is the length of a referral code: 30^8 (6.5e11) codes,
// so a collision in a programme is rare and answered by drawing again.
const ReferralCodeLen = 8

// ErrUnknownReferralCode means an enrolment named a referral code no live
// member of the programme has.
var ErrUnknownReferralCode = errors.New("unknown referral code")

// NewReferralCode draws a random referral code.
func NewReferralCode() (string, error) {
	var b strings.Builder
	n := big.NewInt(int64(len(ReferralAlphabet)))
	for range ReferralCodeLen {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", fmt.Errorf("draw referral code: %w", err)
		}
		b.WriteByte(ReferralAlphabet[i.Int64()])
	}
	return b.String(), nil
}

// NormalizeReferralCode answers a typed code as stored: trimmed and upper
// case; "" when it cannot be a code (wrong length or letters).
func NormalizeReferralCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != ReferralCodeLen {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(ReferralAlphabet, rune(s[i])) {
			return ""
		}
	}
	return s
}

// ReferralEligible reports whether a referee and referrer may earn a
// referral bonus: never one's own referral, never between two members with
// the same email (compared case-insensitively).
func ReferralEligible(referee, referrer Member) bool {
	if referee.ID == referrer.ID || referee.ReferredBy == "" || referee.ReferredBy != referrer.ID {
		return false
	}
	e1, e2 := strings.TrimSpace(referee.Email), strings.TrimSpace(referrer.Email)
	return e1 == "" || !strings.EqualFold(e1, e2)
}

package googlewallet

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ClassID returns the LoyaltyClass id for a program: "{issuer}.{program}",
// with the program id made safe by SafeIDSuffix.
func ClassID(issuerID, programID string) string {
	return issuerID + "." + SafeIDSuffix(programID)
}

// ObjectID returns the LoyaltyObject id for a member: "{issuer}.{member}",
// with the member id made safe by SafeIDSuffix.
func ObjectID(issuerID, memberID string) string {
	return issuerID + "." + SafeIDSuffix(memberID)
}

// SafeIDSuffix returns s unchanged when it holds only the characters Google
// allows in an id (ASCII letters and digits, '.', '_', '-'). Otherwise each
// other character becomes '_' and, so that two different inputs such as
// "a b" and "a/b" never share a pass, "-" and the first 8 hex digits of
// SHA-256(s) are appended. An empty s stays empty (and is rejected by the
// calls that use it).
func SafeIDSuffix(s string) string {
	if validIDSuffix(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if validIDRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(s))
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

func validIDSuffix(s string) bool {
	for _, r := range s {
		if !validIDRune(r) {
			return false
		}
	}
	return true
}

func validIDRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// checkResourceID reports whether id is a well-formed id of this issuer.
func (c *Client) checkResourceID(id string) bool {
	suffix, ok := strings.CutPrefix(id, c.issuerID+".")
	return ok && suffix != "" && validIDSuffix(suffix)
}

// moduleID makes s usable as a text module id, where dots are not allowed.
func moduleID(s string) string {
	var b strings.Builder
	for _, r := range s {
		if validIDRune(r) && r != '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

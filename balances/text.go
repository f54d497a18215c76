package balances

import (
	"unicode"
	"unicode/utf8"
)

// ReasonText is the FieldError.Reason of a text refused by CheckText.
const ReasonText = "control"

// ValidText reports whether s may be kept as a text field of passd: it is
// valid UTF-8, holds no control character (C0, DEL, C1) and no U+FFFD, the
// mark a decoder leaves where its input was not UTF-8 (encoding/json does
// so silently). A multi-line text may hold line breaks ("\n", "\r\n").
// It is the one check of free text, whatever surface received it.
func ValidText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\r'):
		case r == utf8.RuneError, unicode.IsControl(r):
			return false
		}
	}
	return true
}

// CheckText records field as invalid when s is not ValidText and answers
// whether s passed.
func (e *ValidationError) CheckText(field, s string, multiline bool) bool {
	if ValidText(s, multiline) {
		return true
	}
	msg := "must be valid UTF-8 without control characters"
	if multiline {
		msg = "must be valid UTF-8 without control characters other than line breaks"
	}
	e.AddReason(field, ReasonText, msg)
	return false
}

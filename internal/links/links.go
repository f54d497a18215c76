// Package links makes and checks passd's signed links: a member's pass
// download link needs no API key, so it carries a MAC keyed by the server
// secret that binds it to exactly one member.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// Signer signs and verifies links with the server secret.
type Signer struct {
	secret []byte
	base   string
}

// New returns a Signer for links under publicURL (no trailing slash).
func New(secret []byte, publicURL string) *Signer {
	return &Signer{secret: append([]byte(nil), secret...), base: publicURL}
}

func (s *Signer) mac(kind, id string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("passd link v1\x00"))
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Sign returns the signature of a link of the given kind for id.
func (s *Signer) Sign(kind, id string) string { return s.mac(kind, id) }

// Verify reports, in constant time, whether sig signs (kind, id).
func (s *Signer) Verify(kind, id, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(s.mac(kind, id)))
}

// Link kinds.
const (
	KindPass = "pass"
)

// PassURL is the absolute, signed download link of a member's Apple pass.
func (s *Signer) PassURL(memberID string) string {
	return s.base + "/passes/" + url.PathEscape(memberID) + ".pkpass?sig=" + s.mac(KindPass, memberID)
}

// KindJoinResult signs the result page of a web enrolment.
const KindJoinResult = "join-result"

// JoinURL is the absolute address of a program's enrolment page. It is not
// signed: the page is public.
func (s *Signer) JoinURL(program string) string {
	return s.base + "/join/" + url.PathEscape(program)
}

// ReferralURL is the join page of a program that enrols with a member's
// referral code (?ref=); "" for a member without a code.
func (s *Signer) ReferralURL(program, code string) string { return ReferralURL(s.base, program, code) }

// ReferralURL is Signer.ReferralURL under publicURL, for renderers that
// hold the public URL rather than a Signer.
func ReferralURL(publicURL, program, code string) string {
	if code == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/join/" + url.PathEscape(program) + "?ref=" + url.QueryEscape(code)
}

// JoinResultPath is the signed path (no scheme or host) of the page that
// shows member memberID of program the card they just got, so that the page
// can redirect to it on whatever host it was reached.
func (s *Signer) JoinResultPath(program, memberID string) string {
	return "/join/" + url.PathEscape(program) + "/card/" + url.PathEscape(memberID) + "?sig=" + s.mac(KindJoinResult, memberID)
}

// JoinResultURL is JoinResultPath made absolute under the public URL, for
// links that leave the browser (a QR code scanned by a phone).
func (s *Signer) JoinResultURL(program, memberID string) string {
	return s.base + s.JoinResultPath(program, memberID)
}

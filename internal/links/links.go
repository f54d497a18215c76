// Package links makes and checks passd's signed links: a member's pass
// download link needs no API key, so it carries a MAC keyed by the server
// secret that binds it to exactly one member.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
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

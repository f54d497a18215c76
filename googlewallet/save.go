package googlewallet

import (
	"fmt"
	"net/url"

	jwt "github.com/golang-jwt/jwt/v5"
)

// Save link constants.
const (
	// SaveURLPrefix starts every "Add to Google Wallet" link; the signed
	// JWT follows.
	SaveURLPrefix = "https://pay.google.com/gp/v/save/"
	// MaxSaveURLLength is the longest save link handed out: browsers and
	// some channels truncate longer URLs (Google's "skinny JWT" guidance).
	MaxSaveURLLength = 1800
)

// SaveURL returns an "Add to Google Wallet" link for objects that already
// exist (insert them first: a save JWT never updates an existing object, so
// it only references them by id, which also keeps the link short). The JWT
// is signed RS256 with the service-account key and carries iss (the
// service-account email), aud "google", typ "savetowallet", iat, origins
// (the web origins allowed to show the Save button, such as
// "https://passd.example"; may be empty for a plain link) and
// payload.loyaltyObjects [{"id": ...}]. It fails with ErrSaveURLTooLong
// rather than return a link over MaxSaveURLLength.
func (c *Client) SaveURL(objectIDs []string, origins []string) (string, error) {
	if len(objectIDs) == 0 {
		return "", fmt.Errorf("googlewallet: save url: no object ids: %w", ErrInvalid)
	}
	objs := make([]map[string]string, 0, len(objectIDs))
	for _, id := range objectIDs {
		if !c.checkResourceID(id) {
			return "", fmt.Errorf("googlewallet: save url: bad object id %q: %w", id, ErrInvalid)
		}
		objs = append(objs, map[string]string{"id": id})
	}
	orig := make([]string, 0, len(origins))
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", fmt.Errorf("googlewallet: save url: %q is not an origin (scheme://host[:port]): %w", o, ErrInvalid)
		}
		orig = append(orig, u.Scheme+"://"+u.Host)
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss":     c.email,
		"aud":     "google",
		"typ":     "savetowallet",
		"iat":     c.now().Unix(),
		"origins": orig,
		"payload": map[string]any{"loyaltyObjects": objs},
	})
	if c.keyID != "" {
		tok.Header["kid"] = c.keyID
	}
	signed, err := tok.SignedString(c.key)
	if err != nil {
		return "", fmt.Errorf("googlewallet: sign save jwt: %w", err)
	}
	link := SaveURLPrefix + signed
	if len(link) > MaxSaveURLLength {
		return "", fmt.Errorf("googlewallet: save url for %d objects is %d characters, limit %d: %w",
			len(objectIDs), len(link), MaxSaveURLLength, ErrSaveURLTooLong)
	}
	return link, nil
}

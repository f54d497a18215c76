package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// The enrolment form is protected in three layers:
//   - http.CrossOriginProtection refuses cross-site POSTs by Sec-Fetch-Site
//     or Origin;
//   - a form token, signed with the server secret, binds a one-time nonce and
//     its issue time to a random cookie of the browser (double-submit): a
//     forged page can make neither;
//   - the nonce becomes the new member's external id ("join:<nonce>"), so a
//     second POST of the same form (a double click, a reload) answers the
//     member the first one created. It is kept in the database, so this
//     holds across restarts and across instances.

// CookieName is the browser half of the double-submit form token.
const CookieName = "passd_join"

// FormTTL is how long a form may stay open before its token expires.
const FormTTL = 2 * time.Hour

// tokenDomain separates form-token MACs from any other use of the secret.
const tokenDomain = "passd join form v1\x00"

var errBadToken = errors.New("form token missing, forged or expired")

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) tokenMAC(program, cookie, nonce, issued string) string {
	m := hmac.New(sha256.New, s.Secret)
	for _, part := range []string{tokenDomain, program, cookie, nonce, issued} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// newToken issues a form token for the browser holding cookie.
func (s *Server) newToken(program, cookie string) string {
	nonce := randomString(16)
	issued := strconv.FormatInt(s.Now().Unix(), 10)
	return nonce + "." + issued + "." + s.tokenMAC(program, cookie, nonce, issued)
}

// checkToken verifies a submitted form token against the browser's cookie
// and answers its nonce.
func (s *Server) checkToken(program, cookie, token string) (string, error) {
	parts := strings.Split(token, ".")
	if cookie == "" || len(parts) != 3 {
		return "", errBadToken
	}
	nonce, issued, mac := parts[0], parts[1], parts[2]
	if !hmac.Equal([]byte(mac), []byte(s.tokenMAC(program, cookie, nonce, issued))) {
		return "", errBadToken
	}
	sec, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return "", errBadToken
	}
	age := s.Now().Sub(time.Unix(sec, 0))
	if age > FormTTL || age < -time.Minute {
		return "", errBadToken
	}
	return nonce, nil
}

// browserCookie answers the browser's form cookie, setting a new one when it
// has none.
func (s *Server) browserCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	v := randomString(18)
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: v, Path: "/join", HttpOnly: true,
		Secure: s.secureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	return v
}

// formValues are what the visitor typed.
type formValues struct {
	Name, Email, Birthday string
	Consent               bool
	// Marketing is the separate, optional answer to the marketing
	// question: unticked unless the visitor ticks it.
	Marketing bool
	// Ref is the referral code the visitor came with (?ref=), carried in a
	// hidden field; an unknown one is ignored.
	Ref string
}

// fieldErrors maps a field to the key of its message.
type fieldErrors map[string]string

// fieldKeys maps a field and the reason the domain refused it to the key
// of the page's message for it.
var fieldKeys = map[string]string{
	"name/" + loyalty.ReasonRequired:    "err_name_required",
	"name/" + loyalty.ReasonTooLong:     "err_name_long",
	"name/" + loyalty.ReasonControl:     "err_name_control",
	"email/" + loyalty.ReasonRequired:   "err_email_required",
	"email/" + loyalty.ReasonInvalid:    "err_email_invalid",
	"email/" + loyalty.ReasonControl:    "err_email_invalid",
	"birthday/" + loyalty.ReasonInvalid: "err_birthday",
	"birthday/" + loyalty.ReasonRange:   "err_birthday_range",
}

// validate checks the form with the domain's one enrolment check, which
// the JSON API uses too, requiring an email address, and also requires
// consent. It answers message keys, so the page can show them in the
// visitor's language.
func (f *formValues) validate(now time.Time) fieldErrors {
	errs := fieldErrors{}
	in := loyalty.Profile{Name: f.Name, Email: f.Email, Birthday: f.Birthday}
	err := in.Validate(now, true)
	f.Name, f.Email, f.Birthday = in.Name, in.Email, in.Birthday
	var ve *balances.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			if key, ok := fieldKeys[fe.Field+"/"+fe.Reason]; ok {
				errs[fe.Field] = key
			}
		}
	}
	if !f.Consent {
		errs["consent"] = "err_consent"
	}
	return errs
}

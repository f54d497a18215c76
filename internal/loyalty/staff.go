package loyalty

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"
)

// StaffUser is a person who signs in to the merchant console. Only the
// argon2id hash of the password is kept.
type StaffUser struct {
	ID    string
	Email string // lower case
	Role  string // RolePOS, RoleMerchant or RoleAdmin
	// Program is the one programme a pos or merchant user works for;
	// empty for an admin, who sees every programme.
	Program string
	// PasswordHash is a PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash);
	// empty until the user sets a password.
	PasswordHash string
	CreatedAt    time.Time
	DisabledAt   *time.Time
}

// StaffSession is a signed-in console session, kept on the server. Only
// the SHA-256 of the session id (the cookie) is stored.
type StaffSession struct {
	IDHash     string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// Password rules of staff accounts.
const (
	MinPasswordRunes = 12
	MaxPasswordBytes = 1024
)

// Errors of staff passwords and accounts.
var (
	ErrPasswordTooShort = fmt.Errorf("password: at least %d characters are required", MinPasswordRunes)
	ErrPasswordTooLong  = fmt.Errorf("password: at most %d bytes are allowed", MaxPasswordBytes)
	ErrBadPasswordHash  = errors.New("password hash: not an argon2id PHC string passd can read")
	ErrBadStaffUser     = errors.New("staff user")
)

// ValidatePassword checks the password rules: at least MinPasswordRunes
// characters and at most MaxPasswordBytes bytes (argon2 hashes any length,
// but a megabyte password is only a way to burn the server's CPU).
func ValidatePassword(p string) error {
	if len(p) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	if utf8.RuneCountInString(p) < MinPasswordRunes {
		return ErrPasswordTooShort
	}
	return nil
}

// NormalizeStaffEmail answers the address as stored (trimmed, lower case),
// or an error when it is not a plain address.
func NormalizeStaffEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if !validEmail(e) {
		return "", fmt.Errorf("%w: %q is not an email address", ErrBadStaffUser, email)
	}
	return e, nil
}

// ValidateStaffUser checks a new user's email, role and programme: pos and
// merchant users belong to exactly one programme, an admin to none.
func ValidateStaffUser(u StaffUser) error {
	if _, err := NormalizeStaffEmail(u.Email); err != nil {
		return err
	}
	if !ValidRole(u.Role) {
		return fmt.Errorf("%w: role %q must be pos, merchant or admin", ErrBadStaffUser, u.Role)
	}
	if u.Role == RoleAdmin && u.Program != "" {
		return fmt.Errorf("%w: an admin sees every programme; leave the programme out", ErrBadStaffUser)
	}
	if u.Role != RoleAdmin && u.Program == "" {
		return fmt.Errorf("%w: a %s user needs a programme", ErrBadStaffUser, u.Role)
	}
	return nil
}

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams are OWASP's recommended minimum for argon2id
// (19 MiB, two passes, one lane): a sign-in costs tens of milliseconds.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
)

// HashPassword hashes p with argon2id, a fresh random salt and params, as a
// PHC string that carries the parameters, so they can rise later without
// breaking stored hashes.
func HashPassword(p string, params PasswordParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("draw salt: %w", err)
	}
	sum := argon2.IDKey([]byte(p), salt, params.Time, params.Memory, params.Threads, hashLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, params.Memory, params.Time, params.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// maxPasswordMemory bounds the memory a stored hash may ask for (1 GiB),
// so a corrupt row cannot exhaust the server.
const maxPasswordMemory = 1 << 20

// ParsePasswordHash reads a PHC string made by HashPassword.
func ParsePasswordHash(phc string) (params PasswordParams, salt, sum []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return params, nil, nil, ErrBadPasswordHash
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &params.Memory, &params.Time, &threads); err != nil || n != 3 ||
		params.Memory == 0 || params.Memory > maxPasswordMemory || params.Time == 0 || params.Time > 100 || threads == 0 || threads > 255 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", params.Memory, params.Time, threads) != parts[3] {
		return PasswordParams{}, nil, nil, ErrBadPasswordHash
	}
	params.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return PasswordParams{}, nil, nil, ErrBadPasswordHash
	}
	if sum, err = b64.DecodeString(parts[5]); err != nil || len(sum) < 16 {
		return PasswordParams{}, nil, nil, ErrBadPasswordHash
	}
	return params, salt, sum, nil
}

// CheckPassword reports whether p matches the PHC string phc, comparing
// in constant time. A malformed phc is an error.
func CheckPassword(phc, p string) (bool, error) {
	params, salt, sum, err := ParsePasswordHash(phc)
	if err != nil {
		return false, err
	}
	if len(p) > MaxPasswordBytes {
		return false, nil
	}
	got := argon2.IDKey([]byte(p), salt, params.Time, params.Memory, params.Threads, uint32(len(sum)))
	return subtle.ConstantTimeCompare(got, sum) == 1, nil
}

// NewStaffToken draws a secret for a session cookie or a set-password
// link: 256 random bits, URL-safe. Only HashKey(token) is stored.
func NewStaffToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewStaffUserID draws a staff user's id: "usr_" and 16 random hex digits.
func NewStaffUserID() string {
	return "usr_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
}

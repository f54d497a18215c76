package loyalty

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
)

// Roles of API keys and staff; each includes the ones before it.
const (
	RolePOS      = "pos"
	RoleMerchant = "merchant"
	RoleAdmin    = "admin"
)

var roleRank = map[string]int{RolePOS: 1, RoleMerchant: 2, RoleAdmin: 3}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// RoleIncludes reports whether holding role has grants everything want
// allows (roles nest: admin > merchant > pos).
func RoleIncludes(has, want string) bool { return roleRank[has] >= roleRank[want] }

// HashKey is how API keys are stored: the hex SHA-256 of the whole key.
// Keys carry 200 random bits, so a plain hash is enough (no password
// stretching is needed for a secret that cannot be guessed).
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// keyPrefix starts every key passd issues, so leaked keys are easy to find
// with secret scanners.
const keyPrefix = "passd_"

// NewKey draws a new API key.
func NewKey() (string, error) {
	var b [25]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw api key: %w", err)
	}
	return keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// KeyCreator stores API keys.
type KeyCreator interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
}

// CreateKey stores a new API key and returns it; the key itself is shown
// once and only its hash is kept.
func CreateKey(ctx context.Context, st KeyCreator, role, program string, now time.Time) (string, APIKey, error) {
	if !ValidRole(role) {
		return "", APIKey{}, fmt.Errorf("role %q: must be pos, merchant or admin", role)
	}
	key, err := NewKey()
	if err != nil {
		return "", APIKey{}, err
	}
	k := APIKey{ID: "key_" + uuid.NewString()[:8] + uuid.NewString()[:4], Hash: HashKey(key), Role: role, Program: program, CreatedAt: now.UTC()}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", APIKey{}, fmt.Errorf("store api key: %w", err)
	}
	return key, k, nil
}

// ValidateKeyRequest checks a new API key's role and programme (one that
// known says exists, when set), naming each invalid field: the one check
// of the API's POST /apikeys and the console's key form.
func ValidateKeyRequest(role, program string, known func(program string) bool) error {
	v := &balances.ValidationError{}
	if !ValidRole(role) {
		v.Add("role", "must be pos, merchant or admin")
	}
	if program != "" && !known(program) {
		v.Add("program", "no such program")
	}
	return v.Err()
}

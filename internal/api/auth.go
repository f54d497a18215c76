package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/passd/passd/internal/store"
)

// Principal is the authenticated caller of a JSON API request.
type Principal struct {
	KeyID   string
	Role    string
	Program string // empty: every program
}

var roleRank = map[string]int{store.RolePOS: 1, store.RoleMerchant: 2, store.RoleAdmin: 3}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// Allows reports whether the principal's role includes role.
func (p Principal) Allows(role string) bool { return roleRank[p.Role] >= roleRank[role] }

// CanSee reports whether the principal may act on the given program.
func (p Principal) CanSee(program string) bool { return p.Program == "" || p.Program == program }

type principalKey struct{}

func principalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

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

// authenticate resolves the bearer key of r.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if h == "" {
		return Principal{}, problem(http.StatusUnauthorized, CodeUnauthorized, "send an API key as 'Authorization: Bearer <key>'")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return Principal{}, problem(http.StatusUnauthorized, CodeUnauthorized, "the Authorization header must be 'Bearer <key>'")
	}
	key = strings.TrimSpace(key)
	if s.bootstrapHash != "" && subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(s.bootstrapHash)) == 1 {
		return Principal{KeyID: "bootstrap", Role: store.RoleAdmin}, nil
	}
	k, err := s.store.APIKeyByHash(r.Context(), HashKey(key))
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
		return Principal{}, problem(http.StatusUnauthorized, CodeUnauthorized, "unknown or revoked API key")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up api key: %w", err)
	}
	return Principal{KeyID: k.ID, Role: k.Role, Program: k.Program}, nil
}

// requireAuth authenticates every request of the JSON API.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authorize checks the caller's role and program scope.
func authorize(ctx context.Context, role, program string) error {
	p, ok := principalFrom(ctx)
	if !ok {
		return problem(http.StatusUnauthorized, CodeUnauthorized, "no API key")
	}
	if !p.Allows(role) {
		return problem(http.StatusForbidden, CodeForbidden, fmt.Sprintf("this needs the %s role; the key has %s", role, p.Role))
	}
	if program != "" && !p.CanSee(program) {
		return problem(http.StatusForbidden, CodeForbidden, "the key is scoped to another program")
	}
	return nil
}

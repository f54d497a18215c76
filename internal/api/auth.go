package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// Principal is the authenticated caller of a JSON API request.
type Principal struct {
	KeyID   string
	Role    string
	Program string // empty: every program
}

// Allows reports whether the principal's role includes role.
func (p Principal) Allows(role string) bool { return loyalty.RoleIncludes(p.Role, role) }

// CanSee reports whether the principal may act on the given program.
func (p Principal) CanSee(program string) bool { return p.Program == "" || p.Program == program }

type principalKey struct{}

func principalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authenticate resolves the bearer key of r.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if h == "" {
		return Principal{}, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "send an API key as 'Authorization: Bearer <key>'")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return Principal{}, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "the Authorization header must be 'Bearer <key>'")
	}
	key = strings.TrimSpace(key)
	if s.bootstrapHash != "" && subtle.ConstantTimeCompare([]byte(loyalty.HashKey(key)), []byte(s.bootstrapHash)) == 1 {
		return Principal{KeyID: "bootstrap", Role: loyalty.RoleAdmin}, nil
	}
	k, err := s.Store.APIKeyByHash(r.Context(), loyalty.HashKey(key))
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
		return Principal{}, problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "unknown or revoked API key")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up api key: %w", err)
	}
	s.touchKey(r.Context(), k.ID)
	return Principal{KeyID: k.ID, Role: k.Role, Program: k.Program}, nil
}

// requireAuth authenticates every request of the JSON API. Failed
// attempts (401s) are limited per client address: above the limit the
// address is answered 429 before its key is looked at.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.throttledAuthenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// throttledAuthenticate is authenticate under the failed-attempt limit
// of the client address.
func (s *Server) throttledAuthenticate(r *http.Request) (Principal, error) {
	if s.authFails == nil {
		return s.authenticate(r)
	}
	addr := clientaddr.Key(s.ClientAddr.Addr(r))
	ok, wait, err := s.authFails.Take(r.Context(), addr)
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, rateLimited("too many failed API-key attempts from this address; retry after the Retry-After delay", wait)
	}
	p, err := s.authenticate(r)
	if err == nil || problem.From(err).Status != http.StatusUnauthorized {
		s.authFails.Refund(addr)
		return p, err
	}
	if ferr := s.authFails.Failed(r.Context(), addr); ferr != nil {
		s.Logger.WarnContext(r.Context(), "count a failed API-key attempt", "request_id", problem.RequestID(r), "err", ferr)
	}
	return p, err
}

// authorize checks the caller's role and program scope.
func authorize(ctx context.Context, role, program string) error {
	p, ok := principalFrom(ctx)
	if !ok {
		return problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "no API key")
	}
	if !p.Allows(role) {
		return problem.New(http.StatusForbidden, problem.CodeForbidden, fmt.Sprintf("this needs the %s role; the key has %s", role, p.Role))
	}
	if program != "" && !p.CanSee(program) {
		return problem.New(http.StatusForbidden, problem.CodeForbidden, "the key is scoped to another program")
	}
	return nil
}

package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// APIKeyJSON is an API key as the API lists it: never the key, never its
// hash.
type APIKeyJSON struct {
	ID         string     `json:"id"`
	Role       string     `json:"role"`
	Program    string     `json:"program"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// APIKeyView renders a stored key for lists (the API and passctl).
func APIKeyView(k loyalty.APIKey) APIKeyJSON {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return APIKeyJSON{ID: k.ID, Role: k.Role, Program: k.Program, CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: utc(k.LastUsedAt), RevokedAt: utc(k.RevokedAt)}
}

// listAPIKeys answers every key the caller may see: all of them, or a
// program-scoped admin's own program's.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleAdmin, ""); err != nil {
		return err
	}
	p, _ := principalFrom(r.Context())
	keys, err := s.Store.APIKeys(r.Context())
	if err != nil {
		return err
	}
	items := make([]APIKeyJSON, 0, len(keys))
	for _, k := range keys {
		if p.Program == "" || k.Program == p.Program {
			items = append(items, APIKeyView(k))
		}
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// revokeAPIKey revokes a key at once: every request authenticates against
// the database, so the key answers 401 on every instance from the next
// request on. A key the caller may not see is 404, like an unknown one.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleAdmin, ""); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	p, _ := principalFrom(r.Context())
	if p.Program != "" {
		keys, err := s.Store.APIKeys(r.Context())
		if err != nil {
			return err
		}
		if !scopedKeyExists(keys, id, p.Program) {
			return problem.New(http.StatusNotFound, problem.CodeNotFound, "no such API key")
		}
	}
	err := s.Store.RevokeAPIKey(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, problem.CodeNotFound, "no such API key")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func scopedKeyExists(keys []loyalty.APIKey, id, program string) bool {
	for _, k := range keys {
		if k.ID == id && k.Program == program {
			return true
		}
	}
	return false
}

// keyUses keeps, per key, when this process last recorded the key's use,
// so that a busy key costs the database one write a minute, not one per
// request (the store keeps the same rule across instances).
type keyUses struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether key id's use at now should be recorded, and notes it.
func (u *keyUses) due(id string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if at, ok := u.last[id]; ok && now.Sub(at) < time.Minute && !now.Before(at) {
		return false
	}
	u.last[id] = now
	return true
}

// touchKey records the key's use at most once a minute. A failure to
// record it never fails the request; it is logged.
func (s *Server) touchKey(ctx context.Context, id string) {
	now := s.Now()
	if !s.keyUses.due(id, now) {
		return
	}
	if err := s.Store.TouchAPIKey(ctx, id, now); err != nil && ctx.Err() == nil {
		s.Logger.WarnContext(ctx, "record api key use", "key_id", id, "err", err)
	}
}

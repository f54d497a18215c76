package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
)

// StaffKeyPrefix begins the key id under which a console staff user's
// requests are counted (the failed-scan limiter), beside the API keys' ids.
const StaffKeyPrefix = "staff:"

// newStaffRouter answers the JSON API's routes without the bearer-key
// check, for callers that authenticated elsewhere (Staff).
func (s *Server) newStaffRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(limitBody)
	s.routes(r)
	return r
}

// Staff answers a handler of the JSON API's routes acting as the console's
// signed-in staff user u, with u's role and programme as an API key of
// that role and programme would have them. The console checks the session
// and the CSRF token, then hands its request on here, so the staff scanner
// runs exactly the code a till's API key runs (validation, idempotency,
// the failed-scan limiter, problem answers) and re-implements no rule.
// Paths are the API's, without /api/v1.
func (s *Server) Staff(u loyalty.StaffUser) http.Handler {
	p := Principal{KeyID: StaffKeyPrefix + u.ID, Role: u.Role, Program: u.Program}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A fresh routing: the console's own route context stays behind.
		ctx := context.WithValue(r.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
		s.staff.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey{}, p)))
	})
}

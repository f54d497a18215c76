// Package api serves passd's JSON API under /api/v1: programmes,
// enrolment, members, the points ledger, campaigns, merchant messages,
// exports and erasure, and API keys.
// Routes are declared in routes; errors of every handler go through fail,
// which maps them to RFC 9457 problem+json answers.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/ratelimit"
	"github.com/passd/passd/internal/surface"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Config holds the Server's dependencies.
type Config struct {
	// Deps are what every surface that shows a member needs; Store,
	// Programs, Links and Secret are required.
	surface.Deps
	// BootstrapAdminKey, when set, is an admin key that exists while configured.
	BootstrapAdminKey string
	// ScanFailureLimit bounds failed scans per API key; zero takes
	// DefaultScanFailureLimit.
	ScanFailureLimit RateLimit
	// AuthFailureLimit bounds failed API-key attempts (401s) per client
	// address; the zero Limit is off.
	AuthFailureLimit RateLimit
	// ProgramEditor changes programmes (POST, PATCH, image PUT); without
	// it those answer 500 and programmes are read-only.
	ProgramEditor ProgramEditor
	// WebhookAllowHTTP lets webhook endpoints use plain http to loopback
	// and private addresses (PASSD_WEBHOOK_ALLOW_HTTP).
	WebhookAllowHTTP bool
}

// Server is the JSON API.
type Server struct {
	surface.Deps
	bootstrapHash string
	scans         *ratelimit.Failures
	authFails     *ratelimit.Failures // nil: off
	keyUses       *keyUses
	programEditor ProgramEditor
	staff         http.Handler // the routes for Staff
	// webhookAllowHTTP is Config.WebhookAllowHTTP.
	webhookAllowHTTP bool
}

// New returns the JSON API server.
func New(cfg Config) (*Server, error) {
	deps, err := surface.Complete("api", cfg.Deps)
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: deps, programEditor: cfg.ProgramEditor, webhookAllowHTTP: cfg.WebhookAllowHTTP}
	scanLimit := cfg.ScanFailureLimit
	if !scanLimit.Valid() {
		scanLimit = DefaultScanFailureLimit
	}
	s.scans = ratelimit.NewFailures(deps.Store, "scan-fail", scanLimit, deps.Now)
	if cfg.AuthFailureLimit.Valid() {
		s.authFails = ratelimit.NewFailures(deps.Store, "auth-fail", cfg.AuthFailureLimit, deps.Now)
	}
	s.keyUses = &keyUses{last: map[string]time.Time{}}
	s.staff = s.newStaffRouter()
	if cfg.BootstrapAdminKey != "" {
		s.bootstrapHash = loyalty.HashKey(cfg.BootstrapAdminKey)
	}
	return s, nil
}

// Handler answers the JSON API; mount it at /api/v1.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, problem.New(http.StatusNotFound, problem.CodeNotFound, "no such endpoint"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, r.Method+" is not allowed here"))
	})
	r.Use(limitBody)
	r.Group(func(r chi.Router) {
		r.Use(s.requireAuth)
		s.routes(r)
	})
	return r
}

// routes declares every JSON API route.
func (s *Server) routes(r chi.Router) {
	r.Post("/programs/{program}/members", s.handle(s.enroll))
	r.Get("/programs/{program}/members", s.handle(s.searchMembers))
	r.Post("/programs/{program}/messages", s.handle(s.postMessage))
	r.Get("/members/{id}", s.handle(s.getMember))
	r.Patch("/members/{id}", s.handle(s.patchMember))
	r.Delete("/members/{id}", s.handle(s.eraseMember))
	r.Post("/members/{id}/transactions", s.handle(s.postTransaction))
	r.Get("/members/{id}/transactions", s.handle(s.listTransactions))
	r.Post("/members/{id}/refresh", s.handle(s.refreshMember))
	r.Post("/members/{id}/messages", s.handle(s.postMemberMessage))
	r.Get("/members/{id}/export", s.handle(s.exportMember))
	r.Post("/apikeys", s.handle(s.createAPIKey))
	r.Get("/apikeys", s.handle(s.listAPIKeys))
	r.Delete("/apikeys/{id}", s.handle(s.revokeAPIKey))
	r.Post("/pos/scan", s.handle(s.scan))
	r.Get("/members/{id}/barcode.png", s.handle(s.barcodePNG))
	r.Get("/programs", s.handle(s.listPrograms))
	r.Post("/programs", s.handle(s.createProgram))
	r.Get("/programs/{program}", s.handle(s.getProgram))
	r.Patch("/programs/{program}", s.handle(s.patchProgram))
	r.Put("/programs/{program}/images/{name}", s.handle(s.putProgramImage))
	r.Post("/programs/{program}/rewards", s.handle(s.createReward))
	r.Get("/programs/{program}/rewards", s.handle(s.listRewards))
	r.Patch("/rewards/{id}", s.handle(s.patchReward))
	r.Post("/members/{id}/redemptions", s.handle(s.redeemReward))
	r.Get("/members/{id}/vouchers", s.handle(s.listVouchers))
	r.Post("/vouchers/{code}/use", s.handle(s.useVoucher))
	r.Post("/programs/{program}/campaigns", s.handle(s.createCampaign))
	r.Get("/programs/{program}/campaigns", s.handle(s.listCampaigns))
	r.Get("/campaigns/{id}", s.handle(s.getCampaign))
	r.Patch("/campaigns/{id}", s.handle(s.patchCampaign))
	r.Delete("/campaigns/{id}", s.handle(s.endCampaign))
	r.Post("/webhooks", s.handle(s.createWebhook))
	r.Get("/webhooks", s.handle(s.listWebhooks))
	r.Get("/webhooks/{id}", s.handle(s.getWebhook))
	r.Delete("/webhooks/{id}", s.handle(s.deleteWebhook))
	r.Get("/webhooks/{id}/deliveries", s.handle(s.listWebhookDeliveries))
	r.Get("/programs/{program}/stats", s.handle(s.programStats))
}

// handle adapts a handler that returns an error.
func (s *Server) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A path segment that is no text of passd's (a NUL, bytes that are
		// not UTF-8) names nothing: it never reaches the store.
		if rc := chi.RouteContext(r.Context()); rc != nil {
			for _, v := range rc.URLParams.Values {
				if !balances.ValidText(v, false) {
					s.fail(w, r, problem.New(http.StatusNotFound, problem.CodeNotFound, "no such resource"))
					return
				}
			}
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, s.Logger, err)
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// decode reads a JSON body into v, strictly: unknown fields, trailing data
// and wrong types are malformed_json, an oversized body is body_too_large.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem.New(http.StatusUnsupportedMediaType, problem.CodeUnsupportedMediaType, "send the body as application/json")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body holds more than one JSON value")
	}
	return nil
}

// decodeObject reads a JSON object body (a merge patch) member by member;
// anything but an object is malformed_json.
func decodeObject(r *http.Request) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := decode(r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body must be a JSON object")
	}
	return raw, nil
}

func malformed(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body must be a JSON object")
		}
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, fmt.Sprintf("field %q must be a JSON %s", field, jsonKind(te.Type.Kind().String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, strings.TrimPrefix(err.Error(), "json: ")+" is not accepted here")
	}
	return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "integer"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice":
		return "array"
	}
	return goKind
}

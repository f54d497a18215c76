package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/member"
	"github.com/passd/passd/internal/program"
	"github.com/passd/passd/internal/store"
)

// Problem is an RFC 9457 problem detail with passd's stable code.
type Problem struct {
	Type     string                `json:"type"`
	Title    string                `json:"title"`
	Status   int                   `json:"status"`
	Detail   string                `json:"detail,omitempty"`
	Code     string                `json:"code"`
	Instance string                `json:"instance,omitempty"`
	Errors   []balances.FieldError `json:"errors,omitempty"`

	retryAfter int
}

// Error makes a Problem usable as an error that handlers return.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Stable problem codes of the JSON API.
const (
	CodeMalformedJSON          = "malformed_json"
	CodeIdempotencyKeyRequired = "idempotency_key_required"
	CodeUnauthorized           = "unauthorized"
	CodeForbidden              = "forbidden"
	CodeNotFound               = "not_found"
	CodeIdempotencyConflict    = "idempotency_conflict"
	CodeRequestInProgress      = "request_in_progress"
	CodeInsufficientPoints     = "insufficient_points"
	CodeBodyTooLarge           = "body_too_large"
	CodeValidationFailed       = "validation_failed"
	CodeInvalidBarcode         = "invalid_barcode"
	CodeRateLimited            = "rate_limited"
	CodeMethodNotAllowed       = "method_not_allowed"
	CodeUnsupportedMediaType   = "unsupported_media_type"
	CodeInternal               = "internal"
)

var titles = map[string]string{
	CodeMalformedJSON:          "Malformed JSON",
	CodeIdempotencyKeyRequired: "Idempotency-Key required",
	CodeUnauthorized:           "Unauthorized",
	CodeForbidden:              "Forbidden",
	CodeNotFound:               "Not found",
	CodeIdempotencyConflict:    "Idempotency key reused",
	CodeRequestInProgress:      "Request in progress",
	CodeInsufficientPoints:     "Insufficient points",
	CodeBodyTooLarge:           "Body too large",
	CodeValidationFailed:       "Validation failed",
	CodeInvalidBarcode:         "Invalid barcode",
	CodeRateLimited:            "Rate limited",
	CodeMethodNotAllowed:       "Method not allowed",
	CodeUnsupportedMediaType:   "Unsupported media type",
	CodeInternal:               "Internal server error",
}

// problem builds a Problem for a code.
func problem(status int, code, detail string) *Problem {
	return &Problem{Type: "https://passd.dev/problems/" + code, Title: titles[code], Status: status, Code: code, Detail: detail}
}

// toProblem maps any error to its problem; this is the one place where
// domain errors meet HTTP statuses.
func toProblem(err error) *Problem {
	var p *Problem
	var ve *balances.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &mbe):
		return problem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than 1 MiB")
	case errors.As(err, &ve):
		p := problem(http.StatusUnprocessableEntity, CodeValidationFailed, ve.Error())
		p.Errors = ve.Fields
		return p
	case errors.Is(err, member.ErrNotFound), errors.Is(err, program.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, CodeNotFound, notFoundDetail(err))
	case errors.Is(err, member.ErrInvalidBarcode):
		return problem(http.StatusUnprocessableEntity, CodeInvalidBarcode, "the barcode does not verify: it was mistyped, damaged or forged")
	case errors.Is(err, balances.ErrInsufficientPoints):
		return problem(http.StatusConflict, CodeInsufficientPoints, err.Error())
	case errors.Is(err, balances.ErrIdempotencyConflict):
		return problem(http.StatusConflict, CodeIdempotencyConflict, "this Idempotency-Key was already used with a different request body")
	case errors.Is(err, balances.ErrRequestInProgress):
		p := problem(http.StatusConflict, CodeRequestInProgress, "another request for this member is still running; retry shortly")
		p.retryAfter = 1
		return p
	case errors.Is(err, store.ErrBadCursor):
		p := problem(http.StatusUnprocessableEntity, CodeValidationFailed, "cursor: is not a cursor this API returned")
		p.Errors = []balances.FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}}
		return p
	}
	return problem(http.StatusInternalServerError, CodeInternal, "an unexpected error occurred; it was logged")
}

func notFoundDetail(err error) string {
	switch {
	case errors.Is(err, program.ErrNotFound):
		return "no such program"
	case errors.Is(err, member.ErrNotFound):
		return "no such member"
	}
	return "not found"
}

// writeError answers err as problem+json. Unknown errors are logged with the
// request id and answered as a generic 500.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer and nothing failed.
		log.DebugContext(r.Context(), "client went away", "request_id", middleware.GetReqID(r.Context()), "route", routePattern(r))
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p := toProblem(err)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", middleware.GetReqID(r.Context()), "method", r.Method, "route", routePattern(r), "err", err)
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Fail answers err as problem+json; the other HTTP surfaces (pass
// downloads, PassKit web service, pages) use it so that every error of
// passd has one shape.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// StatusProblem is an error answered with status, the stable code of that
// status and detail. A 500 keeps its detail out of the answer (it is logged).
func StatusProblem(status int, detail string) error {
	code := map[int]string{
		http.StatusBadRequest: CodeMalformedJSON, http.StatusUnauthorized: CodeUnauthorized,
		http.StatusForbidden: CodeForbidden, http.StatusNotFound: CodeNotFound,
		http.StatusRequestEntityTooLarge: CodeBodyTooLarge, http.StatusUnprocessableEntity: CodeValidationFailed,
		http.StatusTooManyRequests: CodeRateLimited, http.StatusMethodNotAllowed: CodeMethodNotAllowed,
	}[status]
	if code == "" || status >= 500 {
		return fmt.Errorf("%s", detail)
	}
	return problem(status, code, detail)
}

// Package problem is passd's one map from errors to HTTP answers: RFC 9457
// problem+json bodies with a stable code, shared by every HTTP surface (the
// JSON API, the pages, pass downloads, the PassKit web service and the
// server's own routes), and the request id and route pattern their logs
// carry. https://www.rfc-editor.org/rfc/rfc9457
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
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

	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

// Error makes a Problem usable as an error that handlers return.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Stable problem codes.
const (
	CodeMalformedJSON          = "malformed_json"
	CodeIdempotencyKeyRequired = "idempotency_key_required"
	CodeUnauthorized           = "unauthorized"
	CodeForbidden              = "forbidden"
	CodeNotFound               = "not_found"
	CodeIdempotencyConflict    = "idempotency_conflict"
	CodeRequestInProgress      = "request_in_progress"
	CodeInsufficientPoints     = "insufficient_points"
	CodeInsufficientCashback   = "insufficient_cashback"
	CodeExternalIDTaken        = "external_id_taken"
	CodeBodyTooLarge           = "body_too_large"
	CodeValidationFailed       = "validation_failed"
	CodeInvalidBarcode         = "invalid_barcode"
	CodeRateLimited            = "rate_limited"
	CodeMethodNotAllowed       = "method_not_allowed"
	CodeUnsupportedMediaType   = "unsupported_media_type"
	CodeInternal               = "internal"
	CodeVersionMismatch        = "version_mismatch"
	CodeInvalidImage           = "invalid_image"
	CodeTierRequired           = "tier_required"
	CodeRewardUnavailable      = "reward_unavailable"
	CodeVoucherUsed            = "voucher_used"
	CodeVoucherExpired         = "voucher_expired"
	CodeUnknownReferralCode    = "unknown_referral_code"
	CodeUnavailable            = "unavailable"
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
	CodeInsufficientCashback:   "Insufficient cashback",
	CodeExternalIDTaken:        "External id taken",
	CodeBodyTooLarge:           "Body too large",
	CodeValidationFailed:       "Validation failed",
	CodeInvalidBarcode:         "Invalid barcode",
	CodeRateLimited:            "Rate limited",
	CodeMethodNotAllowed:       "Method not allowed",
	CodeUnsupportedMediaType:   "Unsupported media type",
	CodeInternal:               "Internal server error",
	CodeVersionMismatch:        "Version mismatch",
	CodeInvalidImage:           "Invalid image",
	CodeTierRequired:           "Tier required",
	CodeRewardUnavailable:      "Reward unavailable",
	CodeVoucherUsed:            "Voucher used",
	CodeVoucherExpired:         "Voucher expired",
	CodeUnknownReferralCode:    "Unknown referral code",
	CodeUnavailable:            "Service unavailable",
}

// Codes lists every code passd answers, sorted.
func Codes() []string {
	codes := make([]string, 0, len(titles))
	for c := range titles {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// UnavailableRetryAfter is the Retry-After of a 503 unavailable, in
// seconds: a PostgreSQL restart or failover takes a few.
const UnavailableRetryAfter = 2

// Unavailable answers the Retry-After seconds of err when the map answers
// it 503 unavailable (the database out of reach for a moment), else 0.
// The surfaces that answer no problem+json (the pages, the PassKit web
// service) take their 503 from here.
func Unavailable(err error) int {
	if p := From(err); p.Status == http.StatusServiceUnavailable {
		return p.RetryAfter
	}
	return 0
}

// New builds a Problem for a code.
func New(status int, code, detail string) *Problem {
	return &Problem{Type: "https://passd.dev/problems/" + code, Title: titles[code], Status: status, Code: code, Detail: detail}
}

// From maps any error to its problem; this is the one place where domain
// errors meet HTTP statuses.
func From(err error) *Problem {
	var p *Problem
	var ve *balances.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &mbe):
		return New(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than 1 MiB")
	case errors.Is(err, loyalty.ErrMalformedJSON):
		return New(http.StatusBadRequest, CodeMalformedJSON, err.Error())
	case errors.Is(err, loyalty.ErrVersionMismatch):
		return New(http.StatusPreconditionFailed, CodeVersionMismatch, "the program changed since the version in If-Match; read it again and resend the change")
	case errors.Is(err, loyalty.ErrInvalidImage):
		return New(http.StatusUnprocessableEntity, CodeInvalidImage, err.Error())
	case errors.As(err, &ve):
		p := New(http.StatusUnprocessableEntity, CodeValidationFailed, ve.Error())
		p.Errors = ve.Fields
		return p
	case errors.Is(err, loyalty.ErrMemberNotFound), errors.Is(err, loyalty.ErrProgramNotFound), errors.Is(err, loyalty.ErrNotFound):
		return New(http.StatusNotFound, CodeNotFound, notFoundDetail(err))
	case errors.Is(err, loyalty.ErrInvalidBarcode):
		return New(http.StatusUnprocessableEntity, CodeInvalidBarcode, "the barcode does not verify: it was mistyped, damaged or forged")
	case errors.Is(err, loyalty.ErrExternalIDTaken):
		return New(http.StatusConflict, CodeExternalIDTaken, "another member of the program already has this external_id")
	case errors.Is(err, loyalty.ErrTierRequired):
		return New(http.StatusConflict, CodeTierRequired, "the member's tier is below the reward's min_tier; nothing was written")
	case errors.Is(err, loyalty.ErrRewardUnavailable):
		return New(http.StatusConflict, CodeRewardUnavailable, "the reward is not active (for a stamp card: the programme's reward is unknown or inactive); nothing was written")
	case errors.Is(err, loyalty.ErrVoucherUsed):
		return New(http.StatusConflict, CodeVoucherUsed, "the voucher was used already")
	case errors.Is(err, loyalty.ErrVoucherExpired):
		return New(http.StatusConflict, CodeVoucherExpired, "the voucher is past its expires_at")
	case errors.Is(err, loyalty.ErrUnknownReferralCode):
		p := New(http.StatusUnprocessableEntity, CodeUnknownReferralCode, "no member of the program has this referral_code")
		p.Errors = []balances.FieldError{{Field: "referral_code", Message: "is no member's referral code in this program"}}
		return p
	case errors.Is(err, balances.ErrInsufficientPoints):
		return New(http.StatusConflict, CodeInsufficientPoints, err.Error())
	case errors.Is(err, balances.ErrInsufficientCashback):
		return New(http.StatusConflict, CodeInsufficientCashback, err.Error()+"; nothing was written")
	case errors.Is(err, balances.ErrIdempotencyConflict):
		return New(http.StatusConflict, CodeIdempotencyConflict, "this Idempotency-Key was already used with a different request body")
	case errors.Is(err, balances.ErrRequestInProgress):
		p := New(http.StatusConflict, CodeRequestInProgress, "another request for this member is still running; retry shortly")
		p.RetryAfter = 1
		return p
	case errors.Is(err, loyalty.ErrUnavailable):
		p := New(http.StatusServiceUnavailable, CodeUnavailable,
			"the database is out of reach for a moment; retry shortly, a write with the same Idempotency-Key (it is then applied once)")
		p.RetryAfter = UnavailableRetryAfter
		return p
	case errors.Is(err, loyalty.ErrBadCursor):
		p := New(http.StatusUnprocessableEntity, CodeValidationFailed, "cursor: is not a cursor this API returned")
		p.Errors = []balances.FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}}
		return p
	}
	return New(http.StatusInternalServerError, CodeInternal, "an unexpected error occurred; it was logged")
}

func notFoundDetail(err error) string {
	switch {
	case errors.Is(err, loyalty.ErrProgramNotFound):
		return "no such program"
	case errors.Is(err, loyalty.ErrMemberNotFound):
		return "no such member"
	}
	return "not found"
}

// Write answers err as problem+json. Unknown errors are logged with the
// request id and answered as a generic 500.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer and nothing failed.
		log.DebugContext(r.Context(), "client went away", "request_id", RequestID(r), "route", RoutePattern(r))
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p := From(err)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r), "method", r.Method, "route", RoutePattern(r), "err", err)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON answers v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Status is an error answered with status, the stable code of that status
// and detail. A 500 keeps its detail out of the answer (it is logged).
func Status(status int, detail string) error {
	code := map[int]string{
		http.StatusBadRequest: CodeMalformedJSON, http.StatusUnauthorized: CodeUnauthorized,
		http.StatusForbidden: CodeForbidden, http.StatusNotFound: CodeNotFound,
		http.StatusRequestEntityTooLarge: CodeBodyTooLarge, http.StatusUnprocessableEntity: CodeValidationFailed,
		http.StatusTooManyRequests: CodeRateLimited, http.StatusMethodNotAllowed: CodeMethodNotAllowed,
	}[status]
	if code == "" || status >= 500 {
		return fmt.Errorf("%s", detail)
	}
	return New(status, code, detail)
}

// RoutePattern is the matched route, for logs (it holds no personal data,
// unlike the raw path or query).
func RoutePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// RequestID is the request's id (chi's RequestID middleware), for logs.
func RequestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }

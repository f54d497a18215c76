package googlewallet

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// Sentinel errors, compared with errors.Is. Errors returned by the Client
// also wrap the underlying *googleapi.Error when Google answered, so callers
// that need the status or message can use errors.As.
var (
	// ErrNotFound means Google answered 404: the class or object does not
	// exist (an object insert also gets it when its class is missing).
	ErrNotFound = errors.New("googlewallet: not found")
	// ErrConflict means Google answered 409: the id already exists.
	ErrConflict = errors.New("googlewallet: already exists")
	// ErrPermissionDenied means Google answered 401 or 403, typically because
	// the service account was not invited as a user in the Pay & Wallet
	// Console or the issuer id is wrong.
	ErrPermissionDenied = errors.New("googlewallet: permission denied")
	// ErrInvalid means the input was rejected, either here before any call
	// or by Google with 400. Retrying the same input will not help.
	ErrInvalid = errors.New("googlewallet: invalid input")
	// ErrSaveURLTooLong means a save link would exceed MaxSaveURLLength.
	ErrSaveURLTooLong = errors.New("googlewallet: save url too long")
)

// statusError attaches a sentinel to a Google API error while keeping the
// original error reachable with errors.As.
type statusError struct {
	sentinel error
	err      error
}

func (e *statusError) Error() string   { return e.err.Error() }
func (e *statusError) Unwrap() []error { return []error{e.sentinel, e.err} }

// classify maps Google's status codes to this package's sentinels.
func classify(err error) error {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return err
	}
	var s error
	switch gerr.Code {
	case http.StatusNotFound:
		s = ErrNotFound
	case http.StatusConflict:
		s = ErrConflict
	case http.StatusUnauthorized, http.StatusForbidden:
		s = ErrPermissionDenied
	case http.StatusBadRequest:
		s = ErrInvalid
	default:
		return err
	}
	return &statusError{sentinel: s, err: err}
}

// IsRetryable reports whether err is worth retrying later: Google answered
// 408, 429 or 5xx (the API or the token endpoint), or the request failed in
// transport (connection refused or reset, timeout, truncated answer). It is
// false for nil, for context cancellation or deadline (the caller stopped),
// for TLS certificate failures and for the sentinels other than those
// statuses. Errors returned after the Client used up its attempts keep their
// classification, so a sync engine can schedule the card again.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return retryableStatus(gerr.Code)
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		return rerr.Response != nil && retryableStatus(rerr.Response.StatusCode)
	}
	var cerr *tls.CertificateVerificationError
	if errors.As(err, &cerr) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// statusOf returns the HTTP status of a Google answer in err, or 0.
func statusOf(err error) int {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.Response != nil {
		return rerr.Response.StatusCode
	}
	return 0
}

// Throttled reports Google's 429: the issuer's API quota is used up, so
// every call, not only this one, should wait.
func Throttled(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// RetryAfter answers the wait Google asked for in a Retry-After header
// (in seconds) of the answer in err; 0 when it asked none.
func RetryAfter(err error) time.Duration { return retryAfter(err) }

package apns

import (
	"log/slog"
	"time"
)

// Outcome is what a push's answer means for the caller.
type Outcome int

// The outcomes of a push. The zero Outcome is never returned.
const (
	// Delivered: APNs accepted the push (200). That is no proof the pass
	// updated; the device's follow-up web service calls are.
	Delivered Outcome = iota + 1
	// Unregistered: the token is dead (410 Unregistered or ExpiredToken,
	// 400 BadDeviceToken, or a token that is not hex). Delete the
	// registrations that use it, except those renewed after
	// Result.Timestamp.
	Unregistered
	// Retry: a transient failure (429, 5xx, 400 IdleTimeout, a timeout or
	// network error). Keep the registration and try again later with
	// backoff, after Result.RetryAfter when set.
	Retry
	// CertificateProblem: our credentials or configuration are at fault,
	// not the token: 403 (BadCertificate, BadCertificateEnvironment,
	// Forbidden, provider token errors), 400 DeviceTokenNotForTopic or a
	// topic error, a TLS handshake refused over a certificate, or a
	// server that is not HTTP/2. Every push fails alike: alert an
	// operator loudly, keep the registrations and retry slowly.
	CertificateProblem
	// Permanent: APNs refused this request for good (another 4xx such as
	// 413 PayloadTooLarge or 405). Do not retry it unchanged; keep the
	// registration.
	Permanent
)

// String names the outcome in logs.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Unregistered:
		return "unregistered"
	case Retry:
		return "retry"
	case CertificateProblem:
		return "certificate_problem"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Result is what became of one push.
type Result struct {
	// Token is the push token the result is for. Log it only through
	// Redact (LogValue does).
	Token string
	// Status is the HTTP status APNs answered, 0 when there was no answer.
	Status int
	// Reason is APNs's error reason ("BadDeviceToken", "Unregistered"...),
	// empty on success or without an answer.
	Reason string
	// Outcome classifies the answer.
	Outcome Outcome
	// RetryAfter is the server's Retry-After, 0 when it sent none.
	RetryAfter time.Duration
	// Timestamp is when APNs last knew the token to be invalid, sent
	// with 410 only; a registration renewed after it is still good.
	Timestamp time.Time
	// ID is the apns-id APNs assigned the push, for Apple's delivery logs.
	ID string
	// Err is nil when Delivered and says what went wrong otherwise. It
	// wraps ErrRejected, ErrInvalidToken, ErrNotHTTP2, ErrTLSCredentials
	// or the transport's error.
	Err error
}

// LogValue lets slog print a result without the full push token.
func (r Result) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("push_token", Redact(r.Token)),
		slog.String("outcome", r.Outcome.String()),
	}
	if r.Status != 0 {
		attrs = append(attrs, slog.Int("status", r.Status))
	}
	if r.Reason != "" {
		attrs = append(attrs, slog.String("reason", r.Reason))
	}
	if r.RetryAfter > 0 {
		attrs = append(attrs, slog.Duration("retry_after", r.RetryAfter))
	}
	if !r.Timestamp.IsZero() {
		attrs = append(attrs, slog.Time("invalid_since", r.Timestamp))
	}
	if r.Err != nil {
		attrs = append(attrs, slog.String("err", r.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Backoff bounds for RetryDelay.
const (
	retryBase = time.Second
	retryMax  = 5 * time.Minute
	certBase  = 5 * time.Minute
	certMax   = time.Hour
)

// RetryDelay suggests how long to wait before retry number attempt (0 for
// the first retry): the server's Retry-After when given, else exponential
// backoff from 1s up to 5min for Retry, and from 5min up to 1h for
// CertificateProblem. It is 0 for outcomes that must not be retried.
// Callers that retry many tokens at once should add jitter.
func (r Result) RetryDelay(attempt int) time.Duration {
	var base, ceiling time.Duration
	switch r.Outcome {
	case Retry:
		base, ceiling = retryBase, retryMax
	case CertificateProblem:
		base, ceiling = certBase, certMax
	default:
		return 0
	}
	if r.RetryAfter > 0 {
		return r.RetryAfter
	}
	d := base
	for i := 0; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

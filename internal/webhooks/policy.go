package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/store"
)

// schedule is the wait before each retry: the first after 5 seconds, then
// longer, then every 4 hours until RetryWindow has passed.
var schedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
}

// Backoff is the wait after a delivery's attempts-th failed attempt.
func Backoff(attempts int) time.Duration {
	return schedule[min(max(attempts, 1), len(schedule))-1]
}

// Decide answers what becomes of a delivery after its attempts-th attempt,
// at now: status is the receiver's answer (0 when none came; err then
// says why), retryAfter its Retry-After header, created the event's time.
//
//   - 2xx: delivered.
//   - 410 Gone: failed, and the endpoint is disabled.
//   - no answer (timeout, connection error), 5xx or 429: retried after
//     Backoff(attempts), or after Retry-After when the receiver gave one,
//     while that is within RetryWindow of the event; failed after.
//   - anything else (3xx, other 4xx): failed; a retry would get the same.
func Decide(status int, err error, retryAfter string, created time.Time, attempts int, now time.Time) store.WebhookOutcome {
	switch {
	case err == nil && status >= 200 && status < 300:
		return store.WebhookOutcome{State: store.WebhookDelivered}
	case err == nil && status == http.StatusGone:
		return store.WebhookOutcome{State: store.WebhookFailed, DisableEndpoint: "the receiver answered 410 Gone"}
	case err != nil || status >= 500 || status == http.StatusTooManyRequests:
		wait := Backoff(attempts)
		if ra, ok := parseRetryAfter(retryAfter, now); ok {
			wait = ra
		}
		at := now.Add(wait)
		if at.After(created.Add(RetryWindow)) {
			return store.WebhookOutcome{State: store.WebhookFailed}
		}
		return store.WebhookOutcome{State: store.WebhookPending, RetryAt: at}
	}
	return store.WebhookOutcome{State: store.WebhookFailed}
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date, as a wait from now (never negative).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		// Past the window is past the window, however far.
		return time.Duration(min(n, int64(RetryWindow/time.Second)+1)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

package googlewallet_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

func TestRetryThenSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	if err := e.c.InsertObject(t.Context(), testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	e.seen()
	e.fake.FailNext(http.StatusTooManyRequests, http.StatusServiceUnavailable)

	card := testCard("m-1")
	card.Points = 777
	if err := e.c.PatchObject(t.Context(), card); err != nil {
		t.Fatalf("PatchObject() after 429, 503 = %v, want success", err)
	}
	id := e.c.ObjectID("m-1")
	want := []string{"PATCH loyaltyObject/" + id, "PATCH loyaltyObject/" + id, "PATCH loyaltyObject/" + id}
	if got := methods(e.seen()); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	if got := dig(e.fake.Object(id), "loyaltyPoints", "balance", "int"); got != float64(777) {
		t.Errorf("balance = %v, want 777", got)
	}
	// Equal jitter: wait n lies in [min*2^(n-1)/2, min*2^(n-1)].
	d := e.sleeps.all()
	if len(d) != 2 {
		t.Fatalf("sleeps = %v, want 2", d)
	}
	for i, lo := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		if d[i] < lo || d[i] > 2*lo {
			t.Errorf("sleep %d = %v, want within [%v, %v]", i, d[i], lo, 2*lo)
		}
	}
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Errorf("no retry warning logged:\n%s", e.logs.String())
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // MaxAttempts 4, MaxBackoff 1s
	e.withClass(t)
	e.fake.FailNext(slices.Repeat([]int{http.StatusServiceUnavailable}, 10)...)

	err := e.c.InsertObject(t.Context(), testCard("m-1"))
	if err == nil {
		t.Fatal("InsertObject() = nil, want an error after repeated 503")
	}
	if !googlewallet.IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = false, want true", err)
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusServiceUnavailable {
		t.Errorf("InsertObject() = %v, want a 503 *googleapi.Error inside", err)
	}
	if n := len(e.seen()); n != 4 {
		t.Errorf("requests = %d, want 4 (MaxAttempts)", n)
	}
	d := e.sleeps.all()
	if len(d) != 3 {
		t.Errorf("sleeps = %v, want 3", d)
	}
	for _, x := range d {
		if x > time.Second {
			t.Errorf("sleep %v exceeds MaxBackoff 1s", x)
		}
	}
}

func TestRetryHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	e := newEnv(t, func(c *googlewallet.Config) {
		c.Sleep = func(ctx context.Context, _ time.Duration) error {
			cancel()
			return ctx.Err()
		}
	})
	e.withClass(t)
	e.fake.FailNext(http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	err := e.c.InsertObject(ctx, testCard("m-1"))
	if !errors.Is(err, context.Canceled) || googlewallet.IsRetryable(err) {
		t.Errorf("InsertObject(cancelled while waiting) = %v, want context.Canceled, not retryable", err)
	}
	if n := len(e.seen()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	for _, tc := range []struct {
		code int
		want error
	}{
		{http.StatusBadRequest, googlewallet.ErrInvalid},
		{http.StatusForbidden, googlewallet.ErrPermissionDenied},
	} {
		e.fake.FailNext(tc.code)
		err := e.c.InsertObject(t.Context(), testCard("m-1"))
		if !errors.Is(err, tc.want) || googlewallet.IsRetryable(err) {
			t.Errorf("InsertObject() after %d = %v, want %v, not retryable", tc.code, err, tc.want)
		}
		if n := len(e.seen()); n != 1 {
			t.Errorf("requests after %d = %d, want 1", tc.code, n)
		}
	}
}

func TestRetryTransportError(t *testing.T) {
	t.Parallel()
	// A server that is gone: the connection is refused on every attempt.
	e := newEnv(t, func(c *googlewallet.Config) { c.MaxAttempts = 2 })
	e.fake.Close()
	err := e.c.UpsertClass(t.Context(), testProgram())
	if err == nil || !googlewallet.IsRetryable(err) {
		t.Errorf("UpsertClass(server down) = %v, want a retryable error", err)
	}
	if n := len(e.sleeps.all()); n != 1 {
		t.Errorf("sleeps = %d, want 1", n)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	// Retry-After is honoured but capped at MaxBackoff (1s here).
	e := newEnv(t, nil)
	e.withClass(t)
	e.fake.FailNextRetryAfter(7*time.Second, http.StatusTooManyRequests)
	if err := e.c.InsertObject(t.Context(), testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	if d := e.sleeps.all(); len(d) != 1 || d[0] != time.Second {
		t.Errorf("sleeps = %v, want [1s]", d)
	}
}

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("sync member: %w", err) }
	tokenErr := func(code int) error {
		return &url.Error{Op: "Post", URL: "https://x/token", Err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: code}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"429", &googleapi.Error{Code: 429}, true},
		{"500", wrap(&googleapi.Error{Code: 500}), true},
		{"503", &googleapi.Error{Code: 503}, true},
		{"408", &googleapi.Error{Code: 408}, true},
		{"400", &googleapi.Error{Code: 400}, false},
		{"404", wrap(&googleapi.Error{Code: 404}), false},
		{"409", &googleapi.Error{Code: 409}, false},
		{"sentinel not found", googlewallet.ErrNotFound, false},
		{"canceled", wrap(context.Canceled), false},
		{"deadline in transport", &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded}, false},
		{"connection reset", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("read: connection reset by peer")}, true},
		{"unexpected EOF", wrap(io.ErrUnexpectedEOF), true},
		{"token endpoint 503", tokenErr(503), true},
		{"token endpoint 400", tokenErr(400), false},
		{"bad certificate", &url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: errors.New("unknown authority")}}, false},
		{"plain error", errors.New("boom"), false},
	}
	for _, tc := range tests {
		if got := googlewallet.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%s: %v) = %t, want %t", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestRetryRealSleep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *googlewallet.Config) {
		c.Sleep = nil // the Client's own timer
		c.MinBackoff = time.Millisecond
		c.MaxBackoff = 5 * time.Millisecond
	})
	if e.c.IssuerID() != wallettest.IssuerID || e.c.ClassID("demo") != classID {
		t.Errorf("IssuerID(), ClassID(demo) = %s, %s", e.c.IssuerID(), e.c.ClassID("demo"))
	}
	e.fake.FailNext(http.StatusServiceUnavailable, http.StatusInternalServerError)
	if err := e.c.UpsertClass(t.Context(), testProgram()); err != nil {
		t.Fatalf("UpsertClass() after 503, 500 = %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	slow := newEnv(t, func(c *googlewallet.Config) {
		c.Sleep = nil
		c.MinBackoff = time.Hour
		c.MaxBackoff = time.Hour
	})
	slow.fake.FailNext(http.StatusServiceUnavailable)
	start := time.Now()
	err := slow.c.UpsertClass(ctx, testProgram())
	if !errors.Is(err, context.DeadlineExceeded) || googlewallet.IsRetryable(err) {
		t.Errorf("UpsertClass(deadline during backoff) = %v, want DeadlineExceeded, not retryable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("UpsertClass() waited %v despite the deadline", d)
	}
}

// TestThrottleHoldsEveryCall: after a 429 with Retry-After: 3, the call
// that met it waits 3 s before its retry, and another call, which met no
// 429 itself, waits out the same hold before its first try: the quota is
// the issuer's. Without a 429 no call waits.
func TestThrottleHoldsEveryCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *googlewallet.Config) { c.MaxBackoff = 10 * time.Second })
	e.withClass(t)
	for _, m := range []string{"m-1", "m-2"} {
		if err := e.c.InsertObject(t.Context(), testCard(m)); err != nil {
			t.Fatal(err)
		}
	}
	if d := e.sleeps.all(); len(d) != 0 {
		t.Fatalf("sleeps without a 429 = %v, want none", d)
	}
	e.fake.FailNextRetryAfter(3*time.Second, http.StatusTooManyRequests)
	if err := e.c.PatchObject(t.Context(), testCard("m-1")); err != nil {
		t.Fatalf("PatchObject after a 429 = %v", err)
	}
	if err := e.c.PatchObject(t.Context(), testCard("m-2")); err != nil {
		t.Fatal(err)
	}
	// The test's clock stands still: the hold still runs for the second
	// call, which waits it once.
	if d := e.sleeps.all(); len(d) != 2 || d[0] != 3*time.Second || d[1] != 3*time.Second {
		t.Errorf("sleeps = %v, want the 3 s Retry-After for the retry and for the other call", d)
	}
}

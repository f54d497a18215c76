package googlewallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/api/googleapi"
)

// Retry defaults, used when the Config leaves the fields at zero.
const (
	// DefaultMaxAttempts is the default bound on tries per API call.
	DefaultMaxAttempts = 5
	// DefaultMinBackoff is the default wait before the first retry.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff is the default cap on any wait between tries.
	DefaultMaxBackoff = 30 * time.Second
)

// call runs fn until it succeeds, fails with an error that is not
// retryable, runs out of attempts or ctx ends. fn must build its request
// afresh on each call. The returned error names op and id and wraps the
// classified cause.
func (c *Client) call(ctx context.Context, op, id string, fn func(context.Context) error) error {
	// own is the end of the hold this call set, which its own backoff
	// already waited for.
	var own time.Time
	for attempt := 1; ; attempt++ {
		if err := c.waitHold(ctx, own); err != nil {
			return fmt.Errorf("googlewallet: %s %s: stopped while the quota was used up: %w", op, id, err)
		}
		if err := c.pace.wait(ctx); err != nil {
			return fmt.Errorf("googlewallet: %s %s: stopped while waiting for its turn: %w", op, id, err)
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		err = classify(err)
		if !IsRetryable(err) {
			return fmt.Errorf("googlewallet: %s %s: %w", op, id, err)
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("googlewallet: %s %s: giving up after %d attempts: %w", op, id, attempt, err)
		}
		d := c.backoff(attempt, err)
		if Throttled(err) {
			own = c.hold(d)
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "google wallet call failed, retrying",
			slog.String("op", op),
			slog.String("id", id),
			slog.Int("attempt", attempt),
			slog.Int("status", statusOf(err)),
			slog.Duration("delay", d),
			slog.String("error", err.Error()))
		if serr := c.sleep(ctx, d); serr != nil {
			return fmt.Errorf("googlewallet: %s %s: stopped while waiting to retry: %w (last error: %w)", op, id, serr, err)
		}
	}
}

// hold keeps every call of the client from starting for d: Google
// answered 429, and its quota is the issuer's, not one call's. It answers
// the end of the hold as it now stands.
func (c *Client) hold(d time.Duration) time.Time {
	until := c.now().Add(d)
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	if until.After(c.holdUntil) {
		c.holdUntil = until
	}
	return c.holdUntil
}

// waitHold waits until a hold is over, unless it ends no later than own
// (a hold the caller set and waited for already); it answers ctx's error
// if ctx ends first.
func (c *Client) waitHold(ctx context.Context, own time.Time) error {
	c.holdMu.Lock()
	until := c.holdUntil
	c.holdMu.Unlock()
	if !until.After(own) {
		return nil
	}
	wait := until.Sub(c.now())
	if wait <= 0 {
		return nil
	}
	return c.sleep(ctx, wait)
}

// backoff returns the wait before attempt+1: MinBackoff doubled per attempt,
// capped at MaxBackoff, with "equal jitter" (a random point in the upper half)
// so that many cards failing together do not retry in lockstep. A
// Retry-After header from Google, if any, is honoured up to MaxBackoff.
func (c *Client) backoff(attempt int, err error) time.Duration {
	d := c.maxBackoff
	if shift := attempt - 1; shift < 32 {
		if x := c.minBackoff << shift; x > 0 && x < c.maxBackoff {
			d = x
		}
	}
	d = d/2 + rand.N(d/2+1)
	if ra := retryAfter(err); ra > d {
		d = min(ra, c.maxBackoff)
	}
	return d
}

// retryAfter reads a Retry-After header given in seconds. Google documents
// no such header for Wallet, but honouring it costs nothing.
func retryAfter(err error) time.Duration {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Header == nil {
		return 0
	}
	s, perr := strconv.Atoi(gerr.Header.Get("Retry-After"))
	if perr != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// sleepContext waits for d or until ctx ends, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

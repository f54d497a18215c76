package console

import (
	"context"
	"errors"
	"time"

	"github.com/passd/passd/internal/ratelimit"
)

// throttle limits failed sign-ins per account and per client address with
// internal/ratelimit's failed-try buckets, kept in the store: the limits
// hold across instances and restarts. Each key may fail its limit's count
// at once, then regains one try per ThrottleWindow/count (all of them
// within ThrottleWindow).
type throttle struct {
	account, address *ratelimit.Failures
}

func newThrottle(st ratelimit.Store, now func() time.Time) *throttle {
	per := func(n int) ratelimit.Limit {
		return ratelimit.Limit{Burst: n, PerMinute: float64(n) / ThrottleWindow.Minutes()}
	}
	return &throttle{
		account: ratelimit.NewFailures(st, "console-signin-account", per(AccountFailures), now),
		address: ratelimit.NewFailures(st, "console-signin-address", per(AddressFailures), now),
	}
}

// take takes a try of account and of address ahead of a sign-in: 0 when
// it may go on, else how long the longer-waiting key must wait (no try is
// then taken from either).
func (t *throttle) take(ctx context.Context, account, address string) (time.Duration, error) {
	okAccount, waitAccount, err := t.account.Take(ctx, account)
	if err != nil {
		return 0, err
	}
	okAddress, waitAddress, err := t.address.Take(ctx, address)
	if err == nil && okAccount && okAddress {
		return 0, nil
	}
	if okAccount {
		t.account.Refund(account)
	}
	if okAddress {
		t.address.Refund(address)
	}
	return max(waitAccount, waitAddress), err
}

// failed records a failed sign-in of account from address in the store.
func (t *throttle) failed(ctx context.Context, account, address string) error {
	return errors.Join(t.account.Failed(ctx, account), t.address.Failed(ctx, address))
}

// succeeded gives back the tries a successful sign-in took.
func (t *throttle) succeeded(account, address string) {
	t.account.Refund(account)
	t.address.Refund(address)
}

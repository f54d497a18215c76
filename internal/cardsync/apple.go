package cardsync

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit/apns"
)

// Pusher sends pass update pushes (an *apns.Client).
type Pusher interface {
	PushMany(ctx context.Context, tokens []string) []apns.Result
}

// AppleStore is what the Apple channel needs of the store.
type AppleStore interface {
	RegistrationsFor(ctx context.Context, memberID string) ([]store.Registration, error)
	DeleteRegistrationsByPushToken(ctx context.Context, pushToken string) (int64, error)
}

// Apple delivers a card on the Apple channel: an empty push to every
// device registered for the pass. The device then asks the PassKit web
// service which passes changed and fetches the new one.
type Apple struct {
	Store  AppleStore
	Pusher Pusher
	Logger *slog.Logger
	// OnPush, when set, is told every push's outcome (metrics).
	OnPush func(apns.Outcome)
}

// Deliver pushes to every device of the job's pass. Dead tokens (410,
// BadDeviceToken) lose their registrations; transient failures and
// certificate problems ask for a retry of the card (devices already pushed
// are pushed again then, which costs them one "nothing changed" request).
func (a *Apple) Deliver(ctx context.Context, job store.SyncJob) error {
	regs, err := a.Store.RegistrationsFor(ctx, job.MemberID)
	if err != nil {
		return &RetryError{Err: fmt.Errorf("registrations: %w", err)}
	}
	if len(regs) == 0 {
		return nil
	}
	seen := map[string]store.Registration{}
	tokens := make([]string, 0, len(regs))
	for _, r := range regs {
		if _, dup := seen[r.PushToken]; !dup {
			seen[r.PushToken] = r
			tokens = append(tokens, r.PushToken)
		}
	}
	var retry *RetryError
	permanent := 0
	for _, res := range a.Pusher.PushMany(ctx, tokens) {
		if a.OnPush != nil {
			a.OnPush(res.Outcome)
		}
		switch res.Outcome {
		case apns.Delivered:
		case apns.Unregistered:
			if reg := seen[res.Token]; !res.Timestamp.IsZero() && reg.UpdatedAt.After(res.Timestamp) {
				continue // re-registered after APNs saw the token die
			}
			if _, err := a.Store.DeleteRegistrationsByPushToken(ctx, res.Token); err != nil {
				return &RetryError{Err: fmt.Errorf("remove dead registration: %w", err)}
			}
			a.log().Info("apns: device unregistered; registration removed", "member_id", job.MemberID, "push", res)
		case apns.CertificateProblem:
			a.log().Error("APNS REFUSED THE PASS CERTIFICATE: pass updates are not reaching phones; check PASSD_APPLE_CERT/KEY, its expiry and PASSD_APNS_URL",
				"member_id", job.MemberID, "push", res)
			retry = laterOf(retry, &RetryError{Err: res.Err, After: res.RetryDelay(job.Attempts)})
		case apns.Retry:
			retry = laterOf(retry, &RetryError{Err: res.Err, After: res.RetryAfter})
		default:
			permanent++
			a.log().Warn("apns: push refused for good", "member_id", job.MemberID, "push", res)
		}
	}
	if retry != nil {
		return retry
	}
	if permanent == len(tokens) {
		return fmt.Errorf("every push refused: %w", ErrPermanent)
	}
	return nil
}

func laterOf(a, b *RetryError) *RetryError {
	if a == nil || b.After > a.After {
		return b
	}
	return a
}

func (a *Apple) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

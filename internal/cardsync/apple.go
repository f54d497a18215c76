package cardsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit/apns"
)

// Pusher sends pass update pushes (an *apns.Client).
type Pusher interface {
	PushMany(ctx context.Context, tokens []string) []apns.Result
}

// AppleStore is what the Apple channel needs of the store.
type AppleStore interface {
	RegistrationsFor(ctx context.Context, memberID string) ([]loyalty.Registration, error)
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
func (a *Apple) Deliver(ctx context.Context, job loyalty.SyncJob) error {
	regs, err := a.Store.RegistrationsFor(ctx, job.MemberID)
	if err != nil {
		return &RetryError{Err: fmt.Errorf("registrations: %w", err)}
	}
	if len(regs) == 0 {
		return nil
	}
	res := a.push(ctx, tokensOf(nil, regs))
	certLogged := false
	return a.judge(ctx, job, regs, res, &certLogged)
}

// BatchRegistrations is an AppleStore that answers the registrations of
// many passes in one query (*store.Store is one).
type BatchRegistrations interface {
	RegistrationsForMembers(ctx context.Context, memberIDs []string) (map[string][]loyalty.Registration, error)
}

// DeliverBatch delivers several cards as Deliver does each, with one
// registrations query (when the store is a BatchRegistrations; else one
// per card) and one PushMany for all of their devices, and answers one
// error per job: a push that fails for one card's device fails that card
// only, and a dead token loses only its own registrations.
func (a *Apple) DeliverBatch(ctx context.Context, jobs []loyalty.SyncJob) []error {
	errs := make([]error, len(jobs))
	var regs map[string][]loyalty.Registration
	if bs, ok := a.Store.(BatchRegistrations); ok {
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.MemberID
		}
		var err error
		if regs, err = bs.RegistrationsForMembers(ctx, ids); err != nil {
			for i := range errs {
				errs[i] = &RetryError{Err: fmt.Errorf("registrations: %w", err)}
			}
			return errs
		}
	} else {
		regs = make(map[string][]loyalty.Registration, len(jobs))
		for i, j := range jobs {
			r, err := a.Store.RegistrationsFor(ctx, j.MemberID)
			if err != nil {
				errs[i] = &RetryError{Err: fmt.Errorf("registrations: %w", err)}
				continue
			}
			regs[j.MemberID] = r
		}
	}
	var tokens []string
	for i, j := range jobs {
		if errs[i] == nil {
			tokens = tokensOf(tokens, regs[j.MemberID])
		}
	}
	if len(tokens) == 0 {
		return errs
	}
	res := a.push(ctx, tokens) // PushMany pushes a token listed twice once
	certLogged := false
	for i, j := range jobs {
		if r := regs[j.MemberID]; errs[i] == nil && len(r) > 0 {
			errs[i] = a.judge(ctx, j, r, res, &certLogged)
		}
	}
	return errs
}

// tokensOf appends the distinct push tokens of regs to tokens.
func tokensOf(tokens []string, regs []loyalty.Registration) []string {
	seen := make(map[string]bool, len(regs))
	for _, r := range regs {
		if !seen[r.PushToken] {
			seen[r.PushToken] = true
			tokens = append(tokens, r.PushToken)
		}
	}
	return tokens
}

// push sends the pushes and answers their results by token.
func (a *Apple) push(ctx context.Context, tokens []string) map[string]apns.Result {
	res := make(map[string]apns.Result, len(tokens))
	for _, r := range a.Pusher.PushMany(ctx, tokens) {
		res[r.Token] = r
	}
	return res
}

// judge acts on the push results for one card's registrations (regs, not
// empty) and answers the card's outcome. certLogged keeps the certificate
// alarm to one line per PushMany.
func (a *Apple) judge(ctx context.Context, job loyalty.SyncJob, regs []loyalty.Registration, results map[string]apns.Result, certLogged *bool) error {
	seen := make(map[string]bool, len(regs))
	var retry *RetryError
	permanent := 0
	for _, r := range regs {
		if seen[r.PushToken] {
			continue // a token listed twice counts once, by its oldest registration
		}
		seen[r.PushToken] = true
		res, ok := results[r.PushToken]
		if !ok {
			res = apns.Result{Token: r.PushToken, Outcome: apns.Retry, Err: errors.New("apns: no result for the push")}
		}
		if a.OnPush != nil {
			a.OnPush(res.Outcome)
		}
		switch res.Outcome {
		case apns.Delivered:
		case apns.Unregistered:
			if !res.Timestamp.IsZero() && r.UpdatedAt.After(res.Timestamp) {
				continue // re-registered after APNs saw the token die
			}
			if _, err := a.Store.DeleteRegistrationsByPushToken(ctx, res.Token); err != nil {
				return &RetryError{Err: fmt.Errorf("remove dead registration: %w", err)}
			}
			a.log().Info("apns: device unregistered; registration removed", "member_id", job.MemberID, "push", res)
		case apns.CertificateProblem:
			if !*certLogged {
				*certLogged = true
				a.log().Error("APNS REFUSED THE PASS CERTIFICATE: pass updates are not reaching phones; check PASSD_APPLE_CERT/KEY, its expiry and PASSD_APNS_URL",
					"member_id", job.MemberID, "push", res)
			}
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
	if permanent == len(seen) {
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

package automations

import (
	"context"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// Programs answers the programmes the jobs read their rules from (the
// server's catalog).
type Programs interface {
	Get(id string) (*loyalty.Program, error)
	IDs() []string
}

// retryUnknown is how long a member of a programme passd does not know
// waits before its next look.
const retryUnknown = 24 * time.Hour

// Birthdays credits birthday bonuses: once a year on the member's birthday
// in the programme's timezone (loyalty.PlanBirthday), exactly once per
// member and year (store.SettleBirthday).
type Birthdays struct {
	Store    *store.Store
	Programs Programs
}

// Name implements Job.
func (Birthdays) Name() string { return "birthday" }

// RunDue implements Job: it looks at the members whose birthday is due
// and answers how many it looked at.
func (j Birthdays) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := j.Store.BirthdaysDue(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for i, d := range due {
		p, err := j.Programs.Get(d.Program)
		if err != nil {
			later := now.Add(retryUnknown)
			if _, err := j.Store.SettleBirthday(ctx, d, 0, 0, balances.Rules{}, &later, now); err != nil {
				return i, err
			}
			continue
		}
		plan := loyalty.PlanBirthday(d.Birthday, p.Location(), d.Due, now)
		var next *time.Time
		if !plan.None {
			next = &plan.Next
		}
		var points int64
		if plan.Credit {
			points = p.BirthdayBonus
		}
		if _, err := j.Store.SettleBirthday(ctx, d, plan.Year, points, p.Rules(), next, now); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

// Dormant greets members who stopped coming: the programme's dormant
// message on the card and its bonus, once per dormant spell
// (loyalty.PlanDormant, store.SettleDormant).
type Dormant struct {
	Store    *store.Store
	Programs Programs
}

// Name implements Job.
func (Dormant) Name() string { return "dormant" }

// RunDue implements Job: it looks at the members of programmes with a
// dormant rule whose look is due, at most limit in all, and answers how
// many it looked at.
func (j Dormant) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	done := 0
	for _, id := range j.Programs.IDs() {
		p, err := j.Programs.Get(id)
		if err != nil || p.Dormant == nil {
			continue
		}
		due, err := j.Store.DormantDue(ctx, id, now, limit-done)
		if err != nil {
			return done, err
		}
		rules := p.Rules()
		for _, d := range due {
			plan := loyalty.PlanDormant(d.LastActivity, d.DormantAt, p.Dormant.AfterDays, now)
			if _, err := j.Store.SettleDormant(ctx, d, plan.Greet, plan.Spell, p.Dormant.BonusPoints, rules, plan.Next, now); err != nil {
				return done, err
			}
			done++
		}
		if done >= limit {
			break
		}
	}
	return done, nil
}

// Vouchers takes unused vouchers off the cards when they pass their
// expires_at, once per voucher (store.LapseVoucher).
type Vouchers struct {
	Store *store.Store
}

// Name implements Job.
func (Vouchers) Name() string { return "voucher_expiry" }

// RunDue implements Job: it lapses the vouchers due and answers how many
// it looked at.
func (j Vouchers) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := j.Store.VouchersToLapse(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for i, v := range due {
		if _, err := j.Store.LapseVoucher(ctx, v, now); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

// TierReviews recomputes the qualifying points and the tier of members
// whose review is due: with a rolling tier window when their oldest
// qualifying entry leaves it, and after a change of the programme's tier
// rules (window or tiers) for every member, so a member can fall a tier;
// the card announces it (store.ReviewTier).
type TierReviews struct {
	Store    *store.Store
	Programs Programs
}

// Name implements Job.
func (TierReviews) Name() string { return "tier_review" }

// RunDue implements Job: it reviews the members due and answers how many
// it looked at. A member of a programme passd does not know is looked at
// again a day later, its tier untouched.
func (j TierReviews) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := j.Store.TierReviewsDue(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for i, d := range due {
		p, err := j.Programs.Get(d.Program)
		if err != nil {
			if _, err := j.Store.PostponeTierReview(ctx, d, now.Add(retryUnknown)); err != nil {
				return i, err
			}
			continue
		}
		if _, err := j.Store.ReviewTier(ctx, d, p.Rules(), now); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

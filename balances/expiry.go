package balances

import (
	"sort"
	"time"
)

// Expire is the type of the entry passd writes when a lot of points
// expires; clients cannot post it. It lowers the balance only: lifetime
// and qualifying points, and so the tier, stay.
const Expire EntryType = "expire"

// Day is the length of one of an expiry rule's days: expiry counts whole
// 24-hour days from the time of the sale, whatever the programme's time
// zone does to the clocks in between.
const Day = 24 * time.Hour

// Expiry is a programme's rule that earned points expire.
//
// Which credits are lots: every entry that adds points to the balance, an
// earn, a bonus (welcome, referral, and whatever passd credits later) and a
// positive adjust alike; a merchant who gives points expects them to
// behave like earned ones. Which debits consume lots: every entry that
// takes points, a redeem, a reward's redemption and a negative adjust,
// oldest lot first (Consume). Points held before the programme turned
// expiry on, or credited while it was off, belong to no lot and never
// expire; a debit takes them only once the lots are used up, so a member
// always spends the points that would expire first.
type Expiry struct {
	// AfterDays is how many days a lot lives after its sale.
	AfterDays int
	// RemindDays, when above 0, is how many days before its expiry the
	// card starts saying a lot expires.
	RemindDays int
}

// Lot is the points one credit added, which expire together.
type Lot struct {
	// ID is the id of the entry that credited the lot.
	ID string
	// Points is what the credit added; Remaining what is left of it,
	// from 0 to Points.
	Points, Remaining int64
	// EarnedAt is the credit's time of sale; ExpiresAt is AfterDays
	// later.
	EarnedAt, ExpiresAt time.Time
	// RemindAt is RemindDays before ExpiresAt, zero when the rule has no
	// reminder.
	RemindAt time.Time
}

// CreatesLot reports whether an entry of type t that moved the balance by
// delta is a lot (see Expiry).
func CreatesLot(t EntryType, delta int64) bool {
	return delta > 0 && (t == Earn || t == Bonus || t == Adjust)
}

// ConsumesLots reports whether an entry of type t that moved the balance
// by delta takes its points from the lots, oldest first. An expire entry
// does not: it empties the one lot that expired (ExpireLot).
func ConsumesLots(t EntryType, delta int64) bool {
	return delta < 0 && (t == Redeem || t == Adjust)
}

// NewLot is the lot of a credit of points (at least 1) whose entry is id,
// sold at occurred.
func (x Expiry) NewLot(id string, points int64, occurred time.Time) Lot {
	l := Lot{ID: id, Points: points, Remaining: points, EarnedAt: occurred,
		ExpiresAt: occurred.Add(time.Duration(x.AfterDays) * Day)}
	if x.RemindDays > 0 {
		l.RemindAt = l.ExpiresAt.Add(-time.Duration(x.RemindDays) * Day)
	}
	return l
}

// lotBefore is the order lots are spent and shown in: the one that expires
// first, then the one earned first, then the smaller id (entry ids are
// time-ordered), so the order never depends on how lots were listed.
func lotBefore(a, b Lot) bool {
	if !a.ExpiresAt.Equal(b.ExpiresAt) {
		return a.ExpiresAt.Before(b.ExpiresAt)
	}
	if !a.EarnedAt.Equal(b.EarnedAt) {
		return a.EarnedAt.Before(b.EarnedAt)
	}
	return a.ID < b.ID
}

// SortLots sorts lots in the order they are spent: the one that expires
// first, then the one earned first.
func SortLots(lots []Lot) {
	sort.SliceStable(lots, func(i, j int) bool { return lotBefore(lots[i], lots[j]) })
}

// Consume takes points from lots in the order they are spent (SortLots)
// and answers the lots it changed, with their Remaining after, in that
// order, and how many of the points came from lots; the rest come from
// points that belong to no lot. It does not mutate lots.
func Consume(lots []Lot, points int64) (changed []Lot, fromLots int64) {
	if points <= 0 {
		return nil, 0
	}
	open := make([]Lot, 0, len(lots))
	for _, l := range lots {
		if l.Remaining > 0 {
			open = append(open, l)
		}
	}
	SortLots(open)
	for _, l := range open {
		if fromLots == points {
			break
		}
		take := min(l.Remaining, points-fromLots)
		l.Remaining -= take
		fromLots += take
		changed = append(changed, l)
	}
	return changed, fromLots
}

// ExpiringPoints is what a lot's expiry takes from a balance: what is left
// of the lot, never more than the balance.
func ExpiringPoints(l Lot, balance int64) int64 {
	return max(0, min(l.Remaining, balance))
}

// ExpireLot answers the account after lot l expired (an expire entry of
// Outcome.Delta, -ExpiringPoints) and the lot after it (nothing left).
// The balance falls; lifetime and qualifying points and the tier stay; the
// pass version moves on. It does not mutate a.
func ExpireLot(a Account, l Lot) (Outcome, Lot) {
	d := -ExpiringPoints(l, a.Points)
	n := a
	n.Points += d
	n.PassVersion++
	l.Remaining = 0
	return Outcome{Account: n, Delta: d, OldTier: a.Tier}, l
}

// NextToExpire answers the lot with points left that expires first; ok is
// false when none has points left.
func NextToExpire(lots []Lot) (next Lot, ok bool) {
	for _, l := range lots {
		if l.Remaining > 0 && (!ok || lotBefore(l, next)) {
			next, ok = l, true
		}
	}
	return next, ok
}

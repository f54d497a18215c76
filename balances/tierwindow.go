package balances

import "time"

// RollingTierWindow is the length of a rolling_365_days tier window.
const RollingTierWindow = 365 * 24 * time.Hour

// Qualifies reports whether an entry that occurred at occurredAt and is
// posted at postedAt counts towards qualifying points under a tier window
// of window (0: lifetime, every entry counts). An entry older than the
// window when posted (a till's import of old sales) never counts; a zero
// postedAt counts as occurredAt.
func Qualifies(occurredAt, postedAt time.Time, window time.Duration) bool {
	if window <= 0 || postedAt.IsZero() {
		return true
	}
	return occurredAt.After(postedAt.Add(-window))
}

// QualifyingEntry is a ledger entry as a rolling tier window counts it.
type QualifyingEntry struct {
	Type       EntryType
	Points     int64
	OccurredAt time.Time
}

// RollingQualifying answers a member's qualifying points under a rolling
// tier window of window at now, from their entries: earns, bonuses and
// positive adjustments that occurred within (now-window, now] add their
// points, negative adjustments in it take theirs off, never below 0;
// redemptions and expiries do not count. It also answers when the
// qualifying points next fall without any new entry: when the oldest
// entry that added points leaves the window (zero when none did).
func RollingQualifying(es []QualifyingEntry, window time.Duration, now time.Time) (qualifying int64, next time.Time) {
	from := now.Add(-window)
	for _, e := range es {
		if !e.OccurredAt.After(from) {
			continue
		}
		switch {
		case e.Type == Earn || e.Type == Bonus || (e.Type == Adjust && e.Points > 0):
			qualifying += e.Points
			if leaves := e.OccurredAt.Add(window); next.IsZero() || leaves.Before(next) {
				next = leaves
			}
		case e.Type == Adjust:
			qualifying += e.Points
		}
	}
	return max(0, qualifying), next
}

// LifetimeQualifying answers a member's qualifying points under a
// lifetime tier window, from all their entries in the order they were
// posted, as Apply and Credit count them: earns, bonuses and positive
// adjustments add their points, a negative adjustment takes its points
// off but never below 0; redemptions and expiries do not count. A
// programme that changes its window to lifetime reviews its members with
// it.
func LifetimeQualifying(es []QualifyingEntry) int64 {
	var qualifying int64
	for _, e := range es {
		switch {
		case e.Type == Earn || e.Type == Bonus || (e.Type == Adjust && e.Points > 0):
			qualifying += e.Points
		case e.Type == Adjust:
			qualifying = max(0, qualifying+e.Points)
		}
	}
	return qualifying
}

// Review answers the account after a tier review set its qualifying
// points to qualifying: the tier they reach, up or down. The pass version
// is the caller's to raise when the tier changed. It does not mutate a.
func Review(a Account, qualifying int64, r Rules) Outcome {
	n := a
	n.Qualifying = qualifying
	n.Tier = r.TierFor(qualifying)
	return Outcome{Account: n, TierChanged: n.Tier != a.Tier, OldTier: a.Tier}
}

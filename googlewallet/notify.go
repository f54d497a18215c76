package googlewallet

import "time"

// Google's push-notification budget for one pass. Messages sent with notify
// and field updates sent with Card.Notify are counted together here: Google
// does not say whether they share one budget, so this errs on the side of
// fewer notifications.
const (
	// NotificationLimit is the number of notifications allowed per pass
	// within NotificationWindow.
	NotificationLimit = 3
	// NotificationWindow is the sliding window of NotificationLimit.
	NotificationWindow = 24 * time.Hour
)

// NotifyAllowed reports whether one more notification may be sent for a
// pass at now, given the times of the notifications already sent for it
// (in any order; older entries are ignored). Times after now count too, so
// a clock step backwards cannot open the budget. When it returns false the
// caller should send the update silently instead.
func NotifyAllowed(sent []time.Time, now time.Time) bool {
	since := now.Add(-NotificationWindow)
	n := 0
	for _, t := range sent {
		if t.After(since) {
			n++
		}
	}
	return n < NotificationLimit
}

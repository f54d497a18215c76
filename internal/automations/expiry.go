package automations

import (
	"context"
	"time"
)

// Expire is the job that expires lots of points at their expiry: one
// expire entry for what is left of each, exactly once (the store's
// ExpireDue says how).
type Expire struct {
	Store interface {
		ExpireDue(ctx context.Context, now time.Time, limit int) (int, error)
	}
}

// Name implements Job.
func (Expire) Name() string { return "expire" }

// RunDue implements Job.
func (j Expire) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	return j.Store.ExpireDue(ctx, now, limit)
}

// Remind is the job that makes cards say, remind_days before a lot
// expires, how many points expire when: once per lot (the store's
// RemindDue says how).
type Remind struct {
	Store interface {
		RemindDue(ctx context.Context, now time.Time, limit int) (int, error)
	}
}

// Name implements Job.
func (Remind) Name() string { return "expiry_reminder" }

// RunDue implements Job.
func (j Remind) RunDue(ctx context.Context, now time.Time, limit int) (int, error) {
	return j.Store.RemindDue(ctx, now, limit)
}

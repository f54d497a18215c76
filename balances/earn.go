package balances

import (
	"math/bits"
	"time"
)

// MaxAmount bounds the purchase amount of an earn, in minor units.
const MaxAmount = 1_000_000_000_000

// Campaign multipliers are kept in tenths: 20 is "double points".
const (
	// MinMultiplierTenths is the smallest campaign multiplier, x1.1.
	MinMultiplierTenths = 11
	// MaxMultiplierTenths is the largest campaign multiplier, x10.
	MaxMultiplierTenths = 100
)

// Campaign is a time-boxed multiplier of the points an amount earns.
type Campaign struct {
	ID string
	// MultiplierTenths is the multiplier in tenths (20 = x2).
	MultiplierTenths int64
	// StartsAt (inclusive) and EndsAt (exclusive) bound it.
	StartsAt, EndsAt time.Time
	// DaysOfWeek, when not empty, are the ISO days it runs on
	// (1 = Monday .. 7 = Sunday), in the programme's time zone.
	DaysOfWeek []int
	// FromMinute and ToMinute, when ToMinute > 0, are the local minutes of
	// the day it runs in: [FromMinute, ToMinute), 0..1440.
	FromMinute, ToMinute int
	// MinTier, when set, is the lowest tier a member must hold.
	MinTier string
}

// ActiveAt reports whether the campaign applies to a sale at occurred by a
// member holding tier, under rules r (time zone and tier ladder). A
// MinTier the ladder no longer has never matches.
func (c Campaign) ActiveAt(occurred time.Time, tier string, r Rules) bool {
	if occurred.Before(c.StartsAt) || !occurred.Before(c.EndsAt) {
		return false
	}
	local := occurred.In(r.location())
	if len(c.DaysOfWeek) > 0 {
		day := int(local.Weekday())
		if day == 0 {
			day = 7
		}
		found := false
		for _, d := range c.DaysOfWeek {
			found = found || d == day
		}
		if !found {
			return false
		}
	}
	if c.ToMinute > 0 {
		m := local.Hour()*60 + local.Minute()
		if m < c.FromMinute || m >= c.ToMinute {
			return false
		}
	}
	if c.MinTier != "" {
		need, held := r.tierRank(c.MinTier), r.tierRank(tier)
		if need < 0 || held < need {
			return false
		}
	}
	return true
}

// BestCampaign answers the campaign with the highest multiplier among those
// active at occurred for a member holding tier; campaigns do not stack.
// Ties go to the earliest start, then the smallest id, so the choice never
// depends on the order campaigns are listed in. ok is false when none
// applies.
func (r Rules) BestCampaign(occurred time.Time, tier string) (best Campaign, ok bool) {
	for _, c := range r.Campaigns {
		if !c.ActiveAt(occurred, tier, r) {
			continue
		}
		if !ok || c.MultiplierTenths > best.MultiplierTenths ||
			(c.MultiplierTenths == best.MultiplierTenths && (c.StartsAt.Before(best.StartsAt) ||
				(c.StartsAt.Equal(best.StartsAt) && c.ID < best.ID))) {
			best, ok = c, true
		}
	}
	return best, ok
}

// BasePoints converts a purchase amount in minor units into points:
// floor(amount x PointsPerUnit / MinorPerUnit), computed in 128 bits so no
// amount and rate can overflow. ok is false when the points would pass
// MaxPoints (or the rules have no MinorPerUnit).
func (r Rules) BasePoints(amount int64) (points int64, ok bool) {
	if amount <= 0 || r.PointsPerUnit <= 0 {
		return 0, amount >= 0 && r.PointsPerUnit >= 0
	}
	if r.MinorPerUnit <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(r.PointsPerUnit))
	d := uint64(r.MinorPerUnit)
	if hi >= d {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > MaxPoints {
		return 0, false
	}
	return int64(q), true
}

// BonusPoints is what a campaign of multiplierTenths adds to base points:
// floor(base x multiplier) - base. base is at most MaxPoints, so the
// product fits in 64 bits.
func BonusPoints(base, multiplierTenths int64) int64 {
	if base <= 0 || multiplierTenths <= 10 {
		return 0
	}
	return base*multiplierTenths/10 - base
}

// Earning is how an earn's points were reached.
type Earning struct {
	// Amount is the purchase amount in minor units, 0 when the earn gave
	// points.
	Amount int64
	// Base is the points before any campaign; Bonus what the campaign
	// added; Base + Bonus is the entry's points.
	Base, Bonus int64
	// CampaignID is the campaign that gave Bonus, "" for none.
	CampaignID string
}

// Earn answers how many points the request earns at occurred for a member
// holding tier. An earn with points earns exactly those (the till decided
// them; campaigns multiply amounts only). An earn with an amount earns its
// base points times the best active campaign's multiplier; a small amount
// may earn 0 points. Other requests earn nothing.
func (r Rules) Earn(q Request, occurred time.Time, tier string) (Earning, error) {
	if q.Type != Earn {
		return Earning{}, nil
	}
	if q.Amount == 0 {
		return Earning{Base: q.Points}, nil
	}
	base, ok := r.BasePoints(q.Amount)
	if !ok {
		return Earning{}, tooMany()
	}
	e := Earning{Amount: q.Amount, Base: base}
	if c, ok := r.BestCampaign(occurred, tier); ok {
		e.Bonus = BonusPoints(base, c.MultiplierTenths)
		e.CampaignID = c.ID
	}
	if e.Base+e.Bonus > MaxPoints {
		return Earning{}, tooMany()
	}
	return e, nil
}

func tooMany() error {
	v := &ValidationError{}
	v.Add("amount", "earns more than 1000000000 points")
	return v
}

func (r Rules) location() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// tierRank is the index of a tier in the ladder, -1 when it has none.
func (r Rules) tierRank(name string) int {
	for i, t := range r.Tiers {
		if t.Name == name {
			return i
		}
	}
	return -1
}

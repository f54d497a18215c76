package loyalty

import (
	"slices"
	"time"
)

// The rules of passd's time-driven work (birthdays, dormancy), as pure
// functions of the member's dates, the programme's timezone and the time.
// The automations package calls them; the store keeps the due times they
// answer and writes each item under its unique key.

// earliestZone is the furthest-ahead UTC offset in use (UTC+14): a day
// begins there first, so a due time taken in it is never after the day's
// start in any timezone.
var earliestZone = time.FixedZone("UTC+14", 14*60*60)

// BirthdayOn answers the month and day a birthday (month and day of birth)
// falls on in year: itself, except 29 February, which falls on 28 February
// in a year that has none.
func BirthdayOn(month time.Month, day, year int) (time.Month, int) {
	if month == time.February && day == 29 && !isLeap(year) {
		return time.February, 28
	}
	return month, day
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// IsBirthday reports whether at falls on the birthday of a member born on
// birthday ("YYYY-MM-DD") in the zone loc (29 February counts on 28
// February in other years); false when the birthday cannot be read.
func IsBirthday(birthday string, loc *time.Location, at time.Time) bool {
	born, err := time.Parse(time.DateOnly, birthday)
	if err != nil {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	local := at.In(loc)
	m, d := BirthdayOn(born.Month(), born.Day(), local.Year())
	return local.Month() == m && local.Day() == d
}

// BirthdayPlan is what the birthday job does for a member at a time.
type BirthdayPlan struct {
	// Credit is true when the member's birthday has begun and its bonus
	// is due, for Year (the key of the credit: once per member and year).
	Credit bool
	Year   int
	// Next is when to look again: the next birthday's start in the
	// furthest-ahead zone (a timezone changed meanwhile can only make the
	// look early, never late) or, before a birthday that has not begun
	// in loc, that birthday's start in loc.
	Next time.Time
	// None is true when the birthday cannot be read: stop looking.
	None bool
}

// PlanBirthday decides the birthday bonus of a member born on birthday
// ("YYYY-MM-DD") in a programme whose days are counted in loc, looked at
// at now, for a due time since (when the look was planned: at enrolment, a
// change of birthday or an earlier look). The birthday it is about is the
// first one that has not ended by since, so a look that runs late (passd
// was down) still credits it, up to a week after the day, and an enrolment or a change of birthday
// credits today's birthday but never a past one.
func PlanBirthday(birthday string, loc *time.Location, since, now time.Time) BirthdayPlan {
	born, err := time.Parse(time.DateOnly, birthday)
	if err != nil || birthday == "" {
		return BirthdayPlan{None: true}
	}
	if loc == nil {
		loc = time.UTC
	}
	dayStart := func(year int, zone *time.Location) time.Time {
		m, d := BirthdayOn(born.Month(), born.Day(), year)
		return time.Date(year, m, d, 0, 0, 0, 0, zone)
	}
	year := since.In(loc).Year() - 1
	for !dayStart(year, loc).AddDate(0, 0, 1).After(since) {
		year++
	}
	start := dayStart(year, loc)
	if now.Before(start) {
		next := dayStart(year, earliestZone)
		if !next.After(now) {
			next = start
		}
		return BirthdayPlan{Year: year, Next: next.UTC()}
	}
	next := dayStart(year+1, earliestZone).UTC()
	if !now.Before(start.AddDate(0, 0, 1+birthdayGraceDays)) {
		// Passd was down for more than a week: that birthday is gone.
		return BirthdayPlan{Year: year + 1, Next: next}
	}
	return BirthdayPlan{Credit: true, Year: year, Next: next}
}

// birthdayGraceDays is how long after a birthday's day a late look (passd
// down) still credits it.
const birthdayGraceDays = 7

// DormantPlan is what the dormant job does for a member at a time.
type DormantPlan struct {
	// Greet is true when the member has gone dormant and the spell that
	// began at Spell has not been greeted (Spell is the key of the
	// greeting: once per member and spell).
	Greet bool
	Spell time.Time
	// Next is when to look again.
	Next time.Time
}

// PlanDormant decides the dormancy of a member whose last transaction was
// at lastActivity, in a programme whose members are dormant after
// afterDays days (of 24 hours) without one, looked at at now; greeted is
// the start of the spell the member was greeted for (zero for none). A
// spell begins afterDays after the last transaction and lasts until the
// next one; a new spell can begin no sooner than afterDays after now.
func PlanDormant(lastActivity, greeted time.Time, afterDays int, now time.Time) DormantPlan {
	after := time.Duration(afterDays) * 24 * time.Hour
	spell := lastActivity.Add(after).UTC()
	if now.Before(spell) {
		return DormantPlan{Spell: spell, Next: spell}
	}
	return DormantPlan{Greet: !greeted.Equal(spell), Spell: spell, Next: now.Add(after).UTC()}
}

// TierRulesChanged reports whether changing a programme from old to next
// can move its members' tiers without any new entry: its tier window
// (lifetime, rolling_365_days) or its tiers (names or thresholds)
// changed. Every live member's tier must then be reviewed. A tier's
// benefits, colours or strip change only what the card shows.
func TierRulesChanged(old, next *Program) bool {
	return old.TierWindow != next.TierWindow ||
		!slices.EqualFunc(old.Tiers, next.Tiers, func(a, b Tier) bool { return a.Name == b.Name && a.Threshold == b.Threshold })
}

// DormancyLooksEarlier reports whether changing a programme from old to
// next can make its members dormant sooner than their planned looks (its
// after_days shortened), so every look must be planned again. Adding a
// dormant rule needs no such thing (the looks of a programme without one
// are never moved on), nor does lengthening it (an early look plans a
// later one).
func DormancyLooksEarlier(old, next *Program) bool {
	return old.Dormant != nil && next.Dormant != nil && next.Dormant.AfterDays < old.Dormant.AfterDays
}

package loyalty

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

// MaxCampaignNameRunes bounds a campaign's name.
const MaxCampaignNameRunes = 200

// Campaign is a programme's points multiplier over a time span (API.md
// "Campaigns and automations"). Ending it sets EndsAt; it is kept.
type Campaign struct {
	ID      string
	Program string
	Name    string
	// MultiplierTenths is the multiplier in tenths (20 = x2).
	MultiplierTenths int64
	StartsAt         time.Time
	EndsAt           time.Time
	// DaysOfWeek are ISO days (1 = Monday .. 7 = Sunday), ascending;
	// empty is every day.
	DaysOfWeek []int
	// FromMinute and ToMinute are the local minutes of the day it runs in,
	// [From, To); ToMinute 0 is all day.
	FromMinute, ToMinute int
	MinTier              string
	CreatedAt, UpdatedAt time.Time
}

// Rule answers the campaign as the ledger maths take it.
func (c Campaign) Rule() balances.Campaign {
	return balances.Campaign{ID: c.ID, MultiplierTenths: c.MultiplierTenths, StartsAt: c.StartsAt, EndsAt: c.EndsAt,
		DaysOfWeek: c.DaysOfWeek, FromMinute: c.FromMinute, ToMinute: c.ToMinute, MinTier: c.MinTier}
}

// LocalHours answers the campaign's hours as "HH:MM-HH:MM", "" for all day.
func (c Campaign) LocalHours() string {
	if c.ToMinute == 0 {
		return ""
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", c.FromMinute/60, c.FromMinute%60, c.ToMinute/60, c.ToMinute%60)
}

// End answers the campaign ended at now: EndsAt becomes now, or StartsAt
// for a campaign that has not started (it then never runs). An ended
// campaign stays as it is.
func (c Campaign) End(now time.Time) Campaign {
	if c.EndsAt.After(now) {
		c.EndsAt = now
		if c.StartsAt.After(now) {
			c.EndsAt = c.StartsAt
		}
		c.UpdatedAt = now
	}
	return c
}

// CampaignInput is a campaign as the API receives it: the body of a
// create, or a campaign's JSON with a merge patch applied.
type CampaignInput struct {
	Name       string      `json:"name"`
	Multiplier json.Number `json:"multiplier"`
	StartsAt   string      `json:"starts_at"`
	EndsAt     string      `json:"ends_at"`
	DaysOfWeek []int       `json:"days_of_week"`
	LocalHours string      `json:"local_hours"`
	MinTier    string      `json:"min_tier"`
}

// Validate checks every field of in against p (its tiers) and answers the
// campaign it describes, with Program set and no ID; each invalid field is
// named in a *balances.ValidationError.
func (in CampaignInput) Validate(p *Program) (Campaign, error) {
	v := &balances.ValidationError{}
	c := Campaign{Program: p.ID, Name: strings.TrimSpace(in.Name), MinTier: in.MinTier}
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > MaxCampaignNameRunes {
		v.AddReason("name", ReasonRange, "must be 1 to "+strconv.Itoa(MaxCampaignNameRunes)+" characters")
	} else {
		v.CheckText("name", c.Name, false)
	}
	var ok bool
	if c.MultiplierTenths, ok = parseTenths(in.Multiplier); !ok {
		v.AddReason("multiplier", ReasonRange, "must be a number from 1.1 to 10 with at most one decimal")
	}
	c.StartsAt, ok = parseInstant(v, "starts_at", in.StartsAt)
	var endsOK bool
	c.EndsAt, endsOK = parseInstant(v, "ends_at", in.EndsAt)
	if ok && endsOK && !c.EndsAt.After(c.StartsAt) {
		v.AddReason("ends_at", ReasonInvalid, "must be after starts_at")
	}
	for _, d := range in.DaysOfWeek {
		if d < 1 || d > 7 {
			v.AddReason("days_of_week", ReasonRange, "must list days from 1 (Monday) to 7 (Sunday)")
			break
		}
		if !slices.Contains(c.DaysOfWeek, d) {
			c.DaysOfWeek = append(c.DaysOfWeek, d)
		}
	}
	slices.Sort(c.DaysOfWeek)
	if in.LocalHours != "" {
		if c.FromMinute, c.ToMinute, ok = parseHours(in.LocalHours); !ok {
			v.AddReason("local_hours", ReasonInvalid, `must be "HH:MM-HH:MM" with the start before the end, within one day (24:00 ends at midnight)`)
		}
	}
	if c.MinTier != "" && !p.HasTier(c.MinTier) {
		v.AddReason("min_tier", ReasonInvalid, "is not a tier of the program")
	}
	if err := v.Err(); err != nil {
		return Campaign{}, err
	}
	return c, nil
}

// parseTenths reads a multiplier of 1.1..10 with at most one decimal.
func parseTenths(n json.Number) (int64, bool) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, false
	}
	t := math.Round(f * 10)
	if math.Abs(f*10-t) > 1e-9 || t < balances.MinMultiplierTenths || t > balances.MaxMultiplierTenths {
		return 0, false
	}
	return int64(t), true
}

func parseInstant(v *balances.ValidationError, field, s string) (time.Time, bool) {
	if s == "" {
		v.AddReason(field, ReasonRequired, "is required (RFC 3339)")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.AddReason(field, ReasonInvalid, "must be an RFC 3339 time")
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Microsecond), true
}

// parseHours reads "HH:MM-HH:MM" into minutes of the day; overnight spans
// are refused (two campaigns cover them).
func parseHours(s string) (from, to int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	from, okA := parseClock(a)
	to, okB := parseClock(b)
	return from, to, okA && okB && from < to
}

func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

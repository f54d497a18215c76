package loyalty

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

// Page sizes of a member search.
const (
	DefaultSearchLimit = 50
	MaxSearchLimit     = 200
	// MaxInactiveDays bounds inactive_days: a hundred years.
	MaxInactiveDays = 36500
)

// SearchInput is a member search as a surface received it: every
// parameter as text, "" for absent.
type SearchInput struct {
	Q, Email, ExternalID, Tier, InactiveDays, Limit, Cursor string
}

// MemberSearch is a checked search of a program's live members, newest
// enrolment first. Empty fields do not filter.
type MemberSearch struct {
	Program string
	// Prefix is a lower-cased prefix of the name, the email or the member
	// number.
	Prefix string
	// Email is a whole email address, lower-cased.
	Email      string
	ExternalID string
	Tier       string
	// InactiveSince keeps the members whose last activity is at or before
	// it; zero keeps every member.
	InactiveSince time.Time
	Limit         int
	// Cursor is the next_cursor of the previous page; the store checks it.
	Cursor string
}

// Search checks a member search of program p at time now, naming every
// invalid parameter.
func (in SearchInput) Search(p *Program, now time.Time) (MemberSearch, error) {
	v := &balances.ValidationError{}
	s := MemberSearch{Program: p.ID, Limit: DefaultSearchLimit, Cursor: in.Cursor}
	text := func(field, val string, maxRunes int) string {
		val = strings.TrimSpace(val)
		if utf8.RuneCountInString(val) > maxRunes {
			v.AddReason(field, ReasonInvalid, "must be at most "+strconv.Itoa(maxRunes)+" printable characters")
		} else {
			v.CheckText(field, val, false)
		}
		return val
	}
	s.Prefix = strings.ToLower(text("q", in.Q, 200))
	s.Email = strings.ToLower(text("email", in.Email, 254))
	s.ExternalID = text("external_id", in.ExternalID, 255)
	if in.Tier != "" && !p.HasTier(in.Tier) {
		v.AddReason("tier", ReasonInvalid, "is not a tier of the program")
	}
	s.Tier = in.Tier
	if in.InactiveDays != "" {
		n, err := strconv.Atoi(in.InactiveDays)
		if err != nil || n < 1 || n > MaxInactiveDays {
			v.AddReason("inactive_days", ReasonRange, "must be an integer from 1 to "+strconv.Itoa(MaxInactiveDays))
		} else {
			s.InactiveSince = now.UTC().AddDate(0, 0, -n)
		}
	}
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > MaxSearchLimit {
			v.AddReason("limit", ReasonRange, "must be an integer from 1 to "+strconv.Itoa(MaxSearchLimit))
		}
		s.Limit = n
	}
	if err := v.Err(); err != nil {
		return MemberSearch{}, err
	}
	return s, nil
}

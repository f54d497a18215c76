package loyalty

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
)

// Profile is what a member tells about themselves, as a surface (the JSON
// API, the join page) received it: at enrolment, or later edited.
type Profile struct {
	Name, Email, Birthday, ExternalID string
}

// EnrollInput is an enrolment as a surface received it.
type EnrollInput struct {
	Profile
	// MarketingOptIn is the member's answer to the marketing question
	// (false unless asked and ticked).
	MarketingOptIn bool
	// Source is the surface that received the enrolment (ConsentAPI,
	// ConsentJoinPage), kept with the first consent record.
	Source string
	// ReferralCode is the code of the member who referred this one ("" for
	// none). An unknown code is ErrUnknownReferralCode, unless
	// IgnoreUnknownReferral (the join page, which enrols without it).
	ReferralCode          string
	IgnoreUnknownReferral bool
}

// Reasons an enrolment field is refused (balances.FieldError.Reason), for
// surfaces that word the message themselves.
const (
	ReasonRequired = "required"
	ReasonTooLong  = "long"
	ReasonControl  = balances.ReasonText
	ReasonInvalid  = "invalid"
	ReasonRange    = "range"
)

// Validate normalizes in (trims spaces) and reports every invalid field;
// requireEmail makes the email mandatory (the join page asks for it). It
// is the one check of a profile, whatever surface received it, at
// enrolment or in an edit (ProfilePatch.Apply).
func (in *Profile) Validate(now time.Time, requireEmail bool) error {
	v := &balances.ValidationError{}
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	in.Birthday = strings.TrimSpace(in.Birthday)
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		v.AddReason("name", ReasonRequired, "is required")
	case n > 200:
		v.AddReason("name", ReasonTooLong, "must be at most 200 characters")
	default:
		v.CheckText("name", in.Name, false)
	}
	switch {
	case !balances.ValidText(in.Email, false):
		v.CheckText("email", in.Email, false)
	case in.Email == "" && requireEmail:
		v.AddReason("email", ReasonRequired, "is required")
	case in.Email != "" && !validEmail(in.Email):
		v.AddReason("email", ReasonInvalid, "must be an email address such as ada@example.com")
	}
	if in.Birthday != "" {
		d, err := time.Parse(time.DateOnly, in.Birthday)
		switch {
		case err != nil:
			v.AddReason("birthday", ReasonInvalid, "must be a date as YYYY-MM-DD")
		case d.After(now) || d.Year() < 1900:
			v.AddReason("birthday", ReasonRange, "must be a past date after 1900")
		}
	}
	if len(in.ExternalID) > 255 {
		v.AddReason("external_id", ReasonInvalid, "must be at most 255 printable bytes")
	} else {
		v.CheckText("external_id", in.ExternalID, false)
	}
	return v.Err()
}

// validEmail accepts a plain address (no display name) of at most 254
// bytes whose domain has a dot.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && balances.ValidText(s, false) && a.Address == s && len(s) <= 254 && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

// MemberCreator is what enrolment needs of the store.
type MemberCreator interface {
	MemberByExternalID(ctx context.Context, program, externalID string) (MemberRow, error)
	CreateMember(ctx context.Context, m Member, a Account) error
	Member(ctx context.Context, id string) (MemberRow, error)
	MemberByReferralCode(ctx context.Context, program, code string) (MemberRow, error)
}

// numberTries bounds how often enrolment draws a new member number after a
// collision (one in a billion per existing member; five misses in a row
// means something else is wrong).
const numberTries = 5

// Enroll creates a member of program p from a validated input, or answers
// the existing member when the program already knows in.ExternalID
// (created is then false). Every surface that enrols calls it.
func Enroll(ctx context.Context, st MemberCreator, p *Program, in EnrollInput, now time.Time) (m MemberRow, created bool, err error) {
	if in.ExternalID != "" {
		m, err := st.MemberByExternalID(ctx, p.ID, in.ExternalID)
		if err == nil && !m.Erased() {
			return m, false, nil
		}
		if err != nil && !errors.Is(err, ErrMemberNotFound) {
			return MemberRow{}, false, err
		}
	}
	referrer, err := enrollReferrer(ctx, st, p, in)
	if err != nil {
		return MemberRow{}, false, err
	}
	token, err := NewAuthToken()
	if err != nil {
		return MemberRow{}, false, err
	}
	// The welcome bonus is in the account CreateMember writes and in a
	// bonus entry of the same transaction: credited exactly once.
	rules := p.Rules()
	account := balances.NewAccount(rules)
	if p.WelcomeBonus > 0 {
		account = balances.Credit(account, p.WelcomeBonus, rules).Account
		account.PassVersion = 1
	}
	for range numberTries {
		number, err := NewNumber()
		if err != nil {
			return MemberRow{}, false, err
		}
		code, err := NewReferralCode()
		if err != nil {
			return MemberRow{}, false, err
		}
		mem := Member{
			ID: uuid.NewString(), Program: p.ID, Number: number,
			Name: in.Name, Email: in.Email, Birthday: in.Birthday, ExternalID: in.ExternalID,
			AuthToken: token, CreatedAt: now.UTC(),
			MarketingOptIn: in.MarketingOptIn, ConsentSource: in.Source,
			ReferralCode: code, ReferredBy: referrer, WelcomeBonus: p.WelcomeBonus, WelcomeExpiry: rules.Expiry,
		}
		err = st.CreateMember(ctx, mem, account)
		if errors.Is(err, ErrDuplicate) && in.ExternalID != "" {
			// A concurrent enrolment with the same external id won.
			if m, err2 := st.MemberByExternalID(ctx, p.ID, in.ExternalID); err2 == nil && !m.Erased() {
				return m, false, nil
			}
		}
		if errors.Is(err, ErrDuplicate) {
			continue
		}
		if err != nil {
			return MemberRow{}, false, fmt.Errorf("create member: %w", err)
		}
		m, err := st.Member(ctx, mem.ID)
		return m, true, err
	}
	return MemberRow{}, false, fmt.Errorf("create member: no free member number after %d tries", numberTries)
}

// enrollReferrer answers the ID of the live member whose referral code in
// names ("" for none, or for an unknown code the surface ignores).
func enrollReferrer(ctx context.Context, st MemberCreator, p *Program, in EnrollInput) (string, error) {
	if strings.TrimSpace(in.ReferralCode) == "" {
		return "", nil
	}
	code := NormalizeReferralCode(in.ReferralCode)
	var m MemberRow
	err := ErrUnknownReferralCode
	if code != "" {
		m, err = st.MemberByReferralCode(ctx, p.ID, code)
		if errors.Is(err, ErrMemberNotFound) || (err == nil && m.Erased()) {
			err = ErrUnknownReferralCode
		}
	}
	switch {
	case errors.Is(err, ErrUnknownReferralCode) && in.IgnoreUnknownReferral:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("referral code %q: %w", in.ReferralCode, err)
	}
	return m.ID, nil
}

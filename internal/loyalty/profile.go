// This file holds the edits of a member after enrolment: a profile patch
// (JSON merge patch semantics, RFC 7396) and the marketing consent, whose
// every change is kept.

package loyalty

import (
	"errors"
	"fmt"
	"time"

	"github.com/passd/passd/balances"
)

// Sources of a consent record: the surface through which the member gave
// or changed their marketing answer.
const (
	ConsentAPI      = "api"       // enrolment through the JSON API
	ConsentJoinPage = "join_page" // enrolment on the public join page
	ConsentAPIPatch = "api_patch" // a merchant's profile edit through the JSON API
	ConsentErasure  = "erasure"   // the member's erasure withdrew an opt-in
)

// Consent is one record of a member's marketing answer.
type Consent struct {
	MemberID       string
	MarketingOptIn bool
	Source         string
	CreatedAt      time.Time
}

// ErrExternalIDTaken means another member of the program already has the
// external ID. It is an ErrDuplicate.
var ErrExternalIDTaken = fmt.Errorf("external id already used by another member of the program: %w", ErrDuplicate)

// Field is one field of a patch: Set is false when the patch leaves the
// field as it is; a set field with Null true clears it.
type Field struct {
	Set   bool
	Null  bool
	Value string
}

// ProfilePatch is an edit of a member's profile: only the fields it sets
// change.
type ProfilePatch struct {
	Name, Email, Birthday, ExternalID Field
	MarketingOptIn                    *bool
}

// Empty reports whether the patch changes nothing.
func (p ProfilePatch) Empty() bool {
	return !p.Name.Set && !p.Email.Set && !p.Birthday.Set && !p.ExternalID.Set && p.MarketingOptIn == nil
}

// ChangesCard reports whether the patch touches a field the cards (or
// the wallets' copies of the member) carry: every profile field does;
// the marketing answer does not.
func (p ProfilePatch) ChangesCard() bool {
	return p.Name.Set || p.Email.Set || p.Birthday.Set || p.ExternalID.Set
}

// Apply checks the patch against the member's current profile with the
// one profile check (Profile.Validate) and answers it normalized (values
// trimmed; a cleared field is set to ""). Only the fields the patch sets
// are judged: a field the patch leaves alone is the member's business
// from before. The name can be changed but not cleared.
func (p ProfilePatch) Apply(current Member, now time.Time) (ProfilePatch, error) {
	in := Profile{Name: current.Name, Email: current.Email, Birthday: current.Birthday, ExternalID: current.ExternalID}
	for _, f := range []struct {
		field Field
		dst   *string
	}{{p.Name, &in.Name}, {p.Email, &in.Email}, {p.Birthday, &in.Birthday}, {p.ExternalID, &in.ExternalID}} {
		if f.field.Set {
			*f.dst = f.field.Value
		}
	}
	err := in.Validate(now, false)
	v := &balances.ValidationError{}
	if p.Name.Null {
		v.AddReason("name", ReasonRequired, "cannot be cleared")
	}
	var ve *balances.ValidationError
	if errors.As(err, &ve) {
		set := map[string]bool{"name": p.Name.Set && !p.Name.Null, "email": p.Email.Set, "birthday": p.Birthday.Set, "external_id": p.ExternalID.Set}
		for _, fe := range ve.Fields {
			if set[fe.Field] {
				v.Fields = append(v.Fields, fe)
			}
		}
	} else if err != nil {
		return ProfilePatch{}, err
	}
	if err := v.Err(); err != nil {
		return ProfilePatch{}, err
	}
	out := p
	for _, f := range []struct {
		field *Field
		value string
	}{{&out.Name, in.Name}, {&out.Email, in.Email}, {&out.Birthday, in.Birthday}, {&out.ExternalID, in.ExternalID}} {
		if f.field.Set {
			f.field.Value = f.value
			f.field.Null = f.value == ""
		}
	}
	return out, nil
}

package loyalty

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/passd/passd/balances"
)

// MaxMessageRunes bounds a merchant message.
const MaxMessageRunes = 500

// MessageInput is a merchant message as a surface received it: to a whole
// program, to one of its tiers, or to one member.
type MessageInput struct {
	Text string
	// Tier, when set, sends a program message to that tier's members only.
	Tier string
}

// Validate normalizes in (trims the text) and reports every invalid field.
// p is the program of a program message, nil for a message to one member
// (which names no tier). It is the one check of a merchant message.
func (in *MessageInput) Validate(p *Program) error {
	v := &balances.ValidationError{}
	in.Text = strings.TrimSpace(in.Text)
	if n := utf8.RuneCountInString(in.Text); n < 1 || n > MaxMessageRunes {
		v.AddReason("text", ReasonRange, "must be 1 to "+strconv.Itoa(MaxMessageRunes)+" characters")
	} else {
		v.CheckText("text", in.Text, true)
	}
	if in.Tier != "" && (p == nil || !p.HasTier(in.Tier)) {
		v.AddReason("tier", ReasonInvalid, "is not a tier of the program")
	}
	return v.Err()
}

// HasTier reports whether the program has a tier of that name.
func (p *Program) HasTier(name string) bool {
	for _, t := range p.Tiers {
		if t.Name == name {
			return true
		}
	}
	return false
}

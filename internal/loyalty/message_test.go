package loyalty

import (
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/balances"
)

func TestCardMessage(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)
	erased := t2
	tests := []struct {
		name string
		row  MemberRow
		want string
		at   time.Time
	}{
		{"none", MemberRow{}, "", time.Time{}},
		{"program only", MemberRow{ProgramMessage: "p", ProgramMessageAt: t1}, "p", t1},
		{"member only", MemberRow{MemberMessage: "m", MemberMessageAt: t1}, "m", t1},
		{"member newer", MemberRow{ProgramMessage: "p", ProgramMessageAt: t1, MemberMessage: "m", MemberMessageAt: t2}, "m", t2},
		{"program newer", MemberRow{ProgramMessage: "p", ProgramMessageAt: t2, MemberMessage: "m", MemberMessageAt: t1}, "p", t2},
		{"same time: the member's", MemberRow{ProgramMessage: "p", ProgramMessageAt: t1, MemberMessage: "m", MemberMessageAt: t1}, "m", t1},
		{"erased", MemberRow{Member: Member{ErasedAt: &erased}, ProgramMessage: "p", ProgramMessageAt: t1}, "", time.Time{}},
	}
	for _, tc := range tests {
		if got, at := tc.row.CardMessage(); got != tc.want || !at.Equal(tc.at) {
			t.Errorf("%s: CardMessage() = %q, %v; want %q, %v", tc.name, got, at, tc.want, tc.at)
		}
	}
}

func TestMessageInputValidate(t *testing.T) {
	t.Parallel()
	p := &Program{Tiers: []Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 100}}}
	tests := []struct {
		name   string
		in     MessageInput
		p      *Program
		fields []string
	}{
		{"program", MessageInput{Text: " hi "}, p, nil},
		{"tier", MessageInput{Text: "hi", Tier: "Silver"}, p, nil},
		{"500 runes", MessageInput{Text: strings.Repeat("é", 500)}, nil, nil},
		{"501 runes", MessageInput{Text: strings.Repeat("é", 501)}, nil, []string{"text"}},
		{"blank", MessageInput{Text: "  "}, p, []string{"text"}},
		{"unknown tier", MessageInput{Text: "hi", Tier: "silver"}, p, []string{"tier"}},
		{"tier to a member", MessageInput{Text: "hi", Tier: "Silver"}, nil, []string{"tier"}},
	}
	for _, tc := range tests {
		in := tc.in
		err := in.Validate(tc.p)
		var got []string
		if ve, ok := err.(*balances.ValidationError); ok {
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
		} else if err != nil {
			t.Fatalf("%s: Validate = %v", tc.name, err)
		}
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%s: Validate fields = %v, want %v", tc.name, got, tc.fields)
		}
		if err == nil && in.Text != strings.TrimSpace(tc.in.Text) {
			t.Errorf("%s: Text = %q, want it trimmed", tc.name, in.Text)
		}
	}
}

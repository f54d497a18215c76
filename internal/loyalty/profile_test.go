package loyalty

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
)

func TestProfilePatchApply(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// A stored email that today's check refuses does not block an edit of
	// another field.
	current := Member{Name: "Ada", Email: "legacy@localhost", Birthday: "1990-12-10", ExternalID: "crm-1"}
	set := func(v string) Field { return Field{Set: true, Value: v} }
	null := Field{Set: true, Null: true}
	tests := []struct {
		name   string
		patch  ProfilePatch
		want   ProfilePatch
		fields []string
	}{
		{"trims", ProfilePatch{Name: set("  Ada King ")}, ProfilePatch{Name: set("Ada King")}, nil},
		{"clears", ProfilePatch{Email: null, Birthday: set(" "), ExternalID: null},
			ProfilePatch{Email: null, Birthday: Field{Set: true, Null: true}, ExternalID: null}, nil},
		{"nothing", ProfilePatch{}, ProfilePatch{}, nil},
		{"name null", ProfilePatch{Name: null}, ProfilePatch{}, []string{"name"}},
		{"name blank", ProfilePatch{Name: set(" ")}, ProfilePatch{}, []string{"name"}},
		{"every field bad", ProfilePatch{Name: set("a\x00"), Email: set("x"), Birthday: set("2999-01-01"), ExternalID: set("a\x01")},
			ProfilePatch{}, []string{"name", "email", "birthday", "external_id"}},
	}
	for _, tc := range tests {
		got, err := tc.patch.Apply(current, now)
		var ve *balances.ValidationError
		if tc.fields != nil {
			if !errors.As(err, &ve) {
				t.Errorf("%s: Apply = %v, want a validation error", tc.name, err)
				continue
			}
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s", tc.name, diff)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Apply = %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: Apply (-want +got):\n%s", tc.name, diff)
		}
	}
	if !(ProfilePatch{}).Empty() || (ProfilePatch{MarketingOptIn: new(bool)}).Empty() || (ProfilePatch{MarketingOptIn: new(bool)}).ChangesCard() {
		t.Error("Empty/ChangesCard disagree with the patch")
	}
}

package loyalty

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
)

func TestValidateKeyRequest(t *testing.T) {
	t.Parallel()
	known := func(p string) bool { return p == "demo" }
	for _, tc := range []struct {
		role, program string
		fields        []string
	}{
		{"pos", "demo", nil},
		{"admin", "", nil},
		{"owner", "demo", []string{"role"}},
		{"merchant", "nope", []string{"program"}},
		{"", "nope", []string{"role", "program"}},
	} {
		err := ValidateKeyRequest(tc.role, tc.program, known)
		var got []string
		var ve *balances.ValidationError
		if errors.As(err, &ve) {
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
		} else if err != nil {
			t.Errorf("ValidateKeyRequest(%q, %q) = %v, not a validation error", tc.role, tc.program, err)
		}
		if diff := cmp.Diff(tc.fields, got); diff != "" {
			t.Errorf("ValidateKeyRequest(%q, %q) fields (-want +got):\n%s", tc.role, tc.program, diff)
		}
	}
}

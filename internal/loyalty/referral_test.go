package loyalty

import (
	"strings"
	"testing"
)

func TestNewReferralCode(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c, err := NewReferralCode()
		if err != nil || len(c) != ReferralCodeLen || NormalizeReferralCode(c) != c {
			t.Fatalf("NewReferralCode() = %q, %v, want %d characters of %s", c, err, ReferralCodeLen, ReferralAlphabet)
		}
		if strings.ContainsAny(c, "01ILOU") {
			t.Fatalf("NewReferralCode() = %q, want no ambiguous characters", c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Errorf("200 codes drawn, %d distinct", len(seen))
	}
}

func TestNormalizeReferralCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"k7m2q9xz":   "K7M2Q9XZ",
		" K7M2Q9XZ ": "K7M2Q9XZ",
		"K7M2Q9X":    "",
		"K7M2Q9XZZ":  "",
		"K7M2Q9X0":   "",
		"K7M2Q9XO":   "",
		"":           "",
		"K7M2Q9X!":   "",
	} {
		if got := NormalizeReferralCode(in); got != want {
			t.Errorf("NormalizeReferralCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReferralEligible(t *testing.T) {
	t.Parallel()
	referrer := Member{ID: "a", Email: "ada@example.com"}
	for name, tc := range map[string]struct {
		referee Member
		want    bool
	}{
		"referred":            {Member{ID: "b", Email: "bea@example.com", ReferredBy: "a"}, true},
		"no email":            {Member{ID: "b", ReferredBy: "a"}, true},
		"same email":          {Member{ID: "b", Email: "ada@example.com", ReferredBy: "a"}, false},
		"same email any case": {Member{ID: "b", Email: " ADA@Example.COM", ReferredBy: "a"}, false},
		"self":                {Member{ID: "a", Email: "x@example.com", ReferredBy: "a"}, false},
		"referred by another": {Member{ID: "b", Email: "bea@example.com", ReferredBy: "c"}, false},
		"not referred":        {Member{ID: "b", Email: "bea@example.com"}, false},
	} {
		if got := ReferralEligible(tc.referee, referrer); got != tc.want {
			t.Errorf("%s: ReferralEligible(%+v, %+v) = %v, want %v", name, tc.referee, referrer, got, tc.want)
		}
	}
}

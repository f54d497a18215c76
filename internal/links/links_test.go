package links

import (
	"strings"
	"testing"
)

func TestPassURLIsBoundToOneMember(t *testing.T) {
	t.Parallel()
	s := New([]byte("links-test-secret-links-test-secret!"), "https://loyalty.example.com")
	u := s.PassURL("member-a")
	if !strings.HasPrefix(u, "https://loyalty.example.com/passes/member-a.pkpass?sig=") {
		t.Fatalf("PassURL = %q", u)
	}
	sig := u[strings.Index(u, "sig=")+4:]
	if !s.Verify(KindPass, "member-a", sig) {
		t.Errorf("Verify(own signature) = false")
	}
	for name, ok := range map[string]bool{
		"other member": s.Verify(KindPass, "member-b", sig),
		"other kind":   s.Verify(KindJoinResult, "member-a", sig),
		"truncated":    s.Verify(KindPass, "member-a", sig[:len(sig)-1]),
		"empty":        s.Verify(KindPass, "member-a", ""),
		"other secret": New([]byte("another-secret-another-secret-12345"), "https://x").Verify(KindPass, "member-a", sig),
	} {
		if ok {
			t.Errorf("%s: Verify = true, want false", name)
		}
	}
}

package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

func TestJoinWithReferralCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	ref, _, err := loyalty.Enroll(ctx, e.store, &loyalty.Program{ID: "demo"},
		loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Grace", Email: "grace@example.com"}}, e.clock.Now())
	if err != nil || ref.ReferralCode == "" {
		t.Fatalf("Enroll(referrer) = %+v, %v, want a member with a referral code", ref, err)
	}

	b := e.browser()
	form := b.do("GET", "/join/demo?ref="+ref.ReferralCode, nil)
	form.has(t, `name="ref" value="`+ref.ReferralCode+`"`)
	token := form.token(t)
	v := valid(token)
	v.Set("ref", ref.ReferralCode)
	if p := b.do("POST", "/join/demo", v); p.status != 303 {
		t.Fatalf("POST with ref = %d, want 303:\n%s", p.status, p.body)
	}
	m, ok := e.nonceMember(token)
	if !ok || m.ReferredBy != ref.ID {
		t.Fatalf("member joined with ?ref= = %+v, %v, want referred by %s", m, ok, ref.ID)
	}
	rules := balances.Rules{Referral: &balances.ReferralPoints{Referrer: 30, Referee: 20}}
	if _, err := e.store.Post(ctx, m.ID, "k", "h", balances.Request{Type: balances.Earn, Points: 5}, rules); err != nil {
		t.Fatalf("Post(first earn) = %v", err)
	}
	for id, want := range map[string]int64{m.ID: 25, ref.ID: 30} {
		if got, err := e.store.Member(ctx, id); err != nil || got.Account.Points != want {
			t.Errorf("Member(%s) points = %d, %v, want %d", id, got.Account.Points, err, want)
		}
	}

	// An unknown code is ignored: the visitor joins, referred by nobody.
	b = e.browser()
	form = b.do("GET", "/join/demo?ref=ZZZZZZZZ", nil)
	token = form.token(t)
	v = valid(token)
	v.Set("ref", "ZZZZZZZZ")
	if p := b.do("POST", "/join/demo", v); p.status != 303 {
		t.Fatalf("POST with an unknown ref = %d, want 303:\n%s", p.status, p.body)
	}
	if m, ok := e.nonceMember(token); !ok || m.ReferredBy != "" {
		t.Errorf("member joined with an unknown ?ref= = %+v, %v, want referred by nobody", m, ok)
	}
	// No ?ref=: no hidden field.
	if p := e.browser().do("GET", "/join/demo", nil); p.status != 200 || strings.Contains(p.body, `name="ref"`) {
		t.Errorf("form without ?ref= has a ref field (status %d)", p.status)
	}
}

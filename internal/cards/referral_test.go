package cards

import (
	"testing"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/passkit"
)

func TestReferralLinkOnTheBack(t *testing.T) {
	t.Parallel()
	referral := func(p *passkit.Pass) (passkit.Field, bool) {
		for _, f := range p.StoreCard.BackFields {
			if f.Key == "referral" {
				return f, true
			}
		}
		return passkit.Field{}, false
	}
	m := ada()
	m.ReferralCode = "K7M2Q9XZ"
	p := demo(t)
	if f, ok := referral(Pass(Card{Member: m, Program: p}, secret, "https://loyalty.example.com", "pass.a.b", "T")); ok {
		t.Errorf("back field without a referral block = %+v, want none", f)
	}
	withReferral := *p
	withReferral.Referral = &loyalty.Referral{ReferrerPoints: 100, RefereePoints: 50}
	pass := Pass(Card{Member: m, Program: &withReferral}, secret, "https://loyalty.example.com/", "pass.a.b", "T")
	f, ok := referral(pass)
	if want := passkit.StringValue("https://loyalty.example.com/join/demo?ref=K7M2Q9XZ"); !ok || f.Value != want || f.Label != "referral_label" {
		t.Errorf("referral back field = %+v, %v, want %v labelled referral_label", f, ok, want)
	}
	if err := pass.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestReferralModuleOnGoogle(t *testing.T) {
	t.Parallel()
	m := ada()
	m.ReferralCode = "K7M2Q9XZ"
	p := demo(t)
	if c := GoogleCard(m, p, "", secret, "https://loyalty.example.com"); len(c.Modules) != 0 {
		t.Errorf("GoogleCard without a referral block: modules %+v, want none", c.Modules)
	}
	withReferral := *p
	withReferral.Referral = &loyalty.Referral{ReferrerPoints: 100}
	c := GoogleCard(m, &withReferral, "", secret, "https://loyalty.example.com")
	if len(c.Modules) != 1 || c.Modules[0].ID != "referral" || c.Modules[0].Body != "https://loyalty.example.com/join/demo?ref=K7M2Q9XZ" {
		t.Errorf("GoogleCard with a referral block: modules %+v, want the referral link", c.Modules)
	}
}

package balances

import "testing"

func TestCredit(t *testing.T) {
	t.Parallel()
	r := Rules{Tiers: []Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 100}}}
	a := Account{Points: 30, Lifetime: 80, Qualifying: 80, Tier: "Bronze", PassVersion: 3}
	out := Credit(a, 25, r)
	want := Account{Points: 55, Lifetime: 105, Qualifying: 105, Tier: "Silver", PassVersion: 4}
	if out.Account != want || out.Delta != 25 || !out.TierChanged || out.OldTier != "Bronze" {
		t.Errorf("Credit(%+v, 25) = %+v, want %+v, a tier change from Bronze", a, out, want)
	}
	if a.Points != 30 {
		t.Errorf("Credit mutated its account: %+v", a)
	}
}

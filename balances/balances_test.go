package balances

import (
	"errors"
	"testing"
)

var demoRules = Rules{PointsPerUnit: 10, MinorPerUnit: 100, Tiers: []Tier{{"Bronze", 0}, {"Silver", 1000}, {"Gold", 5000}}}

func TestTierFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q    int64
		want string
	}{{0, "Bronze"}, {999, "Bronze"}, {1000, "Silver"}, {4999, "Silver"}, {5000, "Gold"}, {1 << 40, "Gold"}, {-5, "Bronze"}} {
		if got := demoRules.TierFor(tc.q); got != tc.want {
			t.Errorf("TierFor(%d) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestNextTier(t *testing.T) {
	t.Parallel()
	tier, missing, ok := demoRules.NextTier(400)
	if !ok || tier.Name != "Silver" || missing != 600 {
		t.Errorf("NextTier(400) = %v, %d, %v, want Silver, 600, true", tier, missing, ok)
	}
	if _, _, ok := demoRules.NextTier(5000); ok {
		t.Errorf("NextTier(5000) ok = true, want false at the top")
	}
}

// Tiers are an optional rule block: a program without them is valid and
// its members hold no tier.
func TestRulesWithoutTiers(t *testing.T) {
	t.Parallel()
	r := Rules{PointsPerUnit: 1}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate(no tiers) = %v, want nil", err)
	}
	if got := r.TierFor(5000); got != "" {
		t.Errorf("TierFor(5000) without tiers = %q, want \"\"", got)
	}
	if _, _, ok := r.NextTier(0); ok {
		t.Errorf("NextTier(0) without tiers ok = true, want false")
	}
	out, err := Apply(NewAccount(r), Request{Type: Earn, Points: 10}, r)
	if err != nil || out.TierChanged || out.Account.Tier != "" {
		t.Errorf("Apply(earn) without tiers = %+v, %v, want no tier and no change", out, err)
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		r     Rules
		field string
	}{
		"first not zero": {Rules{Tiers: []Tier{{"A", 5}}}, "tiers[0].threshold"},
		"not increasing": {Rules{Tiers: []Tier{{"A", 0}, {"B", 10}, {"C", 10}}}, "tiers[2].threshold"},
		"duplicate name": {Rules{Tiers: []Tier{{"A", 0}, {"A", 10}}}, "tiers[1].name"},
		"empty name":     {Rules{Tiers: []Tier{{"", 0}}}, "tiers[0].name"},
		"negative earn":  {Rules{PointsPerUnit: -1, Tiers: []Tier{{"A", 0}}}, "earn.points_per_unit"},
		"oversized earn": {Rules{PointsPerUnit: MaxPoints + 1, Tiers: []Tier{{"A", 0}}}, "earn.points_per_unit"},
	} {
		err := tc.r.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: Validate() = %v, want a ValidationError", name, err)
			continue
		}
		found := false
		for _, f := range ve.Fields {
			found = found || f.Field == tc.field
		}
		if !found {
			t.Errorf("%s: Validate() fields = %v, want %s among them", name, ve.Fields, tc.field)
		}
	}
	if err := demoRules.Validate(); err != nil {
		t.Errorf("demoRules.Validate() = %v, want nil", err)
	}
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q  Request
		ok bool
	}{
		{Request{Type: Earn, Points: 1}, true},
		{Request{Type: Earn, Points: MaxPoints}, true},
		{Request{Type: Earn, Points: MaxPoints + 1}, false},
		{Request{Type: Earn, Points: 0}, false},
		{Request{Type: Earn, Points: -1}, false},
		{Request{Type: Redeem, Points: 5}, true},
		{Request{Type: Redeem, Points: -5}, false},
		{Request{Type: Adjust, Points: -5}, true},
		{Request{Type: Adjust, Points: 0}, false},
		{Request{Type: Adjust, Points: -MaxPoints - 1}, false},
		{Request{Type: "gift", Points: 5}, false},
		{Request{Points: 5}, false},
		{Request{Type: Earn, Points: 1, Reference: string(make([]byte, 256))}, false},
	} {
		if err := tc.q.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok %v", tc.q, err, tc.ok)
		}
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	a := NewAccount(demoRules)
	if a.Tier != "Bronze" || a.PassVersion != 1 {
		t.Fatalf("NewAccount() = %+v, want Bronze at version 1", a)
	}
	steps := []struct {
		q          Request
		points     int64
		lifetime   int64
		qualifying int64
		tier       string
		changed    bool
		err        error
	}{
		{Request{Type: Earn, Points: 800}, 800, 800, 800, "Bronze", false, nil},
		{Request{Type: Earn, Points: 300}, 1100, 1100, 1100, "Silver", true, nil},
		{Request{Type: Redeem, Points: 1100}, 0, 1100, 1100, "Silver", false, nil},
		{Request{Type: Redeem, Points: 1}, 0, 1100, 1100, "Silver", false, ErrInsufficientPoints},
		{Request{Type: Adjust, Points: -1}, 0, 1100, 1100, "Silver", false, ErrInsufficientPoints},
		{Request{Type: Adjust, Points: 50}, 50, 1150, 1150, "Silver", false, nil},
		{Request{Type: Adjust, Points: -50}, 0, 1150, 1100, "Silver", false, nil},
	}
	for i, s := range steps {
		out, err := Apply(a, s.q, demoRules)
		if !errors.Is(err, s.err) {
			t.Fatalf("step %d: Apply(%+v) err = %v, want %v", i, s.q, err, s.err)
		}
		if err != nil {
			continue
		}
		n := out.Account
		if n.Points != s.points || n.Lifetime != s.lifetime || n.Qualifying != s.qualifying || n.Tier != s.tier || out.TierChanged != s.changed {
			t.Fatalf("step %d: Apply(%+v) = %+v changed=%v, want points %d lifetime %d qualifying %d tier %s changed %v",
				i, s.q, n, out.TierChanged, s.points, s.lifetime, s.qualifying, s.tier, s.changed)
		}
		if n.PassVersion != a.PassVersion+1 {
			t.Fatalf("step %d: pass version %d, want %d", i, n.PassVersion, a.PassVersion+1)
		}
		if out.Delta != s.q.Delta() {
			t.Fatalf("step %d: delta %d, want %d", i, out.Delta, s.q.Delta())
		}
		a = n
	}
}

func TestApplyNegativeAdjustCanLowerTier(t *testing.T) {
	t.Parallel()
	a := Account{Points: 1200, Lifetime: 1200, Qualifying: 1200, Tier: "Silver", PassVersion: 3}
	out, err := Apply(a, Request{Type: Adjust, Points: -500}, demoRules)
	if err != nil {
		t.Fatal(err)
	}
	if out.Account.Tier != "Bronze" || !out.TierChanged || out.OldTier != "Silver" || out.Account.Lifetime != 1200 {
		t.Errorf("Apply(adjust -500) = %+v, want Bronze, tier changed from Silver, lifetime kept", out)
	}
}

func TestPointsForAmount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ minor, want int64 }{{1299, 120}, {100, 10}, {99, 0}, {0, 0}, {-100, 0}} {
		if got := demoRules.PointsForAmount(tc.minor); got != tc.want {
			t.Errorf("PointsForAmount(%d) = %d, want %d", tc.minor, got, tc.want)
		}
	}
}

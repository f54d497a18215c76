package balances

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestBasePoints(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		r      Rules
		amount int64
		want   int64
		ok     bool
	}{
		"whole units":              {demoRules, 1000, 100, true},
		"floor of cents":           {demoRules, 1299, 129, true},
		"a cent earns nothing":     {demoRules, 1, 0, true},
		"nine cents earn nothing":  {demoRules, 9, 0, true},
		"ten cents earn one":       {demoRules, 10, 1, true},
		"no points per unit":       {Rules{MinorPerUnit: 100}, 5000, 0, true},
		"yen, one per unit":        {Rules{PointsPerUnit: 1, MinorPerUnit: 1}, 1_000_000_000, 1_000_000_000, true},
		"over max points":          {Rules{PointsPerUnit: 1, MinorPerUnit: 1}, 1_000_000_001, 0, false},
		"128-bit product, small q": {Rules{PointsPerUnit: MaxPoints, MinorPerUnit: 10_000}, 10_000, MaxPoints, true},
		"128-bit product, huge q":  {Rules{PointsPerUnit: MaxPoints, MinorPerUnit: 1}, MaxAmount, 0, false},
		"product past 2^64":        {Rules{PointsPerUnit: MaxPoints, MinorPerUnit: 10_000}, MaxAmount, 0, false},
		"no minor per unit":        {Rules{PointsPerUnit: 1}, 100, 0, false},
	} {
		got, ok := tc.r.BasePoints(tc.amount)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: BasePoints(%d) = %d, %v, want %d, %v", name, tc.amount, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBonusPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, tenths, want int64 }{
		{100, 20, 100}, {7, 15, 3}, {1, 15, 0}, {3, 11, 0}, {10, 11, 1}, {0, 20, 0},
		{MaxPoints, 100, 9 * MaxPoints}, {100, 10, 0},
	} {
		if got := BonusPoints(tc.base, tc.tenths); got != tc.want {
			t.Errorf("BonusPoints(%d, %d) = %d, want %d", tc.base, tc.tenths, got, tc.want)
		}
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCampaignActiveAt(t *testing.T) {
	t.Parallel()
	paris := mustZone(t, "Europe/Paris")
	r := demoRules
	r.Location = paris
	year := Campaign{ID: "c", MultiplierTenths: 20,
		StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EndsAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	happy := year
	happy.FromMinute, happy.ToMinute = 17*60, 19*60
	weekend := year
	weekend.DaysOfWeek = []int{6, 7}
	silver := year
	silver.MinTier = "Silver"
	gone := year
	gone.MinTier = "Platinum"
	local := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }
	for name, tc := range map[string]struct {
		c    Campaign
		at   time.Time
		tier string
		want bool
	}{
		"at the start":                 {year, year.StartsAt, "Bronze", true},
		"just before the start":        {year, year.StartsAt.Add(-time.Nanosecond), "Bronze", false},
		"at the end (exclusive)":       {year, year.EndsAt, "Bronze", false},
		"happy hour, winter (UTC+1)":   {happy, local(2026, 1, 15, 17, 0), "Bronze", true},
		"happy hour in UTC, not local": {happy, time.Date(2026, 1, 15, 18, 30, 0, 0, time.UTC), "Bronze", false},
		"happy hour end exclusive":     {happy, local(2026, 1, 15, 19, 0), "Bronze", false},
		"happy hour, summer (UTC+2)":   {happy, time.Date(2026, 7, 15, 15, 30, 0, 0, time.UTC), "Bronze", true},
		"summer 17:30 UTC is 19:30":    {happy, time.Date(2026, 7, 15, 17, 30, 0, 0, time.UTC), "Bronze", false},
		// 29 March 2026: clocks go from 02:00 to 03:00 in Paris.
		"DST day, 17:59 local": {happy, local(2026, 3, 29, 17, 59), "Bronze", true},
		"DST day, 16:59 local": {happy, local(2026, 3, 29, 16, 59), "Bronze", false},
		// Saturday 24 October 2026 23:30 UTC is Sunday 01:30 in Paris.
		"weekend by local day":  {weekend, time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), "Bronze", true},
		"friday night in Paris": {weekend, time.Date(2026, 10, 23, 21, 30, 0, 0, time.UTC), "Bronze", false},
		"sunday is 7":           {weekend, local(2026, 10, 25, 12, 0), "Bronze", true},
		"monday is 1":           {weekend, local(2026, 10, 26, 12, 0), "Bronze", false},
		"min tier met":          {silver, local(2026, 5, 1, 12, 0), "Silver", true},
		"min tier passed":       {silver, local(2026, 5, 1, 12, 0), "Gold", true},
		"min tier not met":      {silver, local(2026, 5, 1, 12, 0), "Bronze", false},
		"tier gone from ladder": {gone, local(2026, 5, 1, 12, 0), "Gold", false},
	} {
		if got := tc.c.ActiveAt(tc.at, tc.tier, r); got != tc.want {
			t.Errorf("%s: ActiveAt(%v, %q) = %v, want %v", name, tc.at, tc.tier, got, tc.want)
		}
	}
}

func TestBestCampaign(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	c := func(id string, tenths int64, starts time.Time, minTier string) Campaign {
		return Campaign{ID: id, MultiplierTenths: tenths, StartsAt: starts, EndsAt: end, MinTier: minTier}
	}
	at := start.AddDate(0, 6, 0)
	for name, tc := range map[string]struct {
		cs     []Campaign
		tier   string
		want   string
		wantOK bool
	}{
		"none":                    {nil, "Bronze", "", false},
		"highest wins":            {[]Campaign{c("a", 15, start, ""), c("b", 30, start, ""), c("c", 20, start, "")}, "Bronze", "b", true},
		"tie: earliest start":     {[]Campaign{c("a", 20, start.AddDate(0, 1, 0), ""), c("b", 20, start, "")}, "Bronze", "b", true},
		"tie: smallest id":        {[]Campaign{c("z", 20, start, ""), c("a", 20, start, "")}, "Bronze", "a", true},
		"best not for this tier":  {[]Campaign{c("gold", 50, start, "Gold"), c("all", 15, start, "")}, "Silver", "all", true},
		"best for this tier":      {[]Campaign{c("gold", 50, start, "Gold"), c("all", 15, start, "")}, "Gold", "gold", true},
		"not started is not best": {[]Campaign{c("later", 50, at.Add(time.Hour), ""), c("now", 15, start, "")}, "Bronze", "now", true},
	} {
		r := demoRules
		r.Campaigns = tc.cs
		got, ok := r.BestCampaign(at, tc.tier)
		if got.ID != tc.want || ok != tc.wantOK {
			t.Errorf("%s: BestCampaign = %q, %v, want %q, %v", name, got.ID, ok, tc.want, tc.wantOK)
		}
	}
}

func TestApplyEarnAmount(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	double := Campaign{ID: "double", MultiplierTenths: 20, StartsAt: at.Add(-time.Hour), EndsAt: at.Add(time.Hour)}
	for name, tc := range map[string]struct {
		req       Request
		campaigns []Campaign
		want      Earning
	}{
		"amount, no campaign":       {Request{Type: Earn, Amount: 1299}, nil, Earning{Amount: 1299, Base: 129}},
		"amount, double points":     {Request{Type: Earn, Amount: 1299}, []Campaign{double}, Earning{Amount: 1299, Base: 129, Bonus: 129, CampaignID: "double"}},
		"amount worth 0 points":     {Request{Type: Earn, Amount: 5}, []Campaign{double}, Earning{Amount: 5, CampaignID: "double"}},
		"points are not multiplied": {Request{Type: Earn, Points: 40}, []Campaign{double}, Earning{Base: 40}},
		"redeem earns nothing":      {Request{Type: Redeem, Points: 1}, []Campaign{double}, Earning{}},
	} {
		r := demoRules
		r.Campaigns = tc.campaigns
		tc.req.OccurredAt = at
		out, err := Apply(Account{Points: 10, Tier: "Bronze"}, tc.req, r)
		if err != nil {
			t.Errorf("%s: Apply = %v", name, err)
			continue
		}
		if out.Earning != tc.want {
			t.Errorf("%s: Apply earning = %+v, want %+v", name, out.Earning, tc.want)
		}
		if tc.req.Type == Earn && (out.Delta != tc.want.Base+tc.want.Bonus || out.Account.Points != 10+out.Delta || out.Account.Lifetime != out.Delta) {
			t.Errorf("%s: Apply = %+v, want delta %d added to balance and lifetime", name, out, tc.want.Base+tc.want.Bonus)
		}
	}
}

func TestRequestValidateAmount(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		req   Request
		field string
	}{
		"both":             {Request{Type: Earn, Points: 5, Amount: 100}, "amount"},
		"neither":          {Request{Type: Earn}, "points"},
		"negative amount":  {Request{Type: Earn, Amount: -1}, "amount"},
		"amount too big":   {Request{Type: Earn, Amount: MaxAmount + 1}, "amount"},
		"amount on redeem": {Request{Type: Redeem, Points: 1, Amount: 100}, "amount"},
		"ok at max":        {Request{Type: Earn, Amount: MaxAmount}, ""},
	} {
		err := tc.req.Validate()
		var ve *ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Field != tc.field):
			t.Errorf("%s: Validate() = %v, want a problem with %s", name, err, tc.field)
		}
	}
	r := Rules{PointsPerUnit: 1, MinorPerUnit: 1, Campaigns: []Campaign{{ID: "x10", MultiplierTenths: 100, EndsAt: time.Unix(math.MaxInt32, 0)}}}
	_, err := Apply(Account{}, Request{Type: Earn, Amount: 200_000_000, OccurredAt: time.Unix(1, 0)}, r)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "amount" {
		t.Errorf("Apply(x10 of 2e8 points) = %v, want a problem with amount (past 1e9 points)", err)
	}
}

// FuzzEarn checks the amount maths against math/big and that the ledger's
// invariant holds: the entry's points are what the balance and lifetime
// move by.
func FuzzEarn(f *testing.F) {
	f.Add(int64(1299), int64(10), int64(100), int64(20))
	f.Add(int64(MaxAmount), int64(MaxPoints), int64(1), int64(100))
	f.Add(int64(1), int64(1), int64(10_000), int64(11))
	f.Fuzz(func(t *testing.T, amount, ppu, mpu, tenths int64) {
		if amount < 1 || amount > MaxAmount || ppu < 0 || ppu > MaxPoints || mpu < 1 || mpu > 10_000 ||
			tenths < MinMultiplierTenths || tenths > MaxMultiplierTenths {
			return
		}
		at := time.Unix(1_800_000_000, 0)
		r := Rules{PointsPerUnit: ppu, MinorPerUnit: mpu,
			Campaigns: []Campaign{{ID: "c", MultiplierTenths: tenths, StartsAt: at, EndsAt: at.Add(time.Hour)}}}
		base := new(big.Int).Mul(big.NewInt(amount), big.NewInt(ppu))
		base.Quo(base, big.NewInt(mpu))
		total := new(big.Int).Mul(base, big.NewInt(tenths))
		total.Quo(total, big.NewInt(10))
		a := Account{Points: 7, Lifetime: 7, Qualifying: 7}
		out, err := Apply(a, Request{Type: Earn, Amount: amount, OccurredAt: at}, r)
		if total.Cmp(big.NewInt(MaxPoints)) > 0 {
			if err == nil {
				t.Fatalf("Apply(%d at %d/%d x%d/10) = %d points, want a validation error past MaxPoints", amount, ppu, mpu, tenths, out.Delta)
			}
			return
		}
		if err != nil {
			t.Fatalf("Apply(%d at %d/%d x%d/10) = %v", amount, ppu, mpu, tenths, err)
		}
		e := out.Earning
		if e.Base != base.Int64() || e.Base+e.Bonus != total.Int64() || out.Delta != e.Base+e.Bonus {
			t.Fatalf("Apply(%d at %d/%d x%d/10) = %+v, delta %d; want base %v, total %v", amount, ppu, mpu, tenths, e, out.Delta, base, total)
		}
		if out.Account.Points-a.Points != out.Delta || out.Account.Lifetime-a.Lifetime != out.Delta {
			t.Fatalf("Apply moved the balance by %d and lifetime by %d, want the entry's %d", out.Account.Points-a.Points, out.Account.Lifetime-a.Lifetime, out.Delta)
		}
	})
}

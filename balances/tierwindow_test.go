package balances

import (
	"testing"
	"time"
)

func TestQualifies(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		occurredAt time.Time
		postedAt   time.Time
		window     time.Duration
		want       bool
	}{
		{"lifetime window: a sale five years back counts", now.AddDate(-5, 0, 0), now, 0, true},
		{"rolling: a sale of today counts", now, now, RollingTierWindow, true},
		{"rolling: a sale 364 days back counts", now.Add(-364 * 24 * time.Hour), now, RollingTierWindow, true},
		{"rolling: a sale exactly 365 days back does not", now.Add(-RollingTierWindow), now, RollingTierWindow, false},
		{"rolling: a sale 400 days back does not", now.Add(-400 * 24 * time.Hour), now, RollingTierWindow, false},
		{"rolling: no posting time counts", now.AddDate(-3, 0, 0), time.Time{}, RollingTierWindow, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Qualifies(tc.occurredAt, tc.postedAt, tc.window); got != tc.want {
				t.Errorf("Qualifies(%v, %v, %v) = %v, want %v", tc.occurredAt, tc.postedAt, tc.window, got, tc.want)
			}
		})
	}
}

func TestRollingQualifying(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * day) }
	tests := []struct {
		name     string
		entries  []QualifyingEntry
		want     int64
		wantNext time.Time
	}{
		{"no entries", nil, 0, time.Time{}},
		{"earns in the window add up; the oldest leaves first", []QualifyingEntry{
			{Earn, 100, ago(300)}, {Earn, 50, ago(10)},
		}, 150, ago(300).Add(RollingTierWindow)},
		{"an earn that left the window no longer counts", []QualifyingEntry{
			{Earn, 1000, ago(366)}, {Earn, 50, ago(10)},
		}, 50, ago(10).Add(RollingTierWindow)},
		{"an earn exactly 365 days old has left", []QualifyingEntry{{Earn, 1000, ago(365)}}, 0, time.Time{}},
		{"bonuses and positive adjustments count", []QualifyingEntry{
			{Bonus, 40, ago(20)}, {Adjust, 60, ago(5)},
		}, 100, ago(20).Add(RollingTierWindow)},
		{"redemptions and expiries do not count", []QualifyingEntry{
			{Earn, 100, ago(30)}, {Redeem, -80, ago(20)}, {"expire", -20, ago(1)},
		}, 100, ago(30).Add(RollingTierWindow)},
		{"a negative adjustment takes off, never below 0", []QualifyingEntry{
			{Earn, 30, ago(30)}, {Adjust, -100, ago(2)},
		}, 0, ago(30).Add(RollingTierWindow)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, next := RollingQualifying(tc.entries, RollingTierWindow, now)
			if got != tc.want || !next.Equal(tc.wantNext) {
				t.Errorf("RollingQualifying(%v) = %d, %v; want %d, %v", tc.entries, got, next, tc.want, tc.wantNext)
			}
		})
	}
}

func TestReviewFallsATier(t *testing.T) {
	t.Parallel()
	r := Rules{Tiers: []Tier{{"Bronze", 0}, {"Silver", 100}, {"Gold", 1000}}, TierWindow: RollingTierWindow}
	a := Account{Points: 1200, Lifetime: 1200, Qualifying: 1200, Tier: "Gold", PassVersion: 7}
	tests := []struct {
		name       string
		qualifying int64
		tier       string
		changed    bool
	}{
		{"still Gold", 1000, "Gold", false},
		{"down to Silver", 999, "Silver", true},
		{"down to Bronze", 0, "Bronze", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Review(a, tc.qualifying, r)
			if out.Account.Tier != tc.tier || out.TierChanged != tc.changed || out.OldTier != "Gold" ||
				out.Account.Qualifying != tc.qualifying || out.Account.Points != 1200 || out.Account.Lifetime != 1200 || out.Account.PassVersion != 7 {
				t.Errorf("Review(Gold 1200, %d) = %+v, want %s (changed %v), balance, lifetime and version kept", tc.qualifying, out, tc.tier, tc.changed)
			}
		})
	}
}

func TestApplyRollingWindowIgnoresOldSales(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
	r := Rules{Tiers: []Tier{{"Bronze", 0}, {"Silver", 100}}, TierWindow: RollingTierWindow}
	old := Request{Type: Earn, Points: 500, OccurredAt: now.Add(-400 * 24 * time.Hour), PostedAt: now}
	out, err := Apply(NewAccount(r), old, r)
	if err != nil {
		t.Fatal(err)
	}
	if out.Account.Points != 500 || out.Account.Lifetime != 500 || out.Account.Qualifying != 0 || out.Account.Tier != "Bronze" {
		t.Errorf("Apply(earn of a sale 400 days back, rolling) = %+v, want 500 points and lifetime, 0 qualifying, Bronze", out.Account)
	}
	r.TierWindow = 0
	if out, err := Apply(NewAccount(r), old, r); err != nil || out.Account.Qualifying != 500 || out.Account.Tier != "Silver" {
		t.Errorf("Apply(earn of a sale 400 days back, lifetime) = %+v, %v; want 500 qualifying, Silver", out.Account, err)
	}
}

// FuzzRollingQualifying checks RollingQualifying on random ledgers: the
// qualifying points are never negative and are what the entries inside
// the window add up to, and the next review is after now and only when an
// entry in the window added points; that review plans a later one.
func FuzzRollingQualifying(f *testing.F) {
	f.Add([]byte{0, 10, 1, 1, 200, 2, 2, 30, 250})
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
		types := []EntryType{Earn, Bonus, Adjust, Redeem, "expire"}
		var es []QualifyingEntry
		var sum int64
		adds := false
		for i := 0; i+2 < len(data); i += 3 {
			e := QualifyingEntry{Type: types[int(data[i])%len(types)], Points: int64(data[i+1]) - 64,
				OccurredAt: now.Add(-time.Duration(data[i+2]) * 2 * 24 * time.Hour)}
			if e.Type != Adjust {
				e.Points = max(1, e.Points)
			}
			es = append(es, e)
			inWindow := e.OccurredAt.After(now.Add(-RollingTierWindow))
			counts := e.Type == Earn || e.Type == Bonus || e.Type == Adjust
			if inWindow && counts {
				sum += e.Points
				adds = adds || e.Points > 0
			}
		}
		q, next := RollingQualifying(es, RollingTierWindow, now)
		if q < 0 || q != max(0, sum) {
			t.Fatalf("RollingQualifying = %d, want max(0, %d)", q, sum)
		}
		if adds != !next.IsZero() || (!next.IsZero() && !next.After(now)) {
			t.Fatalf("next review %v (now %v), an entry added points: %v", next, now, adds)
		}
		if !next.IsZero() {
			if _, after := RollingQualifying(es, RollingTierWindow, next); !after.IsZero() && !after.After(next) {
				t.Fatalf("the review at %v plans the next at %v, not later", next, after)
			}
		}
	})
}

func TestLifetimeQualifying(t *testing.T) {
	t.Parallel()
	long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		entries []QualifyingEntry
		want    int64
	}{
		{"none", nil, 0},
		{"every credit counts, however old", []QualifyingEntry{{Earn, 100, long}, {Bonus, 20, long.AddDate(5, 0, 0)}, {Adjust, 5, long}}, 125},
		{"redemptions and expiries do not count", []QualifyingEntry{{Earn, 100, long}, {Redeem, -60, long}, {"expire", -40, long}}, 100},
		{"a correction takes points off", []QualifyingEntry{{Earn, 100, long}, {Adjust, -30, long}}, 70},
		{"a correction stops at 0, later credits count in full", []QualifyingEntry{{Earn, 100, long}, {Adjust, -150, long}, {Earn, 50, long}}, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := LifetimeQualifying(tc.entries); got != tc.want {
				t.Errorf("LifetimeQualifying(%v) = %d, want %d", tc.entries, got, tc.want)
			}
		})
	}
}

// FuzzLifetimeQualifying posts random earns, bonuses, adjustments and
// redemptions through Apply and Credit under a lifetime window, and checks
// that LifetimeQualifying of the entries posted gives the account's
// qualifying points and that its tier is the one Review answers for them.
func FuzzLifetimeQualifying(f *testing.F) {
	f.Add([]byte{0, 10, 2, 200, 1, 30, 2, 1, 3, 5, 0, 90})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Rules{Tiers: []Tier{{"Bronze", 0}, {"Silver", 100}, {"Gold", 400}}}
		a := NewAccount(r)
		at := time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
		var es []QualifyingEntry
		for i := 0; i+1 < len(data); i += 2 {
			points := int64(data[i+1]) - 100
			var out Outcome
			var err error
			switch data[i] % 4 {
			case 0:
				out, err = Apply(a, Request{Type: Earn, Points: max(1, points)}, r)
			case 1:
				out = Credit(a, max(1, points), r)
			case 2:
				out, err = Apply(a, Request{Type: Adjust, Points: points}, r)
			case 3:
				out, err = Apply(a, Request{Type: Redeem, Points: max(1, points)}, r)
			}
			if err != nil {
				continue // refused (a zero adjustment, too few points): no entry
			}
			typ := []EntryType{Earn, Bonus, Adjust, Redeem}[data[i]%4]
			es = append(es, QualifyingEntry{Type: typ, Points: out.Delta, OccurredAt: at})
			a = out.Account
		}
		q := LifetimeQualifying(es)
		if q != a.Qualifying {
			t.Fatalf("LifetimeQualifying = %d, the account posted has %d qualifying points (entries %v)", q, a.Qualifying, es)
		}
		if rev := Review(a, q, r); rev.TierChanged || rev.Account.Tier != a.Tier {
			t.Fatalf("Review(%+v, %d) = %+v, want the tier unchanged", a, q, rev)
		}
	})
}

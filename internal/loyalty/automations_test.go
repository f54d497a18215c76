package loyalty

import (
	"testing"
	"time"
)

func TestBirthdayOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		month     time.Month
		day, year int
		wantM     time.Month
		wantD     int
	}{
		{"ordinary day", time.March, 14, 2027, time.March, 14},
		{"29 February in a leap year", time.February, 29, 2028, time.February, 29},
		{"29 February in a common year", time.February, 29, 2027, time.February, 28},
		{"29 February in 1900 (not leap)", time.February, 29, 1900, time.February, 28},
		{"29 February in 2000 (leap)", time.February, 29, 2000, time.February, 29},
		{"28 February stays", time.February, 28, 2027, time.February, 28},
		{"31 December", time.December, 31, 2027, time.December, 31},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, d := BirthdayOn(tc.month, tc.day, tc.year)
			if m != tc.wantM || d != tc.wantD {
				t.Errorf("BirthdayOn(%v, %d, %d) = %v %d, want %v %d", tc.month, tc.day, tc.year, m, d, tc.wantM, tc.wantD)
			}
		})
	}
}

func TestPlanBirthday(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name       string
		birthday   string
		loc        *time.Location
		since, now string
		want       BirthdayPlan
	}{
		{
			name: "enrolled before the birthday: look first at its start in UTC+14", birthday: "1990-03-14", loc: paris,
			since: "2027-01-10T12:00:00Z", now: "2027-01-10T12:00:00Z",
			want: BirthdayPlan{Year: 2027, Next: utc("2027-03-13T10:00:00Z")},
		},
		{
			name: "at the UTC+14 look, before the day began in Paris: look at its start in Paris", birthday: "1990-03-14", loc: paris,
			since: "2027-03-13T10:00:00Z", now: "2027-03-13T10:00:10Z",
			want: BirthdayPlan{Year: 2027, Next: utc("2027-03-13T23:00:00Z")},
		},
		{
			name: "the day began in Paris: credit, next year's look", birthday: "1990-03-14", loc: paris,
			since: "2027-03-13T23:00:00Z", now: "2027-03-13T23:00:30Z",
			want: BirthdayPlan{Credit: true, Year: 2027, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "a look that runs two days late still credits", birthday: "1990-03-14", loc: paris,
			since: "2027-03-13T23:00:00Z", now: "2027-03-16T08:00:00Z",
			want: BirthdayPlan{Credit: true, Year: 2027, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "a look more than a week late skips that year", birthday: "1990-03-14", loc: paris,
			since: "2027-03-13T23:00:00Z", now: "2027-03-22T23:00:00Z",
			want: BirthdayPlan{Year: 2028, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "enrolled on the birthday, the day has begun: credit", birthday: "1990-03-14", loc: paris,
			since: "2027-03-14T15:00:00Z", now: "2027-03-14T15:00:05Z",
			want: BirthdayPlan{Credit: true, Year: 2027, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "enrolled the day after: next year", birthday: "1990-03-14", loc: paris,
			since: "2027-03-15T09:00:00Z", now: "2027-03-15T09:00:00Z",
			want: BirthdayPlan{Year: 2028, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "the day in Tokyo begins on the eve in UTC", birthday: "1990-03-14", loc: tokyo,
			since: "2027-03-13T10:00:00Z", now: "2027-03-13T15:00:00Z",
			want: BirthdayPlan{Credit: true, Year: 2027, Next: utc("2028-03-13T10:00:00Z")},
		},
		{
			name: "29 February counts on 28 February in a common year", birthday: "2000-02-29", loc: time.UTC,
			since: "2027-02-27T10:00:00Z", now: "2027-02-28T00:00:20Z",
			want: BirthdayPlan{Credit: true, Year: 2027, Next: utc("2028-02-28T10:00:00Z")},
		},
		{
			name: "29 February in a leap year, 28 February is not yet", birthday: "2000-02-29", loc: time.UTC,
			since: "2028-02-28T10:00:00Z", now: "2028-02-28T12:00:00Z",
			want: BirthdayPlan{Year: 2028, Next: utc("2028-02-29T00:00:00Z")},
		},
		{
			name: "birthday on 1 January, planned on New Year's Eve", birthday: "1985-01-01", loc: time.UTC,
			since: "2027-12-31T09:00:00Z", now: "2027-12-31T09:00:00Z",
			want: BirthdayPlan{Year: 2028, Next: utc("2027-12-31T10:00:00Z")},
		},
		{
			name: "no birthday", birthday: "", loc: time.UTC,
			since: "2027-12-31T09:00:00Z", now: "2027-12-31T09:00:00Z",
			want: BirthdayPlan{None: true},
		},
		{
			name: "an unreadable birthday", birthday: "14/03/1990", loc: time.UTC,
			since: "2027-12-31T09:00:00Z", now: "2027-12-31T09:00:00Z",
			want: BirthdayPlan{None: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := PlanBirthday(tc.birthday, tc.loc, utc(tc.since), utc(tc.now))
			if got.Credit != tc.want.Credit || got.Year != tc.want.Year || got.None != tc.want.None || !got.Next.Equal(tc.want.Next) {
				t.Errorf("PlanBirthday(%s, %v, %s, %s) = %+v, want %+v", tc.birthday, tc.loc, tc.since, tc.now, got, tc.want)
			}
		})
	}
}

func TestIsBirthday(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		birthday string
		loc      *time.Location
		at       time.Time
		want     bool
	}{
		{"on the day in Paris", "1990-03-14", paris, time.Date(2027, 3, 13, 23, 30, 0, 0, time.UTC), true},
		{"23:30 UTC on the 14th is the 15th in Paris", "1990-03-14", paris, time.Date(2027, 3, 14, 23, 30, 0, 0, time.UTC), false},
		{"on the day in UTC", "1990-03-14", time.UTC, time.Date(2027, 3, 14, 23, 30, 0, 0, time.UTC), true},
		{"29 February on 28 February of a common year", "2000-02-29", time.UTC, time.Date(2027, 2, 28, 8, 0, 0, 0, time.UTC), true},
		{"29 February not on 28 February of a leap year", "2000-02-29", time.UTC, time.Date(2028, 2, 28, 8, 0, 0, 0, time.UTC), false},
		{"29 February on 29 February of a leap year", "2000-02-29", time.UTC, time.Date(2028, 2, 29, 8, 0, 0, 0, time.UTC), true},
		{"no birthday", "", time.UTC, time.Date(2028, 2, 29, 8, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := IsBirthday(tc.birthday, tc.loc, tc.at); got != tc.want {
				t.Errorf("IsBirthday(%q, %v, %v) = %v, want %v", tc.birthday, tc.loc, tc.at, got, tc.want)
			}
		})
	}
}

func TestPlanDormant(t *testing.T) {
	t.Parallel()
	last := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	spell := last.Add(30 * 24 * time.Hour)
	tests := []struct {
		name    string
		greeted time.Time
		now     time.Time
		want    DormantPlan
	}{
		{"active: look again when the spell would begin", time.Time{}, last.Add(time.Hour), DormantPlan{Spell: spell, Next: spell}},
		{"a second before the spell", time.Time{}, spell.Add(-time.Second), DormantPlan{Spell: spell, Next: spell}},
		{"the spell began: greet, look again after_days on", time.Time{}, spell, DormantPlan{Greet: true, Spell: spell, Next: spell.Add(30 * 24 * time.Hour)}},
		{"greeted for this spell already: no second greeting", spell, spell.Add(time.Hour), DormantPlan{Spell: spell, Next: spell.Add(time.Hour + 30*24*time.Hour)}},
		{"greeted for an earlier spell: greet the new one", spell.Add(-90 * 24 * time.Hour), spell.Add(time.Minute), DormantPlan{Greet: true, Spell: spell, Next: spell.Add(time.Minute + 30*24*time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := PlanDormant(last, tc.greeted, 30, tc.now)
			if got.Greet != tc.want.Greet || !got.Spell.Equal(tc.want.Spell) || !got.Next.Equal(tc.want.Next) {
				t.Errorf("PlanDormant(%v, %v, 30, %v) = %+v, want %+v", last, tc.greeted, tc.now, got, tc.want)
			}
		})
	}
}

// FuzzPlanBirthday reads any birthday text at any time: an unreadable one
// stops the looks; otherwise the next look is after now, a credit is for a
// birthday that has begun in the zone, and crediting again at the next
// look is for a later year.
func FuzzPlanBirthday(f *testing.F) {
	f.Add("2000-02-29", int64(0), int64(3600))
	f.Add("1990-03-14", int64(-86400*200), int64(60))
	f.Add("bad", int64(0), int64(0))
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, birthday string, sinceOff, after int64) {
		since := base.Add(time.Duration(sinceOff%(4*365*86400)) * time.Second)
		now := since.Add(time.Duration(after%(3*365*86400)) * time.Second)
		if now.Before(since) {
			now = since
		}
		p := PlanBirthday(birthday, paris, since, now)
		if p.None {
			return
		}
		if !p.Next.After(now) {
			t.Fatalf("PlanBirthday(%q, %v, %v) = %+v: next look not after now", birthday, since, now, p)
		}
		if p.Credit {
			again := PlanBirthday(birthday, paris, p.Next, p.Next)
			if again.Year <= p.Year {
				t.Fatalf("credit for %d, the next look plans %d", p.Year, again.Year)
			}
		}
	})
}

func TestDormancyLooksEarlier(t *testing.T) {
	t.Parallel()
	with := func(days int) *Program {
		if days == 0 {
			return &Program{}
		}
		return &Program{Dormant: &Dormant{AfterDays: days, Message: "We miss you"}}
	}
	tests := []struct {
		name      string
		old, next int
		want      bool
	}{
		{"shortened", 90, 30, true},
		{"lengthened", 30, 90, false},
		{"unchanged", 30, 30, false},
		{"added", 0, 30, false},
		{"removed", 30, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := DormancyLooksEarlier(with(tc.old), with(tc.next)); got != tc.want {
				t.Errorf("DormancyLooksEarlier(%d days, %d days) = %v, want %v", tc.old, tc.next, got, tc.want)
			}
		})
	}
}

func TestTierRulesChanged(t *testing.T) {
	t.Parallel()
	base := func() *Program {
		return &Program{TierWindow: TierWindowLifetime, Tiers: []Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 100}}}
	}
	tests := []struct {
		name   string
		change func(p *Program)
		want   bool
	}{
		{"nothing", func(*Program) {}, false},
		{"window to rolling", func(p *Program) { p.TierWindow = TierWindowRolling365 }, true},
		{"threshold", func(p *Program) { p.Tiers[1].Threshold = 200 }, true},
		{"tier renamed", func(p *Program) { p.Tiers[1].Name = "Gold" }, true},
		{"tier added", func(p *Program) { p.Tiers = append(p.Tiers, Tier{Name: "Gold", Threshold: 1000}) }, true},
		{"tiers removed", func(p *Program) { p.Tiers = nil }, true},
		{"benefits only", func(p *Program) { p.Tiers[1].Benefits = "Free coffee" }, false},
		{"another rule", func(p *Program) { p.BirthdayBonus = 50 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := base()
			tc.change(next)
			if got := TierRulesChanged(base(), next); got != tc.want {
				t.Errorf("TierRulesChanged(%+v, %+v) = %v, want %v", base(), next, got, tc.want)
			}
			if got := TierRulesChanged(next, base()); got != tc.want {
				t.Errorf("TierRulesChanged back = %v, want %v", got, tc.want)
			}
		})
	}
}

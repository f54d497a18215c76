package cards

import (
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// TestGreetingsOnTheCard: the birthday greeting and the dormant message
// are on both renderings exactly when the programme and the member call
// for them.
func TestGreetingsOnTheCard(t *testing.T) {
	t.Parallel()
	birthday := time.Date(2030, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name                string
		bonus               int64
		dormant             *loyalty.Dormant
		at                  time.Time
		dormantAt           time.Time
		erased              bool
		wantGreet, wantDorm bool
	}{
		{"birthday with a birthday bonus", 100, nil, birthday, time.Time{}, false, true, false},
		{"birthday without a birthday bonus", 0, nil, birthday, time.Time{}, false, false, false},
		{"the day after", 100, nil, birthday.Add(24 * time.Hour), time.Time{}, false, false, false},
		{"erased on the birthday", 100, nil, birthday, time.Time{}, true, false, false},
		{"dormant spell greeted", 0, &loyalty.Dormant{AfterDays: 30, Message: "We miss you"}, birthday.Add(48 * time.Hour), birthday, false, false, true},
		{"no spell", 0, &loyalty.Dormant{AfterDays: 30, Message: "We miss you"}, birthday.Add(48 * time.Hour), time.Time{}, false, false, false},
		{"spell but the rule was removed", 0, nil, birthday.Add(48 * time.Hour), birthday, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := demo(t)
			p.BirthdayBonus, p.Dormant = tc.bonus, tc.dormant
			m := ada()
			m.Birthday, m.DormantAt = "1990-03-14", tc.dormantAt
			if tc.erased {
				m.ErasedAt = &birthday
			}
			c := card(m, p, tc.at)
			sc := Pass(c, secret, "https://passd.example", "pass.test", "TEAM").StoreCard
			apple := map[string]bool{}
			for _, f := range sc.BackFields {
				apple[f.Key] = f.ChangeMessage == MessageChange
			}
			google := map[string]bool{}
			for _, mod := range append(GoogleCard(m, p, "", secret, "https://passd.example").Modules, GoogleGreeting(m, p, tc.at)...) {
				google[mod.ID] = true
			}
			if apple["birthday"] != tc.wantGreet || google["birthday"] != tc.wantGreet {
				t.Errorf("birthday greeting on Apple %v (with its change message), Google %v; want %v", apple["birthday"], google["birthday"], tc.wantGreet)
			}
			if apple["dormant"] != tc.wantDorm || google["dormant"] != tc.wantDorm {
				t.Errorf("dormant message on Apple %v (with its change message), Google %v; want %v", apple["dormant"], google["dormant"], tc.wantDorm)
			}
		})
	}
}

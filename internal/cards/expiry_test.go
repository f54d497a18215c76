package cards

import (
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

func TestExpiryDate(t *testing.T) {
	t.Parallel()
	day := time.Date(2027, 12, 3, 23, 0, 0, 0, time.UTC)
	for lang, want := range map[string]string{"en": "3 December 2027", "fr": "3 décembre 2027", "fr-CA": "3 décembre 2027", "de": "2027-12-03"} {
		if got := ExpiryDate(day, lang); got != want {
			t.Errorf("ExpiryDate(%v, %s) = %q, want %q", day, lang, got, want)
		}
	}
}

func TestExpiringOnTheCard(t *testing.T) {
	t.Parallel()
	// 20:00 UTC on 3 December is already the 4th in Auckland.
	at := time.Date(2027, 12, 3, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		expiring  *loyalty.PointsExpiring
		lang, tz  string
		wantApple string
	}{
		{"reminded, English, the programme's day", &loyalty.PointsExpiring{Points: 100, At: at, Reminded: true}, "en", "Pacific/Auckland", "100 points expire on 4 December 2027"},
		{"reminded, French", &loyalty.PointsExpiring{Points: 7, At: at, Reminded: true}, "fr", "UTC", "7 points expirent le 3 décembre 2027"},
		{"before the reminder", &loyalty.PointsExpiring{Points: 100, At: at}, "en", "UTC", ""},
		{"nothing expiring", nil, "en", "UTC", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := demo(t)
			p.DefaultLocale, p.Timezone = tt.lang, tt.tz
			m := ada()
			m.Expiring = tt.expiring
			sc := Pass(card(m, p, at.Add(-time.Hour)), secret, "https://passd.example", "pass.test", "TEAM").StoreCard
			var got, change string
			for _, f := range sc.AuxiliaryFields {
				if f.Key == "expiring" {
					got, change = f.Value.String(), f.ChangeMessage
				}
			}
			if got != tt.wantApple || (got != "" && change != ExpiringChange) {
				t.Errorf("Apple expiring field = %q (change message %q), want %q with %q", got, change, tt.wantApple, ExpiringChange)
			}
			var module string
			for _, mod := range GoogleCard(m, p, "", secret, "https://passd.example").Modules {
				if mod.ID == "expiring" {
					module = mod.Body
				}
			}
			if module != tt.wantApple {
				t.Errorf("Google expiring module = %q, want %q", module, tt.wantApple)
			}
		})
	}
}

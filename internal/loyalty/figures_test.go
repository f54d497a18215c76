package loyalty

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
)

func TestStatsWindow(t *testing.T) {
	t.Parallel()
	paris := &Program{Timezone: "Europe/Paris"}
	// 23:30 UTC on 31 March 2030 is already 1 April in Paris (UTC+2).
	now := time.Date(2030, 3, 31, 23, 30, 0, 0, time.UTC)
	loc, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		name     string
		in       StatsInput
		from, to time.Time
	}{
		{"default: 30 days to today, local", StatsInput{}, time.Date(2030, 3, 3, 0, 0, 0, 0, loc), time.Date(2030, 4, 2, 0, 0, 0, 0, loc)},
		{"one day", StatsInput{From: "2030-01-05", To: "2030-01-05"}, time.Date(2030, 1, 5, 0, 0, 0, 0, loc), time.Date(2030, 1, 6, 0, 0, 0, 0, loc)},
		{"to only", StatsInput{To: "2030-02-28"}, time.Date(2030, 1, 30, 0, 0, 0, 0, loc), time.Date(2030, 3, 1, 0, 0, 0, 0, loc)},
		{"366 days", StatsInput{From: "2029-01-01", To: "2030-01-01"}, time.Date(2029, 1, 1, 0, 0, 0, 0, loc), time.Date(2030, 1, 2, 0, 0, 0, 0, loc)},
	} {
		w, err := tc.in.Window(paris, now)
		if err != nil {
			t.Errorf("%s: Window = %v", tc.name, err)
			continue
		}
		if !w.From.Equal(tc.from) || !w.To.Equal(tc.to) || w.FromHour != tc.from.Unix()/3600 || w.ToHour != tc.to.Unix()/3600 {
			t.Errorf("%s: Window = %v..%v (hours %d..%d), want %v..%v", tc.name, w.From, w.To, w.FromHour, w.ToHour, tc.from, tc.to)
		}
		if w.ActiveSinceHour != now.AddDate(0, 0, -ActiveDays).Unix()/3600 {
			t.Errorf("%s: ActiveSinceHour = %d", tc.name, w.ActiveSinceHour)
		}
	}
	for name, in := range map[string]StatsInput{
		"from after to": {From: "2030-01-02", To: "2030-01-01"},
		"367 days":      {From: "2029-01-01", To: "2030-01-02"},
		"not a date":    {From: "yesterday"},
		"bad to":        {To: "2030-02-30"},
	} {
		var ve *balances.ValidationError
		if _, err := in.Window(paris, now); !errors.As(err, &ve) {
			t.Errorf("%s: Window = %v, want a validation error", name, err)
		}
	}
}

func TestStatsOfSums(t *testing.T) {
	t.Parallel()
	p := &Program{Timezone: "Europe/Paris"}
	w, err := StatsInput{From: "2030-06-01", To: "2030-06-03"}.Window(p, time.Date(2030, 6, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	hour := func(y int, m time.Month, d, h int) int64 {
		return time.Date(y, m, d, h, 0, 0, 0, time.UTC).Unix() / 3600
	}
	st := w.Stats(FigureSums{
		Members: 3, Active: 2, Outstanding: 60, Apple: 1, Google: 2, Issued: 100, Redeemed: 40, VouchersIssued: 1,
		EnrolledByHour: map[int64]int64{
			hour(2030, 5, 31, 22): 1, // midnight of 1 June in Paris
			hour(2030, 6, 1, 21):  2, // 23:00 on 1 June in Paris
			hour(2030, 6, 3, 10):  4,
			hour(2030, 6, 5, 10):  9, // outside the window
		},
	})
	want := ProgramStats{
		Members: 3, MembersActive30d: 2, CardsInstalled: CardsInstalled{Apple: 1, Google: 2},
		Points: PointFigures{Issued: 100, Redeemed: 40, Outstanding: 60}, RedemptionRate: 0.4,
		Vouchers:        VoucherFigures{Issued: 1},
		EnrolmentsByDay: []DayCount{{"2030-06-01", 3}, {"2030-06-02", 0}, {"2030-06-03", 4}},
		From:            w.From, To: w.To,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if z := w.Stats(FigureSums{}); z.RedemptionRate != 0 || len(z.EnrolmentsByDay) != 3 {
		t.Errorf("Stats of nothing = %+v, want rate 0 and 3 zero days", z)
	}
}

// FuzzStatsWindow: any query either is refused with a validation error
// or gives a window of 1 to MaxStatsDays whole local days.
func FuzzStatsWindow(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"2030-01-01", "2030-01-31"}, {"2030-02-30", ""}, {"0000-01-01", "9999-12-31"}, {"2030-03-31", "2030-03-30"}} {
		f.Add(s[0], s[1])
	}
	p := &Program{Timezone: "America/St_Johns"} // UTC-3:30: days are not whole hours
	now := time.Date(2030, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		w, err := StatsInput{From: from, To: to}.Window(p, now)
		if err != nil {
			var ve *balances.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Window(%q, %q) = %v, not a validation error", from, to, err)
			}
			return
		}
		days := 0
		for d := w.From; d.Before(w.To); d = d.AddDate(0, 0, 1) {
			days++
		}
		if days < 1 || days > MaxStatsDays || w.FromHour > w.ToHour || w.From.Hour() != 0 || w.To.Hour() != 0 {
			t.Fatalf("Window(%q, %q) = %v..%v (%d days, hours %d..%d)", from, to, w.From, w.To, days, w.FromHour, w.ToHour)
		}
		if st := w.Stats(FigureSums{}); len(st.EnrolmentsByDay) != days {
			t.Fatalf("Stats of %d days has %d", days, len(st.EnrolmentsByDay))
		}
	})
}

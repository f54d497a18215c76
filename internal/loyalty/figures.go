package loyalty

import (
	"strconv"
	"time"

	"github.com/passd/passd/balances"
)

// Figures windows: by default the last DefaultStatsDays days up to today
// in the programme's timezone; at most MaxStatsDays days.
const (
	DefaultStatsDays = 30
	MaxStatsDays     = 366
	// ActiveDays is how recent a member's last activity must be for
	// ProgramStats.MembersActive30d.
	ActiveDays = 30
)

// StatsInput is a figures request as given (GET .../stats?from=&to=):
// dates YYYY-MM-DD in the programme's timezone, both included.
type StatsInput struct {
	From, To string
}

// StatsWindow is a checked figures window: the days from From to To
// (both local midnights, To the day after the last) and the same bounds in
// unix hours, the unit the store keeps figures in. A day of a timezone
// whose offset is not whole hours is counted from the hour its midnight
// falls in.
type StatsWindow struct {
	Location         *time.Location
	From, To         time.Time
	FromHour, ToHour int64
	// ActiveSinceHour is the first hour whose activity makes a member
	// active (ActiveDays before now).
	ActiveSinceHour int64
}

// Window checks the request against programme p at now.
func (in StatsInput) Window(p *Program, now time.Time) (StatsWindow, error) {
	loc := p.Location()
	v := &balances.ValidationError{}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	day := func(field, s string) (time.Time, bool) {
		if s == "" {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			v.AddReason(field, ReasonInvalid, "must be a date YYYY-MM-DD")
			return time.Time{}, false
		}
		return t, true
	}
	last, ok := day("to", in.To)
	if !ok {
		last = today
	}
	first, ok := day("from", in.From)
	if !ok {
		first = last.AddDate(0, 0, -(DefaultStatsDays - 1))
	}
	if err := v.Err(); err != nil {
		return StatsWindow{}, err
	}
	end := last.AddDate(0, 0, 1)
	switch {
	case first.After(last):
		v.AddReason("from", ReasonRange, "must not be after to")
	case end.After(first.AddDate(0, 0, MaxStatsDays)):
		v.AddReason("from", ReasonRange, "must be at most "+strconv.Itoa(MaxStatsDays)+" days before to")
	}
	if err := v.Err(); err != nil {
		return StatsWindow{}, err
	}
	return StatsWindow{
		Location: loc, From: first, To: end,
		FromHour: unixHour(first), ToHour: unixHour(end),
		ActiveSinceHour: unixHour(now.AddDate(0, 0, -ActiveDays)),
	}, nil
}

// unixHour is the unix hour t falls in.
func unixHour(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%3600 != 0 {
		return s/3600 - 1
	}
	return s / 3600
}

// FigureSums are a programme's figures as the store sums them: the
// figures of now, and those of a StatsWindow with its enrolments per
// unix hour.
type FigureSums struct {
	Members, Active, Outstanding, Apple, Google int64
	Issued, Redeemed, Expired                   int64
	VouchersIssued, VouchersUsed                int64
	// EnrolledByHour maps a unix hour of the window to its enrolments;
	// hours without any are absent.
	EnrolledByHour map[int64]int64
}

// Stats turns the sums of window w into the programme's figures: the
// redemption rate is points redeemed per point issued in the window (0
// when none were issued), and every day of the window has its count of
// enrolments, zero included.
func (w StatsWindow) Stats(f FigureSums) ProgramStats {
	st := ProgramStats{
		Members: f.Members, MembersActive30d: f.Active,
		CardsInstalled: CardsInstalled{Apple: f.Apple, Google: f.Google},
		Points:         PointFigures{Issued: f.Issued, Redeemed: f.Redeemed, Expired: f.Expired, Outstanding: f.Outstanding},
		Vouchers:       VoucherFigures{Issued: f.VouchersIssued, Used: f.VouchersUsed},
		From:           w.From, To: w.To,
		EnrolmentsByDay: []DayCount{},
	}
	if f.Issued > 0 {
		st.RedemptionRate = float64(f.Redeemed) / float64(f.Issued)
	}
	index := map[string]int{}
	for d := w.From; d.Before(w.To); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(st.EnrolmentsByDay)
		st.EnrolmentsByDay = append(st.EnrolmentsByDay, DayCount{Date: d.Format(time.DateOnly)})
	}
	for h, n := range f.EnrolledByHour {
		if i, ok := index[time.Unix(h*3600, 0).In(w.Location).Format(time.DateOnly)]; ok {
			st.EnrolmentsByDay[i].Count += n
		}
	}
	return st
}

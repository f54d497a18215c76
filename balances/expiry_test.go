package balances

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var day0 = time.Date(2026, 1, 10, 15, 4, 5, 0, time.UTC)

// lot is a lot earned on day earned (days after day0) under a rule of
// after days, with left of its points remaining.
func lot(id string, points, left int64, earned, after int) Lot {
	l := Expiry{AfterDays: after}.NewLot(id, points, day0.AddDate(0, 0, earned))
	l.Remaining = left
	return l
}

func TestNewLot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rule       Expiry
		occurred   time.Time
		wantExpiry time.Time
		wantRemind time.Time
	}{
		{"365 days, no reminder", Expiry{AfterDays: 365}, day0, day0.Add(365 * Day), time.Time{}},
		{"reminder 30 days before", Expiry{AfterDays: 365, RemindDays: 30}, day0, day0.Add(365 * Day), day0.Add(335 * Day)},
		{"one day", Expiry{AfterDays: 1, RemindDays: 0}, day0, day0.Add(Day), time.Time{}},
		{"ninety whole days", Expiry{AfterDays: 90},
			time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 5, 30, 12, 0, 0, 0, time.UTC), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.rule.NewLot("e1", 40, tt.occurred)
			want := Lot{ID: "e1", Points: 40, Remaining: 40, EarnedAt: tt.occurred, ExpiresAt: tt.wantExpiry, RemindAt: tt.wantRemind}
			if got != want {
				t.Errorf("%+v.NewLot(e1, 40, %v) = %+v, want %+v", tt.rule, tt.occurred, got, want)
			}
		})
	}
}

func TestCreatesAndConsumesLots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ              EntryType
		delta            int64
		creates, consume bool
	}{
		{Earn, 10, true, false},
		{Earn, 0, false, false},
		{Bonus, 5, true, false},
		{Adjust, 7, true, false},
		{Adjust, -7, false, true},
		{Redeem, -3, false, true},
		{Expire, -3, false, false},
		{Stamp, 0, false, false},
		{CashbackSpend, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.typ, tt.delta), func(t *testing.T) {
			t.Parallel()
			if got := CreatesLot(tt.typ, tt.delta); got != tt.creates {
				t.Errorf("CreatesLot(%s, %d) = %v, want %v", tt.typ, tt.delta, got, tt.creates)
			}
			if got := ConsumesLots(tt.typ, tt.delta); got != tt.consume {
				t.Errorf("ConsumesLots(%s, %d) = %v, want %v", tt.typ, tt.delta, got, tt.consume)
			}
		})
	}
}

func TestConsume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		lots         []Lot
		points       int64
		wantChanged  []Lot
		wantFromLots int64
	}{
		{"oldest expiry first, whatever the listing order",
			[]Lot{lot("b", 50, 50, 10, 365), lot("a", 30, 30, 0, 365)}, 40,
			[]Lot{lot("a", 30, 0, 0, 365), lot("b", 50, 40, 10, 365)}, 40},
		{"a partial lot is spent before a fresh one",
			[]Lot{lot("a", 30, 5, 0, 365), lot("b", 50, 50, 10, 365)}, 20,
			[]Lot{lot("a", 30, 0, 0, 365), lot("b", 50, 35, 10, 365)}, 20},
		{"a lot under a shorter rule expires first though earned later",
			[]Lot{lot("a", 30, 30, 0, 365), lot("b", 50, 50, 10, 30)}, 10,
			[]Lot{lot("b", 50, 40, 10, 30)}, 10},
		{"same expiry: the one earned first",
			[]Lot{lot("b", 10, 10, 1, 364), lot("a", 10, 10, 0, 365)}, 10,
			[]Lot{lot("a", 10, 0, 0, 365)}, 10},
		{"same expiry and sale: the smaller id",
			[]Lot{lot("b", 10, 10, 0, 365), lot("a", 10, 10, 0, 365)}, 15,
			[]Lot{lot("a", 10, 0, 0, 365), lot("b", 10, 5, 0, 365)}, 15},
		{"empty lots are skipped",
			[]Lot{lot("a", 30, 0, 0, 365), lot("b", 50, 50, 10, 365)}, 10,
			[]Lot{lot("b", 50, 40, 10, 365)}, 10},
		{"past the lots the rest comes from points with no lot",
			[]Lot{lot("a", 30, 30, 0, 365)}, 100,
			[]Lot{lot("a", 30, 0, 0, 365)}, 30},
		{"no lots", nil, 10, nil, 0},
		{"nothing to take", []Lot{lot("a", 30, 30, 0, 365)}, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := append([]Lot(nil), tt.lots...)
			changed, from := Consume(tt.lots, tt.points)
			if !reflect.DeepEqual(changed, tt.wantChanged) || from != tt.wantFromLots {
				t.Errorf("Consume(%+v, %d) = %+v, %d, want %+v, %d", tt.lots, tt.points, changed, from, tt.wantChanged, tt.wantFromLots)
			}
			if !reflect.DeepEqual(before, tt.lots) {
				t.Errorf("Consume changed its argument: %+v, was %+v", tt.lots, before)
			}
		})
	}
}

func TestExpireLot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		a         Account
		l         Lot
		wantDelta int64
		want      Account
	}{
		{"what is left of the lot",
			Account{Points: 150, Lifetime: 400, Qualifying: 400, Tier: "Gold", PassVersion: 7}, lot("a", 100, 60, 0, 365),
			-60, Account{Points: 90, Lifetime: 400, Qualifying: 400, Tier: "Gold", PassVersion: 8}},
		{"a whole lot",
			Account{Points: 100, Lifetime: 100, Qualifying: 100, PassVersion: 2}, lot("a", 100, 100, 0, 365),
			-100, Account{Points: 0, Lifetime: 100, Qualifying: 100, PassVersion: 3}},
		{"never more than the balance",
			Account{Points: 20, Lifetime: 100, Qualifying: 100, PassVersion: 2}, lot("a", 100, 100, 0, 365),
			-20, Account{Points: 0, Lifetime: 100, Qualifying: 100, PassVersion: 3}},
		{"a spent lot expires nothing",
			Account{Points: 20, PassVersion: 2}, lot("a", 100, 0, 0, 365),
			0, Account{Points: 20, PassVersion: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, after := ExpireLot(tt.a, tt.l)
			if out.Delta != tt.wantDelta || out.Account != tt.want || out.TierChanged || after.Remaining != 0 {
				t.Errorf("ExpireLot(%+v, %+v) = %+v, lot left %d; want delta %d, %+v, tier kept, lot empty",
					tt.a, tt.l, out, after.Remaining, tt.wantDelta, tt.want)
			}
			if got := ExpiringPoints(tt.l, tt.a.Points); got != -tt.wantDelta {
				t.Errorf("ExpiringPoints(%+v, %d) = %d, want %d", tt.l, tt.a.Points, got, -tt.wantDelta)
			}
		})
	}
}

func TestNextToExpire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lots   []Lot
		wantID string
		wantOK bool
	}{
		{"the one expiring first", []Lot{lot("b", 10, 10, 5, 365), lot("a", 10, 10, 0, 365)}, "a", true},
		{"spent lots do not count", []Lot{lot("a", 10, 0, 0, 365), lot("b", 10, 3, 5, 365)}, "b", true},
		{"none left", []Lot{lot("a", 10, 0, 0, 365)}, "", false},
		{"no lots", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := NextToExpire(tt.lots)
			if got.ID != tt.wantID || ok != tt.wantOK {
				t.Errorf("NextToExpire(%+v) = %q, %v, want %q, %v", tt.lots, got.ID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

// lotLedger is a member's ledger with expiry, as the store keeps it: the
// account, the lots, the entries' points, and what each lot gave to
// debits and expiries.
type lotLedger struct {
	a       Account
	lots    map[string]Lot
	sum     int64
	gave    map[string]int64
	next    int
	expired map[string]bool
}

// FuzzLotLedger applies random sequences of earn, redeem, adjust, stamp,
// cashback and expire entries to a programme with expiry, with sales
// moving forward and backdated, and checks after each: the entries' points
// sum to the balance, no lot is negative or above its points, the lots
// never hold more than the balance, every point a lot lost went to exactly
// one debit or expiry (none spent twice), and a lot expires at most once.
func FuzzLotLedger(f *testing.F) {
	f.Add([]byte{0, 100, 6, 3, 2, 30, 7, 0, 5, 200})
	f.Add([]byte{0, 50, 0, 60, 5, 10, 2, 90, 6, 200, 7, 1, 4, 3, 3, 9})
	f.Add([]byte{5, 255, 0, 10, 7, 0, 7, 0, 2, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		rule := Expiry{AfterDays: 30, RemindDays: 5}
		r := Rules{PointsPerUnit: 1, MinorPerUnit: 100, StampGoal: 7, CashbackRateBP: 250, Expiry: &rule}
		now := day0
		l := lotLedger{lots: map[string]Lot{}, gave: map[string]int64{}, expired: map[string]bool{}}
		for i := 0; i+1 < len(ops); i += 2 {
			n := int64(ops[i+1])
			occurred := now
			var q Request
			switch op := ops[i] % 8; op {
			default:
				q = fuzzRequest(op, n)
			case 6:
				// time passes, and the lots due expire
				now = now.Add(time.Duration(n) * Day / 4)
				l.expireDue(t, now)
				continue
			case 7:
				// a backdated earn, from an offline till
				q = Request{Type: Earn, Points: n + 1}
				occurred = now.Add(-time.Duration(n) * Day / 8)
			}
			q.OccurredAt = occurred
			l.apply(t, q, r)
			l.check(t, q)
		}
		l.expireDue(t, now.Add(time.Duration(rule.AfterDays)*Day))
		l.check(t, Request{Type: Expire})
		for id, lt := range l.lots {
			if lt.Remaining != 0 {
				t.Fatalf("lot %s has %d points left after every lot's expiry", id, lt.Remaining)
			}
		}
	})
}

func (l *lotLedger) apply(t *testing.T, q Request, r Rules) {
	t.Helper()
	out, err := Apply(l.a, q, r)
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) && !errors.Is(err, ErrInsufficientPoints) && !errors.Is(err, ErrInsufficientCashback) {
			t.Fatalf("Apply(%+v, %+v) = %v", l.a, q, err)
		}
		return
	}
	l.a = out.Account
	l.sum += out.Delta
	switch {
	case CreatesLot(q.Type, out.Delta):
		l.next++
		id := fmt.Sprintf("e%04d", l.next)
		l.lots[id] = r.Expiry.NewLot(id, out.Delta, q.OccurredAt)
	case ConsumesLots(q.Type, out.Delta):
		all := make([]Lot, 0, len(l.lots))
		for _, lt := range l.lots {
			all = append(all, lt)
		}
		changed, from := Consume(all, -out.Delta)
		if from > -out.Delta {
			t.Fatalf("Consume took %d points from lots for a debit of %d", from, -out.Delta)
		}
		var took int64
		for _, c := range changed {
			took += l.lots[c.ID].Remaining - c.Remaining
			l.gave[c.ID] += l.lots[c.ID].Remaining - c.Remaining
			l.lots[c.ID] = c
		}
		if took != from {
			t.Fatalf("Consume says %d points came from lots, the lots lost %d", from, took)
		}
	}
}

// expireDue expires, oldest first, every lot due at now with points left.
func (l *lotLedger) expireDue(t *testing.T, now time.Time) {
	t.Helper()
	due := []Lot{}
	for _, lt := range l.lots {
		if lt.Remaining > 0 && !lt.ExpiresAt.After(now) {
			due = append(due, lt)
		}
	}
	SortLots(due)
	for _, lt := range due {
		if l.expired[lt.ID] {
			t.Fatalf("lot %s expires a second time", lt.ID)
		}
		out, after := ExpireLot(l.a, lt)
		l.expired[lt.ID] = true
		l.a = out.Account
		l.sum += out.Delta
		l.gave[lt.ID] += lt.Remaining - after.Remaining
		l.lots[lt.ID] = after
		l.check(t, Request{Type: Expire})
	}
}

func (l *lotLedger) check(t *testing.T, q Request) {
	t.Helper()
	if l.a.Points != l.sum || l.a.Points < 0 {
		t.Fatalf("after %+v the balance is %d, want the entries' sum %d (never negative)", q, l.a.Points, l.sum)
	}
	var held int64
	for id, lt := range l.lots {
		if lt.Remaining < 0 || lt.Remaining > lt.Points {
			t.Fatalf("after %+v lot %s holds %d of %d points", q, id, lt.Remaining, lt.Points)
		}
		if lt.Points-lt.Remaining != l.gave[id] {
			t.Fatalf("after %+v lot %s lost %d points but gave %d to debits and expiry", q, id, lt.Points-lt.Remaining, l.gave[id])
		}
		held += lt.Remaining
	}
	if held > l.a.Points {
		t.Fatalf("after %+v the lots hold %d points, more than the balance %d", q, held, l.a.Points)
	}
}

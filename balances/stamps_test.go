package balances

import (
	"errors"
	"testing"
	"time"
)

func TestAddStamps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		have, count, goal       int64
		wantAfter, wantVouchers int64
	}{
		{"below the goal", 3, 4, 10, 7, 0},
		{"exactly the goal", 7, 3, 10, 0, 1},
		{"carry-over", 9, 3, 10, 2, 1},
		{"a whole card at once", 0, 10, 10, 0, 1},
		{"several goals in one count", 2, 9, 3, 2, 3},
		{"goal of one", 0, 5, 1, 0, 5},
		{"no goal", 4, 3, 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after, vouchers := AddStamps(tt.have, tt.count, tt.goal)
			if after != tt.wantAfter || vouchers != tt.wantVouchers {
				t.Errorf("AddStamps(%d, %d, %d) = %d, %d, want %d, %d", tt.have, tt.count, tt.goal, after, vouchers, tt.wantAfter, tt.wantVouchers)
			}
		})
	}
}

func TestCashbackFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		amount, rateBP, want int64
	}{
		{"two percent of 12.50", 1250, 200, 25},
		{"rounds down", 1299, 200, 25},
		{"below one minor unit", 49, 200, 0},
		{"the whole amount", 1234, 10_000, 1234},
		{"no cashback", 1000, 0, 0},
		{"largest amount at the largest rate", MaxAmount, 10_000, MaxAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CashbackFor(tt.amount, tt.rateBP); got != tt.want {
				t.Errorf("CashbackFor(%d, %d) = %d, want %d", tt.amount, tt.rateBP, got, tt.want)
			}
		})
	}
}

func TestApplyStampsAndCashback(t *testing.T) {
	t.Parallel()
	stamps := Rules{MinorPerUnit: 100, StampGoal: 10}
	cashback := Rules{PointsPerUnit: 1, MinorPerUnit: 100, CashbackRateBP: 500}
	tests := []struct {
		name         string
		a            Account
		q            Request
		r            Rules
		want         Account
		wantCashback int64
		wantVouchers int64
		wantErr      error
		wantField    string
	}{
		{name: "stamp carries over", a: Account{Points: 5, Stamps: 9}, q: Request{Type: Stamp, Count: 3}, r: stamps,
			want: Account{Points: 5, Stamps: 2, PassVersion: 1}, wantVouchers: 1},
		{name: "stamp below the goal", a: Account{Stamps: 1}, q: Request{Type: Stamp, Count: 6}, r: stamps,
			want: Account{Stamps: 7, PassVersion: 1}},
		{name: "count over the goal", q: Request{Type: Stamp, Count: 11}, r: stamps, wantField: "count"},
		{name: "count zero", q: Request{Type: Stamp}, r: stamps, wantField: "count"},
		{name: "stamp without stamps", q: Request{Type: Stamp, Count: 1}, r: cashback, wantField: "type"},
		{name: "earn credits cashback", a: Account{Cashback: 10}, q: Request{Type: Earn, Amount: 1999}, r: cashback,
			want: Account{Points: 19, Lifetime: 19, Qualifying: 19, Cashback: 109, PassVersion: 1}, wantCashback: 99},
		{name: "earn in points credits no cashback", q: Request{Type: Earn, Points: 10}, r: cashback,
			want: Account{Points: 10, Lifetime: 10, Qualifying: 10, PassVersion: 1}},
		{name: "spend all the cashback", a: Account{Points: 3, Cashback: 250}, q: Request{Type: CashbackSpend, Amount: 250}, r: cashback,
			want: Account{Points: 3, PassVersion: 1}, wantCashback: -250},
		{name: "spend past the cashback", a: Account{Cashback: 249}, q: Request{Type: CashbackSpend, Amount: 250}, r: cashback,
			wantErr: ErrInsufficientCashback},
		{name: "spend without cashback", a: Account{Cashback: 500}, q: Request{Type: CashbackSpend, Amount: 1}, r: stamps, wantField: "type"},
		{name: "spend without amount", q: Request{Type: CashbackSpend}, r: cashback, wantField: "amount"},
		{name: "count on an earn", q: Request{Type: Earn, Points: 1, Count: 1}, r: stamps, wantField: "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Apply(tt.a, tt.q, tt.r)
			var ve *ValidationError
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Apply(%+v, %+v) = %v, want %v", tt.a, tt.q, err, tt.wantErr)
				}
				return
			case tt.wantField != "":
				if !errors.As(err, &ve) || ve.Fields[0].Field != tt.wantField {
					t.Fatalf("Apply(%+v, %+v) = %v, want a validation error naming %s", tt.a, tt.q, err, tt.wantField)
				}
				return
			case err != nil:
				t.Fatalf("Apply(%+v, %+v) = %v", tt.a, tt.q, err)
			}
			if out.Account != tt.want || out.Cashback != tt.wantCashback || out.Vouchers != tt.wantVouchers {
				t.Errorf("Apply(%+v, %+v) = %+v, cashback %d, vouchers %d; want %+v, %d, %d",
					tt.a, tt.q, out.Account, out.Cashback, out.Vouchers, tt.want, tt.wantCashback, tt.wantVouchers)
			}
		})
	}
}

// FuzzLedger applies a random sequence of entries of every type a client
// may post and checks the ledger's invariants after each: the entries'
// points sum to the balance, their cashback changes to the cashback
// balance (never negative), stamps stay below the goal, and every stamp
// either shows on the card or filled one.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{0, 5, 3, 9, 3, 3, 4, 200, 1, 7, 2, 1})
	f.Add([]byte{3, 10, 3, 10, 3, 1, 4, 255, 4, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		r := Rules{PointsPerUnit: 1, MinorPerUnit: 100, StampGoal: 7, CashbackRateBP: 250}
		at := time.Unix(1_800_000_000, 0)
		var a Account
		var points, cashback, stamps, filled int64
		for i := 0; i+1 < len(ops); i += 2 {
			q := fuzzRequest(ops[i]%6, int64(ops[i+1]))
			q.OccurredAt = at
			out, err := Apply(a, q, r)
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) && !errors.Is(err, ErrInsufficientPoints) && !errors.Is(err, ErrInsufficientCashback) {
					t.Fatalf("Apply(%+v, %+v) = %v", a, q, err)
				}
				continue
			}
			a = out.Account
			points += out.Delta
			cashback += out.Cashback
			if q.Type == Stamp {
				stamps += q.Count
			}
			filled += out.Vouchers
			if a.Points != points || a.Points < 0 {
				t.Fatalf("after %+v the balance is %d, want the entries' sum %d (never negative)", q, a.Points, points)
			}
			if a.Cashback != cashback || a.Cashback < 0 {
				t.Fatalf("after %+v the cashback is %d, want the entries' sum %d (never negative)", q, a.Cashback, cashback)
			}
			if a.Stamps < 0 || a.Stamps >= r.StampGoal || a.Stamps+filled*r.StampGoal != stamps {
				t.Fatalf("after %+v the card holds %d stamps and filled %d, want below %d and %d stamps in all", q, a.Stamps, filled, r.StampGoal, stamps)
			}
		}
	})
}

// fuzzRequest is a fuzzer's entry of each type a client may post (op 0 to
// 5) sized by n (0 to 255), invalid ones included.
func fuzzRequest(op byte, n int64) Request {
	switch op {
	case 0:
		return Request{Type: Earn, Points: n}
	case 1:
		return Request{Type: Earn, Amount: n * 97}
	case 2:
		return Request{Type: Redeem, Points: n}
	case 3:
		return Request{Type: Stamp, Count: n % 9}
	case 4:
		return Request{Type: CashbackSpend, Amount: n}
	}
	return Request{Type: Adjust, Points: n - 128}
}

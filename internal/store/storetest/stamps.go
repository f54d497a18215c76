package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// postReq posts req under a fresh key with the given rules.
func postReq(t *testing.T, s *store.Store, memberID, key string, req balances.Request, r balances.Rules) (store.PostResult, error) {
	t.Helper()
	return s.Post(context.Background(), memberID, key, "h-"+key, req, r)
}

func testPostStamps(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	coffee := mustReward(t, s, "demo", "Coffee", 100, "", true)
	r := Rules
	r.StampGoal, r.StampRewardID = 10, coffee.ID
	m := NewMember(t, s, "demo")

	res, err := postReq(t, s, m.ID, "s1", balances.Request{Type: balances.Stamp, Count: 9}, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entry.Stamps != 9 || res.Entry.Points != 0 || res.Account.Stamps != 9 || len(res.Vouchers) != 0 {
		t.Errorf("Post(stamp 9) = entry %+v, account %+v, %d vouchers; want 9 stamps, no points, no voucher", res.Entry, res.Account, len(res.Vouchers))
	}
	// 9 + 3 with goal 10: one voucher, and 2 stamps carry over.
	res, err = postReq(t, s, m.ID, "s2", balances.Request{Type: balances.Stamp, Count: 3}, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Stamps != 2 || res.Account.Points != 0 || len(res.Vouchers) != 1 ||
		res.Vouchers[0].RewardID != coffee.ID || res.Vouchers[0].EntryID != res.Entry.ID || res.Vouchers[0].Status != loyalty.VoucherUnused {
		t.Fatalf("Post(stamp 3 on 9) = account %+v, vouchers %+v; want 2 stamps and one unused coffee voucher of the entry", res.Account, res.Vouchers)
	}
	after := mustMember(t, s, m.ID)
	if after.Account.Stamps != 2 || len(after.Vouchers) != 1 || after.Vouchers[0].Code != res.Vouchers[0].Code || after.Vouchers[0].Reward != "Coffee" {
		t.Errorf("member after the full card = %d stamps, vouchers %+v; want 2 and the coffee voucher", after.Account.Stamps, after.Vouchers)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, m.ID, ch); st.WantedVersion != after.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("%s sync after the full card = %+v, want pending at version %d", ch, st, after.Account.PassVersion)
		}
	}
	// A replay answers the same vouchers and writes nothing.
	again, err := postReq(t, s, m.ID, "s2", balances.Request{Type: balances.Stamp, Count: 3}, r)
	if err != nil || !again.Replayed || !cmp.Equal(again.Vouchers, res.Vouchers) {
		t.Errorf("replayed stamp = %+v, %v; want replayed with vouchers %+v", again.Vouchers, err, res.Vouchers)
	}

	// Several goals in one count: a count is at most the goal, but a
	// programme may lower its goal under a card holding more. 2 + 2 on a
	// card of 2: two vouchers in the one entry, none left.
	r2 := r
	r2.StampGoal = 2
	res, err = postReq(t, s, m.ID, "s3", balances.Request{Type: balances.Stamp, Count: 2}, r2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Stamps != 0 || len(res.Vouchers) != 2 || res.Vouchers[0].Code == res.Vouchers[1].Code ||
		res.Vouchers[0].EntryID != res.Entry.ID || res.Vouchers[1].EntryID != res.Entry.ID {
		t.Errorf("Post(stamp 2 on 2, goal 2) = %d stamps, vouchers %+v; want 0 and two vouchers of the entry", res.Account.Stamps, res.Vouchers)
	}
	if again, err := postReq(t, s, m.ID, "s3", balances.Request{Type: balances.Stamp, Count: 2}, r2); err != nil || len(again.Vouchers) != 2 {
		t.Errorf("replay of the two-voucher stamp = %d vouchers, %v; want 2", len(again.Vouchers), err)
	}
	vs, err := s.Vouchers(ctx, m.ID)
	if err != nil || len(vs) != 3 || len(mustMember(t, s, m.ID).Vouchers) != 3 {
		t.Errorf("Vouchers = %d, %v; want 3, all on the card", len(vs), err)
	}

	// Refusals write nothing: over the goal, no stamps, the reward gone.
	before := mustMember(t, s, m.ID)
	var ve *balances.ValidationError
	if _, err := postReq(t, s, m.ID, "over", balances.Request{Type: balances.Stamp, Count: 11}, r); !errors.As(err, &ve) {
		t.Errorf("Post(stamp 11, goal 10) = %v, want a validation error", err)
	}
	if _, err := postReq(t, s, m.ID, "none", balances.Request{Type: balances.Stamp, Count: 1}, Rules); !errors.As(err, &ve) {
		t.Errorf("Post(stamp without stamps) = %v, want a validation error", err)
	}
	gone := r
	gone.StampRewardID = "no-such-reward"
	if _, err := postReq(t, s, m.ID, "gone", balances.Request{Type: balances.Stamp, Count: 10}, gone); !errors.Is(err, loyalty.ErrRewardUnavailable) {
		t.Errorf("Post(stamp filling the card, unknown reward) = %v, want ErrRewardUnavailable", err)
	}
	if diff := cmp.Diff(before, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("refused stamps changed the member (-before +after):\n%s", diff)
	}
	entries, _, err := s.Entries(ctx, m.ID, "", 10)
	if err != nil || len(entries) != 3 || entries[0].Stamps != 2 || entries[1].Stamps != 3 || entries[2].Stamps != 9 {
		t.Errorf("Entries = %+v, %v; want the three stamps with their counts", entries, err)
	}
}

func testPostCashback(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	r := Rules
	r.CashbackRateBP = 250 // 2.5 %
	m := NewMember(t, s, "demo")

	res, err := postReq(t, s, m.ID, "e1", balances.Request{Type: balances.Earn, Amount: 1999}, r)
	if err != nil {
		t.Fatal(err)
	}
	// floor(1999 x 250 / 10000) = 49.
	if res.Entry.Cashback != 49 || res.Account.Cashback != 49 {
		t.Errorf("Post(earn 1999 at 250bp) = entry cashback %d, account %d; want 49, 49", res.Entry.Cashback, res.Account.Cashback)
	}
	before := mustMember(t, s, m.ID)
	if before.Account.Cashback != 49 {
		t.Errorf("member cashback = %d, want 49", before.Account.Cashback)
	}
	if _, err := postReq(t, s, m.ID, "x", balances.Request{Type: balances.CashbackSpend, Amount: 50}, r); !errors.Is(err, balances.ErrInsufficientCashback) {
		t.Errorf("Post(cashback_spend 50 of 49) = %v, want ErrInsufficientCashback", err)
	}
	if diff := cmp.Diff(before, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("a refused spend changed the member (-before +after):\n%s", diff)
	}
	res, err = postReq(t, s, m.ID, "sp", balances.Request{Type: balances.CashbackSpend, Amount: 40}, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entry.Cashback != -40 || res.Entry.Points != 0 || res.Account.Cashback != 9 || res.Account.Points != before.Account.Points {
		t.Errorf("Post(cashback_spend 40) = entry %+v, account %+v; want -40 cashback, 9 left, points unchanged", res.Entry, res.Account)
	}
	if got := mustMember(t, s, m.ID).Account.Cashback; got != 9 {
		t.Errorf("member cashback after the spend = %d, want 9", got)
	}
	entries, _, err := s.Entries(context.Background(), m.ID, "", 10)
	if err != nil || len(entries) != 2 || entries[0].Cashback != -40 || entries[1].Cashback != 49 {
		t.Errorf("Entries = %+v, %v; want the spend (-40) and the earn (+49)", entries, err)
	}
}

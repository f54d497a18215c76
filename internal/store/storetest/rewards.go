package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// rulesProgram is a programme of id with the suite's Rules.
func rulesProgram(id string) *loyalty.Program {
	p := &loyalty.Program{}
	p.ID = id
	p.Earn.PointsPerUnit, p.Earn.MinorPerUnit = Rules.PointsPerUnit, Rules.MinorPerUnit
	for _, t := range Rules.Tiers {
		p.Tiers = append(p.Tiers, loyalty.Tier{Name: t.Name, Threshold: t.Threshold})
	}
	return p
}

func mustReward(t *testing.T, s *store.Store, program, name string, cost int64, minTier string, active bool) loyalty.Reward {
	t.Helper()
	r, err := s.CreateReward(context.Background(), loyalty.Reward{ID: uuid.NewString(), Program: program, Name: name,
		CostPoints: cost, MinTier: minTier, ValidDays: 30, Active: active})
	if err != nil {
		t.Fatalf("CreateReward(%s) = %v", name, err)
	}
	return r
}

func testRewards(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	coffee := mustReward(t, s, "demo", "Coffee", 100, "", true)
	clock.Add(time.Second)
	mug := mustReward(t, s, "demo", "Mug", 500, "Silver", true)
	old := mustReward(t, s, "demo", "Old", 10, "", false)
	mustReward(t, s, "other", "Tea", 50, "", true)

	got, err := s.Rewards(ctx, "demo", true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]loyalty.Reward{coffee, mug}, got); diff != "" {
		t.Errorf("Rewards(demo, active) (-want +got):\n%s", diff)
	}
	if all, err := s.Rewards(ctx, "demo", false); err != nil || len(all) != 3 {
		t.Errorf("Rewards(demo, all) = %d rewards, %v, want 3", len(all), err)
	}
	if r, err := s.Reward(ctx, mug.ID); err != nil || !cmp.Equal(r, mug) {
		t.Errorf("Reward(mug) = %+v, %v, want %+v", r, err, mug)
	}
	if _, err := s.Reward(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Reward(unknown) = %v, want ErrNotFound", err)
	}

	clock.Add(time.Minute)
	old.Active, old.Name, old.CostPoints = true, "Old but back", 20
	up, err := s.UpdateReward(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if !up.Active || up.Name != "Old but back" || up.CostPoints != 20 || !up.UpdatedAt.Equal(clock.Now().UTC().Truncate(time.Microsecond)) || !up.CreatedAt.Equal(old.CreatedAt) {
		t.Errorf("UpdateReward = %+v, want active, renamed, cost 20, updated now", up)
	}
	if _, err := s.UpdateReward(ctx, loyalty.Reward{ID: uuid.NewString(), Name: "x", CostPoints: 1, ValidDays: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateReward(unknown) = %v, want ErrNotFound", err)
	}
}

func testRedeem(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := rulesProgram("demo")
	coffee := mustReward(t, s, "demo", "Coffee", 60, "", true)
	mug := mustReward(t, s, "demo", "Mug", 10, "Silver", true)
	off := mustReward(t, s, "demo", "Gone", 10, "", false)
	tea := mustReward(t, s, "other", "Tea", 10, "", true)
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 90)
	before := mustMember(t, s, m.ID)

	// Every refusal writes nothing.
	for _, tc := range []struct {
		name   string
		reward loyalty.Reward
		want   error
	}{
		{"inactive", off, loyalty.ErrRewardUnavailable},
		{"other programme", tea, loyalty.ErrRewardUnavailable},
		{"tier too low", mug, loyalty.ErrTierRequired},
	} {
		if _, err := s.Redeem(ctx, m.ID, "k-"+tc.name, "h", tc.reward, p); !errors.Is(err, tc.want) {
			t.Errorf("Redeem(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.Redeem(ctx, uuid.NewString(), "k", "h", coffee, p); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("Redeem(unknown member) = %v, want ErrMemberNotFound", err)
	}
	if diff := cmp.Diff(before, mustMember(t, s, m.ID)); diff != "" {
		t.Errorf("refused redemptions changed the member (-before +after):\n%s", diff)
	}

	clock.Add(time.Second)
	res, err := s.Redeem(ctx, m.ID, "buy-1", "h1", coffee, p)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now().UTC().Truncate(time.Microsecond)
	v := res.Voucher
	if _, ok := loyalty.NormalizeVoucherCode(v.Code); !ok || v.RewardID != coffee.ID || v.MemberID != m.ID || v.Program != "demo" ||
		v.Status != loyalty.VoucherUnused || v.EntryID != res.Entry.ID || !v.ExpiresAt.Equal(now.Add(30*24*time.Hour).Truncate(time.Second)) {
		t.Errorf("Redeem voucher = %+v, want an unused voucher of coffee for the member, expiring in 30 days", v)
	}
	if res.Entry.Type != balances.Redeem || res.Entry.Points != -60 || res.Entry.BalanceAfter != 30 || res.Entry.Reference != "reward:"+coffee.ID || res.Replayed {
		t.Errorf("Redeem entry = %+v, want a redeem of 60 leaving 30, reference reward:<id>", res.Entry)
	}
	after := mustMember(t, s, m.ID)
	if after.Account.Points != 30 || after.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("member after Redeem = %d points, version %d; want 30, %d", after.Account.Points, after.Account.PassVersion, before.Account.PassVersion+1)
	}
	wantOpen := []loyalty.OpenVoucher{{Code: v.Code, Reward: "Coffee", ExpiresAt: v.ExpiresAt}}
	if diff := cmp.Diff(wantOpen, after.Vouchers); diff != "" {
		t.Errorf("member read's vouchers (-want +got):\n%s", diff)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, m.ID, ch); st.WantedVersion != after.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("%s sync after Redeem = %+v, want pending at version %d", ch, st, after.Account.PassVersion)
		}
	}

	// A replay answers the same voucher and writes nothing, even once the
	// reward is off; another body with the key is a conflict.
	coffee.Active = false
	if _, err := s.UpdateReward(ctx, coffee); err != nil {
		t.Fatal(err)
	}
	again, err := s.Redeem(ctx, m.ID, "buy-1", "h1", coffee, p)
	if err != nil || !again.Replayed || !cmp.Equal(again.Voucher, v) || again.Entry.ID != res.Entry.ID {
		t.Errorf("Redeem(replay) = %+v, %v, want the first voucher and entry, replayed", again, err)
	}
	if _, err := s.Redeem(ctx, m.ID, "buy-1", "h2", coffee, p); !errors.Is(err, balances.ErrIdempotencyConflict) {
		t.Errorf("Redeem(same key, other body) = %v, want ErrIdempotencyConflict", err)
	}
	// A key that paid for a plain transaction is no redemption.
	if _, err := s.Post(ctx, m.ID, "earn-1", "he", balances.Request{Type: balances.Earn, Points: 5}, Rules); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Redeem(ctx, m.ID, "earn-1", "he", coffee, p); !errors.Is(err, balances.ErrIdempotencyConflict) {
		t.Errorf("Redeem(key of a transaction) = %v, want ErrIdempotencyConflict", err)
	}
	if got := mustMember(t, s, m.ID).Account.Points; got != 35 {
		t.Errorf("points = %d, want 35", got)
	}
	// Short of points: nothing written.
	coffee.Active = true
	if _, err := s.UpdateReward(ctx, coffee); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Redeem(ctx, m.ID, "buy-2", "h3", coffee, p); !errors.Is(err, balances.ErrInsufficientPoints) {
		t.Errorf("Redeem(short) = %v, want ErrInsufficientPoints", err)
	}
	if vs, err := s.Vouchers(ctx, m.ID); err != nil || len(vs) != 1 {
		t.Errorf("Vouchers = %d, %v; want the one voucher", len(vs), err)
	}
}

func testConcurrentRedemptions(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	p := rulesProgram("demo")
	r := mustReward(t, s, "demo", "Coffee", 10, "", true)
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 50)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Redeem(ctx, m.ID, uuid.NewString(), "h", r, p)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, balances.ErrInsufficientPoints), errors.Is(err, balances.ErrRequestInProgress):
		default:
			t.Errorf("Redeem = %v", err)
		}
	}
	vs, err := s.Vouchers(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	after := mustMember(t, s, m.ID)
	if ok > 5 || len(vs) != ok || after.Account.Points != 50-10*int64(ok) || len(after.Vouchers) != ok {
		t.Errorf("%d redemptions succeeded, %d vouchers, %d open, %d points; want at most 5, one voucher each, 10 points each",
			ok, len(vs), len(after.Vouchers), after.Account.Points)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Code] {
			t.Errorf("voucher code %s issued twice", v.Code)
		}
		seen[v.Code] = true
	}
}

func testUseVoucher(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := rulesProgram("demo")
	r := mustReward(t, s, "demo", "Coffee", 10, "", true)
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 100)
	redeem := func(key string) loyalty.Voucher {
		t.Helper()
		res, err := s.Redeem(ctx, m.ID, key, "h-"+key, r, p)
		if err != nil {
			t.Fatal(err)
		}
		return res.Voucher
	}
	first := redeem("a")
	clock.Add(time.Second)
	second := redeem("b")
	if got := mustMember(t, s, m.ID).Vouchers; len(got) != 2 || got[0].Code != first.Code || got[1].Code != second.Code {
		t.Errorf("open vouchers = %+v, want first then second", got)
	}

	before := mustMember(t, s, m.ID)
	clock.Add(time.Second)
	used, replayed, err := s.UseVoucher(ctx, first.Code, "use-1")
	if err != nil || replayed || used.Status != loyalty.VoucherUsed || used.UsedAt == nil || used.Code != first.Code {
		t.Fatalf("UseVoucher = %+v, %v, %v; want used, not replayed", used, replayed, err)
	}
	after := mustMember(t, s, m.ID)
	if after.Account.PassVersion != before.Account.PassVersion+1 || len(after.Vouchers) != 1 || after.Vouchers[0].Code != second.Code {
		t.Errorf("member after use: version %d (want %d), open %+v (want the second only)", after.Account.PassVersion, before.Account.PassVersion+1, after.Vouchers)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelApple); st.WantedVersion != after.Account.PassVersion {
		t.Errorf("apple sync after use = %+v, want wanted version %d", st, after.Account.PassVersion)
	}
	again, replayed, err := s.UseVoucher(ctx, first.Code, "use-1")
	if err != nil || !replayed || !cmp.Equal(again, used) {
		t.Errorf("UseVoucher(replay) = %+v, %v, %v; want %+v, replayed", again, replayed, err, used)
	}
	if _, _, err := s.UseVoucher(ctx, first.Code, "use-2"); !errors.Is(err, loyalty.ErrVoucherUsed) {
		t.Errorf("UseVoucher(used, other key) = %v, want ErrVoucherUsed", err)
	}
	if got := mustMember(t, s, m.ID).Account.PassVersion; got != after.Account.PassVersion {
		t.Errorf("a replay and a refusal moved the pass version to %d, want %d", got, after.Account.PassVersion)
	}
	evs, err := s.Events(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if strings.HasPrefix(e.Kind, "voucher_") {
			kinds = append(kinds, e.Kind+" "+e.Data)
		}
	}
	wantKinds := []string{
		`voucher_issued {"code":"` + first.Code + `","reward_id":"` + r.ID + `"}`,
		`voucher_issued {"code":"` + second.Code + `","reward_id":"` + r.ID + `"}`,
		`voucher_used {"code":"` + first.Code + `","reward_id":"` + r.ID + `"}`,
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("voucher events (-want +got):\n%s", diff)
	}
	if _, _, err := s.UseVoucher(ctx, "ZZZZZZZZZZ", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseVoucher(unknown) = %v, want ErrNotFound", err)
	}

	vs, err := s.Vouchers(ctx, m.ID)
	if err != nil || len(vs) != 2 || vs[0].Code != second.Code || vs[1].Code != first.Code {
		t.Errorf("Vouchers = %+v, %v; want the unused one first", vs, err)
	}

	// Past expires_at: refused, and no longer in the open list once
	// anything rewrites it.
	clock.Set(second.ExpiresAt)
	if _, _, err := s.UseVoucher(ctx, second.Code, "use-3"); !errors.Is(err, loyalty.ErrVoucherExpired) {
		t.Errorf("UseVoucher(expired) = %v, want ErrVoucherExpired", err)
	}
	third := redeem("c")
	if got := mustMember(t, s, m.ID).Vouchers; len(got) != 1 || got[0].Code != third.Code {
		t.Errorf("open vouchers after expiry = %+v, want the third only", got)
	}

	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseVoucher(ctx, third.Code, "use-4"); !errors.Is(err, loyalty.ErrMemberNotFound) {
		t.Errorf("UseVoucher(erased member) = %v, want ErrMemberNotFound", err)
	}
}

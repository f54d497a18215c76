package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// expiryRules are Rules with a 365-day expiry and a reminder 30 days
// before.
func expiryRules() balances.Rules {
	r := Rules
	r.Expiry = &balances.Expiry{AfterDays: 365, RemindDays: 30}
	return r
}

// postAt posts req sold at occurred under a fresh key and fails the test
// on an error.
func postAt(t *testing.T, s *store.Store, memberID string, req balances.Request, occurred time.Time, r balances.Rules) store.PostResult {
	t.Helper()
	req.OccurredAt = occurred
	res, err := postReq(t, s, memberID, uuid.NewString(), req, r)
	if err != nil {
		t.Fatalf("Post(%+v) = %v, want nil", req, err)
	}
	return res
}

// lotsLeft answers each of a member's lots' remaining points by lot id.
func lotsLeft(t *testing.T, s *store.Store, memberID string) map[string]int64 {
	t.Helper()
	lots, err := s.Lots(context.Background(), memberID)
	if err != nil {
		t.Fatalf("Lots(%s) = %v", memberID, err)
	}
	out := map[string]int64{}
	for _, l := range lots {
		out[l.ID] = l.Remaining
	}
	return out
}

// expireEntries answers a member's expire entries.
func expireEntries(t *testing.T, s *store.Store, memberID string) []store.Entry {
	t.Helper()
	x, err := s.Export(context.Background(), memberID)
	if err != nil {
		t.Fatalf("Export(%s) = %v", memberID, err)
	}
	var out []store.Entry
	for _, e := range x.Entries {
		if e.Type == balances.Expire {
			out = append(out, e)
		}
	}
	return out
}

func testLotsFIFO(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	r := expiryRules()
	m := NewMember(t, s, "demo")

	// Points from before the programme had expiry belong to no lot.
	post(t, s, m.ID, balances.Earn, 10)
	if got := lotsLeft(t, s, m.ID); len(got) != 0 {
		t.Fatalf("lots after an earn without expiry = %v, want none", got)
	}
	a := postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Points: 100}, clock.Now(), r).Entry
	clock.Add(time.Hour)
	// A backdated earn expires before the earlier one.
	b := postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Points: 50}, t0().Add(-10*balances.Day), r).Entry
	clock.Add(time.Hour)
	c := postAt(t, s, m.ID, balances.Request{Type: balances.Adjust, Points: 20}, clock.Now(), r).Entry
	// An earn of 0 points (an amount under one unit) is no lot.
	postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Amount: 50}, clock.Now(), r)
	lots, err := s.Lots(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []balances.Lot{
		{ID: b.ID, Points: 50, Remaining: 50, EarnedAt: b.OccurredAt, ExpiresAt: b.OccurredAt.Add(365 * balances.Day), RemindAt: b.OccurredAt.Add(335 * balances.Day)},
		{ID: a.ID, Points: 100, Remaining: 100, EarnedAt: a.OccurredAt, ExpiresAt: a.OccurredAt.Add(365 * balances.Day), RemindAt: a.OccurredAt.Add(335 * balances.Day)},
		{ID: c.ID, Points: 20, Remaining: 20, EarnedAt: c.OccurredAt, ExpiresAt: c.OccurredAt.Add(365 * balances.Day), RemindAt: c.OccurredAt.Add(335 * balances.Day)},
	}
	if diff := cmp.Diff(want, lots); diff != "" {
		t.Fatalf("Lots after two earns (one backdated) and an adjust (-want +got):\n%s", diff)
	}
	if got := mustMember(t, s, m.ID).Expiring; got == nil || *got != (loyalty.PointsExpiring{Points: 50, At: want[0].ExpiresAt}) {
		t.Errorf("member's points expiring = %+v, want the backdated lot's 50 at %v", got, want[0].ExpiresAt)
	}

	// A redeem takes the lot that expires first, then the next.
	postAt(t, s, m.ID, balances.Request{Type: balances.Redeem, Points: 60}, clock.Now(), r)
	if got, want := lotsLeft(t, s, m.ID), map[string]int64{b.ID: 0, a.ID: 90, c.ID: 20}; !cmp.Equal(got, want) {
		t.Errorf("lots after redeeming 60 = %v, want %v", got, want)
	}
	if got := mustMember(t, s, m.ID).Expiring; got == nil || got.Points != 90 || !got.At.Equal(want[1].ExpiresAt) {
		t.Errorf("member's points expiring after the redeem = %+v, want 90 at %v", got, want[1].ExpiresAt)
	}
	// A reward's redemption is a debit too.
	p := rulesProgram("demo")
	p.Expiry = &loyalty.Expiry{AfterDays: 365, RemindDays: 30}
	coffee := mustReward(t, s, "demo", "Coffee", 95, "", true)
	if _, err := s.Redeem(ctx, m.ID, "reward-1", "h", coffee, p); err != nil {
		t.Fatalf("Redeem = %v", err)
	}
	if got, want := lotsLeft(t, s, m.ID), map[string]int64{b.ID: 0, a.ID: 0, c.ID: 15}; !cmp.Equal(got, want) {
		t.Errorf("lots after a reward of 95 = %v, want %v", got, want)
	}
	// A negative adjust empties the last lot, then takes points of no lot.
	postAt(t, s, m.ID, balances.Request{Type: balances.Adjust, Points: -20}, clock.Now(), r)
	if got, want := lotsLeft(t, s, m.ID), map[string]int64{b.ID: 0, a.ID: 0, c.ID: 0}; !cmp.Equal(got, want) {
		t.Errorf("lots after adjusting -20 = %v, want %v", got, want)
	}
	after := mustMember(t, s, m.ID)
	if after.Account.Points != 5 || after.Expiring != nil {
		t.Errorf("member after spending every lot = %d points, expiring %+v; want 5 points of no lot, nothing expiring", after.Account.Points, after.Expiring)
	}
	checkLedger(t, s, m.ID)

	// A welcome bonus of a programme with expiry is a lot.
	w := memberFor(t, "demo")
	w.CreatedAt, w.WelcomeBonus, w.WelcomeExpiry = clock.Now(), 25, r.Expiry
	acct := balances.Credit(balances.NewAccount(r), 25, r).Account
	acct.PassVersion = 1
	if err := s.CreateMember(ctx, w, acct); err != nil {
		t.Fatal(err)
	}
	if got := mustMember(t, s, w.ID).Expiring; got == nil || got.Points != 25 || !got.At.Equal(clock.Now().Truncate(time.Microsecond).Add(365*balances.Day)) {
		t.Errorf("welcome bonus's points expiring = %+v, want 25 in 365 days", got)
	}
}

func testExpireDue(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	r := expiryRules()
	now := clock.Now().Truncate(time.Microsecond)

	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 10) // no lot: never expires
	old := postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Points: 100}, now.Add(-366*balances.Day), r)
	postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Points: 40}, now.Add(-300*balances.Day), r)
	// A partly spent lot expires what is left of it.
	part := NewMember(t, s, "demo")
	partEarn := postAt(t, s, part.ID, balances.Request{Type: balances.Earn, Points: 100}, now.Add(-400*balances.Day), r)
	postAt(t, s, part.ID, balances.Request{Type: balances.Redeem, Points: 30}, now, r)
	// An erased member's lot is emptied without an entry.
	gone := NewMember(t, s, "demo")
	postAt(t, s, gone.ID, balances.Request{Type: balances.Earn, Points: 100}, now.Add(-400*balances.Day), r)
	if err := s.EraseMember(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	before := mustMember(t, s, m.ID)

	n, err := s.ExpireDue(ctx, now, 100)
	if err != nil || n != 3 {
		t.Fatalf("ExpireDue = %d, %v; want 3 lots", n, err)
	}
	es := expireEntries(t, s, m.ID)
	wantAt := old.Entry.OccurredAt.Add(365 * balances.Day)
	if len(es) != 1 || es[0].Points != -100 || es[0].BalanceAfter != 50 || es[0].Reference != "lot:"+old.Entry.ID ||
		!es[0].OccurredAt.Equal(wantAt) || !es[0].CreatedAt.Equal(now) {
		t.Fatalf("expire entries = %+v, want one of -100 leaving 50, for lot %s, dated %v, written %v", es, old.Entry.ID, wantAt, now)
	}
	after := mustMember(t, s, m.ID)
	if after.Account.Points != 50 || after.Account.Lifetime != before.Account.Lifetime || after.Account.Tier != before.Account.Tier ||
		after.Account.Qualifying != before.Account.Qualifying || after.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("account after the expiry = %+v, want 50 points, lifetime, qualifying and tier of %+v, the next pass version", after.Account, before.Account)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, m.ID, ch); st.WantedVersion != after.Account.PassVersion || st.State != loyalty.SyncPending {
			t.Errorf("%s sync after the expiry = %+v, want pending at version %d", ch, st, after.Account.PassVersion)
		}
	}
	if es := expireEntries(t, s, part.ID); len(es) != 1 || es[0].Points != -70 || es[0].Reference != "lot:"+partEarn.Entry.ID {
		t.Errorf("expiry of a partly spent lot = %+v, want one entry of -70", es)
	}
	if es, left := expireEntries(t, s, gone.ID), lotsLeft(t, s, gone.ID); len(es) != 0 || len(left) != 1 || cmp.Equal(left, map[string]int64{}) {
		t.Errorf("expiry of an erased member's lot = entries %+v, lots %v; want no entry, one lot", es, left)
	} else {
		for id, n := range left {
			if n != 0 {
				t.Errorf("an erased member's lot %s holds %d points after its expiry, want 0", id, n)
			}
		}
	}
	x, err := s.Export(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var expired []string
	for _, e := range x.Events {
		if e.Kind == "points_expired" {
			var d struct {
				LotID  string `json:"lot_id"`
				Points int64  `json:"points"`
			}
			if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
				t.Fatal(err)
			}
			expired = append(expired, d.LotID+":"+strconv.FormatInt(d.Points, 10))
		}
	}
	if want := []string{old.Entry.ID + ":100"}; !cmp.Equal(expired, want) {
		t.Errorf("points_expired events = %v, want %v", expired, want)
	}

	// Once only: nothing is due any more.
	if n, err := s.ExpireDue(ctx, now.Add(time.Minute), 100); err != nil || n != 0 {
		t.Errorf("ExpireDue again = %d, %v; want 0", n, err)
	}
	// The other lot, at its own expiry; the points of no lot stay.
	clock.Add(65 * balances.Day)
	if n, err := s.ExpireDue(ctx, clock.Now(), 100); err != nil || n != 1 {
		t.Errorf("ExpireDue at the second lot's expiry = %d, %v; want 1", n, err)
	}
	if got := mustMember(t, s, m.ID); got.Account.Points != 10 || got.Expiring != nil {
		t.Errorf("member after every lot expired = %d points, expiring %+v; want 10, none", got.Account.Points, got.Expiring)
	}
	checkLedger(t, s, m.ID)
	checkLedger(t, s, part.ID)
}

// testExpireConcurrently runs several expiry callers at once, beside
// tills that earn and redeem, and checks every lot expired exactly once.
func testExpireConcurrently(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	r := expiryRules()
	now := clock.Now().Truncate(time.Microsecond)
	const members = 12
	ids := make([]string, members)
	for i := range ids {
		ids[i] = NewMember(t, s, "demo").ID
		postAt(t, s, ids[i], balances.Request{Type: balances.Earn, Points: 30}, now.Add(-400*balances.Day), r)
		postAt(t, s, ids[i], balances.Request{Type: balances.Earn, Points: 20}, now.Add(-370*balances.Day), r)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Go(func() {
			for {
				n, err := s.ExpireDue(ctx, now, 5)
				if err != nil {
					t.Errorf("ExpireDue = %v", err)
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
				if n == 0 {
					return
				}
			}
		})
	}
	for i, id := range ids {
		wg.Go(func() {
			postAt(t, s, id, balances.Request{Type: balances.Earn, Points: int64(i + 1)}, now, r)
		})
	}
	wg.Wait()
	// A caller that found nothing while another held the last members
	// may stop early: one more pass takes what is left.
	n, err := s.ExpireDue(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	if total+n != 2*members {
		t.Errorf("the callers expired %d lots, want %d", total+n, 2*members)
	}
	for i, id := range ids {
		es := expireEntries(t, s, id)
		seen := map[string]bool{}
		for _, e := range es {
			seen[e.Reference] = true
		}
		if len(es) != 2 || len(seen) != 2 {
			t.Errorf("member %d has expire entries %+v, want one for each of its two lots", i, es)
		}
		if got := mustMember(t, s, id).Account.Points; got != int64(i+1) {
			t.Errorf("member %d holds %d points after the expiry, want the new earn's %d", i, got, i+1)
		}
		checkLedger(t, s, id)
	}
}

func testRemindDue(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	r := expiryRules()
	m := NewMember(t, s, "demo")
	earn := postAt(t, s, m.ID, balances.Request{Type: balances.Earn, Points: 100}, clock.Now(), r).Entry
	expires := earn.OccurredAt.Add(365 * balances.Day)
	// A lot spent before its reminder is never reminded.
	spent := NewMember(t, s, "demo")
	postAt(t, s, spent.ID, balances.Request{Type: balances.Earn, Points: 50}, clock.Now(), r)
	postAt(t, s, spent.ID, balances.Request{Type: balances.Redeem, Points: 50}, clock.Now(), r)

	if n, err := s.RemindDue(ctx, clock.Now().Add(334*balances.Day), 100); err != nil || n != 0 {
		t.Fatalf("RemindDue a day before the reminder = %d, %v; want 0", n, err)
	}
	before := mustMember(t, s, m.ID)
	if before.Expiring == nil || before.Expiring.Reminded {
		t.Fatalf("points expiring before the reminder = %+v, want 100 not reminded", before.Expiring)
	}
	clock.Set(expires.Add(-30 * balances.Day))
	if n, err := s.RemindDue(ctx, clock.Now(), 100); err != nil || n != 1 {
		t.Fatalf("RemindDue at the reminder = %d, %v; want 1", n, err)
	}
	after := mustMember(t, s, m.ID)
	if want := (loyalty.PointsExpiring{Points: 100, At: expires, Reminded: true}); after.Expiring == nil || *after.Expiring != want ||
		after.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("member after the reminder = expiring %+v, pass version %d; want %+v, version %d",
			after.Expiring, after.Account.PassVersion, want, before.Account.PassVersion+1)
	}
	for _, ch := range loyalty.Channels() {
		if st := syncState(t, s, m.ID, ch); st.WantedVersion != after.Account.PassVersion {
			t.Errorf("%s sync after the reminder = %+v, want version %d", ch, st, after.Account.PassVersion)
		}
	}
	// Once per lot.
	clock.Add(balances.Day)
	if n, err := s.RemindDue(ctx, clock.Now(), 100); err != nil || n != 0 {
		t.Errorf("RemindDue again = %d, %v; want 0", n, err)
	}
	if got := mustMember(t, s, m.ID).Account.PassVersion; got != after.Account.PassVersion {
		t.Errorf("pass version after a second reminder pass = %d, want %d", got, after.Account.PassVersion)
	}
	// The reminder goes with the lot's expiry.
	clock.Set(expires)
	if n, err := s.ExpireDue(ctx, clock.Now(), 100); err != nil || n != 1 {
		t.Errorf("ExpireDue at expiry = %d, %v; want 1", n, err)
	}
	if got := mustMember(t, s, m.ID).Expiring; got != nil {
		t.Errorf("points expiring after the expiry = %+v, want none", got)
	}
}

// ExpireTwoInstances stands for two passd instances on one database: a
// and b share it, each runs its own automations.Runner with the expiry
// job at once, beside tills earning, and every due lot must expire
// exactly once.
func ExpireTwoInstances(t *testing.T, a, b *store.Store) {
	ctx := context.Background()
	r := expiryRules()
	now := t0().Truncate(time.Microsecond)
	const members = 60
	ids := make([]string, members)
	for i := range ids {
		ids[i] = NewMember(t, a, "demo").ID
		for _, back := range []int{400, 380, 366} {
			postAt(t, a, ids[i], balances.Request{Type: balances.Earn, Points: int64(back)}, now.Add(-time.Duration(back)*balances.Day), r)
		}
	}
	runners := []*automations.Runner{
		automations.New(automations.Config{Now: func() time.Time { return now }, Limit: 7}, automations.Expire{Store: a}),
		automations.New(automations.Config{Now: func() time.Time { return now }, Limit: 7}, automations.Expire{Store: b}),
	}
	done := make([]int, len(runners))
	for {
		var wg sync.WaitGroup
		round := make([]int, len(runners))
		for i, run := range runners {
			wg.Go(func() {
				n, err := run.RunOnce(ctx)
				if err != nil {
					t.Errorf("instance %d: RunOnce = %v", i, err)
				}
				round[i] = n
			})
		}
		for i, id := range ids[:members/2] {
			wg.Go(func() {
				postAt(t, []*store.Store{a, b}[i%2], id, balances.Request{Type: balances.Earn, Points: 1}, now, r)
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		done[0], done[1] = done[0]+round[0], done[1]+round[1]
		if round[0] == 0 && round[1] == 0 {
			break
		}
	}
	t.Logf("instance a expired %d lots, b %d", done[0], done[1])
	if done[0]+done[1] != 3*members {
		t.Errorf("the instances expired %d + %d lots, want %d in all", done[0], done[1], 3*members)
	}
	for i, id := range ids {
		es := expireEntries(t, a, id)
		lots := map[string]int{}
		for _, e := range es {
			lots[e.Reference]++
		}
		if len(es) != 3 || len(lots) != 3 {
			t.Errorf("member %d has expire entries %v by lot, want one for each of its 3 lots", i, lots)
		}
		checkLedger(t, a, id)
	}
}

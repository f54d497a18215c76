package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// MixedPost is one Post of MixedPosts.
type MixedPost struct {
	Name                string
	MemberID, Key, Hash string
	Req                 balances.Request
	Rules               balances.Rules
	// Want is the error the Post answers (errors.Is), nil for success;
	// Invalid asks for a *balances.ValidationError instead.
	Want    error
	Invalid bool
}

// Run posts p in s with ctx.
func (p MixedPost) Run(ctx context.Context, s *store.Store) (store.PostResult, error) {
	return s.Post(ctx, p.MemberID, p.Key, p.Hash, p.Req, p.Rules)
}

// Mixed is a set of Posts that succeed and fail side by side, whatever
// their order, and what the ledger holds after them all.
type Mixed struct {
	Posts []MixedPost
	// twins are the indexes of two Posts of one key and body: one posts,
	// the other replays it.
	twins [2]int
	// balances are the members' balances after the Posts, and entries
	// how many ledger entries each has.
	balances map[string]int64
	entries  map[string]int
	// stamped is the member whose stamp fills the card, once.
	stamped string
}

// MixedPosts stores the members of a mixed set of Posts in s (whose clock
// must not move backwards) and answers the set, in an order where a twin
// comes after the Post it replays:
//   - two Posts of one member (an earn and a redeem its balance covers
//     either way), a replay of that earn's key and body, and an
//     idempotency conflict on a key the member used before;
//   - two redeems that overdraw, on members no other Post touches;
//   - an unknown member, an invalid request;
//   - a referred member's first earn, which credits the referral;
//   - a stamp that fills a card and issues a voucher, and one whose stamp
//     reward is inactive.
func MixedPosts(t testing.TB, s *store.Store) *Mixed {
	t.Helper()
	ctx := context.Background()
	seed := func(memberID string, req balances.Request, rules balances.Rules) string {
		t.Helper()
		key := uuid.NewString()
		if _, err := s.Post(ctx, memberID, key, "h-"+key, req, rules); err != nil {
			t.Fatalf("Post(%s, %+v) = %v", memberID, req, err)
		}
		return key
	}
	a, b, c := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	aKey := seed(a.ID, balances.Request{Type: balances.Earn, Points: 100}, Rules)
	seed(c.ID, balances.Request{Type: balances.Earn, Points: 20}, Rules)

	p := &loyalty.Program{ID: "mixed", Referral: &loyalty.Referral{ReferrerPoints: 200, RefereePoints: 50}}
	q, _, err := loyalty.Enroll(ctx, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Quinn", Email: "quinn@example.com"}}, t0())
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := loyalty.Enroll(ctx, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Rosa", Email: "rosa@example.com"}, ReferralCode: q.ReferralCode}, t0())
	if err != nil || r.ReferredBy != q.ID {
		t.Fatalf("Enroll(referred) = %+v, %v", r, err)
	}

	coffee, err := s.CreateReward(ctx, loyalty.Reward{ID: uuid.NewString(), Program: "demo", Name: "Coffee", CostPoints: 100, ValidDays: 30, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.CreateReward(ctx, loyalty.Reward{ID: uuid.NewString(), Program: "demo", Name: "Tea", CostPoints: 100, ValidDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	stamps, noReward := Rules, Rules
	stamps.StampGoal, stamps.StampRewardID = 10, coffee.ID
	noReward.StampGoal, noReward.StampRewardID = 10, gone.ID
	st, st2 := NewMember(t, s, "demo"), NewMember(t, s, "demo")
	seed(st.ID, balances.Request{Type: balances.Stamp, Count: 9}, stamps)
	seed(st2.ID, balances.Request{Type: balances.Stamp, Count: 9}, noReward)

	post := func(name, memberID string, req balances.Request, rules balances.Rules, want error) MixedPost {
		key := uuid.NewString()
		return MixedPost{Name: name, MemberID: memberID, Key: key, Hash: "h-" + key, Req: req, Rules: rules, Want: want}
	}
	earn := post("earn", a.ID, balances.Request{Type: balances.Earn, Points: 50}, Rules, nil)
	replay := earn
	replay.Name = "replay of the earn"
	conflict := post("idempotency conflict", a.ID, balances.Request{Type: balances.Earn, Points: 7}, Rules, balances.ErrIdempotencyConflict)
	conflict.Key = aKey
	invalid := post("invalid", a.ID, balances.Request{Type: balances.Earn}, Rules, nil)
	invalid.Invalid = true
	m := &Mixed{
		Posts: []MixedPost{
			earn,
			post("overdraft", b.ID, balances.Request{Type: balances.Redeem, Points: 500}, Rules, balances.ErrInsufficientPoints),
			conflict,
			replay,
			post("redeem, same member", a.ID, balances.Request{Type: balances.Redeem, Points: 30}, Rules, nil),
			post("unknown member", uuid.NewString(), balances.Request{Type: balances.Earn, Points: 5}, Rules, loyalty.ErrMemberNotFound),
			invalid,
			post("overdraft after an earn", c.ID, balances.Request{Type: balances.Redeem, Points: 25}, Rules, balances.ErrInsufficientPoints),
			post("referee's first earn", r.ID, balances.Request{Type: balances.Earn, Points: 10}, p.Rules(), nil),
			post("stamp filling the card", st.ID, balances.Request{Type: balances.Stamp, Count: 1}, stamps, nil),
			post("stamp of an inactive reward", st2.ID, balances.Request{Type: balances.Stamp, Count: 1}, noReward, loyalty.ErrRewardUnavailable),
		},
		twins: [2]int{0, 3},
		// a: 100 + 50 - 30; r: 10 and 50 of referral; q: 200 of referral.
		balances: map[string]int64{a.ID: 120, b.ID: 0, c.ID: 20, r.ID: 60, q.ID: 200, st.ID: 0, st2.ID: 0},
		entries:  map[string]int{a.ID: 3, b.ID: 0, c.ID: 1, r.ID: 2, q.ID: 1, st.ID: 2, st2.ID: 1},
		stamped:  st.ID,
	}
	return m
}

// Check checks the answers of the Posts (res[i] and errs[i] of Posts[i])
// and the ledger after them.
func (m *Mixed) Check(t testing.TB, s *store.Store, res []store.PostResult, errs []error) {
	t.Helper()
	for i, p := range m.Posts {
		var v *balances.ValidationError
		switch {
		case p.Invalid:
			if !errors.As(errs[i], &v) {
				t.Errorf("%s: Post = %v, want a validation error", p.Name, errs[i])
			}
		case !errors.Is(errs[i], p.Want) || (p.Want == nil && errs[i] != nil):
			t.Errorf("%s: Post = %v, want %v", p.Name, errs[i], p.Want)
		}
	}
	x, y := m.twins[0], m.twins[1]
	if errs[x] == nil && errs[y] == nil {
		if res[x].Replayed == res[y].Replayed || res[x].Entry.ID != res[y].Entry.ID {
			t.Errorf("twins answered entries %s (replayed %v) and %s (replayed %v), want one entry posted once and replayed once",
				res[x].Entry.ID, res[x].Replayed, res[y].Entry.ID, res[y].Replayed)
		}
	}
	ctx := context.Background()
	ledger := map[string]bool{}
	for id, want := range m.balances {
		x, err := s.Export(ctx, id)
		if err != nil {
			t.Fatalf("Export(%s) = %v", id, err)
		}
		var sum int64
		for _, e := range x.Entries {
			sum += e.Points
			ledger[e.ID] = true
		}
		if x.Member.Account.Points != want || sum != want || len(x.Entries) != m.entries[id] {
			t.Errorf("member %s: balance %d, entries %d summing to %d; want %d, %d entries", id, x.Member.Account.Points, len(x.Entries), sum, want, m.entries[id])
		}
	}
	for i, p := range m.Posts {
		if errs[i] != nil || res[i].Replayed {
			continue
		}
		if !ledger[res[i].Entry.ID] {
			t.Errorf("%s: entry %s not in the ledger", p.Name, res[i].Entry.ID)
		}
	}
	if vs, err := s.Vouchers(ctx, m.stamped); err != nil || len(vs) != 1 {
		t.Errorf("vouchers of the filled card = %d, %v; want 1", len(vs), err)
	}
}

// testConcurrentMixedPosts runs MixedPosts all at once: on SQLite they
// share group commits, and a failing Post must not fail its neighbours.
func testConcurrentMixedPosts(t *testing.T, open Opener) {
	s := open(t, store.Options{Now: testkit.NewClock(t0()).Now})
	for range 3 {
		m := MixedPosts(t, s)
		res := make([]store.PostResult, len(m.Posts))
		errs := make([]error, len(m.Posts))
		var wg sync.WaitGroup
		for i, p := range m.Posts {
			wg.Go(func() { res[i], errs[i] = p.Run(context.Background(), s) })
		}
		wg.Wait()
		m.Check(t, s, res, errs)
	}
}

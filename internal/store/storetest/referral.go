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

// Welcome and referral bonuses: enrolment (loyalty.Enroll on the store)
// and the referee's first earn (Post).

func enroll(t *testing.T, s *store.Store, p *loyalty.Program, in loyalty.EnrollInput) store.MemberRow {
	t.Helper()
	m, created, err := loyalty.Enroll(context.Background(), s, p, in, t0())
	if err != nil || !created {
		t.Fatalf("Enroll(%+v) = %v, %v, want a new member", in.Profile, created, err)
	}
	return m
}

// bonusEntries answers a member's entries and checks that they sum to the
// balance.
func bonusEntries(t *testing.T, s *store.Store, id string) ([]store.Entry, store.MemberRow) {
	t.Helper()
	x, err := s.Export(context.Background(), id)
	if err != nil {
		t.Fatalf("Export(%s) = %v", id, err)
	}
	var sum int64
	for _, e := range x.Entries {
		sum += e.Points
	}
	if sum != x.Member.Account.Points {
		t.Errorf("member %s: sum(entries) = %d, balance %d", id, sum, x.Member.Account.Points)
	}
	return x.Entries, x.Member
}

func postRules(t *testing.T, s *store.Store, memberID string, typ balances.EntryType, points int64, rules balances.Rules) store.PostResult {
	t.Helper()
	key := uuid.NewString()
	res, err := s.Post(context.Background(), memberID, key, "h-"+key, balances.Request{Type: typ, Points: points}, rules)
	if err != nil {
		t.Fatalf("Post(%s, %s %d) = %v, want nil", memberID, typ, points, err)
	}
	return res
}

func countBonus(es []store.Entry, reason string) (n int, points int64) {
	for _, e := range es {
		if e.Type == balances.Bonus && e.Reason == reason {
			n++
			points += e.Points
		}
	}
	return n, points
}

func testWelcomeBonus(t *testing.T, open Opener) {
	s := open(t, store.Options{Now: testkit.NewClock(t0()).Now})
	p := &loyalty.Program{ID: "demo", WelcomeBonus: 150, Tiers: []loyalty.Tier{{Name: "Bronze", Threshold: 0}, {Name: "Silver", Threshold: 100}}}
	in := loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada", Email: "ada@example.com", ExternalID: "crm-1"}}
	m := enroll(t, s, p, in)
	if a := m.Account; a.Points != 150 || a.Lifetime != 150 || a.Qualifying != 150 || a.Tier != "Silver" {
		t.Errorf("Enroll with welcome_bonus 150: account = %+v, want 150 points, lifetime 150, Silver", a)
	}
	// Enrolling the same external id again answers the member: no second bonus.
	if again, created, err := loyalty.Enroll(context.Background(), s, p, in, t0()); err != nil || created || again.ID != m.ID {
		t.Fatalf("Enroll(same external id) = %s, %v, %v, want %s, false, nil", again.ID, created, err, m.ID)
	}
	es, row := bonusEntries(t, s, m.ID)
	if n, pts := countBonus(es, balances.ReasonWelcome); n != 1 || pts != 150 || len(es) != 1 || es[0].BalanceAfter != 150 {
		t.Errorf("entries after enrolment = %+v, want one welcome bonus of 150", es)
	}
	if row.Account.Points != 150 {
		t.Errorf("balance after enrolling twice = %d, want 150", row.Account.Points)
	}
	// No welcome bonus: no entry.
	p0 := &loyalty.Program{ID: "plain"}
	m0 := enroll(t, s, p0, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Bob"}})
	if es, _ := bonusEntries(t, s, m0.ID); len(es) != 0 || m0.Account.Points != 0 {
		t.Errorf("Enroll without welcome bonus: entries %+v, points %d, want none", es, m0.Account.Points)
	}
	if m.ReferralCode == "" || loyalty.NormalizeReferralCode(m.ReferralCode) != m.ReferralCode || m.ReferralCode == m0.ReferralCode {
		t.Errorf("referral codes = %q, %q, want two distinct codes", m.ReferralCode, m0.ReferralCode)
	}
}

func testReferral(t *testing.T, open Opener) {
	s := open(t, store.Options{Now: testkit.NewClock(t0()).Now})
	ctx := context.Background()
	p := &loyalty.Program{ID: "demo", Referral: &loyalty.Referral{ReferrerPoints: 200, RefereePoints: 50}}
	rules := p.Rules()
	a := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada", Email: "ada@example.com"}})

	if _, _, err := loyalty.Enroll(ctx, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "X"}, ReferralCode: "ZZZZZZZZ"}, t0()); !errors.Is(err, loyalty.ErrUnknownReferralCode) {
		t.Errorf("Enroll(unknown code) = %v, want ErrUnknownReferralCode", err)
	}
	ignored := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Y"}, ReferralCode: "ZZZZZZZZ", IgnoreUnknownReferral: true})
	if ignored.ReferredBy != "" {
		t.Errorf("Enroll(unknown code, ignored).ReferredBy = %q, want none", ignored.ReferredBy)
	}
	// Another programme's code is unknown here.
	other := enroll(t, s, &loyalty.Program{ID: "other"}, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Z"}})
	if _, _, err := loyalty.Enroll(ctx, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "X"}, ReferralCode: other.ReferralCode}, t0()); !errors.Is(err, loyalty.ErrUnknownReferralCode) {
		t.Errorf("Enroll(another programme's code) = %v, want ErrUnknownReferralCode", err)
	}

	b := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Bea", Email: "bea@example.com"}, ReferralCode: " " + a.ReferralCode + " "})
	if b.ReferredBy != a.ID {
		t.Fatalf("Enroll(with A's code).ReferredBy = %q, want %s", b.ReferredBy, a.ID)
	}
	aBefore := mustMember(t, s, a.ID)

	// Two first earns at once: the referral is credited once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			key := uuid.NewString()
			_, errs[i] = s.Post(ctx, b.ID, key, "h-"+key, balances.Request{Type: balances.Earn, Points: 10}, rules)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent first earns: %v", err)
		}
	}
	postRules(t, s, b.ID, balances.Earn, 5, rules)

	bes, brow := bonusEntries(t, s, b.ID)
	if n, pts := countBonus(bes, balances.ReasonReferral); n != 1 || pts != 50 {
		t.Errorf("referee's referral bonuses = %d of %d points in all, want 1 of 50: %+v", n, pts, bes)
	}
	if brow.Account.Points != 75 || brow.Account.Lifetime != 75 {
		t.Errorf("referee account = %+v, want 75 points and lifetime (25 earned + 50)", brow.Account)
	}
	aes, arow := bonusEntries(t, s, a.ID)
	if n, pts := countBonus(aes, balances.ReasonReferral); n != 1 || pts != 200 || arow.Account.Points != 200 {
		t.Errorf("referrer's referral bonuses = %d of %d points, balance %d, want 1 of 200: %+v", n, pts, arow.Account.Points, aes)
	}
	if arow.Account.PassVersion <= aBefore.Account.PassVersion || !arow.PassModified.After(aBefore.PassModified) {
		t.Errorf("referrer's pass version %d -> %d, modified %v -> %v, want both raised",
			aBefore.Account.PassVersion, arow.Account.PassVersion, aBefore.PassModified, arow.PassModified)
	}
	for _, ch := range []string{"apple", "google"} {
		if st := syncState(t, s, a.ID, ch); st.WantedVersion != arow.Account.PassVersion {
			t.Errorf("referrer's %s card wanted version = %d, want %d", ch, st.WantedVersion, arow.Account.PassVersion)
		}
		if st := syncState(t, s, b.ID, ch); st.WantedVersion != brow.Account.PassVersion {
			t.Errorf("referee's %s card wanted version = %d, want %d", ch, st.WantedVersion, brow.Account.PassVersion)
		}
	}

	// The same email (in another case): no bonus on either side.
	c := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada again", Email: "ADA@Example.com"}, ReferralCode: a.ReferralCode})
	postRules(t, s, c.ID, balances.Earn, 10, rules)
	if ces, crow := bonusEntries(t, s, c.ID); len(ces) != 1 || crow.Account.Points != 10 {
		t.Errorf("same-email referee: entries %+v, balance %d, want the earn alone", ces, crow.Account.Points)
	}
	if aes, _ := bonusEntries(t, s, a.ID); len(aes) != 1 {
		t.Errorf("referrer after a same-email referee's earn: %d entries, want 1", len(aes))
	}

	// A redeem or adjust is no earn: the referral waits for the first earn.
	d := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Dan", Email: "dan@example.com"}, ReferralCode: a.ReferralCode})
	postRules(t, s, d.ID, balances.Adjust, 3, rules)
	if des, _ := bonusEntries(t, s, d.ID); len(des) != 1 {
		t.Errorf("referee after an adjust: %d entries, want the adjust alone", len(des))
	}
	postRules(t, s, d.ID, balances.Earn, 1, rules)
	if des, _ := bonusEntries(t, s, d.ID); len(des) != 3 {
		t.Errorf("referee after the first earn: %+v, want adjust, earn and referral bonus", des)
	}
}

func testBackfillReferralCodes(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	old := []loyalty.Member{NewMember(t, s, "demo"), NewMember(t, s, "demo")}
	kept := enroll(t, s, &loyalty.Program{ID: "demo"}, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "New"}})
	if n, err := s.BackfillReferralCodes(ctx); err != nil || n != 2 {
		t.Fatalf("BackfillReferralCodes() = %d, %v, want 2", n, err)
	}
	a, b := mustMember(t, s, old[0].ID), mustMember(t, s, old[1].ID)
	if loyalty.NormalizeReferralCode(a.ReferralCode) == "" || a.ReferralCode == b.ReferralCode {
		t.Errorf("backfilled codes = %q, %q, want two valid distinct codes", a.ReferralCode, b.ReferralCode)
	}
	if got := mustMember(t, s, kept.ID).ReferralCode; got != kept.ReferralCode {
		t.Errorf("member with a code has %q after the backfill, want %q kept", got, kept.ReferralCode)
	}
	if n, err := s.BackfillReferralCodes(ctx); err != nil || n != 0 {
		t.Errorf("BackfillReferralCodes() again = %d, %v, want 0", n, err)
	}
}

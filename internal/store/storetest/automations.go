package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// Time-driven work: each job run by two callers at once, on one store,
// does each item exactly once.

// runTwice runs a job's RunDue from two callers at once at now, until
// neither finds anything due.
func runTwice(t *testing.T, job automations.Job, now time.Time) {
	t.Helper()
	for range 10 {
		var a, b int
		concurrently(t,
			func() error { var err error; a, err = job.RunDue(context.Background(), now, 2); return err },
			func() error { var err error; b, err = job.RunDue(context.Background(), now, 2); return err },
		)
		if a == 0 && b == 0 {
			return
		}
	}
	t.Fatalf("%s: still due after 10 rounds", job.Name())
}

// automationProgram is the suite's programme with a timezone.
func automationProgram(t *testing.T, id, tz string) *loyalty.Program {
	t.Helper()
	p := rulesProgram(id)
	p.Timezone = tz
	if p.Location().String() != tz {
		t.Fatalf("programme timezone %s: loaded %v", tz, p.Location())
	}
	return p
}

func testBirthdayBonus(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0()) // 2030-05-17 09:30 UTC, 11:30 in Paris
	s := open(t, store.Options{Now: clock.Now})
	p := automationProgram(t, "demo", "Europe/Paris")
	p.BirthdayBonus = 50
	job := automations.Birthdays{Store: s, Programs: loyalty.NewCatalog(p)}

	today := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada", Birthday: "1980-05-17"}})
	tomorrow := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Bob", Birthday: "1990-05-18"}})
	leap := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Cy", Birthday: "2000-02-29"}})
	none := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Di"}})

	birthdays := func(id string) (int, int64, store.MemberRow) {
		es, row := bonusEntries(t, s, id)
		n, pts := countBonus(es, balances.ReasonBirthday)
		return n, pts, row
	}
	// Enrolled on the birthday, after the day began: credited at once.
	runTwice(t, job, clock.Now())
	if n, pts, row := birthdays(today.ID); n != 1 || pts != 50 || row.Account.Points != 50 || row.Account.PassVersion != today.Account.PassVersion+1 {
		t.Errorf("enrolled on the birthday: %d birthday bonuses of %d points, account %+v; want 1 of 50 and the pass bumped", n, pts, row.Account)
	}
	if st := syncState(t, s, today.ID, loyalty.ChannelApple); st.WantedVersion != today.Account.PassVersion+1 {
		t.Errorf("Apple sync state after the bonus = %+v, want wanted version %d", st, today.Account.PassVersion+1)
	}
	for _, m := range []store.MemberRow{tomorrow, leap, none} {
		if n, _, _ := birthdays(m.ID); n != 0 {
			t.Errorf("member %s (birthday %q) got %d birthday bonuses on 17 May, want 0", m.Name, m.Birthday, n)
		}
	}

	// A second before midnight in Paris (22:00 UTC in May): nothing.
	clock.Set(time.Date(2030, 5, 17, 21, 59, 59, 0, time.UTC))
	runTwice(t, job, clock.Now())
	if n, _, _ := birthdays(tomorrow.ID); n != 0 {
		t.Errorf("before the birthday began in Paris: %d bonuses, want 0", n)
	}
	clock.Set(time.Date(2030, 5, 17, 22, 0, 30, 0, time.UTC))
	runTwice(t, job, clock.Now())
	clock.Add(6 * time.Hour)
	runTwice(t, job, clock.Now())
	if n, pts, _ := birthdays(tomorrow.ID); n != 1 || pts != 50 {
		t.Errorf("on the birthday in Paris: %d bonuses of %d points, want 1 of 50", n, pts)
	}

	// Changing the birthday to a day already credited this year credits
	// nothing more: once per member and year.
	if _, err := s.UpdateMember(context.Background(), tomorrow.ID, loyalty.ProfilePatch{Birthday: set("1990-05-18")}, loyalty.ConsentAPIPatch); err != nil {
		t.Fatal(err)
	}
	runTwice(t, job, clock.Now())
	if n, _, _ := birthdays(tomorrow.ID); n != 1 {
		t.Errorf("after a birthday change on the day: %d bonuses, want still 1", n)
	}

	// 29 February counts on 28 February in 2031; 2032 is a leap year.
	clock.Set(time.Date(2031, 2, 27, 23, 0, 5, 0, time.UTC)) // 28 February, 00:00:05 in Paris (UTC+1)
	runTwice(t, job, clock.Now())
	if n, _, _ := birthdays(leap.ID); n != 1 {
		t.Errorf("29 February birthday on 28 February 2031: %d bonuses, want 1", n)
	}
	clock.Set(time.Date(2032, 2, 28, 12, 0, 0, 0, time.UTC))
	runTwice(t, job, clock.Now())
	if n, _, _ := birthdays(leap.ID); n != 1 {
		t.Errorf("29 February birthday on 28 February 2032 (a leap year): %d bonuses, want still 1", n)
	}
	clock.Set(time.Date(2032, 2, 28, 23, 0, 5, 0, time.UTC)) // 29 February, 00:00:05 in Paris
	runTwice(t, job, clock.Now())
	if n, pts, _ := birthdays(leap.ID); n != 2 || pts != 100 {
		t.Errorf("29 February birthday on 29 February 2032: %d bonuses of %d points, want 2 of 100", n, pts)
	}
	// The next years' birthdays come once each, the member without one
	// never.
	clock.Set(time.Date(2032, 5, 18, 12, 0, 0, 0, time.UTC))
	runTwice(t, job, clock.Now())
	if n, _, _ := birthdays(today.ID); n != 2 {
		t.Errorf("17 May birthday by 18 May 2032: %d bonuses, want 2 (2030 and 2032: the 2031 look ran more than a week late)", n)
	}
	if n, _, _ := birthdays(none.ID); n != 0 {
		t.Errorf("member without a birthday: %d bonuses, want 0", n)
	}
}

func testDormantSpell(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	p := automationProgram(t, "demo", "UTC")
	p.Dormant = &loyalty.Dormant{AfterDays: 30, Message: "We miss you", BonusPoints: 20}
	other := automationProgram(t, "plain", "UTC")
	job := automations.Dormant{Store: s, Programs: loyalty.NewCatalog(p, other)}
	m := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada"}})
	plain := enroll(t, s, other, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Bob"}})
	post(t, s, m.ID, balances.Earn, 10)
	lastEarn := clock.Now()

	dormant := func() (int, store.MemberRow) {
		es, row := bonusEntries(t, s, m.ID)
		n, _ := countBonus(es, balances.ReasonDormant)
		return n, row
	}
	runTwice(t, job, clock.Now())
	clock.Set(lastEarn.Add(30*24*time.Hour - time.Second))
	runTwice(t, job, clock.Now())
	if n, row := dormant(); n != 0 || !row.DormantAt.IsZero() {
		t.Errorf("a second before 30 days: %d dormant bonuses, dormant at %v; want none", n, row.DormantAt)
	}
	clock.Set(lastEarn.Add(30*24*time.Hour + 30*time.Second))
	before := mustMember(t, s, m.ID)
	runTwice(t, job, clock.Now())
	n, row := dormant()
	spell := lastEarn.UTC().Truncate(time.Microsecond).Add(30 * 24 * time.Hour)
	if n != 1 || row.Account.Points != 30 || !row.DormantAt.Equal(spell) || row.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("after 30 days: %d dormant bonuses, account %+v, dormant at %v; want 1, 30 points, the spell's start %v, the pass bumped",
			n, row.Account, row.DormantAt, spell)
	}
	if !row.LastActivityAt.Equal(before.LastActivityAt) {
		t.Errorf("the dormant bonus moved last activity from %v to %v; it is no transaction of the member's", before.LastActivityAt, row.LastActivityAt)
	}
	// Weeks more without a transaction: the same spell, greeted once.
	clock.Add(45 * 24 * time.Hour)
	runTwice(t, job, clock.Now())
	if n, _ := dormant(); n != 1 {
		t.Errorf("45 more days in the same spell: %d dormant bonuses, want 1", n)
	}
	// The next transaction ends the spell; 30 days later a new one begins.
	post(t, s, m.ID, balances.Earn, 5)
	back := clock.Now()
	if _, row := dormant(); !row.DormantAt.IsZero() {
		t.Errorf("after an earn the card still shows the dormant message (dormant at %v)", row.DormantAt)
	}
	clock.Set(back.Add(30*24*time.Hour + time.Minute))
	runTwice(t, job, clock.Now())
	if n, row := dormant(); n != 2 || row.DormantAt.IsZero() {
		t.Errorf("a second spell: %d dormant bonuses, dormant at %v; want 2 and a spell shown", n, row.DormantAt)
	}
	// A programme without a dormant rule greets nobody.
	if es, row := bonusEntries(t, s, plain.ID); len(es) != 0 || !row.DormantAt.IsZero() {
		t.Errorf("member of a programme without dormant rule: %d entries, dormant at %v; want none", len(es), row.DormantAt)
	}
}

func testVoucherLapse(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := rulesProgram("demo")
	coffee := mustReward(t, s, "demo", "Coffee", 10, "", true)
	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 100)
	kept, err := s.Redeem(ctx, m.ID, "buy-1", "h1", coffee, p)
	if err != nil {
		t.Fatal(err)
	}
	used, err := s.Redeem(ctx, m.ID, "buy-2", "h2", coffee, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseVoucher(ctx, used.Voucher.Code, "use-1"); err != nil {
		t.Fatal(err)
	}
	job := automations.Vouchers{Store: s}
	clock.Set(kept.Voucher.ExpiresAt.Add(-time.Second))
	runTwice(t, job, clock.Now())
	before := mustMember(t, s, m.ID)
	if len(before.Vouchers) != 1 {
		t.Fatalf("before expiry the account lists %d open vouchers, want 1", len(before.Vouchers))
	}
	clock.Set(kept.Voucher.ExpiresAt.Add(20 * time.Second))
	runTwice(t, job, clock.Now())
	clock.Add(time.Hour)
	runTwice(t, job, clock.Now())
	after := mustMember(t, s, m.ID)
	if after.Account.PassVersion != before.Account.PassVersion+1 || len(after.Vouchers) != 0 {
		t.Errorf("after expiry: pass version %d, %d open vouchers; want %d and none", after.Account.PassVersion, len(after.Vouchers), before.Account.PassVersion+1)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelGoogle); st.WantedVersion != after.Account.PassVersion {
		t.Errorf("Google sync state after expiry = %+v, want wanted version %d", st, after.Account.PassVersion)
	}
	evs, err := s.Events(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, e := range evs {
		if e.Kind == "voucher_expired" {
			expired++
		}
	}
	if expired != 1 {
		t.Errorf("voucher_expired events = %d, want 1 (the used voucher never lapses)", expired)
	}
	if v, err := s.Voucher(ctx, used.Voucher.Code); err != nil || v.Status != loyalty.VoucherUsed {
		t.Errorf("used voucher = %+v, %v; want still used", v, err)
	}
}

func testTierReview(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := automationProgram(t, "demo", "UTC")
	p.TierWindow = loyalty.TierWindowRolling365
	rules := p.Rules()
	job := automations.TierReviews{Store: s, Programs: loyalty.NewCatalog(p)}
	m := NewMember(t, s, "demo")
	day := 24 * time.Hour
	earnAt := func(key string, points int64, at time.Time) {
		t.Helper()
		if _, err := postReq(t, s, m.ID, key, balances.Request{Type: balances.Earn, Points: points, OccurredAt: at}, rules); err != nil {
			t.Fatalf("earn %d at %v = %v", points, at, err)
		}
	}
	earnAt("too-old", 5000, clock.Now().Add(-400*day)) // outside the window: no qualifying points
	earnAt("old", 1000, clock.Now().Add(-300*day))
	earnAt("recent", 200, clock.Now().Add(-10*day))
	if a := mustMember(t, s, m.ID).Account; a.Qualifying != 1200 || a.Tier != "Gold" || a.Lifetime != 6200 {
		t.Fatalf("after the earns: %+v, want 1200 qualifying (the sale 400 days back does not count), Gold, 6200 lifetime", a)
	}
	tierEvents := func() []string {
		evs, err := s.Events(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			if e.Kind == "tier_changed" {
				out = append(out, e.Data)
			}
		}
		return out
	}
	before := len(tierEvents())
	runTwice(t, job, clock.Now())
	clock.Set(t0().Add(65*day - time.Second))
	runTwice(t, job, clock.Now())
	if a := mustMember(t, s, m.ID).Account; a.Tier != "Gold" {
		t.Errorf("a second before the old earn leaves the window: tier %s, want Gold", a.Tier)
	}
	// The 1000 points of 300 days back leave the window 65 days on.
	settle(t, s)
	version := mustMember(t, s, m.ID).Account.PassVersion
	clock.Set(t0().Add(65*day + time.Minute))
	runTwice(t, job, clock.Now())
	row := mustMember(t, s, m.ID)
	if a := row.Account; a.Qualifying != 200 || a.Tier != "Silver" || a.Points != 6200 || a.PassVersion != version+1 {
		t.Errorf("after the review: %+v, want 200 qualifying, Silver, 6200 points, pass version %d", a, version+1)
	}
	if st := syncState(t, s, m.ID, loyalty.ChannelApple); st.WantedVersion != version+1 {
		t.Errorf("Apple sync state after the downgrade = %+v, want wanted version %d", st, version+1)
	}
	evs := tierEvents()
	if len(evs) != before+1 || !strings.Contains(evs[len(evs)-1], `"from":"Gold"`) || !strings.Contains(evs[len(evs)-1], `"to":"Silver"`) {
		t.Errorf("tier events = %v, want one more, Gold to Silver", evs)
	}
	// The last earn leaves 355 days later: Bronze.
	clock.Set(t0().Add(355*day + time.Minute))
	runTwice(t, job, clock.Now())
	if a := mustMember(t, s, m.ID).Account; a.Qualifying != 0 || a.Tier != "Bronze" {
		t.Errorf("after the last earn left the window: %+v, want 0 qualifying, Bronze", a)
	}
	if due, err := s.TierReviewsDue(ctx, clock.Now().Add(10*365*day), 10); err != nil || len(due) != 0 {
		t.Errorf("TierReviewsDue(in ten years) = %v, %v; want none left", due, err)
	}

	// A lifetime programme plans no review.
	life := NewMember(t, s, "life")
	if _, err := postReq(t, s, life.ID, "k", balances.Request{Type: balances.Earn, Points: 2000}, Rules); err != nil {
		t.Fatal(err)
	}
	if due, err := s.TierReviewsDue(ctx, clock.Now().Add(10*365*day), 10); err != nil || len(due) != 0 {
		t.Errorf("TierReviewsDue after a lifetime earn = %v, %v; want none", due, err)
	}
}

// testDormantRelook: a programme change that shortens after_days makes
// every member's dormancy due for a look at once, so no member is greeted
// later than the new rule says.
func testDormantRelook(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	seedProgram(t, s, "demo")
	p := automationProgram(t, "demo", "UTC")
	p.Dormant = &loyalty.Dormant{AfterDays: 90, Message: "We miss you"}
	m := enroll(t, s, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: "Ada"}})
	runTwice(t, automations.Dormant{Store: s, Programs: loyalty.NewCatalog(p)}, clock.Now())
	clock.Add(31 * 24 * time.Hour)
	if due, err := s.DormantDue(ctx, "demo", clock.Now(), 10); err != nil || len(due) != 0 {
		t.Fatalf("DormantDue after 31 days of 90 = %v, %v; want none", due, err)
	}
	if _, err := s.UpdateProgram(ctx, "demo", 0, func(store.ProgramRecord) (store.ProgramUpdate, error) {
		return store.ProgramUpdate{Definition: []byte(`{"name": "Demo", "dormant": {"after_days": 30}}`), RelookDormancy: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DormantDue(ctx, "demo", clock.Now(), 10)
	if err != nil || len(due) != 1 || due[0].MemberID != m.ID {
		t.Fatalf("DormantDue after after_days went down to 30 = %v, %v; want the member", due, err)
	}
	p.Dormant.AfterDays = 30
	runTwice(t, automations.Dormant{Store: s, Programs: loyalty.NewCatalog(p)}, clock.Now())
	if row := mustMember(t, s, m.ID); row.DormantAt.IsZero() {
		t.Errorf("31 days without a transaction under a 30-day rule: not greeted")
	}
}

// testTierRulesReview: a programme change of its tier window has every
// live member's tier reviewed, planned in the card marking's batches once
// per change: members whose qualifying sales are older than 365 days fall
// a tier under rolling_365_days (the card announces it), the switch
// back to lifetime restores them, and a raised threshold moves those
// under it down.
func testTierRulesReview(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	day := 24 * time.Hour
	seedProgram(t, s, "demo")
	lifetime := automationProgram(t, "demo", "UTC")
	rolling := automationProgram(t, "demo", "UTC")
	rolling.TierWindow = loyalty.TierWindowRolling365
	earn := func(m loyalty.Member, key string, points int64, at time.Time) {
		t.Helper()
		if _, err := postReq(t, s, m.ID, key, balances.Request{Type: balances.Earn, Points: points, OccurredAt: at}, lifetime.Rules()); err != nil {
			t.Fatalf("earn %d at %v = %v", points, at, err)
		}
	}
	old, recent, erased := NewMember(t, s, "demo"), NewMember(t, s, "demo"), NewMember(t, s, "demo")
	quiet := []loyalty.Member{NewMember(t, s, "demo"), NewMember(t, s, "demo")}
	earn(old, "old", 1000, clock.Now().Add(-400*day))
	earn(old, "new", 150, clock.Now().Add(-30*day))
	earn(recent, "new", 1000, clock.Now().Add(-10*day))
	earn(erased, "old", 1000, clock.Now().Add(-400*day))
	if err := s.EraseMember(ctx, erased.ID); err != nil {
		t.Fatal(err)
	}
	live := []string{old.ID, recent.ID, quiet[0].ID, quiet[1].ID}
	slices.Sort(live)
	due := func(at time.Time) []string {
		t.Helper()
		ds, err := s.TierReviewsDue(ctx, at, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.MemberID)
		}
		slices.Sort(ids)
		return ids
	}
	change := func(def string, review bool) {
		t.Helper()
		if _, err := s.UpdateProgram(ctx, "demo", 0, func(store.ProgramRecord) (store.ProgramUpdate, error) {
			return store.ProgramUpdate{Definition: []byte(def), ReviewTiers: review}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// marker marks the cards two at a time until done and adds the cards
	// it marked to *marked.
	marker := func(marked *int) func() error {
		return func() error {
			for range 100 {
				n, done, err := s.MarkProgramCards(ctx, "demo", 2)
				*marked += n
				if err != nil || done {
					return err
				}
			}
			return errors.New("MarkProgramCards: not done after 100 batches")
		}
	}
	markAll := func() {
		t.Helper()
		var n int
		concurrently(t, marker(&n))
	}
	if got := due(clock.Now().Add(10 * 365 * day)); len(got) != 0 {
		t.Fatalf("reviews due under lifetime = %v, want none", got)
	}
	if a := mustMember(t, s, old.ID).Account; a.Tier != "Gold" || a.Qualifying != 1150 {
		t.Fatalf("member with a sale 400 days back under lifetime: %+v, want Gold, 1150 qualifying", a)
	}
	settle(t, s)
	version := mustMember(t, s, old.ID).Account.PassVersion
	// Each earn announced its own tier change; only the reviews' count
	// below.
	before := map[string]int{}
	for _, id := range live {
		before[id] = len(tierChanges(t, s, id))
	}
	since := func(id string) []tierChange { t.Helper(); return tierChanges(t, s, id)[before[id]:] }

	clock.Add(time.Hour)
	changedAt := clock.Now()
	change(`{"name": "Demo", "tier_window": "rolling_365_days"}`, true)
	if got := due(clock.Now()); len(got) != 0 {
		t.Errorf("reviews due before the marking ran = %v, want none yet", got)
	}
	// A member who enrols after the change starts under the new rules.
	clock.Add(time.Minute)
	NewMember(t, s, "demo")
	// Two instances mark at once, batch by batch: each card once.
	var a, b int
	concurrently(t, marker(&a), marker(&b))
	if a+b != 5 {
		t.Errorf("two markers marked %d and %d cards, want 5 in all", a, b)
	}
	if got := due(clock.Now()); !slices.Equal(got, live) {
		t.Errorf("reviews due after the change = %v, want every member live at the change %v", got, live)
	}
	if got := due(changedAt.Add(-time.Second)); len(got) != 0 {
		t.Errorf("reviews due before the change's time = %v, want none", got)
	}
	runTwice(t, automations.TierReviews{Store: s, Programs: loyalty.NewCatalog(rolling)}, clock.Now())
	row := mustMember(t, s, old.ID)
	if a := row.Account; a.Tier != "Silver" || a.Qualifying != 150 || a.PassVersion <= version || a.Points != 1150 {
		t.Errorf("member with a sale 400 days back under rolling_365_days: %+v, want Silver, 150 qualifying, 1150 points, pass version above %d", a, version)
	}
	if st := syncState(t, s, old.ID, loyalty.ChannelApple); st.WantedVersion != row.Account.PassVersion {
		t.Errorf("Apple sync state after the downgrade = %+v, want wanted version %d", st, row.Account.PassVersion)
	}
	if got := since(old.ID); len(got) != 1 || got[0] != (tierChange{"Gold", "Silver"}) {
		t.Errorf("tier changes of the member = %v, want Gold to Silver", got)
	}
	for _, m := range append([]loyalty.Member{recent}, quiet...) {
		if got := since(m.ID); len(got) != 0 {
			t.Errorf("member %s: tier changes %v, want none", m.ID, got)
		}
	}
	if a := mustMember(t, s, recent.ID).Account; a.Tier != "Gold" || a.Qualifying != 1000 {
		t.Errorf("member with recent sales under rolling_365_days: %+v, want Gold, 1000 qualifying", a)
	}
	if a := mustMember(t, s, erased.ID).Account; a.Tier != "Gold" {
		t.Errorf("erased member: %+v, want untouched", a)
	}
	if got := due(clock.Now()); len(got) != 0 {
		t.Errorf("reviews due after the reviews = %v, want none", got)
	}
	// Once per change: marking again plans nothing, nor does a change that
	// leaves the tier rules alone.
	markAll()
	change(`{"name": "Demo Club", "tier_window": "rolling_365_days"}`, false)
	markAll()
	if got := due(clock.Now()); len(got) != 0 {
		t.Errorf("reviews due after a change of the name = %v, want none", got)
	}

	clock.Add(time.Hour)
	change(`{"name": "Demo Club"}`, true)
	markAll()
	runTwice(t, automations.TierReviews{Store: s, Programs: loyalty.NewCatalog(lifetime)}, clock.Now())
	if a := mustMember(t, s, old.ID).Account; a.Tier != "Gold" || a.Qualifying != 1150 {
		t.Errorf("member with a sale 400 days back back under lifetime: %+v, want Gold, 1150 qualifying", a)
	}
	if got := since(old.ID); len(got) != 2 || got[1] != (tierChange{"Silver", "Gold"}) {
		t.Errorf("tier changes of the member = %v, want Gold to Silver, then Silver to Gold", got)
	}
	if got := due(clock.Now().Add(10 * 365 * day)); len(got) != 0 {
		t.Errorf("reviews due under lifetime again = %v, want none", got)
	}

	// Raising a threshold moves the members under it down, as they are.
	dearer := automationProgram(t, "demo", "UTC")
	dearer.Tiers[2].Threshold = 1100
	clock.Add(time.Hour)
	change(`{"name": "Demo Club", "tiers": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 100}, {"name": "Gold", "threshold": 1100}]}`, true)
	markAll()
	runTwice(t, automations.TierReviews{Store: s, Programs: loyalty.NewCatalog(dearer)}, clock.Now())
	if a := mustMember(t, s, old.ID).Account; a.Tier != "Gold" || a.Qualifying != 1150 {
		t.Errorf("member with 1150 qualifying points, Gold from 1100: %+v, want Gold", a)
	}
	if a := mustMember(t, s, recent.ID).Account; a.Tier != "Silver" || a.Qualifying != 1000 {
		t.Errorf("member with 1000 qualifying points, Gold from 1100: %+v, want Silver", a)
	}
	if got := since(recent.ID); len(got) != 1 || got[0] != (tierChange{"Gold", "Silver"}) {
		t.Errorf("tier changes of the member under the dearer Gold = %v, want Gold to Silver", got)
	}
}

// tierChange is a "tier_changed" event's data.
type tierChange struct{ From, To string }

func tierChanges(t *testing.T, s *store.Store, memberID string) []tierChange {
	t.Helper()
	evs, err := s.Events(context.Background(), memberID)
	if err != nil {
		t.Fatal(err)
	}
	var out []tierChange
	for _, e := range evs {
		if e.Kind != "tier_changed" {
			continue
		}
		var c tierChange
		if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
			t.Fatalf("tier_changed data %s: %v", e.Data, err)
		}
		out = append(out, c)
	}
	return out
}

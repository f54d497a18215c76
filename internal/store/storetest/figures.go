package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// stats reads program p's figures at now for the given window, once
// before folding the waiting deltas and once after: both must agree.
func stats(t *testing.T, s *store.Store, p *loyalty.Program, in loyalty.StatsInput, now time.Time) loyalty.ProgramStats {
	t.Helper()
	ctx := context.Background()
	w, err := in.Window(p, now)
	if err != nil {
		t.Fatalf("StatsInput%+v.Window = %v", in, err)
	}
	read := func() loyalty.ProgramStats {
		f, err := s.ProgramFigures(ctx, p.ID, w)
		if err != nil {
			t.Fatalf("ProgramFigures(%s) = %v", p.ID, err)
		}
		return w.Stats(f)
	}
	before := read()
	for {
		n, err := s.FoldFigures(ctx, 3)
		if err != nil {
			t.Fatalf("FoldFigures = %v", err)
		}
		if n == 0 {
			break
		}
	}
	after := read()
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("figures changed by folding (-before +after):\n%s", diff)
	}
	return after
}

func testFigures(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := rulesProgram("demo")
	other := rulesProgram("other")

	// A fresh programme: nothing, and one zero per day of the window.
	st := stats(t, s, p, loyalty.StatsInput{}, clock.Now())
	if st.Members != 0 || st.Points != (loyalty.PointFigures{}) || len(st.EnrolmentsByDay) != loyalty.DefaultStatsDays {
		t.Fatalf("figures of an empty programme = %+v", st)
	}

	// The figures of issue 13: 2 enrolments, an earn of 100, a redeem
	// of 40, one Apple registration (two devices: one card).
	a := NewMember(t, s, "demo")
	b := NewMember(t, s, "demo")
	NewMember(t, s, "other")
	post(t, s, a.ID, balances.Earn, 100)
	post(t, s, a.ID, balances.Redeem, 40)
	for _, dev := range []string{"dev-1", "dev-2"} {
		if _, err := s.Register(ctx, loyalty.Registration{DeviceID: dev, PushToken: "tok-" + dev, PassTypeID: "pass.test", MemberID: a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	st = stats(t, s, p, loyalty.StatsInput{}, clock.Now())
	want := loyalty.ProgramStats{
		Members: 2, MembersActive30d: 2,
		CardsInstalled: loyalty.CardsInstalled{Apple: 1},
		Points:         loyalty.PointFigures{Issued: 100, Redeemed: 40, Outstanding: 60},
		RedemptionRate: 0.4,
	}
	ignore := cmpopts.IgnoreFields(loyalty.ProgramStats{}, "EnrolmentsByDay", "From", "To")
	if diff := cmp.Diff(want, st, ignore); diff != "" {
		t.Errorf("figures after 2 enrolments, +100, -40 (-want +got):\n%s", diff)
	}
	today := t0().Format(time.DateOnly)
	if last := st.EnrolmentsByDay[len(st.EnrolmentsByDay)-1]; last != (loyalty.DayCount{Date: today, Count: 2}) {
		t.Errorf("last day of enrolments = %+v, want %s: 2", last, today)
	}

	// A voucher issued and used, a Google card saved, one device gone.
	reward := mustReward(t, s, "demo", "Coffee", 10, "", true)
	red, err := s.Redeem(ctx, a.ID, "buy-1", "h1", reward, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseVoucher(ctx, red.Voucher.Code, "use-1"); err != nil {
		t.Fatal(err)
	}
	record(t, s, store.GoogleCallback{Nonce: "g1", MemberID: b.ID, Installed: true})
	if err := s.Unregister(ctx, "dev-1", "pass.test", a.ID); err != nil {
		t.Fatal(err)
	}
	st = stats(t, s, p, loyalty.StatsInput{}, clock.Now())
	want.Points = loyalty.PointFigures{Issued: 100, Redeemed: 50, Outstanding: 50}
	want.RedemptionRate = 0.5
	want.Vouchers = loyalty.VoucherFigures{Issued: 1, Used: 1}
	want.CardsInstalled = loyalty.CardsInstalled{Apple: 1, Google: 1}
	if diff := cmp.Diff(want, st, ignore); diff != "" {
		t.Errorf("figures after a voucher, a Google save, one device gone (-want +got):\n%s", diff)
	}

	// The last device goes, the Google card is deleted, b is erased with
	// its balance; the other programme saw none of it.
	post(t, s, b.ID, balances.Earn, 7)
	if err := s.Unregister(ctx, "dev-2", "pass.test", a.ID); err != nil {
		t.Fatal(err)
	}
	record(t, s, store.GoogleCallback{Nonce: "g2", MemberID: b.ID, Installed: false})
	if err := s.EraseMember(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	st = stats(t, s, p, loyalty.StatsInput{}, clock.Now())
	want.Members, want.MembersActive30d = 1, 1
	want.CardsInstalled = loyalty.CardsInstalled{}
	want.Points = loyalty.PointFigures{Issued: 107, Redeemed: 50, Outstanding: 50}
	want.RedemptionRate = 50.0 / 107
	if diff := cmp.Diff(want, st, ignore); diff != "" {
		t.Errorf("figures after an erasure (-want +got):\n%s", diff)
	}
	if o := stats(t, s, other, loyalty.StatsInput{}, clock.Now()); o.Members != 1 || o.Points.Issued != 0 {
		t.Errorf("figures of the other programme = %+v, want 1 member and no points", o)
	}

	// 40 days on: nobody is active; a window of the last 10 days has no
	// points; a sale of 40 days ago counts in its own day's window.
	clock.Add(40 * 24 * time.Hour)
	st = stats(t, s, p, loyalty.StatsInput{From: clock.Now().AddDate(0, 0, -9).Format(time.DateOnly)}, clock.Now())
	if st.MembersActive30d != 0 || st.Points.Issued != 0 || st.Points.Outstanding != 50 || len(st.EnrolmentsByDay) != 10 {
		t.Errorf("figures 40 days later, last 10 days = %+v, want none active, none issued, 50 outstanding, 10 days", st)
	}
	key := uuid.NewString()
	if _, err := s.Post(ctx, a.ID, key, "h-"+key, balances.Request{Type: balances.Earn, Points: 5, OccurredAt: t0().Add(time.Hour)}, Rules); err != nil {
		t.Fatal(err)
	}
	st = stats(t, s, p, loyalty.StatsInput{From: today, To: today}, clock.Now())
	if st.Points.Issued != 112 || st.MembersActive30d != 1 || st.Points.Outstanding != 55 {
		t.Errorf("figures of %s after a late sale = %+v, want 112 issued that day, 1 active, 55 outstanding", today, st)
	}
	if diff := cmp.Diff([]loyalty.DayCount{{Date: today, Count: 2}}, st.EnrolmentsByDay); diff != "" {
		t.Errorf("enrolments of %s (-want +got):\n%s", today, diff)
	}
}

// testConcurrentFigures has earns, enrolments and folds race: the figures
// come out exact.
func testConcurrentFigures(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	p := rulesProgram("demo")
	const workers, earns = 4, 15
	members := make([]loyalty.Member, workers)
	for i := range members {
		members[i] = NewMember(t, s, "demo")
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*earns+1)
	for _, m := range members {
		wg.Go(func() {
			for i := range earns {
				key := fmt.Sprint("k", i)
				if _, err := s.Post(ctx, m.ID, key, "h"+key, balances.Request{Type: balances.Earn, Points: 3}, Rules); err != nil {
					errs <- err
				}
			}
		})
	}
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.FoldFigures(ctx, 5); err != nil {
				errs <- err
				return
			}
		}
	})
	if !testkit.Poll(30*time.Second, func() bool {
		var total int64
		for _, m := range members {
			total += mustMember(t, s, m.ID).Account.Points
		}
		return total == workers*earns*3
	}) {
		t.Error("the earns did not all land within 30 s")
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := stats(t, s, p, loyalty.StatsInput{}, time.Now())
	if st.Members != workers || st.Points.Issued != workers*earns*3 || st.Points.Outstanding != workers*earns*3 {
		t.Errorf("figures after concurrent earns and folds = %+v, want %d members, %d issued and outstanding", st, workers, workers*earns*3)
	}
}

// testConcurrentRegistrations: many devices registering for one member at
// once count one Apple card, and all of them unregistering at once take
// it off exactly once, however the transactions interleave.
func testConcurrentRegistrations(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := context.Background()
	p := rulesProgram("demo")
	m := NewMember(t, s, "demo")
	const devices = 12
	reg := func(i int) store.Registration {
		dev := fmt.Sprintf("dev-%d", i)
		return store.Registration{DeviceID: dev, PassTypeID: "pass.test", MemberID: m.ID, PushToken: "tok-" + dev}
	}
	all := func(do func(i int) error) {
		t.Helper()
		start := make(chan struct{})
		errs := make(chan error, devices)
		var wg sync.WaitGroup
		for i := range devices {
			wg.Go(func() {
				<-start
				if err := do(i); err != nil {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	all(func(i int) error { _, err := s.Register(ctx, reg(i)); return err })
	if rs, err := s.RegistrationsFor(ctx, m.ID); err != nil || len(rs) != devices {
		t.Fatalf("RegistrationsFor = %d, %v; want %d", len(rs), err, devices)
	}
	if st := stats(t, s, p, loyalty.StatsInput{}, time.Now()); st.CardsInstalled.Apple != 1 {
		t.Errorf("Apple cards after %d devices registered at once = %d, want 1", devices, st.CardsInstalled.Apple)
	}
	all(func(i int) error { r := reg(i); return s.Unregister(ctx, r.DeviceID, r.PassTypeID, m.ID) })
	if st := stats(t, s, p, loyalty.StatsInput{}, time.Now()); st.CardsInstalled.Apple != 0 {
		t.Errorf("Apple cards after every device unregistered at once = %d, want 0", st.CardsInstalled.Apple)
	}
	// Again, with half the devices going by their push token (APNs' 410)
	// while the others unregister.
	all(func(i int) error { _, err := s.Register(ctx, reg(i)); return err })
	all(func(i int) error {
		r := reg(i)
		if i%2 == 0 {
			_, err := s.DeleteRegistrationsByPushToken(ctx, r.PushToken)
			return err
		}
		return s.Unregister(ctx, r.DeviceID, r.PassTypeID, m.ID)
	})
	if st := stats(t, s, p, loyalty.StatsInput{}, time.Now()); st.CardsInstalled.Apple != 0 {
		t.Errorf("Apple cards after the devices went by token and by unregistering = %d, want 0", st.CardsInstalled.Apple)
	}
}

package automations_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/automations"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/testpg"
)

// instances opens two stores on one database, as two passd instances
// would, on SQLite (one file) and on PostgreSQL (one schema; skipped
// without PASSD_TEST_DATABASE_URL, failed under CI).
func instances(t *testing.T, fn func(t *testing.T, open func(clock *testkit.Clock) *store.Store)) {
	keep := func(t *testing.T, s *store.Store, err error) *store.Store {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	opts := func(c *testkit.Clock) store.Options {
		return store.Options{Logger: slog.New(slog.DiscardHandler), Now: c.Now}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "passd.db")
		fn(t, func(c *testkit.Clock) *store.Store {
			s, err := store.OpenSQLite(context.Background(), path, opts(c))
			return keep(t, s, err)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := testpg.FreshSchema(t)
		fn(t, func(c *testkit.Clock) *store.Store {
			s, err := store.OpenPostgres(context.Background(), url, opts(c))
			return keep(t, s, err)
		})
	})
}

// TestTwoRunnersOnOneDatabase runs the birthday, dormant, voucher and tier review jobs
// on two Runners (two instances) over one database at once, a few items a
// call so their work interleaves: every member gets one birthday bonus,
// one dormant greeting, one voucher lapse and one tier downgrade, and every ledger still sums
// to its balance.
func TestTwoRunnersOnOneDatabase(t *testing.T) {
	t.Parallel()
	instances(t, func(t *testing.T, open func(*testkit.Clock) *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2030, 5, 17, 9, 30, 0, 0, time.UTC)
		clock := testkit.NewClock(t0)
		a, b := open(clock), open(clock)

		p := &loyalty.Program{ID: "demo", Timezone: "UTC", BirthdayBonus: 40,
			Dormant:    &loyalty.Dormant{AfterDays: 30, Message: "We miss you", BonusPoints: 15},
			TierWindow: loyalty.TierWindowRolling365,
			Tiers:      []loyalty.Tier{{Name: "Bronze"}, {Name: "Silver", Threshold: 50}, {Name: "Gold", Threshold: 1000}}}
		p.Earn.PointsPerUnit, p.Earn.MinorPerUnit = 1, 100
		catalog := loyalty.NewCatalog(p)
		reward, err := a.CreateReward(ctx, loyalty.Reward{ID: uuid.NewString(), Program: "demo", Name: "Coffee", CostPoints: 10, ValidDays: 30, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		const members = 12
		var ids []string
		for i := range members {
			m, _, err := loyalty.Enroll(ctx, a, p, loyalty.EnrollInput{Profile: loyalty.Profile{Name: fmt.Sprint("Member ", i), Birthday: "1990-05-17"}}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Post(ctx, m.ID, "earn", "h", balances.Request{Type: balances.Earn, Points: 50}, p.Rules()); err != nil {
				t.Fatal(err)
			}
			// Gold until this sale leaves the window, 25 days on.
			old := balances.Request{Type: balances.Earn, Points: 1000, OccurredAt: t0.Add(-340 * 24 * time.Hour)}
			if _, err := a.Post(ctx, m.ID, "old", "h", old, p.Rules()); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Redeem(ctx, m.ID, "buy", "h", reward, p); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		runner := func(s *store.Store) *automations.Runner {
			return automations.New(automations.Config{Now: clock.Now, Limit: 3},
				automations.Birthdays{Store: s, Programs: catalog},
				automations.Dormant{Store: s, Programs: catalog},
				automations.Vouchers{Store: s},
				automations.TierReviews{Store: s, Programs: catalog})
		}
		r1, r2 := runner(a), runner(b)
		both := func() {
			var wg sync.WaitGroup
			for _, r := range []*automations.Runner{r1, r2, r1, r2} {
				wg.Go(func() {
					if _, err := r.RunOnce(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		both()                                           // the birthdays (enrolled on the day)
		clock.Set(t0.Add(30*24*time.Hour + time.Minute)) // dormant, and the vouchers expired
		both()
		clock.Add(time.Hour)
		both()

		for _, id := range ids {
			x, err := b.Export(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			reasons := map[string]int{}
			var sum int64
			for _, e := range x.Entries {
				sum += e.Points
				if e.Type == balances.Bonus {
					reasons[e.Reason]++
				}
			}
			if reasons[balances.ReasonBirthday] != 1 || reasons[balances.ReasonDormant] != 1 {
				t.Errorf("member %s bonuses = %v, want one birthday and one dormant", id, reasons)
			}
			if sum != x.Member.Account.Points || sum != 1000+50-10+40+15 {
				t.Errorf("member %s: sum(entries) = %d, balance %d, want both %d", id, sum, x.Member.Account.Points, 1000+50-10+40+15)
			}
			lapsed, downgrades := 0, 0
			for _, e := range x.Events {
				switch {
				case e.Kind == "voucher_expired":
					lapsed++
				case e.Kind == "tier_changed" && strings.Contains(e.Data, `"from":"Gold"`):
					downgrades++
				}
			}
			if a := x.Member.Account; downgrades != 1 || a.Tier != "Silver" || a.Qualifying != 50+40+15 {
				t.Errorf("member %s: %d downgrades from Gold, account %+v; want 1, Silver with %d qualifying", id, downgrades, a, 50+40+15)
			}
			if lapsed != 1 || len(x.Member.Vouchers) != 0 {
				t.Errorf("member %s: %d voucher_expired events, %d open vouchers; want 1 and 0", id, lapsed, len(x.Member.Vouchers))
			}
		}
	})
}

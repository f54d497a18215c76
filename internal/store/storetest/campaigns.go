package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// Campaigns (store/campaigns.go) and the earns they multiply (Post).

func seedProgram(t *testing.T, s *store.Store, id string) {
	t.Helper()
	if _, err := s.SeedProgram(context.Background(), store.ProgramRecord{ID: id, Definition: json.RawMessage(`{"name": "Demo"}`)}); err != nil {
		t.Fatalf("SeedProgram(%s) = %v", id, err)
	}
}

func mustCampaign(t *testing.T, s *store.Store, c loyalty.Campaign) loyalty.Campaign {
	t.Helper()
	got, err := s.CreateCampaign(context.Background(), c)
	if err != nil {
		t.Fatalf("CreateCampaign(%s) = %v", c.ID, err)
	}
	return got
}

func testCampaigns(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	now := t0().Truncate(time.Microsecond)
	happy := loyalty.Campaign{ID: "c-happy", Program: "demo", Name: "Happy hour", MultiplierTenths: 15,
		StartsAt: t0(), EndsAt: t0().AddDate(0, 1, 0), DaysOfWeek: []int{1, 5}, FromMinute: 17 * 60, ToMinute: 19 * 60, MinTier: "Silver"}
	if _, err := s.CreateCampaign(ctx, happy); !errors.Is(err, loyalty.ErrProgramNotFound) {
		t.Errorf("CreateCampaign(unknown programme) = %v, want ErrProgramNotFound", err)
	}
	seedProgram(t, s, "demo")
	seedProgram(t, s, "other")
	got := mustCampaign(t, s, happy)
	want := happy
	want.StartsAt, want.EndsAt, want.CreatedAt, want.UpdatedAt = now, now.AddDate(0, 1, 0), now, now
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateCampaign answer (-want +got):\n%s", diff)
	}
	if _, err := s.CreateCampaign(ctx, happy); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateCampaign(same id) = %v, want ErrDuplicate", err)
	}
	if got, err := s.Campaign(ctx, "c-happy"); err != nil || !cmp.Equal(want, got) {
		t.Errorf("Campaign(c-happy) = %+v, %v, want %+v", got, err, want)
	}
	if _, err := s.Campaign(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Campaign(unknown) = %v, want ErrNotFound", err)
	}
	clock.Add(time.Second)
	later := mustCampaign(t, s, loyalty.Campaign{ID: "c-later", Program: "demo", Name: "Later", MultiplierTenths: 20,
		StartsAt: t0().AddDate(0, 2, 0), EndsAt: t0().AddDate(0, 3, 0)})
	mustCampaign(t, s, loyalty.Campaign{ID: "c-other", Program: "other", Name: "Other", MultiplierTenths: 20,
		StartsAt: t0(), EndsAt: t0().AddDate(0, 3, 0)})
	list, err := s.Campaigns(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]loyalty.Campaign{later, want}, list); diff != "" {
		t.Errorf("Campaigns(demo), latest start first (-want +got):\n%s", diff)
	}
	if list, err := s.Campaigns(ctx, "none"); err != nil || len(list) != 0 {
		t.Errorf("Campaigns(none) = %+v, %v, want none", list, err)
	}

	clock.Add(time.Hour)
	ended, err := s.UpdateCampaign(ctx, "c-happy", func(c loyalty.Campaign, at time.Time) (loyalty.Campaign, error) {
		c.ID, c.Program = "hijack", "other" // cannot change
		return c.End(at), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want.EndsAt, want.UpdatedAt = clock.Now().Truncate(time.Microsecond), clock.Now().Truncate(time.Microsecond)
	if diff := cmp.Diff(want, ended); diff != "" {
		t.Errorf("UpdateCampaign(end) (-want +got):\n%s", diff)
	}
	if got, err := s.Campaign(ctx, "c-happy"); err != nil || !cmp.Equal(want, got) {
		t.Errorf("Campaign(c-happy) after ending = %+v, %v, want %+v", got, err, want)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateCampaign(ctx, "c-later", func(loyalty.Campaign, time.Time) (loyalty.Campaign, error) {
		return loyalty.Campaign{}, refused
	}); !errors.Is(err, refused) {
		t.Errorf("UpdateCampaign(refused) = %v, want the change's error", err)
	}
	if got, err := s.Campaign(ctx, "c-later"); err != nil || !cmp.Equal(later, got) {
		t.Errorf("Campaign(c-later) after a refused change = %+v, %v, want it unchanged", got, err)
	}
	if _, err := s.UpdateCampaign(ctx, "nope", func(c loyalty.Campaign, _ time.Time) (loyalty.Campaign, error) { return c, nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateCampaign(unknown) = %v, want ErrNotFound", err)
	}
}

// testPostEarnAmount: an earn with an amount earns its base points times
// the best campaign running at the sale's time, and the entry says how.
func testPostEarnAmount(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	seedProgram(t, s, "demo")
	seedProgram(t, s, "other")
	m := NewMember(t, s, "demo")
	start := t0().Add(-time.Hour).Truncate(time.Microsecond)
	mustCampaign(t, s, loyalty.Campaign{ID: "double", Program: "demo", Name: "Double", MultiplierTenths: 20, StartsAt: start, EndsAt: start.Add(2 * time.Hour)})
	mustCampaign(t, s, loyalty.Campaign{ID: "x1.5", Program: "demo", Name: "Half again", MultiplierTenths: 15, StartsAt: start, EndsAt: start.Add(48 * time.Hour)})
	mustCampaign(t, s, loyalty.Campaign{ID: "elsewhere", Program: "other", Name: "Other", MultiplierTenths: 100, StartsAt: start, EndsAt: start.Add(48 * time.Hour)})
	mustCampaign(t, s, loyalty.Campaign{ID: "gold", Program: "demo", Name: "Gold", MultiplierTenths: 50, StartsAt: start, EndsAt: start.Add(48 * time.Hour), MinTier: "Gold"})
	now := t0().Truncate(time.Microsecond)
	for _, tc := range []struct {
		name       string
		req        balances.Request
		want       balances.Entry
		wantPoints int64
	}{
		{"double points now", balances.Request{Type: balances.Earn, Amount: 1299},
			balances.Entry{Points: 24, Amount: 1299, BasePoints: 12, BonusPoints: 12, CampaignID: "double", OccurredAt: now}, 24},
		{"x1.5 a day later", balances.Request{Type: balances.Earn, Amount: 1000, OccurredAt: now.Add(24 * time.Hour)},
			balances.Entry{Points: 15, Amount: 1000, BasePoints: 10, BonusPoints: 5, CampaignID: "x1.5", OccurredAt: now.Add(24 * time.Hour)}, 39},
		{"base before any campaign", balances.Request{Type: balances.Earn, Amount: 1000, OccurredAt: start.Add(-time.Second)},
			balances.Entry{Points: 10, Amount: 1000, BasePoints: 10, OccurredAt: start.Add(-time.Second)}, 49},
		{"a few cents earn 0 points", balances.Request{Type: balances.Earn, Amount: 99},
			balances.Entry{Points: 0, Amount: 99, BasePoints: 0, CampaignID: "double", OccurredAt: now}, 49},
		{"points are added as given", balances.Request{Type: balances.Earn, Points: 7},
			balances.Entry{Points: 7, BasePoints: 7, OccurredAt: now}, 56},
	} {
		res, err := s.Post(ctx, m.ID, "k-"+tc.name, "h-"+tc.name, tc.req, Rules)
		if err != nil {
			t.Fatalf("Post(%s) = %v", tc.name, err)
		}
		tc.want.ID, tc.want.MemberID, tc.want.Type, tc.want.BalanceAfter, tc.want.CreatedAt = res.Entry.ID, m.ID, balances.Earn, tc.wantPoints, now
		if diff := cmp.Diff(tc.want, res.Entry); diff != "" {
			t.Errorf("Post(%s).Entry (-want +got):\n%s", tc.name, diff)
		}
		entries, _, err := s.Entries(ctx, m.ID, "", 1)
		if err != nil || len(entries) != 1 || !cmp.Equal(tc.want, entries[0]) {
			t.Errorf("Entries after %s = %+v, %v, want %+v as stored", tc.name, entries, err, tc.want)
		}
	}
	// A replay answers the stored entry, campaign and all.
	res, err := s.Post(ctx, m.ID, "k-double points now", "h-double points now", balances.Request{Type: balances.Earn, Amount: 1299}, Rules)
	if err != nil || !res.Replayed || res.Entry.CampaignID != "double" || res.Entry.BonusPoints != 12 {
		t.Errorf("Post(replay) = %+v, %v, want the first entry replayed", res, err)
	}
	// Gold members get the gold campaign (x5), chosen by the tier held before the earn.
	post(t, s, m.ID, balances.Adjust, 1000)
	res, err = s.Post(ctx, m.ID, "k-gold", "h-gold", balances.Request{Type: balances.Earn, Amount: 1000}, Rules)
	if err != nil || res.Entry.CampaignID != "gold" || res.Entry.Points != 50 {
		t.Errorf("Post(gold member) = %+v, %v, want 50 points from campaign gold", res.Entry, err)
	}
	checkLedger(t, s, m.ID)
}

// testPostCampaignLocalTime: campaign days and hours are read in the
// programme's time zone at the sale's time, not in UTC nor at the posting
// time.
func testPostCampaignLocalTime(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	seedProgram(t, s, "demo")
	m := NewMember(t, s, "demo")
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules
	rules.Location = paris
	// Saturday evenings, 17:00-19:00 in Paris (UTC+2 in May).
	mustCampaign(t, s, loyalty.Campaign{ID: "sat-evening", Program: "demo", Name: "Saturday evening", MultiplierTenths: 30,
		StartsAt: t0().AddDate(0, -1, 0), EndsAt: t0().AddDate(0, 1, 0), DaysOfWeek: []int{6}, FromMinute: 17 * 60, ToMinute: 19 * 60})
	for _, tc := range []struct {
		name     string
		at       time.Time
		campaign string
		points   int64
	}{
		{"saturday 18:30 in Paris", time.Date(2030, 5, 11, 16, 30, 0, 0, time.UTC), "sat-evening", 30},
		{"saturday 18:30 UTC is 20:30 in Paris", time.Date(2030, 5, 11, 18, 30, 0, 0, time.UTC), "", 10},
		{"friday 18:30 in Paris", time.Date(2030, 5, 10, 16, 30, 0, 0, time.UTC), "", 10},
		{"posted now (a Friday), sold on Saturday", time.Date(2030, 5, 11, 17, 0, 0, 0, paris), "sat-evening", 30},
	} {
		res, err := s.Post(ctx, m.ID, "k-"+tc.name, "h-"+tc.name, balances.Request{Type: balances.Earn, Amount: 1000, OccurredAt: tc.at}, rules)
		if err != nil {
			t.Fatalf("Post(%s) = %v", tc.name, err)
		}
		if res.Entry.CampaignID != tc.campaign || res.Entry.Points != tc.points || !res.Entry.OccurredAt.Equal(tc.at) {
			t.Errorf("Post(%s) = %+v, want %d points, campaign %q, occurred at %v", tc.name, res.Entry, tc.points, tc.campaign, tc.at)
		}
	}
}

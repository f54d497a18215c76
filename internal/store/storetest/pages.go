package storetest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

// The cursor pages of the console's lists (store/pages.go): rewards,
// campaigns, API keys, staff users, webhook endpoints and an endpoint's
// attempts log.

// walkPages reads every page of a list, limit rows at a time, and answers
// the ids in the order met. Each page but the last is full, the last has
// no cursor, and no id shows twice. A cursor the list did not answer is
// ErrBadCursor.
func walkPages[T any](t *testing.T, name string, limit int, page func(cursor string, limit int) ([]T, string, error), id func(T) string) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%s: more than 100 pages", name)
		}
		rows, next, err := page(cursor, limit)
		if err != nil {
			t.Fatalf("%s(%q, %d) = %v", name, cursor, limit, err)
		}
		if next != "" && len(rows) != limit {
			t.Errorf("%s(%q, %d) = %d rows and a next cursor, want a full page", name, cursor, limit, len(rows))
		}
		for _, r := range rows {
			if seen[id(r)] {
				t.Errorf("%s: %s shown twice", name, id(r))
			}
			seen[id(r)] = true
			ids = append(ids, id(r))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, bad := range []string{"not a cursor", "bm90LWEtY3Vyc29y"} {
		if _, _, err := page(bad, limit); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s(%q) = %v, want ErrBadCursor", name, bad, err)
		}
	}
	return ids
}

// ids answers the ids of rows, in order.
func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

// testListPages: each list, paged 3 rows at a time, shows every row
// once in the order of the whole list, ties of time included (rows made
// at one instant are told apart by their id).
func testListPages(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	seedProgram(t, s, "demo")
	seedProgram(t, s, "other")
	const n = 8 // two full pages of 3 and a part one
	var rewards, campaigns, keys, users, hooks []string
	for i := range n {
		if i%3 == 0 {
			clock.Add(time.Second) // the others share an instant
		}
		rewards = append(rewards, mustReward(t, s, "demo", "R"+strconv.Itoa(i), 10, "", i%2 == 0).ID)
		mustReward(t, s, "other", "elsewhere", 10, "", true)
		c := mustCampaign(t, s, loyalty.Campaign{ID: uuid.NewString(), Program: "demo", Name: "C", MultiplierTenths: 20,
			StartsAt: t0().Add(time.Duration(i/3) * time.Hour), EndsAt: t0().AddDate(0, 1, 0)})
		campaigns = append(campaigns, c.ID)
		k := store.APIKey{ID: uuid.NewString(), Hash: "hash" + strconv.Itoa(i), Role: loyalty.RolePOS, Program: "demo"}
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.ID)
		u := store.StaffUser{ID: uuid.NewString(), Email: "u" + strconv.Itoa(n-i) + "@example.com", Role: loyalty.RoleAdmin}
		if err := s.CreateStaffUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
		program := "demo"
		if i == 4 {
			program = "" // of every programme
		}
		hooks = append(hooks, newWebhook(t, s, program).ID)
		newWebhook(t, s, "other")
	}

	rewardID := func(r loyalty.Reward) string { return r.ID }
	all, err := s.Rewards(ctx, "demo", false)
	if err != nil {
		t.Fatal(err)
	}
	got := walkPages(t, "RewardsPage", 3, func(c string, l int) ([]loyalty.Reward, string, error) { return s.RewardsPage(ctx, "demo", c, l) }, rewardID)
	if diff := cmp.Diff(ids(all, rewardID), got); diff != "" || !sameSet(got, rewards) {
		t.Errorf("RewardsPage, every page, against Rewards (-want +got):\n%s", diff)
	}

	campaignID := func(c loyalty.Campaign) string { return c.ID }
	got = walkPages(t, "CampaignsPage", 3, func(c string, l int) ([]loyalty.Campaign, string, error) { return s.CampaignsPage(ctx, "demo", c, l) }, campaignID)
	if len(got) != n || !sameSet(got, campaigns) {
		t.Errorf("CampaignsPage: %v, want the %d campaigns %v", got, n, campaigns)
	}
	pos := map[string]int{}
	for i, id := range got {
		pos[id] = i
	}
	for i := range campaigns {
		for j := range campaigns {
			if i/3 > j/3 && pos[campaigns[i]] > pos[campaigns[j]] {
				t.Errorf("CampaignsPage: %s (a later start) after %s", campaigns[i], campaigns[j])
			}
		}
	}

	keyID := func(k store.APIKey) string { return k.ID }
	allKeys, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = walkPages(t, "APIKeysPage", 3, func(c string, l int) ([]store.APIKey, string, error) { return s.APIKeysPage(ctx, c, l) }, keyID)
	if diff := cmp.Diff(ids(allKeys, keyID), got); diff != "" || !sameSet(got, keys) {
		t.Errorf("APIKeysPage, every page, against APIKeys (-want +got):\n%s", diff)
	}

	userID := func(u store.StaffUser) string { return u.ID }
	got = walkPages(t, "StaffUsersPage", 3, func(c string, l int) ([]store.StaffUser, string, error) { return s.StaffUsersPage(ctx, c, l) }, userID)
	if !sameSet(got, users) || len(got) != n {
		t.Errorf("StaffUsersPage = %v, want the %d users %v", got, n, users)
	}

	hookID := func(e loyalty.WebhookEndpoint) string { return e.ID }
	got = walkPages(t, "WebhooksPage(demo, unscoped)", 3, func(c string, l int) ([]loyalty.WebhookEndpoint, string, error) {
		return s.WebhooksPage(ctx, "demo", true, c, l)
	}, hookID)
	if !sameSet(got, hooks) {
		t.Errorf("WebhooksPage(demo, unscoped) = %v, want %v", got, hooks)
	}
	got = walkPages(t, "WebhooksPage(demo)", 3, func(c string, l int) ([]loyalty.WebhookEndpoint, string, error) {
		return s.WebhooksPage(ctx, "demo", false, c, l)
	}, hookID)
	if want := append(append([]string{}, hooks[:4]...), hooks[5:]...); !sameSet(got, want) {
		t.Errorf("WebhooksPage(demo) = %v, want %v (not the endpoint of every programme)", got, want)
	}
	if rows, next, err := s.WebhooksPage(ctx, "nowhere", false, "", 3); err != nil || len(rows) != 0 || next != "" {
		t.Errorf("WebhooksPage(nowhere) = %d rows, %q, %v; want none", len(rows), next, err)
	}

	// An endpoint's attempts log, newest first.
	e := hooks[0]
	var events []string
	for range n {
		id, err := s.SendTestWebhook(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range claimWebhooks(t, s, 10) {
			settleWebhook(t, s, d, clock.Now(), 200, delivered)
		}
		events = append([]string{id}, events...)
	}
	eventID := func(a store.WebhookAttempt) string { return a.EventID }
	got = walkPages(t, "WebhookAttemptsPage", 3, func(c string, l int) ([]store.WebhookAttempt, string, error) {
		return s.WebhookAttemptsPage(ctx, e, c, l)
	}, eventID)
	if diff := cmp.Diff(events, got); diff != "" {
		t.Errorf("WebhookAttemptsPage, newest first (-want +got):\n%s", diff)
	}
	if first, err := s.WebhookAttempts(ctx, e, 2); err != nil || !cmp.Equal(ids(first, eventID), events[:2]) {
		t.Errorf("WebhookAttempts(2) = %v, %v; want %v", ids(first, eventID), err, events[:2])
	}
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	for _, s := range b {
		if !in[s] {
			return false
		}
	}
	return len(in) == len(a)
}

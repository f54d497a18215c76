package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
)

const webhookLease = 30 * time.Second

// newWebhook stores an endpoint of program ("" for every programme) that
// wants events (every type when none are given).
func newWebhook(t *testing.T, s *store.Store, program string, events ...loyalty.EventType) loyalty.WebhookEndpoint {
	t.Helper()
	if len(events) == 0 {
		events = loyalty.EventTypes()
	}
	secret, err := loyalty.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.CreateWebhook(context.Background(), loyalty.WebhookEndpoint{
		ID: uuid.NewString(), Program: program, URL: "https://receiver.example/hook", Events: events, Secret: secret})
	if err != nil {
		t.Fatalf("CreateWebhook = %v", err)
	}
	return e
}

func claimWebhooks(t *testing.T, s *store.Store, limit int) []store.WebhookDelivery {
	t.Helper()
	ds, err := s.ClaimWebhooks(context.Background(), limit, webhookLease)
	if err != nil {
		t.Fatalf("ClaimWebhooks = %v", err)
	}
	return ds
}

// settleWebhook records one attempt at d with outcome o, at the store's
// time now.
func settleWebhook(t *testing.T, s *store.Store, d store.WebhookDelivery, now time.Time, status int, o store.WebhookOutcome) {
	t.Helper()
	a := store.WebhookAttempt{AttemptedAt: now, Status: status, Duration: 12 * time.Millisecond}
	if status == 0 {
		a.Error = "connection refused"
	}
	if err := s.RecordWebhookAttempt(context.Background(), d, a, o); err != nil {
		t.Fatalf("RecordWebhookAttempt = %v", err)
	}
}

var delivered = store.WebhookOutcome{State: store.WebhookDelivered}

// types answers the event types of ds.
func types(ds []store.WebhookDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Type)
	}
	return out
}

// drain claims and delivers every due delivery, one claim at a time, and
// answers them in the order claimed.
func drain(t *testing.T, s *store.Store, now time.Time) []store.WebhookDelivery {
	t.Helper()
	var all []store.WebhookDelivery
	for range 100 {
		ds := claimWebhooks(t, s, 100)
		if len(ds) == 0 {
			return all
		}
		for _, d := range ds {
			settleWebhook(t, s, d, now, 204, delivered)
		}
		all = append(all, ds...)
	}
	t.Fatal("drain: deliveries keep coming")
	return nil
}

func testWebhookOutbox(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()

	// No endpoint: nothing is written.
	before := NewMember(t, s, "demo")
	post(t, s, before.ID, balances.Earn, 5)
	if ds := claimWebhooks(t, s, 10); len(ds) != 0 {
		t.Fatalf("ClaimWebhooks without endpoints = %v, want none", types(ds))
	}

	mine := newWebhook(t, s, "demo")
	global := newWebhook(t, s, "")
	other := newWebhook(t, s, "shop")
	earnsOnly := newWebhook(t, s, "demo", loyalty.EventTransactionPosted)

	m := NewMember(t, s, "demo")
	post(t, s, m.ID, balances.Earn, 150) // Bronze to Silver
	if _, err := s.UpdateMember(ctx, m.ID, loyalty.ProfilePatch{Name: set("Ada King")}, loyalty.ConsentAPI); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}

	got := map[string][]string{}
	ids := map[string]bool{}
	for _, d := range drain(t, s, clock.Now()) {
		got[d.EndpointID] = append(got[d.EndpointID], string(d.Type))
		var data map[string]any
		if err := json.Unmarshal(d.Data, &data); err != nil || data["member_id"] != m.ID {
			t.Errorf("%s data = %s (%v), want member_id %s", d.Type, d.Data, err, m.ID)
		}
		if !strings.HasPrefix(d.EventID, "evt_") || !d.CreatedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
			t.Errorf("%s: id %q created %v", d.Type, d.EventID, d.CreatedAt)
		}
		if d.Type == loyalty.EventMemberErased && (strings.Contains(string(d.Data), "Ada") || strings.Contains(string(d.Data), "@")) {
			t.Errorf("member.erased data = %s, want no name or email", d.Data)
		}
		if d.Type == loyalty.EventMemberEnrolled && strings.Contains(string(d.Data), "ada@example.com") {
			t.Errorf("member.enrolled data after erasure = %s, want the personal data cleared", d.Data)
		}
		ids[d.EndpointID+d.EventID] = true
	}
	want := []string{"member.enrolled", "transaction.posted", "tier.changed", "member.updated", "member.erased"}
	for _, e := range []loyalty.WebhookEndpoint{mine, global} {
		if strings.Join(got[e.ID], " ") != strings.Join(want, " ") {
			t.Errorf("events to endpoint of %q = %v, want %v", e.Program, got[e.ID], want)
		}
	}
	if len(got[other.ID]) != 0 {
		t.Errorf("events to another programme's endpoint = %v, want none", got[other.ID])
	}
	if strings.Join(got[earnsOnly.ID], " ") != "transaction.posted" {
		t.Errorf("events to a transaction.posted endpoint = %v", got[earnsOnly.ID])
	}
	if len(ids) != 11 {
		t.Errorf("distinct endpoint+event ids = %d, want 11", len(ids))
	}

	// Vouchers, bonuses and both wallets' installs.
	p := rulesProgram("demo")
	reward := mustReward(t, s, "demo", "Coffee", 10, "", true)
	n := NewMember(t, s, "demo")
	post(t, s, n.ID, balances.Earn, 20)
	red, err := s.Redeem(ctx, n.ID, "k-redeem", "h", reward, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseVoucher(ctx, red.Voucher.Code, "k-use"); err != nil {
		t.Fatal(err)
	}
	reg := func(dev string) store.Registration {
		return store.Registration{DeviceID: dev, PassTypeID: "pass.x", MemberID: n.ID, PushToken: "tok-" + dev}
	}
	for _, dev := range []string{"d1", "d2"} {
		if _, err := s.Register(ctx, reg(dev)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Register(ctx, store.Registration{DeviceID: "d1", PassTypeID: "pass.x", MemberID: n.ID, PushToken: "new"}); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"d1", "d2"} {
		if err := s.Unregister(ctx, dev, "pass.x", n.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A device whose push token APNs refused: the card's only
	// registration goes, and so does the card.
	if _, err := s.Register(ctx, store.Registration{DeviceID: "d3", PassTypeID: "pass.x", MemberID: n.ID, PushToken: "dead"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DeleteRegistrationsByPushToken(ctx, "dead"); err != nil || got != 1 {
		t.Fatalf("DeleteRegistrationsByPushToken = %d, %v", got, err)
	}
	record(t, s, store.GoogleCallback{Nonce: "g1", MemberID: n.ID, Installed: true})
	record(t, s, store.GoogleCallback{Nonce: "g2", MemberID: n.ID, Installed: true})
	record(t, s, store.GoogleCallback{Nonce: "g3", MemberID: n.ID, Installed: false})
	var seen []string
	for _, d := range drain(t, s, clock.Now()) {
		if d.EndpointID != mine.ID {
			continue
		}
		desc := string(d.Type)
		var data struct {
			Wallet string `json:"wallet"`
			Type   string `json:"type"`
		}
		if err := json.Unmarshal(d.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Wallet != "" {
			desc += ":" + data.Wallet
		}
		if data.Type != "" {
			desc += ":" + data.Type
		}
		seen = append(seen, desc)
	}
	want = []string{"member.enrolled", "transaction.posted:earn", "transaction.posted:redeem", "voucher.issued", "voucher.used",
		"card.installed:apple", "card.removed:apple", "card.installed:apple", "card.removed:apple",
		"card.installed:google", "card.removed:google"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("events = %v, want %v", seen, want)
	}
}

func testWebhookOrderPerMember(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	e := newWebhook(t, s, "demo", loyalty.EventTransactionPosted)
	a, b := NewMember(t, s, "demo"), NewMember(t, s, "demo")
	for range 3 {
		post(t, s, a.ID, balances.Earn, 1)
	}
	post(t, s, b.ID, balances.Earn, 1)

	// One event per member at a time: a's first and b's only.
	ds := claimWebhooks(t, s, 10)
	if len(ds) != 2 || ds[0].Data == nil {
		t.Fatalf("first claim = %d deliveries, want 2", len(ds))
	}
	byMember := map[string]store.WebhookDelivery{}
	for _, d := range ds {
		var tx loyalty.TransactionJSON
		if err := json.Unmarshal(d.Data, &tx); err != nil {
			t.Fatal(err)
		}
		byMember[tx.MemberID] = d
	}
	first := byMember[a.ID]
	if first.EndpointID != e.ID || byMember[b.ID].EndpointID != e.ID {
		t.Fatalf("claimed %v, want one of each member", byMember)
	}
	if again := claimWebhooks(t, s, 10); len(again) != 0 {
		t.Fatalf("claim while the first are leased = %d, want 0", len(again))
	}

	// b's is delivered; a's first fails and is retried later: a's second
	// waits for it.
	clock.Add(time.Second)
	settleWebhook(t, s, byMember[b.ID], clock.Now(), 200, delivered)
	settleWebhook(t, s, first, clock.Now(), 503, store.WebhookOutcome{State: store.WebhookPending, RetryAt: clock.Now().Add(time.Minute)})
	if again := claimWebhooks(t, s, 10); len(again) != 0 {
		t.Fatalf("claim before the retry is due = %v, want none (a's later events wait)", types(again))
	}
	clock.Add(time.Minute)
	retry := claimWebhooks(t, s, 10)
	if len(retry) != 1 || retry[0].EventID != first.EventID || retry[0].Attempts != 1 {
		t.Fatalf("claim after the retry is due = %+v, want a's first event again after 1 attempt", retry)
	}
	settleWebhook(t, s, retry[0], clock.Now(), 200, delivered)
	var order []int64
	for _, d := range drain(t, s, clock.Now()) {
		order = append(order, d.EventSeq)
	}
	if len(order) != 2 || order[0] >= order[1] || order[0] <= first.EventSeq {
		t.Errorf("a's remaining events came as %v after %d, want two, in order", order, first.EventSeq)
	}

	// The attempts log, newest first.
	log, err := s.WebhookAttempts(context.Background(), e.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 5 || log[3].Status != 503 || log[3].EventID != first.EventID || log[2].EventID != first.EventID ||
		log[3].Duration != 12*time.Millisecond || !log[0].AttemptedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("WebhookAttempts = %+v, want 5, newest first: a's two, the 503 and b's", log)
	}
}

func testWebhookLeaseAndDisable(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	e := newWebhook(t, s, "demo")
	m := NewMember(t, s, "demo")
	ds := claimWebhooks(t, s, 10)
	if len(ds) != 1 {
		t.Fatalf("claim = %d, want member.enrolled", len(ds))
	}
	// The worker died: after the lease the same event is claimed again,
	// and the dead worker's late record changes nothing.
	clock.Add(webhookLease + time.Second)
	again := claimWebhooks(t, s, 10)
	if len(again) != 1 || again[0].EventID != ds[0].EventID || again[0].Lease == ds[0].Lease {
		t.Fatalf("claim after the lease = %+v, want the same event under a new lease", again)
	}
	settleWebhook(t, s, ds[0], clock.Now(), 200, delivered)
	lag, err := s.WebhookBacklog(ctx)
	if err != nil || lag != webhookLease+time.Second {
		t.Errorf("WebhookBacklog = %v, %v; want %v (the event is still pending)", lag, err, webhookLease+time.Second)
	}
	if n, lag, err := s.ProgramWebhookBacklog(ctx, "demo"); err != nil || n != 1 || lag != webhookLease+time.Second {
		t.Errorf("ProgramWebhookBacklog(demo) = %d, %v, %v; want 1 waiting for %v", n, lag, err, webhookLease+time.Second)
	}
	if n, lag, err := s.ProgramWebhookBacklog(ctx, "other"); err != nil || n != 0 || lag != 0 {
		t.Errorf("ProgramWebhookBacklog(other) = %d, %v, %v; want none", n, lag, err)
	}

	// A 410: the endpoint is disabled, nothing more is sent or written.
	settleWebhook(t, s, again[0], clock.Now(), 410, store.WebhookOutcome{State: store.WebhookFailed, DisableEndpoint: "410 Gone"})
	post(t, s, m.ID, balances.Earn, 1)
	if ds := claimWebhooks(t, s, 10); len(ds) != 0 {
		t.Errorf("claim after a 410 = %v, want none", types(ds))
	}
	got, err := s.Webhook(ctx, e.ID)
	if err != nil || got.DisabledAt == nil || got.DisabledReason != "410 Gone" {
		t.Errorf("Webhook after a 410 = %+v, %v; want disabled", got, err)
	}
	if lag, err := s.WebhookBacklog(ctx); err != nil || lag != 0 {
		t.Errorf("WebhookBacklog with only a disabled endpoint = %v, %v; want 0", lag, err)
	}
	if n, lag, err := s.ProgramWebhookBacklog(ctx, "demo"); err != nil || n != 0 || lag != 0 {
		t.Errorf("ProgramWebhookBacklog with only a disabled endpoint = %d, %v, %v; want none", n, lag, err)
	}

	// Listing and deleting.
	all, err := s.Webhooks(ctx)
	if err != nil || len(all) != 1 || all[0].ID != e.ID || len(all[0].Events) != len(loyalty.EventTypes()) {
		t.Errorf("Webhooks = %+v, %v", all, err)
	}
	if err := s.DeleteWebhook(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteWebhook twice = %v, want ErrNotFound", err)
	}
	if _, err := s.Webhook(ctx, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Webhook(deleted) = %v, want ErrNotFound", err)
	}
}

// testConcurrentWebhookClaimers has workers claim at once: every delivery
// is claimed exactly once.
func testConcurrentWebhookClaimers(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	newWebhook(t, s, "demo", loyalty.EventMemberEnrolled)
	const members = 40
	for range members {
		NewMember(t, s, "demo")
	}
	seen := claimConcurrently(t, 4, func() ([]string, error) {
		ds, err := s.ClaimWebhooks(context.Background(), 3, time.Hour)
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.EventID
		}
		return ids, err
	})
	if len(seen) != members {
		t.Errorf("claimed %d events, want %d", len(seen), members)
	}
}

func testPruneWebhooks(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	live := newWebhook(t, s, "demo", loyalty.EventMemberEnrolled)
	NewMember(t, s, "demo") // delivered below
	NewMember(t, s, "demo") // still pending
	ds := claimWebhooks(t, s, 10)
	if len(ds) != 2 {
		t.Fatalf("claim = %d, want 2", len(ds))
	}
	settleWebhook(t, s, ds[0], clock.Now(), 204, delivered)
	settleWebhook(t, s, ds[1], clock.Now(), 503, store.WebhookOutcome{State: store.WebhookPending, RetryAt: clock.Now()})
	clock.Add(48 * time.Hour)
	NewMember(t, s, "demo") // recent, pending
	n, err := s.PruneWebhooks(ctx, clock.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneWebhooks = %d, %v; want the delivered event", n, err)
	}
	if log, err := s.WebhookAttempts(ctx, live.ID, 0); err != nil || len(log) != 0 {
		t.Errorf("attempts after pruning = %v, %v; want none", log, err)
	}
	left := drain(t, s, clock.Now())
	if len(left) != 2 {
		t.Errorf("deliveries left = %d, want the 2 pending", len(left))
	}
}

func testSendTestWebhook(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	e := newWebhook(t, s, "demo", loyalty.EventMemberEnrolled)
	other := newWebhook(t, s, "demo", loyalty.EventMemberEnrolled)
	id, err := s.SendTestWebhook(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds := claimWebhooks(t, s, 10)
	if len(ds) != 1 || ds[0].EventID != id || ds[0].Type != loyalty.EventWebhookTest || ds[0].EndpointID != e.ID ||
		!strings.Contains(string(ds[0].Data), e.ID) {
		t.Fatalf("claimed %+v, want the test event to its endpoint only", ds)
	}
	settleWebhook(t, s, ds[0], clock.Now(), 410, store.WebhookOutcome{State: store.WebhookFailed, DisableEndpoint: "410 Gone"})
	if _, err := s.SendTestWebhook(ctx, e.ID); !errors.Is(err, loyalty.ErrWebhookDisabled) {
		t.Errorf("SendTestWebhook(disabled) = %v, want ErrWebhookDisabled", err)
	}
	if _, err := s.SendTestWebhook(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SendTestWebhook(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.SendTestWebhook(ctx, other.ID); err != nil {
		t.Errorf("SendTestWebhook(other) = %v", err)
	}
}

// testWebhookReleasedWithItsInstance: a delivery claimed by an instance
// that is then released (judged dead by internal/lease) is due again at
// once, long before its lease runs out, with the same event.
func testWebhookReleasedWithItsInstance(t *testing.T, open Opener) {
	clock := testkit.NewClock(t0())
	s := open(t, store.Options{Now: clock.Now, Instance: "i-dead"})
	ctx := context.Background()
	newWebhook(t, s, "demo")
	NewMember(t, s, "demo")
	ds := claimWebhooks(t, s, 10)
	if len(ds) != 1 {
		t.Fatalf("claim = %d, want member.enrolled", len(ds))
	}
	if again := claimWebhooks(t, s, 10); len(again) != 0 {
		t.Fatalf("claim under the lease = %v, want none", types(again))
	}
	n, err := s.ReleaseInstances(ctx, []string{"i-dead"})
	if err != nil || n != 1 {
		t.Fatalf("ReleaseInstances = %d, %v; want the one delivery", n, err)
	}
	again := claimWebhooks(t, s, 10)
	if len(again) != 1 || again[0].EventID != ds[0].EventID {
		t.Fatalf("claim after the instance's release = %+v, want the same event at once", again)
	}
}

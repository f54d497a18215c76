package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/testkit"
)

// expiryProgramme creates the programme id through the API, one point a
// euro, with points expiring after 365 days and a reminder 30 days before.
func expiryProgramme(t *testing.T, s *started, id string) {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/programs", map[string]any{
		"id": id, "name": "Bakery", "organization_name": "Bakery Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Bakery"}},
		"expiry": map[string]any{"after_days": 365, "remind_days": 30},
	})
	if res.StatusCode != 201 {
		t.Fatalf("POST /programs = %d %s", res.StatusCode, b)
	}
}

// shiftedOpts are the server options of a test on clock: its time-driven
// work polls often, so a jump of the clock is acted on at once.
func shiftedOpts(c *testkit.ShiftedClock) server.Options {
	o := fastSync
	o.Now = c.Now
	o.AutomationPoll = 50 * time.Millisecond
	return o
}

// expiryPhone starts a server on a shifted clock with the programme
// "bakery" of expiryProgramme, and a member's card on a phone registered
// with the mock APNs.
func expiryPhone(t *testing.T) (*testkit.ShiftedClock, appleEnv, *started, *phone) {
	t.Helper()
	clock := &testkit.ShiftedClock{}
	ae := newAppleEnv(t)
	s := start(t, ae.env, shiftedOpts(clock))
	expiryProgramme(t, s, "bakery")
	ph := addPass(t, s, enrollIn(t, s, "bakery", "Ada Lovelace"), "device-expiry", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	return clock, ae, s, ph
}

// earnAt earns points for a member through the API, dated occurred.
func earnAt(t *testing.T, s *started, id string, points int, occurred time.Time, key string) {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/members/"+id+"/transactions",
		map[string]any{"type": "earn", "points": points, "occurred_at": occurred.Format(time.RFC3339)}, "Idempotency-Key", key)
	if res.StatusCode != 201 {
		t.Fatalf("earn %d dated %v: %d %s", points, occurred, res.StatusCode, b)
	}
}

// expiries reads a member's expire transactions through the API.
func expiries(t *testing.T, s *started, id string) []map[string]any {
	t.Helper()
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id+"/transactions", nil)
	var page struct {
		Items []map[string]any `json:"items"`
	}
	if res.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("GET transactions = %d %s", res.StatusCode, b)
	}
	var out []map[string]any
	for _, tr := range page.Items {
		if tr["type"] == "expire" {
			out = append(out, tr)
		}
	}
	return out
}

// memberJSON reads a member through the API.
func memberJSON(t *testing.T, s *started, id string) map[string]any {
	t.Helper()
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id, nil)
	var m map[string]any
	if res.StatusCode != 200 || json.Unmarshal(b, &m) != nil {
		t.Fatalf("GET member = %d %s", res.StatusCode, b)
	}
	return m
}

// TestExpiryReminderThenExpiryOnThePhone: a card on a phone registered
// with the mock APNs, in a programme whose points expire after 365 days
// with a reminder 30 days before. An earn dated 340 days back is due for
// its reminder: the phone is pushed and the pass says "100 points expire
// on DATE" with a change message, once. 25 days later (the server's clock
// moved) the lot expires: the phone is pushed again, the pass shows 0
// points and no reminder, and the transaction list one expire of -100.
func TestExpiryReminderThenExpiryOnThePhone(t *testing.T) {
	t.Parallel()
	clock, ae, s, ph := expiryPhone(t)

	occurred := clock.Now().Add(-340 * 24 * time.Hour).Truncate(time.Second)
	expires := occurred.Add(365 * 24 * time.Hour)
	earnAt(t, s, ph.serial, 100, occurred, "earn-old")
	want := "100 points expire on " + cards.ExpiryDate(expires, "en")
	waitFor(t, func() bool {
		if delivered(ae.apns, pushToken) == 0 || ph.fetch() != 200 {
			return false
		}
		got, _ := ph.field("auxiliaryFields", "expiring")
		return got == want
	})
	if ph.points() != 100 {
		t.Errorf("points on the reminded pass = %v, want 100", ph.points())
	}
	if f := passField(ph, "auxiliaryFields", "expiring"); f["changeMessage"] != cards.ExpiringChange {
		t.Errorf("reminder field = %v, want the change message %q", f, cards.ExpiringChange)
	}
	m := memberJSON(t, s, ph.serial)
	pe, _ := m["points_expiring"].(map[string]any)
	if at, _ := time.Parse(time.RFC3339, strAt(pe)); pe["points"] != 100.0 || !at.Equal(expires) {
		t.Errorf("points_expiring = %v, want 100 at %v", m["points_expiring"], expires)
	}
	// Once per lot: a later pass of the jobs does nothing more.
	settled(t, s, ph.serial)
	pushes := delivered(ae.apns, pushToken)
	if n, err := s.Automations.RunOnce(t.Context()); err != nil || n != 0 {
		t.Errorf("RunOnce after the reminder = %d, %v; want nothing to do", n, err)
	}
	if st := syncState(t, s, ph.serial); st.WantedVersion != st.SyncedVersion {
		t.Errorf("card dirty again after the reminder: %+v", st)
	}

	clock.Add(25*24*time.Hour + time.Second)
	s.Automations.Wake()
	waitFor(t, func() bool {
		if delivered(ae.apns, pushToken) <= pushes || ph.fetch() != 200 {
			return false
		}
		_, reminded := ph.field("auxiliaryFields", "expiring")
		return ph.points() == 0 && !reminded
	})
	es := expiries(t, s, ph.serial)
	if len(es) != 1 || es[0]["points"] != -100.0 || es[0]["balance_after"] != 0.0 {
		t.Fatalf("expire transactions = %v, want one of -100 leaving 0", es)
	}
	if m := memberJSON(t, s, ph.serial); m["points_expiring"] != nil || m["points"] != 0.0 || m["lifetime_points"] != 100.0 {
		t.Errorf("member after the expiry = points %v, lifetime %v, points_expiring %v; want 0, 100, null", m["points"], m["lifetime_points"], m["points_expiring"])
	}
}

func strAt(m map[string]any) string { s, _ := m["at"].(string); return s }

// passField reads the whole field key of a group of the phone's pass (nil
// for none).
func passField(p *phone, group, key string) map[string]any {
	fs, _ := p.pass["storeCard"].(map[string]any)[group].([]any)
	for _, f := range fs {
		if f, _ := f.(map[string]any); f["key"] == key {
			return f
		}
	}
	return nil
}

// TestExpiryOnGoogleWallet: the Google object of a card in a programme
// with expiry shows the reminder as a text module while it is due, and
// once the lot expired the balance is 0 and the module gone.
func TestExpiryOnGoogleWallet(t *testing.T) {
	t.Parallel()
	clock := &testkit.ShiftedClock{}
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake, func(o *server.Options) { o.Now, o.AutomationPoll = clock.Now, 50*time.Millisecond })
	expiryProgramme(t, s, "bakery")
	id := enrollIn(t, s, "bakery", "Ada Lovelace")["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	occurred := clock.Now().Add(-340 * 24 * time.Hour).Truncate(time.Second)
	earnAt(t, s, id, 100, occurred, "earn-old")
	want := "Points expiring: 100 points expire on " + cards.ExpiryDate(occurred.Add(365*24*time.Hour), "en")
	waitFor(t, func() bool { return module(fake, objectID, "expiring") == want })
	clock.Add(26 * 24 * time.Hour)
	s.Automations.Wake()
	waitFor(t, func() bool {
		got, ok := balanceAt(fake, objectID)
		return ok && got == 0 && module(fake, objectID, "expiring") == ""
	})
}

// TestBackdatedEarnExpiresOnce is the black-box case: under a 365-day
// rule, 100 points earned (by a merchant key) 366 days back expire within
// a minute, exactly once: one expire transaction of -100, and the pass
// shows 0 points. Later passes of the jobs, and a replay of the earn, add
// nothing.
func TestBackdatedEarnExpiresOnce(t *testing.T) {
	t.Parallel()
	clock, ae, s, ph := expiryPhone(t)
	occurred := clock.Now().Add(-366 * 24 * time.Hour)
	earnAt(t, s, ph.serial, 100, occurred, "earn-366")
	waitFor(t, func() bool { return len(expiries(t, s, ph.serial)) > 0 })
	waitFor(t, func() bool { return delivered(ae.apns, pushToken) > 0 && ph.fetch() == 200 && ph.points() == 0 })
	earnAt(t, s, ph.serial, 100, occurred, "earn-366") // a replay: no second lot
	for range 3 {
		if _, err := s.Automations.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	es := expiries(t, s, ph.serial)
	if len(es) != 1 || es[0]["points"] != -100.0 || es[0]["balance_after"] != 0.0 {
		t.Fatalf("expire transactions = %v, want exactly one of -100 leaving 0", es)
	}
	lot, _ := es[0]["reference"].(string)
	at, _ := time.Parse(time.RFC3339Nano, es[0]["occurred_at"].(string))
	if want := occurred.Add(365 * 24 * time.Hour); len(lot) <= len("lot:") || at.Sub(want).Abs() > time.Second {
		t.Errorf("expire transaction = reference %q, occurred_at %v; want lot:<earn id> at %v", lot, at, want)
	}
	if m := memberJSON(t, s, ph.serial); m["points"] != 0.0 || m["points_expiring"] != nil {
		t.Errorf("member = points %v, points_expiring %v; want 0 and null", m["points"], m["points_expiring"])
	}
}

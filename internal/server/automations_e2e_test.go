package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/testkit"
)

// startAutomated starts passd on clock with the time-driven work off: the
// test runs it with runDue after moving the clock.
func startAutomated(t *testing.T, env map[string]string, clock *testkit.ShiftedClock) *started {
	t.Helper()
	opts := fastSync
	opts.Now = clock.Now
	opts.NoAutomations = true
	return start(t, env, opts)
}

// runDue runs the time-driven work due at the clock's time and wakes the
// sync engine, as the running server does after work.
func runDue(t *testing.T, s *started) int {
	t.Helper()
	n, err := s.Automations.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("Automations.RunOnce = %v", err)
	}
	s.Engine.Wake()
	return n
}

// registeredPass downloads member m's Apple pass onto a phone that
// registers it with the web service for pushes.
func registeredPass(t *testing.T, s *started, m map[string]any, device string) *phone {
	t.Helper()
	ph := addPass(t, s, m, device, pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	return ph
}

// patchDemo changes the demo programme and fails the test unless it is
// accepted.
func patchDemo(t *testing.T, s *started, patch string) {
	t.Helper()
	if res, out := programPatch(t, s, "demo", patch, "*"); res.StatusCode != 200 {
		t.Fatalf("PATCH demo %s = %d %v", patch, res.StatusCode, out)
	}
}

// enrollBorn enrols a member of the demo programme with a birthday.
func enrollBorn(t *testing.T, s *started, name, birthday string) map[string]any {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/programs/demo/members", map[string]any{"name": name, "birthday": birthday})
	var m map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &m) != nil {
		t.Fatalf("enroll %s: %d %s", name, res.StatusCode, b)
	}
	return m
}

// bonuses reads a member's transaction list and counts its bonus
// entries by reason.
func bonuses(t *testing.T, s *started, id string) map[string]int {
	t.Helper()
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id+"/transactions", nil)
	var page struct {
		Items []struct {
			Type, Reason string
			Points       int64
		} `json:"items"`
	}
	if res.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("GET transactions = %d %s", res.StatusCode, b)
	}
	out := map[string]int{}
	for _, e := range page.Items {
		if e.Type == "bonus" {
			out[e.Reason]++
		}
	}
	return out
}

// TestWelcomeAndBirthdayBonusesOnceEach: in a programme with a welcome
// bonus of 50 and a birthday bonus of 100 counted in Paris, a member whose
// birthday is in two days enrols with the card on a phone. Nothing comes
// before the birthday begins in Paris; at its start the bonus arrives, the
// phone is pushed and the pass shows 150 points and greets the member (a
// back field with a change message); more runs that day and later in the
// year add nothing, and the greeting is gone from the card a month on. The transaction list holds one welcome
// and one birthday bonus. (The dates follow the machine's: the test
// certificates are valid around today.)
func TestWelcomeAndBirthdayBonusesOnceEach(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(paris).AddDate(0, 0, 2)
	if day.Month() == time.February && day.Day() == 29 {
		day = day.AddDate(0, 0, 1)
	}
	dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, paris)
	birthday := time.Date(1990, day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)

	ae := newAppleEnv(t)
	clock := &testkit.ShiftedClock{}
	s := startAutomated(t, ae.env, clock)
	patchDemo(t, s, `{"welcome_bonus":50,"birthday_bonus":100,"timezone":"Europe/Paris"}`)

	ph := registeredPass(t, s, enrollBorn(t, s, "Ada Lovelace", birthday), "device-birthday")
	if ph.points() != 50 {
		t.Fatalf("points on the new pass = %v, want the welcome bonus, 50", ph.points())
	}
	runDue(t, s)
	clock.Set(dayStart.Add(-14 * time.Hour)) // the day has begun in UTC+14
	runDue(t, s)
	clock.Set(dayStart.Add(-time.Minute))
	runDue(t, s)
	if got := bonuses(t, s, ph.serial); got["birthday"] != 0 {
		t.Fatalf("bonuses before the birthday = %v, want no birthday bonus", got)
	}

	clock.Set(dayStart.Add(20 * time.Second))
	pushedAndFetched(t, ae, s, ph, "after the birthday", func() { runDue(t, s) })
	if ph.points() != 150 {
		t.Errorf("points on the pass on the birthday = %v, want 150", ph.points())
	}
	if greet, _ := ph.fieldMap("backFields", "birthday"); greet["value"] != "birthday_greeting" || greet["changeMessage"] != "%@" {
		t.Errorf("birthday back field = %v, want the greeting with a change message", greet)
	}
	for _, d := range []time.Duration{time.Minute, 12 * time.Hour, 30 * 24 * time.Hour} {
		clock.Add(d)
		runDue(t, s)
	}
	if got := bonuses(t, s, ph.serial); got["welcome"] != 1 || got["birthday"] != 1 {
		t.Errorf("bonuses in the transaction list = %v, want one welcome and one birthday", got)
	}
	pushedAndFetched(t, ae, s, ph, "after an earn a month later", func() { earn(t, s, ph.serial, 10, "earn-later") })
	if ph.points() != 160 {
		t.Errorf("points on the pass a month later = %v, want 150 and the earn's 10", ph.points())
	}
	if greet, ok := ph.fieldMap("backFields", "birthday"); ok {
		t.Errorf("birthday back field a month later = %v, want none", greet)
	}
}

// TestVoucherLeavesThePhoneAtExpiry: a voucher valid one day is on the
// pass; when the clock passes its expiry the time-driven work takes it
// off, the phone is pushed and the pass no longer shows it; using it then
// is 409 voucher_expired.
func TestVoucherLeavesThePhoneAtExpiry(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	clock := &testkit.ShiftedClock{}
	s := startAutomated(t, ae.env, clock)
	ph := registeredPass(t, s, enroll(t, s, "Ada Lovelace"), "device-lapse")
	earn(t, s, ph.serial, 200, "earn-1")
	res, b := call(t, "POST", s.url+"/api/v1/programs/demo/rewards", map[string]any{"name": "Free coffee", "cost_points": 150, "valid_days": 1})
	var reward map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &reward) != nil {
		t.Fatalf("POST rewards = %d %s", res.StatusCode, b)
	}
	res, b = call(t, "POST", s.url+"/api/v1/members/"+ph.serial+"/redemptions", map[string]any{"reward_id": reward["id"]}, "Idempotency-Key", "buy-1")
	var bought struct {
		Voucher struct {
			Code      string    `json:"code"`
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"voucher"`
	}
	if res.StatusCode != 201 || json.Unmarshal(b, &bought) != nil {
		t.Fatalf("POST redemptions = %d %s", res.StatusCode, b)
	}
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after the redemption = %d", st)
	}
	if got, _ := ph.field("auxiliaryFields", "rewards"); got != "1 reward ready" {
		t.Fatalf("rewards field after the redemption = %q, want \"1 reward ready\"", got)
	}

	clock.Set(bought.Voucher.ExpiresAt.Add(-time.Minute))
	if n := runDue(t, s); n != 0 {
		t.Errorf("time-driven work a minute before expiry did %d items, want 0", n)
	}
	clock.Set(bought.Voucher.ExpiresAt.Add(10 * time.Second))
	pushedAndFetched(t, ae, s, ph, "after expiry", func() { runDue(t, s) })
	if got, ok := ph.field("auxiliaryFields", "rewards"); ok {
		t.Errorf("rewards field after expiry = %q, want none", got)
	}
	if got, ok := ph.field("backFields", "vouchers"); ok {
		t.Errorf("vouchers back field after expiry = %q, want none", got)
	}
	if n := runDue(t, s); n != 0 {
		t.Errorf("time-driven work after the lapse did %d items, want 0 (once per voucher)", n)
	}
	res, b = call(t, "POST", s.url+"/api/v1/vouchers/"+bought.Voucher.Code+"/use", nil, "Idempotency-Key", "use-1")
	if res.StatusCode != 409 || !strings.Contains(string(b), `"code":"voucher_expired"`) {
		t.Errorf("use after expiry = %d %s, want 409 voucher_expired", res.StatusCode, b)
	}
}

// TestDormantMessageOnThePhone: 30 days without a transaction in a
// programme with a dormant rule put its message on the back of the pass
// (with a change message, so the phone shows it) and credit its bonus,
// once; the member's next earn takes the message off.
func TestDormantMessageOnThePhone(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	clock := &testkit.ShiftedClock{}
	s := startAutomated(t, ae.env, clock)
	patchDemo(t, s, `{"dormant":{"after_days":30,"message":"We miss you: 25 points are waiting","bonus_points":25}}`)
	ph := registeredPass(t, s, enroll(t, s, "Ada Lovelace"), "device-dormant")
	earn(t, s, ph.serial, 100, "earn-1")
	settled(t, s, ph.serial)
	runDue(t, s)

	clock.Add(30*24*time.Hour + time.Minute)
	pushedAndFetched(t, ae, s, ph, "after 30 days", func() { runDue(t, s) })
	msg, ok := ph.fieldMap("backFields", "dormant")
	if !ok || msg["value"] != "We miss you: 25 points are waiting" || msg["changeMessage"] != "%@" {
		t.Errorf("dormant back field = %v, want the programme's message with a change message", msg)
	}
	if ph.points() != 125 {
		t.Errorf("points after the dormant bonus = %v, want 125", ph.points())
	}
	clock.Add(10 * 24 * time.Hour)
	runDue(t, s)
	if got := bonuses(t, s, ph.serial); got["dormant"] != 1 {
		t.Errorf("bonuses = %v, want one dormant bonus for the spell", got)
	}

	pushedAndFetched(t, ae, s, ph, "after the earn", func() { earn(t, s, ph.serial, 10, "earn-2") })
	if got, ok := ph.field("backFields", "dormant"); ok {
		t.Errorf("dormant back field after an earn = %q, want none", got)
	}
}

// TestTierDowngradeTheCardAnnounces: in the demo programme with a rolling
// 365-day tier window, a member is Gold on a sale of 300 days back; 65
// days on it leaves the window, the tier review lowers the member to
// Silver, the phone is pushed and the pass's tier field changes with its
// change message ("You are now %@"), so the downgrade is never silent.
func TestTierDowngradeTheCardAnnounces(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	clock := &testkit.ShiftedClock{}
	s := startAutomated(t, ae.env, clock)
	patchDemo(t, s, `{"tier_window":"rolling_365_days"}`)
	ph := registeredPass(t, s, enroll(t, s, "Ada Lovelace"), "device-tier")
	old := clock.Now().Add(-300 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, e := range []map[string]any{
		{"type": "earn", "points": 5000, "occurred_at": old},
		{"type": "earn", "points": 1500},
	} {
		if res, b := call(t, "POST", s.url+"/api/v1/members/"+ph.serial+"/transactions", e, "Idempotency-Key", fmt.Sprint(e)); res.StatusCode != 201 {
			t.Fatalf("earn %v = %d %s", e, res.StatusCode, b)
		}
	}
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch = %d", st)
	}
	if got, _ := ph.field("headerFields", "tier"); got != "Gold" {
		t.Fatalf("tier on the pass = %q, want Gold", got)
	}
	clock.Add(64 * 24 * time.Hour)
	if n := runDue(t, s); n != 0 {
		t.Errorf("time-driven work a day before the sale leaves the window did %d items, want 0", n)
	}
	clock.Add(24*time.Hour + time.Minute)
	pushedAndFetched(t, ae, s, ph, "after the review", func() { runDue(t, s) })
	tier, _ := ph.fieldMap("headerFields", "tier")
	if tier["value"] != "Silver" || tier["changeMessage"] != "You are now %@" {
		t.Errorf("tier field after the review = %v, want Silver with the change message", tier)
	}
	res, b := call(t, "GET", s.url+"/api/v1/members/"+ph.serial, nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"tier":"Silver"`) || !strings.Contains(string(b), `"points":6500`) {
		t.Errorf("member after the review = %d %s, want Silver and the balance kept", res.StatusCode, b)
	}
}

// TestTierWindowSwitchReviewsEveryMember: in the demo programme with its
// lifetime tier window, a member whose card is on a phone is Gold on a
// sale of 400 days back and one of today, and another is Gold on today's
// sales alone. The merchant switches the programme to rolling_365_days:
// with no new sale, the old sale no longer counts, the first member falls
// to Silver and the pass's tier field announces it ("You are now %@");
// the other stays Gold. Switching back to lifetime makes the first member
// Gold again.
func TestTierWindowSwitchReviewsEveryMember(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	clock := &testkit.ShiftedClock{}
	s := startAutomated(t, ae.env, clock)
	ph := registeredPass(t, s, enroll(t, s, "Ada Lovelace"), "device-tier")
	other := enroll(t, s, "Grace Hopper")["id"].(string)
	old := clock.Now().Add(-400 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, e := range []struct {
		member string
		body   map[string]any
	}{
		{ph.serial, map[string]any{"type": "earn", "points": 5000, "occurred_at": old}},
		{ph.serial, map[string]any{"type": "earn", "points": 1500}},
		{other, map[string]any{"type": "earn", "points": 6000}},
	} {
		if res, b := call(t, "POST", s.url+"/api/v1/members/"+e.member+"/transactions", e.body, "Idempotency-Key", fmt.Sprint(e)); res.StatusCode != 201 {
			t.Fatalf("earn %v = %d %s", e, res.StatusCode, b)
		}
	}
	// switchTo changes the window and waits for the change to reach every
	// card (the phone is pushed); the reviews are then planned.
	switchTo := func(window string) {
		t.Helper()
		pushedAndFetched(t, ae, s, ph, "after the switch to "+window, func() {
			patchDemo(t, s, `{"tier_window":"`+window+`"}`)
		})
		waitFor(t, func() bool {
			ids, err := s.Store.ProgramsToMark(context.Background())
			return err == nil && len(ids) == 0
		})
	}
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch = %d", st)
	}
	if got, _ := ph.field("headerFields", "tier"); got != "Gold" {
		t.Fatalf("tier on the pass under lifetime = %q, want Gold", got)
	}

	switchTo("rolling_365_days")
	clock.Add(time.Minute)
	pushedAndFetched(t, ae, s, ph, "after the review", func() {
		if n := runDue(t, s); n < 2 {
			t.Errorf("time-driven work after the switch did %d items, want both members reviewed", n)
		}
	})
	tier, _ := ph.fieldMap("headerFields", "tier")
	if tier["value"] != "Silver" || tier["changeMessage"] != "You are now %@" {
		t.Errorf("tier field after the switch to rolling_365_days = %v, want Silver with the change message", tier)
	}
	if got := memberTier(t, s, other); got != "Gold" {
		t.Errorf("member with today's sales under rolling_365_days: tier %q, want Gold", got)
	}

	switchTo("lifetime")
	clock.Add(time.Minute)
	pushedAndFetched(t, ae, s, ph, "after the review", func() { runDue(t, s) })
	if got, _ := ph.field("headerFields", "tier"); got != "Gold" {
		t.Errorf("tier on the pass back under lifetime = %q, want Gold", got)
	}
	if got := memberTier(t, s, ph.serial); got != "Gold" {
		t.Errorf("member back under lifetime: tier %q, want Gold", got)
	}
	if n := runDue(t, s); n != 0 {
		t.Errorf("time-driven work after the reviews did %d items, want none", n)
	}
}

// TestTierRulesChangeReviewedAtOnce: the running server reviews the
// members' tiers as soon as a change of the tier rules has reached their
// cards, not at the time-driven work's next poll (an hour here).
func TestTierRulesChangeReviewedAtOnce(t *testing.T) {
	t.Parallel()
	opts := fastSync
	opts.AutomationPoll = time.Hour
	s := start(t, nil, opts)
	id := enroll(t, s, "Ada Lovelace")["id"].(string)
	old := time.Now().Add(-400 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, e := range []map[string]any{
		{"type": "earn", "points": 5000, "occurred_at": old},
		{"type": "earn", "points": 1500},
	} {
		if res, b := call(t, "POST", s.url+"/api/v1/members/"+id+"/transactions", e, "Idempotency-Key", fmt.Sprint(e)); res.StatusCode != 201 {
			t.Fatalf("earn %v = %d %s", e, res.StatusCode, b)
		}
	}
	if got := memberTier(t, s, id); got != "Gold" {
		t.Fatalf("tier under lifetime = %q, want Gold", got)
	}
	patchDemo(t, s, `{"tier_window":"rolling_365_days"}`)
	waitFor(t, func() bool { return memberTier(t, s, id) == "Silver" })
}

// memberTier reads a member's tier through the API.
func memberTier(t *testing.T, s *started, id string) string {
	t.Helper()
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id, nil)
	var m struct {
		Tier string `json:"tier"`
	}
	if res.StatusCode != 200 || json.Unmarshal(b, &m) != nil {
		t.Fatalf("GET member = %d %s", res.StatusCode, b)
	}
	return m.Tier
}

// TestDormantMessageOnGoogleWallet: the Google object of a dormant member
// carries the programme's message as a text module until the next earn.
func TestDormantMessageOnGoogleWallet(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	clock := &testkit.ShiftedClock{}
	s := startWithGoogle(t, fake, func(o *server.Options) { o.Now = clock.Now; o.NoAutomations = true })
	patchDemo(t, s, `{"dormant":{"after_days":10,"message":"We miss you"}}`)
	id := enroll(t, s, "Ada Lovelace")["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	earnPoints(t, s, id, 20)
	waitFor(t, func() bool { got, _ := balanceAt(fake, objectID); return got == 20 })
	runDue(t, s)
	clock.Add(10*24*time.Hour + time.Minute)
	runDue(t, s)
	waitFor(t, func() bool { return strings.Contains(module(fake, objectID, "dormant"), "We miss you") })
	earnPoints(t, s, id, 5)
	waitFor(t, func() bool { return module(fake, objectID, "dormant") == "" })
}

// fieldMap reads the whole pass field key in the storeCard group (false
// when the pass has no such field).
func (p *phone) fieldMap(group, key string) (map[string]any, bool) {
	fs, _ := p.pass["storeCard"].(map[string]any)[group].([]any)
	for _, f := range fs {
		if m, _ := f.(map[string]any); m["key"] == key {
			return m, true
		}
	}
	return nil, false
}

// pushedAndFetched runs do, waits until it has pushed the phone and the
// card has no delivery pending, and has the phone fetch its pass (200,
// else the test fails naming when).
func pushedAndFetched(t *testing.T, ae appleEnv, s *started, ph *phone, when string, do func()) {
	t.Helper()
	base := delivered(ae.apns, pushToken)
	do()
	waitDelivered(t, ae.apns, pushToken, base+1)
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch %s = %d, want 200", when, st)
	}
}

package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/passd/passd/googlewallet/wallettest"
)

// stamp posts a stamp of count for a member through the API.
func stamp(t *testing.T, s *started, id string, count int, key string) map[string]any {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/members/"+id+"/transactions",
		map[string]any{"type": "stamp", "count": count}, "Idempotency-Key", key)
	var out map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("stamp %d: %d %s", count, res.StatusCode, b)
	}
	return out
}

// stampProgramme creates the stamp programme id through the API: the
// programme, its reward "Free coffee" and a PATCH naming it with goal.
func stampProgramme(t *testing.T, s *started, id string, goal int) {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/programs", map[string]any{
		"id": id, "name": "Cafe", "organization_name": "Cafe Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Cafe"}},
	})
	if res.StatusCode != 201 {
		t.Fatalf("POST /programs = %d %s", res.StatusCode, b)
	}
	res, b = call(t, "POST", s.url+"/api/v1/programs/"+id+"/rewards", map[string]any{"name": "Free coffee", "cost_points": 100})
	var reward map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &reward) != nil {
		t.Fatalf("POST rewards = %d %s", res.StatusCode, b)
	}
	patch := fmt.Sprintf(`{"stamps":{"goal":%d,"reward_id":%q}}`, goal, reward["id"])
	if res, p := programPatch(t, s, id, patch, `"1"`); res.StatusCode != 200 {
		t.Fatalf("PATCH %s = %d %v", id, res.StatusCode, p)
	}
}

// TestStampCardFillsToAVoucherOnThePhone: a merchant creates a stamp
// programme (POST /programs, a reward, a PATCH naming it) and a member's
// card is on a phone registered with the mock APNs. Each stamp pushes the
// phone; the pass shows "2 / 3", and once the stamps reach the goal the
// voucher ("1 reward ready", its code on the back) and the count back at
// "0 / 3".
func TestStampCardFillsToAVoucherOnThePhone(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	stampProgramme(t, s, "cafe", 3)

	ph := addPass(t, s, enrollIn(t, s, "cafe", "Ada Lovelace"), "device-stamps", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	if got, _ := ph.field("primaryFields", "stamps"); got != "0 / 3" {
		t.Fatalf("stamps on the new pass = %q, want \"0 / 3\"", got)
	}

	stamp(t, s, ph.serial, 2, "stamp-1")
	waitDelivered(t, ae.apns, pushToken, 1)
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch = %d", st)
	}
	if got, _ := ph.field("primaryFields", "stamps"); got != "2 / 3" {
		t.Errorf("stamps after 2 = %q, want \"2 / 3\"", got)
	}
	if _, ok := ph.field("auxiliaryFields", "rewards"); ok {
		t.Errorf("pass shows a reward before the card is full: %v", ph.pass["storeCard"])
	}

	base := delivered(ae.apns, pushToken)
	out := stamp(t, s, ph.serial, 1, "stamp-2")
	vs, _ := out["vouchers"].([]any)
	if len(vs) != 1 {
		t.Fatalf("vouchers of the stamp that filled the card = %v, want one", out["vouchers"])
	}
	code, _ := vs[0].(map[string]any)["code"].(string)
	waitDelivered(t, ae.apns, pushToken, base+1)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after the full card = %d", st)
	}
	if got, _ := ph.field("auxiliaryFields", "rewards"); got != "1 reward ready" {
		t.Errorf("rewards field after the full card = %q, want \"1 reward ready\"", got)
	}
	if back, _ := ph.field("backFields", "vouchers"); code == "" || !strings.Contains(back, code) || !strings.Contains(back, "Free coffee") {
		t.Errorf("vouchers back field = %q, want the code %q and the reward", back, code)
	}
	if got, _ := ph.field("primaryFields", "stamps"); got != "0 / 3" {
		t.Errorf("stamps after the full card = %q, want \"0 / 3\"", got)
	}
}

// module reads the text module id of a Google object ("" for none).
func module(fake *wallettest.Server, objectID, id string) string {
	mods, _ := fake.Object(objectID)["textModulesData"].([]any)
	for _, m := range mods {
		if m, _ := m.(map[string]any); m["id"] == id {
			h, _ := m["header"].(string)
			b, _ := m["body"].(string)
			return h + ": " + b
		}
	}
	return ""
}

// TestStampCardOnGoogleWallet: the Google object of a stamp card shows
// the count as a text module and, once the card is full, the voucher.
func TestStampCardOnGoogleWallet(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake)
	stampProgramme(t, s, "cafe", 3)
	id := enrollIn(t, s, "cafe", "Ada Lovelace")["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	stamp(t, s, id, 2, "stamp-1")
	waitFor(t, func() bool { return module(fake, objectID, "stamps") == "Stamps: 2 / 3" })
	stamp(t, s, id, 2, "stamp-2")
	waitFor(t, func() bool { return module(fake, objectID, "stamps") == "Stamps: 1 / 3" })
	if got := voucherModule(fake, objectID); !strings.HasPrefix(got, "1 reward ready: ") || !strings.Contains(got, "Free coffee") {
		t.Errorf("vouchers module = %q, want \"1 reward ready\" with the reward", got)
	}
}

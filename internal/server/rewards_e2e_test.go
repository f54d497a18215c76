package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/passd/passd/googlewallet/wallettest"
)

// field reads the value of the pass field key in the storeCard group
// ("" and false when the pass has no such field).
func (p *phone) field(group, key string) (string, bool) {
	fs, _ := p.pass["storeCard"].(map[string]any)[group].([]any)
	for _, f := range fs {
		if f.(map[string]any)["key"] == key {
			v, _ := f.(map[string]any)["value"].(string)
			return v, true
		}
	}
	return "", false
}

// TestRewardVoucherReachesThePhone buys a reward for a member whose card
// is on a phone registered with the mock APNs: the phone is pushed and the
// pass shows "1 reward ready" with the voucher's code on the back. Using
// the voucher pushes the phone again and both are gone; using it again is
// 409 voucher_used.
func TestRewardVoucherReachesThePhone(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	ph := addPass(t, s, enroll(t, s, "Ada Lovelace"), "device-rewards", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	earn(t, s, ph.serial, 200, "earn-1")
	waitDelivered(t, ae.apns, pushToken, 1)
	settled(t, s, ph.serial)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch = %d", st)
	}
	if _, ok := ph.field("auxiliaryFields", "rewards"); ok {
		t.Fatalf("pass shows rewards before any: %v", ph.pass["storeCard"])
	}

	res, b := call(t, "POST", s.url+"/api/v1/programs/demo/rewards", map[string]any{"name": "Free coffee", "cost_points": 150})
	var reward map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &reward) != nil {
		t.Fatalf("POST rewards = %d %s", res.StatusCode, b)
	}
	base := delivered(ae.apns, pushToken)
	res, b = call(t, "POST", s.url+"/api/v1/members/"+ph.serial+"/redemptions", map[string]any{"reward_id": reward["id"]}, "Idempotency-Key", "buy-1")
	var bought struct {
		Voucher struct{ Code string } `json:"voucher"`
	}
	if res.StatusCode != 201 || json.Unmarshal(b, &bought) != nil || bought.Voucher.Code == "" {
		t.Fatalf("POST redemptions = %d %s", res.StatusCode, b)
	}
	code := bought.Voucher.Code
	waitDelivered(t, ae.apns, pushToken, base+1)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after the redemption = %d, want 200", st)
	}
	if got, _ := ph.field("auxiliaryFields", "rewards"); got != "1 reward ready" {
		t.Errorf("rewards field after the redemption = %q, want \"1 reward ready\"", got)
	}
	if back, _ := ph.field("backFields", "vouchers"); !strings.Contains(back, code) || !strings.Contains(back, "Free coffee") {
		t.Errorf("vouchers back field = %q, want the code %s and the reward", back, code)
	}
	if ph.points() != 50 {
		t.Errorf("points on the pass = %v, want 50", ph.points())
	}

	settled(t, s, ph.serial)
	base = delivered(ae.apns, pushToken)
	res, b = call(t, "POST", s.url+"/api/v1/vouchers/"+code+"/use", nil, "Idempotency-Key", "use-1")
	if res.StatusCode != 200 || !strings.Contains(string(b), `"status":"used"`) {
		t.Fatalf("use = %d %s, want 200 used", res.StatusCode, b)
	}
	waitDelivered(t, ae.apns, pushToken, base+1)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after the use = %d, want 200", st)
	}
	if got, ok := ph.field("auxiliaryFields", "rewards"); ok {
		t.Errorf("rewards field after the use = %q, want none", got)
	}
	if got, ok := ph.field("backFields", "vouchers"); ok {
		t.Errorf("vouchers back field after the use = %q, want none", got)
	}

	res, b = call(t, "POST", s.url+"/api/v1/vouchers/"+code+"/use", nil, "Idempotency-Key", "use-2")
	if res.StatusCode != 409 || !strings.Contains(string(b), `"code":"voucher_used"`) {
		t.Errorf("use again = %d %s, want 409 voucher_used", res.StatusCode, b)
	}
}

// voucherModule reads the vouchers text module of a Google object ("" for
// none).
func voucherModule(fake *wallettest.Server, objectID string) string {
	return module(fake, objectID, "vouchers")
}

// TestRewardVoucherOnGoogleWallet: the Google object of a member who bought
// a reward shows it as a text module, which goes once the voucher is used.
func TestRewardVoucherOnGoogleWallet(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake)
	id := enroll(t, s, "Ada Lovelace")["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	earnPoints(t, s, id, 200)
	waitFor(t, func() bool { got, _ := balanceAt(fake, objectID); return got == 200 })

	res, b := call(t, "POST", s.url+"/api/v1/programs/demo/rewards", map[string]any{"name": "Free coffee", "cost_points": 150})
	var reward map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &reward) != nil {
		t.Fatalf("POST rewards = %d %s", res.StatusCode, b)
	}
	res, b = call(t, "POST", s.url+"/api/v1/members/"+id+"/redemptions", map[string]any{"reward_id": reward["id"]}, "Idempotency-Key", "buy-1")
	var bought struct {
		Voucher struct{ Code string } `json:"voucher"`
	}
	if res.StatusCode != 201 || json.Unmarshal(b, &bought) != nil {
		t.Fatalf("POST redemptions = %d %s", res.StatusCode, b)
	}
	waitFor(t, func() bool { got, _ := balanceAt(fake, objectID); return got == 50 })
	if got := voucherModule(fake, objectID); !strings.HasPrefix(got, "1 reward ready: ") || !strings.Contains(got, bought.Voucher.Code) {
		t.Errorf("vouchers module = %q, want \"1 reward ready\" with the code %s", got, bought.Voucher.Code)
	}
	res, b = call(t, "POST", s.url+"/api/v1/vouchers/"+bought.Voucher.Code+"/use", nil, "Idempotency-Key", "use-1")
	if res.StatusCode != 200 {
		t.Fatalf("use = %d %s", res.StatusCode, b)
	}
	waitFor(t, func() bool { return voucherModule(fake, objectID) == "" })
}

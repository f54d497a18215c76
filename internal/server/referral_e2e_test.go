package server_test

import (
	"encoding/json"
	"testing"
)

// apiOf answers a caller of s's JSON API under /api/v1 that answers the
// status and the decoded body.
func apiOf(t *testing.T, s *started) func(method, path string, body any, hdr ...string) (int, map[string]any) {
	return func(method, path string, body any, hdr ...string) (int, map[string]any) {
		t.Helper()
		res, b := call(t, method, s.url+"/api/v1"+path, body, hdr...)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return res.StatusCode, out
	}
}

// TestReferralStory runs a referral through a whole passd: Ada enrols and
// has a welcome bonus; Bea enrols with Ada's code; Bea's first earn
// credits both, and both phones are pushed and fetch passes with the new
// balances (Ada's back shows her referral link).
func TestReferralStory(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastPrograms())
	api := apiOf(t, s)
	st, prog := api("POST", "/programs", map[string]any{
		"id": "cafe", "name": "Cafe Club", "organization_name": "Cafe Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"welcome_bonus": 20, "referral": map[string]any{"referrer_points": 100, "referee_points": 50},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Cafe Club"}},
	})
	if st != 201 {
		t.Fatalf("create programme = %d %v", st, prog)
	}
	st, ada := api("POST", "/programs/cafe/members", map[string]any{"name": "Ada", "email": "ada@example.com"})
	if st != 201 || ada["points"] != float64(20) {
		t.Fatalf("enrol Ada = %d %v, want 201 with the welcome bonus of 20", st, ada)
	}
	st, bea := api("POST", "/programs/cafe/members", map[string]any{"name": "Bea", "email": "bea@example.com", "referral_code": ada["referral_code"]})
	if st != 201 || bea["points"] != float64(20) {
		t.Fatalf("enrol Bea with Ada's code = %d %v", st, bea)
	}
	phones := map[string]*phone{
		"Ada": addPass(t, s, ada, "device-ref-ada", "ada0000000000000000000000000000000000000000000000000000000000001"),
		"Bea": addPass(t, s, bea, "device-ref-bea", "bea0000000000000000000000000000000000000000000000000000000000002"),
	}
	base := map[string]int{}
	for name, ph := range phones {
		if got := ph.register(ph.token); got != 201 {
			t.Fatalf("register %s's phone = %d", name, got)
		}
		waitFor(t, func() bool { return appleSynced(t, s, ph.serial) })
		base[name] = delivered(ae.apns, ph.pushToken)
	}
	var back bool
	for _, f := range phones["Ada"].pass["storeCard"].(map[string]any)["backFields"].([]any) {
		back = back || f.(map[string]any)["value"] == ada["referral_url"]
	}
	if !back {
		t.Errorf("Ada's pass has no back field with her referral_url %v", ada["referral_url"])
	}

	earn(t, s, bea["id"].(string), 7, "ref-bea-1")
	for name, want := range map[string]float64{"Ada": 20 + 100, "Bea": 20 + 7 + 50} {
		ph := phones[name]
		waitDelivered(t, ae.apns, ph.pushToken, base[name]+1)
		waitFor(t, func() bool { return appleSynced(t, s, ph.serial) })
		if st := ph.fetch(); st != 200 {
			t.Fatalf("%s's phone fetch = %d, want 200", name, st)
		}
		if got := ph.points(); got != want {
			t.Errorf("%s's pass shows %v points, want %v", name, got, want)
		}
	}
}

package server_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// message reads the merchant message the phone's pass shows ("" for none).
func (p *phone) message() string {
	back, _ := p.pass["storeCard"].(map[string]any)["backFields"].([]any) // none: no message
	for _, f := range back {
		if f.(map[string]any)["key"] == "message" {
			return f.(map[string]any)["value"].(string)
		}
	}
	return ""
}

// TestMessagesReachOnlyTheirCards messages one member, then one tier, of a
// program whose three members each hold their card on a phone registered
// with the mock APNs: only the addressed members' phones are pushed, and
// their passes show the message.
func TestMessagesReachOnlyTheirCards(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	names := []string{"Ada", "Bob", "Silvia"}
	phones := map[string]*phone{}
	for i, name := range names {
		phones[name] = addPass(t, s, enroll(t, s, name), "device-"+name, fmt.Sprintf("%064x", i+1))
		if got := phones[name].register(phones[name].token); got != 201 {
			t.Fatalf("register %s = %d", name, got)
		}
	}
	earn(t, s, phones["Silvia"].serial, 1500, "silver") // Silver from 1,000 points
	waitDelivered(t, ae.apns, phones["Silvia"].pushToken, 1)
	for _, ph := range phones {
		settled(t, s, ph.serial)
		if st := ph.fetch(); st != 200 && st != 304 {
			t.Fatalf("fetch = %d", st)
		}
	}
	// pushed answers each phone's delivered pushes beyond base, once every
	// card's delivery is done.
	pushed := func(base map[string]int) map[string]int {
		t.Helper()
		out := map[string]int{}
		for name, ph := range phones {
			settled(t, s, ph.serial)
			out[name] = delivered(ae.apns, ph.pushToken) - base[name]
		}
		return out
	}
	base := pushed(nil)

	post := func(path string, body map[string]any) {
		t.Helper()
		res, b := call(t, "POST", s.url+path, body)
		var out map[string]any
		if res.StatusCode != 202 || json.Unmarshal(b, &out) != nil || out["cards"] != float64(1) {
			t.Fatalf("POST %s = %d %s, want 202 with one card", path, res.StatusCode, b)
		}
	}

	post("/api/v1/members/"+phones["Ada"].serial+"/messages", map[string]any{"text": "Your cake is ready, Ada"})
	waitDelivered(t, ae.apns, phones["Ada"].pushToken, base["Ada"]+1)
	if got := pushed(base); got["Ada"] != 1 || got["Bob"] != 0 || got["Silvia"] != 0 {
		t.Errorf("pushes after a message to Ada = %v, want Ada's phone only", got)
	}
	if st := phones["Ada"].fetch(); st != 200 || phones["Ada"].message() != "Your cake is ready, Ada" {
		t.Errorf("Ada's pass after her message = %d, message %q", st, phones["Ada"].message())
	}
	if st := phones["Bob"].fetch(); st != 304 {
		t.Errorf("Bob's pass after Ada's message = %d, want 304 (unchanged)", st)
	}
	base = pushed(nil)

	post("/api/v1/programs/demo/messages", map[string]any{"text": "Silver night on Friday", "tier": "Silver"})
	waitDelivered(t, ae.apns, phones["Silvia"].pushToken, base["Silvia"]+1)
	if got := pushed(base); got["Silvia"] != 1 || got["Ada"] != 0 || got["Bob"] != 0 {
		t.Errorf("pushes after a Silver message = %v, want Silvia's phone only", got)
	}
	if st := phones["Silvia"].fetch(); st != 200 || phones["Silvia"].message() != "Silver night on Friday" {
		t.Errorf("Silvia's pass after the Silver message = %d, message %q", st, phones["Silvia"].message())
	}
	for _, name := range []string{"Ada", "Bob"} {
		if st := phones[name].fetch(); st != 304 {
			t.Errorf("%s's pass after the Silver message = %d, want 304 (unchanged)", name, st)
		}
	}
}

// TestProfileEditReachesThePhone renames a member through PATCH: the phone
// holding the card is pushed and its pass shows the new name.
func TestProfileEditReachesThePhone(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	ph := addPass(t, s, enroll(t, s, "Ada Lovelace"), "device-rename", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	settled(t, s, ph.serial)
	base := delivered(ae.apns, pushToken)
	res, b := call(t, "PATCH", s.url+"/api/v1/members/"+ph.serial, map[string]any{"name": "Ada King"}, "Content-Type", "application/merge-patch+json")
	if res.StatusCode != 200 {
		t.Fatalf("PATCH = %d %s", res.StatusCode, b)
	}
	waitDelivered(t, ae.apns, pushToken, base+1)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after the rename = %d, want 200", st)
	}
	var name any
	for _, f := range ph.pass["storeCard"].(map[string]any)["secondaryFields"].([]any) {
		if f.(map[string]any)["key"] == "name" {
			name = f.(map[string]any)["value"]
		}
	}
	if name != "Ada King" {
		t.Errorf("name on the pass = %v, want Ada King", name)
	}
}

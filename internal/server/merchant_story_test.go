package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestMerchantStory runs the merchant's side of a programme against a
// whole passd, through its HTTP surfaces only (the JSON API, the PassKit
// web service, the pass links) with phones registered at the mock APNs:
// create a programme, change it (refused when stale or invalid), see the
// phones pushed and the re-fetched passes in the new look, correct a
// member's profile and consent and find it in the export, search by
// prefix, email and tier, message one member and one tier and see only
// their phones pushed, and revoke a till's key.
func TestMerchantStory(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastPrograms())
	api := apiOf(t, s)

	// An admin creates the programme: two tiers, Silver with its own look.
	st, prog := api("POST", "/programs", map[string]any{
		"id": "bistro", "name": "Bistro Club", "organization_name": "Bistro Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"tiers": []any{
			map[string]any{"name": "Bronze", "threshold": 0},
			map[string]any{"name": "Silver", "threshold": 100, "colors": map[string]any{"background": "#c0c0c0"}},
		},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Bistro Club"}},
	})
	if st != 201 || prog["version"] != float64(1) {
		t.Fatalf("create programme = %d %v", st, prog)
	}

	// Three members, each with the card on a registered phone; Cleo
	// reaches Silver.
	phones := map[string]*phone{}
	for i, name := range []string{"Ada", "Bob", "Cleo"} {
		st, m := api("POST", "/programs/bistro/members", map[string]any{"name": name + " Example", "email": name + "@example.com"})
		if st != 201 || m["marketing_opt_in"] != false {
			t.Fatalf("enrol %s = %d %v, want 201 without marketing consent", name, st, m)
		}
		phones[name] = addPass(t, s, m, "device-story-"+name, fmt.Sprintf("%064x", 0x5700+i))
		if got := phones[name].register(phones[name].token); got != 201 {
			t.Fatalf("register %s's phone = %d", name, got)
		}
	}
	earn(t, s, phones["Cleo"].serial, 150, "story-cleo-1")
	quiet := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for name, ph := range phones {
			waitFor(t, func() bool { return appleSynced(t, s, ph.serial) })
			out[name] = delivered(ae.apns, ph.pushToken)
		}
		return out
	}
	fetchAll := func() {
		t.Helper()
		for name, ph := range phones {
			if st := ph.fetch(); st != 200 && st != 304 {
				t.Fatalf("%s's phone fetch = %d", name, st)
			}
		}
	}
	base := quiet()
	fetchAll()
	if bg := phones["Cleo"].pass["backgroundColor"]; bg != "rgb(192, 192, 192)" {
		t.Fatalf("Cleo's Silver card background = %v, want Silver's rgb(192, 192, 192)", bg)
	}

	// A stale change and an invalid one are refused and reach no phone.
	patch := func(body, ifMatch string) (int, map[string]any) {
		t.Helper()
		return api("PATCH", "/programs/bistro", json.RawMessage(body), "Content-Type", "application/merge-patch+json", "If-Match", ifMatch)
	}
	if st, p := patch(`{"colors":{"background":"#000080"}}`, `"7"`); st != 412 || p["code"] != "version_mismatch" {
		t.Fatalf("stale PATCH = %d %v, want 412 version_mismatch", st, p)
	}
	if st, p := patch(`{"colors":{"background":"navy"},"expiry":{"after_days":0}}`, `"1"`); st != 422 || p["code"] != "validation_failed" ||
		!slices.Equal(fieldsOf(p), []string{"colors.background", "expiry.after_days"}) {
		t.Fatalf("invalid PATCH = %d %v, want 422 naming colors.background and expiry.after_days", st, p)
	}
	if st, p := api("GET", "/programs/bistro", nil); st != 200 || p["version"] != float64(1) {
		t.Fatalf("programme after refused changes = %d %v, want version 1", st, p)
	}

	// The change: every phone is pushed; Ada's and Bob's passes show the
	// new colour, Cleo's keeps Silver's own.
	if st, p := patch(`{"colors":{"background":"#000080"}}`, `"1"`); st != 200 || p["version"] != float64(2) {
		t.Fatalf("PATCH = %d %v, want 200 at version 2", st, p)
	}
	for name, ph := range phones {
		waitDelivered(t, ae.apns, ph.pushToken, base[name]+1)
	}
	quiet()
	fetchAll()
	for name, want := range map[string]string{"Ada": "rgb(0, 0, 128)", "Bob": "rgb(0, 0, 128)", "Cleo": "rgb(192, 192, 192)"} {
		if bg := phones[name].pass["backgroundColor"]; bg != want {
			t.Errorf("%s's pass after the change: backgroundColor %v, want %s", name, bg, want)
		}
	}

	// The merchant corrects Ada's email and records her consent; the
	// export lists both answers.
	ada := phones["Ada"].serial
	if st, m := api("PATCH", "/members/"+ada, map[string]any{"email": "ada@lovelace.example", "marketing_opt_in": true},
		"Content-Type", "application/merge-patch+json"); st != 200 || m["email"] != "ada@lovelace.example" || m["marketing_opt_in"] != true {
		t.Fatalf("PATCH member = %d %v", st, m)
	}
	st, ex := api("GET", "/members/"+ada+"/export", nil)
	consents, _ := ex["consents"].([]any)
	if st != 200 || len(consents) != 2 ||
		consents[0].(map[string]any)["marketing_opt_in"] != false || consents[0].(map[string]any)["source"] != "api" ||
		consents[1].(map[string]any)["marketing_opt_in"] != true || consents[1].(map[string]any)["source"] != "api_patch" {
		t.Fatalf("export consents = %d %v, want the enrolment's no then the patch's yes", st, ex["consents"])
	}

	// Search by a name prefix in any case, by email in any case, by tier.
	for query, want := range map[string][]string{
		"q=aD": {ada},
		"email=" + url.QueryEscape("ADA@Lovelace.example"): {ada},
		"tier=Silver": {phones["Cleo"].serial},
		"q=bob":       {phones["Bob"].serial},
	} {
		st, page := api("GET", "/programs/bistro/members?"+query, nil)
		var got []string
		for _, it := range page["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if st != 200 || !slices.Equal(got, want) {
			t.Errorf("search %s = %d %v, want %v", query, st, got, want)
		}
	}

	// A message to one member reaches only her phone; one to a tier only
	// that tier's phones.
	base = quiet()
	pushedSince := func(base map[string]int) map[string]int {
		t.Helper()
		now := quiet()
		for name := range now {
			now[name] -= base[name]
		}
		return now
	}
	if st, out := api("POST", "/members/"+ada+"/messages", map[string]any{"text": "Your table is ready"}); st != 202 || out["cards"] != float64(1) {
		t.Fatalf("message Ada = %d %v", st, out)
	}
	waitDelivered(t, ae.apns, phones["Ada"].pushToken, base["Ada"]+1)
	if got := pushedSince(base); got["Ada"] != 1 || got["Bob"] != 0 || got["Cleo"] != 0 {
		t.Errorf("pushes after a message to Ada = %v, want her phone only", got)
	}
	base = quiet()
	if st, out := api("POST", "/programs/bistro/messages", map[string]any{"text": "Silver tasting on Friday", "tier": "Silver"}); st != 202 || out["cards"] != float64(1) {
		t.Fatalf("message Silver = %d %v", st, out)
	}
	waitDelivered(t, ae.apns, phones["Cleo"].pushToken, base["Cleo"]+1)
	if got := pushedSince(base); got["Cleo"] != 1 || got["Ada"] != 0 || got["Bob"] != 0 {
		t.Errorf("pushes after a message to Silver = %v, want Cleo's phone only", got)
	}
	fetchAll()
	if m := phones["Ada"].message(); m != "Your table is ready" {
		t.Errorf("Ada's pass message = %q", m)
	}
	if m := phones["Cleo"].message(); m != "Silver tasting on Friday" {
		t.Errorf("Cleo's pass message = %q", m)
	}
	if m := phones["Bob"].message(); m != "" {
		t.Errorf("Bob's pass message = %q, want none", m)
	}

	// A till's key is revoked: it answers 401 from its next request on.
	st, key := api("POST", "/apikeys", map[string]any{"role": "pos", "program": "bistro"})
	if st != 201 {
		t.Fatalf("create key = %d %v", st, key)
	}
	asTill := func() int {
		res, _ := call(t, "GET", s.url+"/api/v1/members/"+ada, nil, "Authorization", "Bearer "+key["key"].(string))
		return res.StatusCode
	}
	if got := asTill(); got != http.StatusOK {
		t.Fatalf("the till's key before revocation = %d, want 200", got)
	}
	if st, _ := api("DELETE", "/apikeys/"+key["id"].(string), nil); st != 204 {
		t.Fatalf("revoke = %d, want 204", st)
	}
	if got := asTill(); got != http.StatusUnauthorized {
		t.Errorf("the till's key after revocation = %d, want 401", got)
	}
}

// appleSynced reads, from the member's export, whether the Apple card has
// been delivered at its latest version.
func appleSynced(t *testing.T, s *started, id string) bool {
	t.Helper()
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id+"/export", nil)
	var ex struct {
		Sync []struct {
			Channel       string `json:"channel"`
			WantedVersion int64  `json:"wanted_version"`
			SyncedVersion int64  `json:"synced_version"`
		} `json:"sync"`
	}
	if res.StatusCode != 200 || json.Unmarshal(b, &ex) != nil {
		t.Fatalf("export %s = %d %s", id, res.StatusCode, b)
	}
	for _, c := range ex.Sync {
		if c.Channel == "apple" {
			return c.SyncedVersion == c.WantedVersion
		}
	}
	return false
}

// fieldsOf lists the fields a 422 problem names, in order.
func fieldsOf(p map[string]any) []string {
	var out []string
	for _, e := range p["errors"].([]any) {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

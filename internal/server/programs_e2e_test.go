package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/testpg"
)

// programPatch sends a merge patch of a programme as the merchant's back
// office would.
func programPatch(t *testing.T, s *started, id, patch, ifMatch string) (*http.Response, map[string]any) {
	t.Helper()
	res, b := call(t, "PATCH", s.url+"/api/v1/programs/"+id, json.RawMessage(patch),
		"Content-Type", "application/merge-patch+json", "If-Match", ifMatch)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return res, out
}

// fastPrograms adds a quick programme worker to fastSync.
func fastPrograms() server.Options {
	o := fastSync
	o.ProgramPoll = 50 * time.Millisecond
	return o
}

func TestProgramChangeReachesRegisteredPhone(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastPrograms())
	ph := addPass(t, s, enroll(t, s, "Ada"), "device-prog", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d, want 201", got)
	}
	settled(t, s, ph.serial)
	if bg := ph.pass["backgroundColor"]; bg != "rgb(59, 47, 47)" {
		t.Fatalf("backgroundColor before = %v, want the template's", bg)
	}
	pushes := delivered(ae.apns, pushToken)

	// An admin creates another programme; demo's cards are not touched.
	res, b := call(t, "POST", s.url+"/api/v1/programs", map[string]any{
		"id": "bakery", "name": "Bakery", "organization_name": "Bakery Ltd",
		"colors":   map[string]any{"background": "#112233", "foreground": "#ffffff", "label": "#eeeeee"},
		"currency": "EUR", "earn": map[string]any{"points_per_unit": 1},
		"tiers":          []any{map[string]any{"name": "Member", "threshold": 0}},
		"default_locale": "en", "locales": map[string]any{"en": map[string]any{"program_name": "Bakery"}},
	})
	if res.StatusCode != 201 || res.Header.Get("Location") != "/api/v1/programs/bakery" {
		t.Fatalf("POST /programs = %d %s, Location %q", res.StatusCode, b, res.Header.Get("Location"))
	}
	res, b = call(t, "POST", s.url+"/api/v1/programs/bakery/members", map[string]any{"name": "Grace"})
	if res.StatusCode != 201 {
		t.Fatalf("enrol in the new programme = %d %s", res.StatusCode, b)
	}
	var grace map[string]any
	_ = json.Unmarshal(b, &grace)
	if res, pkpass := call(t, "GET", s.localURL(grace["apple_pass_url"].(string)), nil); res.StatusCode != 200 || passJSON(t, pkpass)["backgroundColor"] != "rgb(17, 34, 51)" {
		t.Errorf("the new programme's pass = %d, want 200 in its colours", res.StatusCode)
	}

	// The merchant changes demo's colours: the phone is pushed and its
	// pass shows them.
	res, p := programPatch(t, s, "demo", `{"colors":{"background":"#000080"}}`, `"1"`)
	if res.StatusCode != 200 || p["version"] != float64(2) || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("PATCH demo = %d %v", res.StatusCode, p)
	}
	waitDelivered(t, ae.apns, pushToken, pushes+1)
	if st, serials := ph.updated(); st != 200 || len(serials) != 1 || serials[0] != ph.serial {
		t.Fatalf("serials after the programme change = %d %v, want this pass", st, serials)
	}
	if st := ph.fetch(); st != 200 || ph.pass["backgroundColor"] != "rgb(0, 0, 128)" {
		t.Fatalf("fetch after the programme change = %d, backgroundColor %v; want 200 with rgb(0, 0, 128)", st, ph.pass["backgroundColor"])
	}
	settled(t, s, ph.serial)
	pushes = delivered(ae.apns, pushToken)

	// A stale If-Match and an invalid patch are refused, write nothing and
	// push nothing: after the worker's own pass no card is due.
	if res, p := programPatch(t, s, "demo", `{"colors":{"background":"#800000"}}`, `"1"`); res.StatusCode != 412 || p["code"] != "version_mismatch" {
		t.Errorf("stale PATCH = %d %v, want 412 version_mismatch", res.StatusCode, p)
	}
	if res, p := programPatch(t, s, "demo", `{"colors":{"background":"maroon"}}`, `"2"`); res.StatusCode != 422 || p["code"] != "validation_failed" {
		t.Errorf("invalid PATCH = %d %v, want 422 validation_failed", res.StatusCode, p)
	}
	if err := s.ProgramService.Work(context.Background()); err != nil {
		t.Fatalf("Work = %v", err)
	}
	if st := syncState(t, s, ph.serial); st.State != loyalty.SyncOK || st.SyncedVersion != st.WantedVersion {
		t.Errorf("after refused changes the card is due: %+v", st)
	}
	if n := delivered(ae.apns, pushToken); n != pushes {
		t.Errorf("pushes after refused changes = %d, want %d", n, pushes)
	}
	if st := ph.fetch(); st != 304 {
		t.Errorf("fetch after refused changes = %d, want 304", st)
	}
}

func TestProgramChangeSeenFromAnotherInstance(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	env := map[string]string{"PASSD_DATABASE_URL": testpg.FreshSchema(t), "PASSD_SECRET": strings.Repeat("shared-secret-", 3)}
	for k, v := range ae.env {
		env[k] = v
	}
	a := start(t, env, fastPrograms())
	// b never polls for programme changes during the test: only the
	// card's programme version can make it load the change.
	slow := fastSync
	slow.ProgramPoll = time.Hour
	b := start(t, env, slow)
	ph := addPass(t, a, enroll(t, a, "Pat"), "device-prog-pg", pushToken)
	ph.register(ph.token)
	settled(t, a, ph.serial)
	pushes := delivered(ae.apns, pushToken)

	if res, p := programPatch(t, a, "demo", `{"colors":{"background":"#006400"}}`, `"1"`); res.StatusCode != 200 {
		t.Fatalf("PATCH on a = %d %v", res.StatusCode, p)
	}
	waitDelivered(t, ae.apns, pushToken, pushes+1)
	ph.s, ph.ws = b, b.url+"/passkit"
	if st := ph.fetch(); st != 200 || ph.pass["backgroundColor"] != "rgb(0, 100, 0)" {
		t.Fatalf("fetch from b = %d, backgroundColor %v; want 200 with rgb(0, 100, 0)", st, ph.pass["backgroundColor"])
	}
	res, body := call(t, "GET", b.url+"/api/v1/programs/demo", nil)
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"2"` || !strings.Contains(string(body), "#006400") {
		t.Errorf("GET demo on b = %d ETag %q %s, want version 2", res.StatusCode, res.Header.Get("ETag"), body)
	}
}

func TestProgramChangeUpdatesGoogleClass(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake, func(o *server.Options) { o.ProgramPoll = 50 * time.Millisecond })
	classID := wallettest.IssuerID + ".demo"
	waitFor(t, func() bool { return fake.Class(classID)["hexBackgroundColor"] == "#3b2f2f" })
	if res, p := programPatch(t, s, "demo", `{"colors":{"background":"#000080"}}`, `"1"`); res.StatusCode != 200 {
		t.Fatalf("PATCH demo = %d %v", res.StatusCode, p)
	}
	waitFor(t, func() bool { return fake.Class(classID)["hexBackgroundColor"] == "#000080" })
}

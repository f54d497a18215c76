package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/testpg"
	"github.com/passd/passd/passkit/apns/apnstest"
)

// appleEnv is a mock APNs that trusts passd's development pass certificate,
// and the environment that points a passd at it. The dev certificates are
// made before passd starts, in the data folder passd will reuse.
type appleEnv struct {
	apns *apnstest.Server
	env  map[string]string
}

func newAppleEnv(t *testing.T) appleEnv {
	t.Helper()
	mock, env := servertest.Apple(t, t.TempDir())
	return appleEnv{apns: mock, env: env}
}

// fastSync makes deliveries and retries quick enough for tests.
var fastSync = server.Options{SyncPoll: 20 * time.Millisecond, SyncDebounce: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond}

// phone plays an iPhone holding one member's pass.
type phone struct {
	t          *testing.T
	s          *started
	device     string
	pushToken  string
	ws         string // webServiceURL, pointed at the test server
	passType   string
	serial     string
	token      string
	modified   string // Last-Modified of the pass it holds
	pass       map[string]any
	lastUpdate string // the tag of its last "serials updated since" call
}

// addPass downloads a member's pass through its signed link, as Safari
// would, and reads the web service keys from pass.json.
func addPass(t *testing.T, s *started, m map[string]any, device, pushToken string) *phone {
	t.Helper()
	res, body := call(t, "GET", s.localURL(m["apple_pass_url"].(string)), nil)
	if res.StatusCode != 200 {
		t.Fatalf("download pass: %d", res.StatusCode)
	}
	p := &phone{t: t, s: s, device: device, pushToken: pushToken, modified: res.Header.Get("Last-Modified")}
	p.pass = passJSON(t, body)
	if ws := p.pass["webServiceURL"]; ws != config.DefaultPublicURL+"/passkit" {
		t.Fatalf("webServiceURL = %v, want %s/passkit", ws, config.DefaultPublicURL)
	}
	p.ws = s.url + "/passkit"
	p.passType = p.pass["passTypeIdentifier"].(string)
	p.serial = p.pass["serialNumber"].(string)
	p.token = p.pass["authenticationToken"].(string)
	return p
}

func passJSON(t *testing.T, pkpass []byte) map[string]any {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		t.Fatalf("pass is not a zip: %v", err)
	}
	for _, f := range zr.File {
		if f.Name == "pass.json" {
			rc, _ := f.Open()
			defer rc.Close()
			var m map[string]any
			if err := json.NewDecoder(rc).Decode(&m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("pass.json missing")
	return nil
}

func (p *phone) do(method, path, auth string, body []byte, hdr ...string) (*http.Response, []byte) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.ws+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "ApplePass "+auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func (p *phone) register(token string) int {
	p.t.Helper()
	res, _ := p.do("POST", fmt.Sprintf("/v1/devices/%s/registrations/%s/%s", p.device, p.passType, p.serial), token,
		[]byte(`{"pushToken":"`+p.pushToken+`"}`))
	return res.StatusCode
}

// updated asks which serials changed since its last tag.
func (p *phone) updated() (int, []string) {
	p.t.Helper()
	q := ""
	if p.lastUpdate != "" {
		q = "?passesUpdatedSince=" + p.lastUpdate
	}
	res, b := p.do("GET", fmt.Sprintf("/v1/devices/%s/registrations/%s%s", p.device, p.passType, q), "", nil)
	if res.StatusCode != 200 {
		return res.StatusCode, nil
	}
	var out struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   string   `json:"lastUpdated"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.LastUpdated == "" {
		p.t.Fatalf("serials answer %s: %v", b, err)
	}
	p.lastUpdate = out.LastUpdated
	return 200, out.SerialNumbers
}

// fetch asks for the latest pass with If-Modified-Since, as iOS does.
func (p *phone) fetch() int {
	p.t.Helper()
	res, b := p.do("GET", fmt.Sprintf("/v1/passes/%s/%s", p.passType, p.serial), p.token, nil, "If-Modified-Since", p.modified)
	if res.StatusCode == 200 {
		p.pass = passJSON(p.t, b)
		lm := res.Header.Get("Last-Modified")
		prev, _ := http.ParseTime(p.modified)
		now, err := http.ParseTime(lm)
		if err != nil || !now.After(prev) {
			p.t.Fatalf("Last-Modified %q after %q: not strictly later", lm, p.modified)
		}
		p.modified = lm
	}
	return res.StatusCode
}

// points reads the balance the phone's pass shows.
func (p *phone) points() float64 {
	for _, f := range p.pass["storeCard"].(map[string]any)["primaryFields"].([]any) {
		if f.(map[string]any)["key"] == "points" {
			return f.(map[string]any)["value"].(float64)
		}
	}
	p.t.Fatal("no points field")
	return -1
}

// delivered counts the pushes APNs accepted for a token.
func delivered(a *apnstest.Server, token string) int {
	n := 0
	for _, p := range a.PushesTo(token) {
		if p.Status == 200 {
			n++
		}
	}
	return n
}

func waitDelivered(t *testing.T, a *apnstest.Server, token string, n int) {
	t.Helper()
	waitFor(t, func() bool { return delivered(a, token) >= n })
}

func earn(t *testing.T, s *started, id string, points int, key string) {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/members/"+id+"/transactions",
		map[string]any{"type": "earn", "points": points}, "Idempotency-Key", key)
	if res.StatusCode != 201 {
		t.Fatalf("earn: %d %s", res.StatusCode, b)
	}
}

const pushToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

func TestIPhoneLifecycle(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	m := enroll(t, s, "Ada Lovelace")
	ph := addPass(t, s, m, "device-1", pushToken)

	if got := ph.register("wrong-token-wrong-token"); got != 401 {
		t.Fatalf("register with a wrong token = %d, want 401", got)
	}
	settled(t, s, ph.serial) // the enrolment's own delivery (to nobody) is done
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d, want 201", got)
	}
	if got := ph.register(ph.token); got != 200 {
		t.Fatalf("register again = %d, want 200", got)
	}
	if st, serials := ph.updated(); st != 200 || len(serials) != 1 || serials[0] != ph.serial {
		t.Fatalf("serials (no tag) = %d %v, want this pass", st, serials)
	}
	if st, _ := ph.updated(); st != 204 {
		t.Fatalf("serials since the last tag = %d, want 204", st)
	}

	earn(t, s, ph.serial, 100, "e1")
	waitDelivered(t, ae.apns, pushToken, 1)
	push := ae.apns.PushesTo(pushToken)[0]
	if push.Topic != config.DefaultPassTypeID || string(push.Body) != "{}" || push.Proto != "HTTP/2.0" {
		t.Errorf("push = topic %q body %q proto %q, want the pass type, {} and HTTP/2", push.Topic, push.Body, push.Proto)
	}
	if st, serials := ph.updated(); st != 200 || len(serials) != 1 {
		t.Fatalf("serials after the push = %d %v, want this pass", st, serials)
	}
	if st := ph.fetch(); st != 200 || ph.points() != 100 {
		t.Fatalf("fetch after the push = %d, points %v; want 200 with 100", st, ph.points())
	}
	if st := ph.fetch(); st != 304 {
		t.Fatalf("fetch again = %d, want 304", st)
	}
	if st, _ := ph.updated(); st != 204 {
		t.Fatalf("serials with nothing new = %d, want 204", st)
	}

	// Two earns within one second both reach the phone.
	earn(t, s, ph.serial, 10, "e2")
	waitDelivered(t, ae.apns, pushToken, 2)
	if st := ph.fetch(); st != 200 || ph.points() != 110 {
		t.Fatalf("fetch after the second earn = %d, points %v; want 200 with 110", st, ph.points())
	}
	earn(t, s, ph.serial, 5, "e3")
	waitDelivered(t, ae.apns, pushToken, 3)
	if st := ph.fetch(); st != 200 || ph.points() != 115 {
		t.Fatalf("fetch after an earn in the same second = %d, points %v; want 200 with 115", st, ph.points())
	}

	// Unregister: no more pushes are wanted for this device.
	res, _ := ph.do("DELETE", fmt.Sprintf("/v1/devices/%s/registrations/%s/%s", ph.device, ph.passType, ph.serial), ph.token, nil)
	if res.StatusCode != 200 {
		t.Fatalf("unregister = %d, want 200", res.StatusCode)
	}
	regs, err := s.Store.RegistrationsFor(context.Background(), ph.serial)
	if err != nil || len(regs) != 0 {
		t.Fatalf("registrations after unregister = %v, %v", regs, err)
	}

	// The log endpoint takes messages.
	if res, _ := ph.do("POST", "/v1/log", "", []byte(`{"logs":["hello from the phone"]}`)); res.StatusCode != 200 {
		t.Errorf("log = %d, want 200", res.StatusCode)
	}
	// A doubled slash in the web service URL is tolerated.
	ph.ws = s.url + "/passkit/"
	if st, _ := ph.updated(); st != 204 {
		t.Errorf("serials via a doubled slash = %d, want 204", st)
	}
}

func TestUnregisteredTokenIsRemoved(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	ph := addPass(t, s, enroll(t, s, "Grace"), "device-410", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d", got)
	}
	ae.apns.Script(apnstest.Rule{Token: pushToken, Times: 1, Reply: apnstest.Unregistered(time.Now().Add(time.Second))})
	earn(t, s, ph.serial, 5, "k")
	waitFor(t, func() bool {
		regs, err := s.Store.RegistrationsFor(context.Background(), ph.serial)
		return err == nil && len(regs) == 0
	})
	waitFor(t, func() bool { return syncState(t, s, ph.serial).State == loyalty.SyncOK })
}

func TestServiceUnavailableThenDelivered(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	ph := addPass(t, s, enroll(t, s, "Lin"), "device-503", pushToken)
	ph.register(ph.token)
	settled(t, s, ph.serial)
	before, ok := len(ae.apns.PushesTo(pushToken)), delivered(ae.apns, pushToken)
	ae.apns.Script(apnstest.Rule{Token: pushToken, Times: 3, Reply: apnstest.ServiceUnavailable()})
	earn(t, s, ph.serial, 5, "k")
	waitDelivered(t, ae.apns, pushToken, ok+1)
	if n := len(ae.apns.PushesTo(pushToken)) - before; n != 4 {
		t.Errorf("pushes = %d, want three 503s and then the 200", n)
	}
	settled(t, s, ph.serial)
}

// settled waits until the member's Apple card has no delivery pending.
func settled(t *testing.T, s *started, id string) {
	t.Helper()
	waitFor(t, func() bool {
		st := syncState(t, s, id)
		return st.State == loyalty.SyncOK && st.SyncedVersion == st.WantedVersion
	})
}

func syncState(t *testing.T, s *started, id string) loyalty.SyncState {
	t.Helper()
	sts, err := s.Store.SyncStates(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Channel == loyalty.ChannelApple {
			return st
		}
	}
	t.Fatalf("no apple sync state for %s", id)
	return loyalty.SyncState{}
}

func TestErasurePushesVoidedPass(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	s := start(t, ae.env, fastSync)
	m := enroll(t, s, "Erin Erased")
	ph := addPass(t, s, m, "device-erase", pushToken)
	ph.register(ph.token)
	res, _ := call(t, "DELETE", s.url+"/api/v1/members/"+ph.serial, nil)
	if res.StatusCode != 204 {
		t.Fatalf("erase = %d", res.StatusCode)
	}
	waitDelivered(t, ae.apns, pushToken, 1)
	if st := ph.fetch(); st != 200 {
		t.Fatalf("fetch after erasure = %d, want 200 with the voided pass", st)
	}
	raw, _ := json.Marshal(ph.pass)
	if ph.pass["voided"] != true || ph.pass["webServiceURL"] != nil || ph.pass["authenticationToken"] != nil ||
		strings.Contains(string(raw), "Erin") || strings.Contains(string(raw), m["number"].(string)) {
		t.Errorf("voided pass = %s, want voided, no web service keys, no personal data", raw)
	}
	if res, _ := call(t, "GET", s.url+"/api/v1/members/"+ph.serial, nil); res.StatusCode != 404 {
		t.Errorf("GET erased member = %d, want 404", res.StatusCode)
	}
	// The voided card takes no new registrations.
	ph.device = "device-new"
	if got := ph.register(ph.token); got != 401 {
		t.Errorf("register for an erased member's card = %d, want 401", got)
	}
}

func TestPushSurvivesRestartAfterCommit(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	// The first passd commits the earn but dies before any worker runs.
	a := start(t, ae.env, server.Options{NoSync: true})
	ph := addPass(t, a, enroll(t, a, "Kim"), "device-crash", pushToken)
	ph.register(ph.token)
	earn(t, a, ph.serial, 70, "k")
	a.stop()
	if n := len(ae.apns.Pushes()); n != 0 {
		t.Fatalf("pushes before restart = %d, want 0", n)
	}
	// The restarted passd finds the dirty card in the table and pushes.
	b := start(t, ae.env, fastSync)
	waitDelivered(t, ae.apns, pushToken, 1)
	ph.s, ph.ws = b, b.url+"/passkit"
	if st := ph.fetch(); st != 200 || ph.points() != 70 {
		t.Fatalf("fetch after restart = %d, points %v", st, ph.points())
	}
}

func TestTwoInstancesShareOnePostgreSQL(t *testing.T) {
	t.Parallel()
	ae := newAppleEnv(t)
	env := map[string]string{"PASSD_DATABASE_URL": testpg.FreshSchema(t), "PASSD_SECRET": strings.Repeat("shared-secret-", 3)}
	for k, v := range ae.env {
		env[k] = v
	}
	opts := fastSync
	// A debounce far longer than four HTTP calls take, even on a loaded
	// machine, so each burst is one delivery by construction.
	opts.SyncDebounce = 1500 * time.Millisecond
	a := start(t, env, opts)
	b := start(t, env, opts)
	ph := addPass(t, a, enroll(t, a, "Pat"), "device-pg", pushToken)
	ph.register(ph.token)
	settled(t, a, ph.serial) // the enrolment's own delivery is out of the way
	base := len(ae.apns.PushesTo(pushToken))

	for burst := 1; burst <= 3; burst++ {
		for i := range 4 {
			inst := a
			if i%2 == 1 {
				inst = b
			}
			earn(t, inst, ph.serial, 1, fmt.Sprintf("b%d-%d", burst, i))
		}
		waitFor(t, func() bool {
			st := syncState(t, a, ph.serial)
			return st.SyncedVersion == st.WantedVersion && len(ae.apns.PushesTo(pushToken))-base >= burst
		})
		if n := len(ae.apns.PushesTo(pushToken)) - base; n != burst {
			t.Fatalf("after burst %d: %d pushes, want exactly %d (one per burst)", burst, n, burst)
		}
	}
	if st := ph.fetch(); st != 200 || ph.points() != 12 {
		t.Fatalf("fetch = %d, points %v, want 12", st, ph.points())
	}

	// A key revoked through one instance is refused by the other on its
	// next request: keys are checked against the shared database.
	res, body := call(t, "POST", a.url+"/api/v1/apikeys", map[string]any{"role": "pos"})
	if res.StatusCode != 201 {
		t.Fatalf("create key: %d %s", res.StatusCode, body)
	}
	var k struct{ Key, ID string }
	if err := json.Unmarshal(body, &k); err != nil {
		t.Fatal(err)
	}
	asKey := func(s *started) int {
		res, _ := call(t, "GET", s.url+"/api/v1/members/"+ph.serial, nil, "Authorization", "Bearer "+k.Key)
		return res.StatusCode
	}
	if a, b := asKey(a), asKey(b); a != 200 || b != 200 {
		t.Fatalf("the new key on each instance = %d, %d, want 200", a, b)
	}
	if res, body := call(t, "DELETE", a.url+"/api/v1/apikeys/"+k.ID, nil); res.StatusCode != 204 {
		t.Fatalf("revoke key: %d %s", res.StatusCode, body)
	}
	if a, b := asKey(a), asKey(b); a != 401 || b != 401 {
		t.Fatalf("the revoked key on each instance = %d, %d, want 401", a, b)
	}
}

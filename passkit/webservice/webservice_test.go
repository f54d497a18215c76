package webservice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/passkit/webservice"
)

const (
	passType  = "pass.com.example.loyalty"
	serial    = "2f1c7d3e-5b7a-4f0e-9d4e-1a2b3c4d5e6f"
	authToken = "s3cr3t-auth-token-0123456789"
	device    = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	pushToken = "00aa11bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899"
)

// fakeBackend is an in-memory Backend. Tags are decimal update numbers.
type fakeBackend struct {
	mu      sync.Mutex
	passes  map[string]*fakePass
	devices map[string]string          // device -> push token
	regs    map[string]map[string]bool // device -> serials
	calls   map[string]int
	fail    error // returned by every method when set
	// failBundle is returned by every Pass.Bundle when set.
	failBundle error
}

type fakePass struct {
	token    string
	pkpass   []byte
	modified time.Time
	seq      int
}

func newFake() *fakeBackend {
	return &fakeBackend{
		passes: map[string]*fakePass{
			serial: {token: authToken, pkpass: []byte("PK-v1"), modified: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), seq: 1},
		},
		devices: map[string]string{},
		regs:    map[string]map[string]bool{},
		calls:   map[string]int{},
	}
}

func (f *fakeBackend) called(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeBackend) PassAuth(_ context.Context, s string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["PassAuth"]++
	if f.fail != nil {
		return "", false, f.fail
	}
	p, ok := f.passes[s]
	if !ok {
		return "", false, nil
	}
	return p.token, true, nil
}

func (f *fakeBackend) Register(_ context.Context, dev, push, s string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Register"]++
	if f.fail != nil {
		return false, f.fail
	}
	if _, ok := f.passes[s]; !ok {
		return false, webservice.ErrNotFound
	}
	f.devices[dev] = push
	if f.regs[dev] == nil {
		f.regs[dev] = map[string]bool{}
	}
	created := !f.regs[dev][s]
	f.regs[dev][s] = true
	return created, nil
}

func (f *fakeBackend) Unregister(_ context.Context, dev, s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Unregister"]++
	if f.fail != nil {
		return f.fail
	}
	if !f.regs[dev][s] {
		return fmt.Errorf("unregister: %w", webservice.ErrNotFound)
	}
	delete(f.regs[dev], s)
	if len(f.regs[dev]) == 0 {
		delete(f.regs, dev)
		delete(f.devices, dev)
	}
	return nil
}

func (f *fakeBackend) UpdatedSerials(_ context.Context, dev, since string) ([]string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["UpdatedSerials"]++
	if f.fail != nil {
		return nil, "", f.fail
	}
	after, _ := strconv.Atoi(since) // "" or garbage: everything
	last := after
	var out []string
	for s := range f.regs[dev] {
		if p := f.passes[s]; p.seq > after {
			out = append(out, s)
			last = max(last, p.seq)
		}
	}
	slices.Sort(out)
	return out, strconv.Itoa(last), nil
}

func (f *fakeBackend) LatestPass(_ context.Context, s string) (webservice.Pass, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["LatestPass"]++
	if f.fail != nil {
		return webservice.Pass{}, f.fail
	}
	p, ok := f.passes[s]
	if !ok {
		return webservice.Pass{}, webservice.ErrNotFound
	}
	pkpass := p.pkpass
	return webservice.Pass{AuthToken: p.token, Modified: p.modified, Bundle: func(context.Context) ([]byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls["Bundle"]++
		if f.failBundle != nil {
			return nil, f.failBundle
		}
		return pkpass, nil
	}}, nil
}

// update makes a new version of serial, modified at t.
func (f *fakeBackend) update(s string, body string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.passes[s]
	p.pkpass, p.modified = []byte(body), t
	maxSeq := 0
	for _, q := range f.passes {
		maxSeq = max(maxSeq, q.seq)
	}
	p.seq = maxSeq + 1
}

// logBuffer is a slog handler target that tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type env struct {
	fake *fakeBackend
	h    *webservice.Handler
	logs *logBuffer
	now  time.Time
}

func newEnv(t *testing.T, cfg webservice.Config) *env {
	t.Helper()
	e := &env{fake: newFake(), logs: &logBuffer{}, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Backend = e.fake
	cfg.PassTypeID = passType
	if cfg.Prefix == "" {
		cfg.Prefix = "/passkit"
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	cfg.Now = func() time.Time { return e.now }
	e.h = webservice.New(cfg)
	return e
}

// do sends a request through the handler; auth "" sends no header.
func (e *env) do(t *testing.T, method, target, auth, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func regPath(dev, pt, s string) string {
	return "/passkit/v1/devices/" + dev + "/registrations/" + pt + "/" + s
}

const regBody = `{"pushToken":"` + pushToken + `"}`

var goodAuth = "ApplePass " + authToken

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	if w := e.do(t, "POST", regPath(device, passType, serial), goodAuth, regBody); w.Code != http.StatusCreated {
		t.Fatalf("first register = %d, want 201", w.Code)
	}
	if w := e.do(t, "POST", regPath(device, passType, serial), goodAuth, regBody); w.Code != http.StatusOK {
		t.Fatalf("second register = %d, want 200", w.Code)
	}
	newToken := strings.Repeat("ab", 32)
	if w := e.do(t, "POST", regPath(device, passType, serial), goodAuth, `{"pushToken":"`+newToken+`"}`); w.Code != http.StatusOK {
		t.Fatalf("register with a new push token = %d, want 200", w.Code)
	}
	if got := e.fake.devices[device]; got != newToken {
		t.Errorf("device push token = %q, want the new one %q", got, newToken)
	}
}

func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 129)
	tests := []struct {
		name   string
		path   string
		auth   string
		body   string
		status int
	}{
		{"no authorization", regPath(device, passType, serial), "", regBody, 401},
		{"wrong token", regPath(device, passType, serial), "ApplePass wrong-token-000000000000", regBody, 401},
		{"token prefix", regPath(device, passType, serial), "ApplePass " + authToken[:10], regBody, 401},
		{"bearer scheme", regPath(device, passType, serial), "Bearer " + authToken, regBody, 401},
		{"scheme only", regPath(device, passType, serial), "ApplePass", regBody, 401},
		{"unknown serial", regPath(device, passType, "no-such-serial"), goodAuth, regBody, 401},
		{"malformed serial", regPath(device, passType, "bad%20serial"), goodAuth, regBody, 401},
		{"long serial", regPath(device, passType, long), goodAuth, regBody, 401},
		{"wrong pass type", regPath(device, "pass.com.other", serial), goodAuth, regBody, 404},
		{"malformed device", regPath("dev%3Cx%3E", passType, serial), goodAuth, regBody, 404},
		{"long device", regPath(long, passType, serial), goodAuth, regBody, 404},
		{"empty body", regPath(device, passType, serial), goodAuth, "", 400},
		{"not json", regPath(device, passType, serial), goodAuth, "pushToken=1", 400},
		{"no push token", regPath(device, passType, serial), goodAuth, `{"other":"x"}`, 400},
		{"push token not hex", regPath(device, passType, serial), goodAuth, `{"pushToken":"../../etc"}`, 400},
		{"push token too long", regPath(device, passType, serial), goodAuth, `{"pushToken":"` + strings.Repeat("a", 201) + `"}`, 400},
		{"body too big", regPath(device, passType, serial), goodAuth, `{"pushToken":"` + pushToken + `","x":"` + strings.Repeat("x", 5000) + `"}`, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, webservice.Config{})
			w := e.do(t, "POST", tt.path, tt.auth, tt.body)
			if w.Code != tt.status {
				t.Errorf("POST %s = %d, want %d", tt.name, w.Code, tt.status)
			}
			if tt.status == 401 && e.fake.called("Register") != 0 {
				t.Errorf("Register called on a 401")
			}
			if strings.Contains(w.Body.String(), authToken) {
				t.Errorf("body %q echoes the token", w.Body.String())
			}
		})
	}
}

func TestUnregister(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	e.do(t, "POST", regPath(device, passType, serial), goodAuth, regBody)
	if w := e.do(t, "DELETE", regPath(device, passType, serial), goodAuth, ""); w.Code != http.StatusOK {
		t.Fatalf("unregister = %d, want 200", w.Code)
	}
	if len(e.fake.regs) != 0 || len(e.fake.devices) != 0 {
		t.Errorf("after unregister: regs %v devices %v, want none", e.fake.regs, e.fake.devices)
	}
	if w := e.do(t, "DELETE", regPath(device, passType, serial), goodAuth, ""); w.Code != http.StatusOK {
		t.Errorf("unregister again = %d, want 200", w.Code)
	}
	if w := e.do(t, "DELETE", regPath(device, passType, serial), "ApplePass nope-nope-nope-nope", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("unregister with a wrong token = %d, want 401", w.Code)
	}
	if w := e.do(t, "DELETE", regPath(device, passType, serial), "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("unregister without a token = %d, want 401", w.Code)
	}
}

func TestUpdatedSerials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	list := "/passkit/v1/devices/" + device + "/registrations/" + passType

	if w := e.do(t, "GET", list, "", ""); w.Code != http.StatusNoContent {
		t.Errorf("list for an unknown device = %d, want 204", w.Code)
	}
	e.do(t, "POST", regPath(device, passType, serial), goodAuth, regBody)

	// No tag: everything, and no Authorization needed.
	w := e.do(t, "GET", list, "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("list = %d, want 200", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   string   `json:"lastUpdated"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("list body %q: %v", w.Body, err)
	}
	if !slices.Equal(got.SerialNumbers, []string{serial}) || got.LastUpdated != "1" {
		t.Errorf("list = %+v, want [%s] tag 1", got, serial)
	}

	if w := e.do(t, "GET", list+"?passesUpdatedSince=1", "", ""); w.Code != http.StatusNoContent {
		t.Errorf("list since the last tag = %d, want 204", w.Code)
	}
	e.fake.update(serial, "PK-v2", e.now)
	w = e.do(t, "GET", list+"?passesUpdatedSince=1", "", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"lastUpdated":"2"`) {
		t.Errorf("list after an update = %d %s, want 200 with tag 2", w.Code, w.Body)
	}
	if w := e.do(t, "GET", list+"?passesUpdatedSince=", "", ""); w.Code != http.StatusOK {
		t.Errorf("list with an empty tag = %d, want 200 (all)", w.Code)
	}
	if w := e.do(t, "GET", "/passkit/v1/devices/"+device+"/registrations/pass.other", "", ""); w.Code != http.StatusNotFound {
		t.Errorf("list for another pass type = %d, want 404", w.Code)
	}
	if w := e.do(t, "GET", list+"?passesUpdatedSince="+strings.Repeat("9", 200), "", ""); w.Code != http.StatusBadRequest {
		t.Errorf("list with a huge tag = %d, want 400", w.Code)
	}
}

func TestLatestPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	passURL := "/passkit/v1/passes/" + passType + "/" + serial
	modified := e.fake.passes[serial].modified

	w := e.do(t, "GET", passURL, goodAuth, "")
	if w.Code != http.StatusOK || w.Body.String() != "PK-v1" {
		t.Fatalf("GET pass = %d %q, want 200 PK-v1", w.Code, w.Body)
	}
	lastMod := w.Header().Get("Last-Modified")
	want := map[string]string{
		"Content-Type":  "application/vnd.apple.pkpass",
		"Last-Modified": modified.Format(http.TimeFormat),
		"Cache-Control": "private, no-cache",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}

	tests := []struct {
		name   string
		ims    string
		status int
	}{
		{"same time", lastMod, 304},
		{"later", modified.Add(time.Hour).Format(http.TimeFormat), 304},
		{"older", modified.Add(-time.Second).Format(http.TimeFormat), 200},
		{"garbage", "yesterday", 200},
	}
	for _, tt := range tests {
		w := e.do(t, "GET", passURL, goodAuth, "", "If-Modified-Since", tt.ims)
		if w.Code != tt.status {
			t.Errorf("GET pass with If-Modified-Since %s = %d, want %d", tt.name, w.Code, tt.status)
		}
		if tt.status == 304 && w.Body.Len() != 0 {
			t.Errorf("304 body = %q, want empty", w.Body)
		}
	}

	// Two versions within the same wall-clock second: the backend gives
	// them modified times a second apart, so the device that holds the
	// first gets the second.
	e.fake.update(serial, "PK-v2", modified.Add(300*time.Millisecond))
	e.fake.update(serial, "PK-v3", modified.Add(time.Second+300*time.Millisecond))
	w = e.do(t, "GET", passURL, goodAuth, "", "If-Modified-Since", lastMod)
	if w.Code != http.StatusOK || w.Body.String() != "PK-v3" {
		t.Errorf("GET newer pass with the older Last-Modified = %d %q, want 200 PK-v3", w.Code, w.Body)
	}
	if got := w.Header().Get("Last-Modified"); got == lastMod {
		t.Errorf("Last-Modified = %q, want later than %q", got, lastMod)
	}

	w = e.do(t, "HEAD", passURL, goodAuth, "")
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "5" {
		t.Errorf("HEAD pass = %d, body %q, length %q, want 200, empty, 5", w.Code, w.Body, w.Header().Get("Content-Length"))
	}

	for name, auth := range map[string]string{"none": "", "wrong": "ApplePass x-" + authToken, "bearer": "Bearer " + authToken} {
		if w := e.do(t, "GET", passURL, auth, ""); w.Code != http.StatusUnauthorized {
			t.Errorf("GET pass with %s auth = %d, want 401", name, w.Code)
		}
	}
	if w := e.do(t, "GET", "/passkit/v1/passes/"+passType+"/unknown-serial", goodAuth, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("GET unknown serial = %d, want 401", w.Code)
	}
	if w := e.do(t, "GET", "/passkit/v1/passes/pass.other/"+serial, goodAuth, ""); w.Code != http.StatusNotFound {
		t.Errorf("GET other pass type = %d, want 404", w.Code)
	}
	// Built for the five 200s only: never on a 304, 401 or 404.
	if n := e.fake.called("Bundle"); n != 5 {
		t.Errorf("pass built %d times, want 5 (never on a 304, 401 or 404)", n)
	}
}

func TestPathTolerance(t *testing.T) {
	t.Parallel()
	passPath := "/v1/passes/" + passType + "/" + serial
	tests := []struct {
		name   string
		prefix string
		mount  func(http.Handler) http.Handler
		path   string
	}{
		{"prefix kept", "/passkit", nil, "/passkit" + passPath},
		{"doubled slash", "/passkit", nil, "/passkit/" + passPath},
		{"many slashes", "/passkit", nil, "/passkit///v1//passes/" + passType + "//" + serial},
		{"trailing slash", "/passkit", nil, "/passkit" + passPath + "/"},
		{"prefix with slash", "/passkit/", nil, "/passkit/" + passPath},
		{"strip prefix", "/passkit", func(h http.Handler) http.Handler { return http.StripPrefix("/passkit", h) }, "/passkit/" + passPath},
		{"no prefix configured", "/", nil, passPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, webservice.Config{Prefix: tt.prefix})
			var h http.Handler = e.h
			if tt.mount != nil {
				h = tt.mount(h)
			}
			r := httptest.NewRequest("GET", "http://x"+tt.path, nil)
			r.Header.Set("Authorization", goodAuth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", tt.path, w.Code)
			}
		})
	}
	e := newEnv(t, webservice.Config{})
	if w := e.do(t, "POST", "/passkit/"+strings.TrimPrefix(regPath(device, passType, serial), "/passkit"), goodAuth, regBody); w.Code != http.StatusCreated {
		t.Errorf("register through a doubled slash = %d, want 201", w.Code)
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/passkit/v2/passes/" + passType + "/" + serial, 404},
		{"GET", "/passkit/v1/passes/" + passType, 404},
		{"GET", "/passkit/", 404},
		{"PUT", "/passkit/v1/passes/" + passType + "/" + serial, 405},
		{"GET", "/passkit/v1/log", 405},
		{"GET", regPath(device, passType, serial), 405},
		{"GET", "/passkit/v1/../v1/passes/" + passType + "/x/../" + serial, 401}, // cleaned, then no auth
	}
	for _, tt := range tests {
		if w := e.do(t, tt.method, tt.path, "", ""); w.Code != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.status)
		}
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{MaxLogMessages: 3, MaxLogBytes: 400})
	msgs := []string{
		"Register task (for device " + device + ", pass type " + passType + ", serial number " + serial + ") encountered error: Authentication failure",
		"Get pass task: Authorization ApplePass " + authToken + " rejected",
		"push token " + pushToken + "\nsecond line\x00",
		"fourth message is over the count",
	}
	b, _ := json.Marshal(map[string]any{"logs": msgs})
	if w := e.do(t, "POST", "/passkit/v1/log", "", string(b)); w.Code != http.StatusOK {
		t.Fatalf("POST log = %d, want 200", w.Code)
	}
	out := e.logs.String()
	for _, secret := range []string{authToken, pushToken, device} {
		if strings.Contains(out, secret) {
			t.Errorf("log output holds a secret %q:\n%s", secret, out)
		}
	}
	if n := strings.Count(out, `"msg":"wallet device log"`); n != 3 {
		t.Errorf("logged %d device messages, want 3:\n%s", n, out)
	}
	if !strings.Contains(out, serial) || !strings.Contains(out, "Authentication failure") {
		t.Errorf("log output lost the useful parts:\n%s", out)
	}
	if strings.Contains(out, "fourth message") {
		t.Errorf("log output has the message over the count:\n%s", out)
	}
	if !strings.Contains(out, `"dropped":1`) {
		t.Errorf("log output does not say a message was dropped:\n%s", out)
	}

	// The byte budget: one long message is truncated to it.
	e2 := newEnv(t, webservice.Config{MaxLogBytes: 100})
	b, _ = json.Marshal(map[string]any{"logs": []string{strings.Repeat("word ", 1000), "next"}})
	e2.do(t, "POST", "/passkit/v1/log", "", string(b))
	var rec struct {
		Message string `json:"message"`
	}
	first, _, _ := strings.Cut(e2.logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &rec); err != nil || len(rec.Message) > 104 || len(rec.Message) < 90 {
		t.Errorf("truncated message = %q (%d bytes), want about 100 bytes", rec.Message, len(rec.Message))
	}
	if strings.Contains(e2.logs.String(), `"message":"next"`) {
		t.Errorf("a message past the byte budget was logged")
	}

	bad := []struct {
		body   string
		status int
	}{
		{"not json", 400},
		{`{"logs": "x"}`, 400},
		{`{"logs": [` + strings.Repeat(`"xxxxxxxxxx",`, 7000) + `"x"]}`, 413},
		{`{"logs": [1, {"a":2}, "ok"]}`, 200},
		{`{}`, 200},
	}
	for _, tt := range bad {
		if w := e.do(t, "POST", "/passkit/v1/log", "", tt.body); w.Code != tt.status {
			t.Errorf("POST log %.30q = %d, want %d", tt.body, w.Code, tt.status)
		}
	}
}

func TestLogRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webservice.Config{})
	body := `{"logs":["hello"]}`
	for range 100 {
		if w := e.do(t, "POST", "/passkit/v1/log", "", body); w.Code != http.StatusOK {
			t.Fatalf("POST log = %d, want 200 even when rate-limited", w.Code)
		}
	}
	n := strings.Count(e.logs.String(), `"message":"hello"`)
	if n >= 100 || n == 0 {
		t.Errorf("logged %d of 100 rapid requests, want some but not all", n)
	}
	e.now = e.now.Add(time.Minute) // the bucket refills
	e.do(t, "POST", "/passkit/v1/log", "", body)
	if m := strings.Count(e.logs.String(), `"message":"hello"`); m != n+1 {
		t.Errorf("after a minute: logged %d, want %d", m, n+1)
	}
}

func TestBackendFailure(t *testing.T) {
	t.Parallel()
	down := func(f *fakeBackend) { f.fail = errors.New("database is down") }
	tests := []struct {
		name, method, path, auth, body string
		breakBackend                   func(*fakeBackend)
	}{
		{"register", "POST", regPath(device, passType, serial), goodAuth, regBody, down},
		{"unregister", "DELETE", regPath(device, passType, serial), goodAuth, "", down},
		{"list", "GET", "/passkit/v1/devices/" + device + "/registrations/" + passType, "", "", down},
		{"pass", "GET", "/passkit/v1/passes/" + passType + "/" + serial, goodAuth, "", down},
		{"pass build", "GET", "/passkit/v1/passes/" + passType + "/" + serial, goodAuth, "",
			func(f *fakeBackend) { f.failBundle = errors.New("signing failed: database is down") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, webservice.Config{})
			tt.breakBackend(e.fake)
			w := e.do(t, tt.method, tt.path, tt.auth, tt.body)
			if w.Code != http.StatusInternalServerError {
				t.Errorf("%s with a failing backend = %d, want 500", tt.name, w.Code)
			}
			if lm := w.Header().Get("Last-Modified"); lm != "" {
				t.Errorf("%s with a failing backend: Last-Modified %q on a 500", tt.name, lm)
			}
			out := e.logs.String()
			if !strings.Contains(out, "database is down") || !strings.Contains(out, `"level":"ERROR"`) {
				t.Errorf("log output lacks the cause:\n%s", out)
			}
			if strings.Contains(out, authToken) || strings.Contains(out, device) {
				t.Errorf("log output holds a secret:\n%s", out)
			}

			// The same failure told as a moment's outage of the
			// backend's storage is a 503 with its Retry-After; another
			// error stays a 500.
			for _, c := range []struct {
				retry  int
				status int
			}{{7, http.StatusServiceUnavailable}, {0, http.StatusInternalServerError}} {
				e := newEnv(t, webservice.Config{Unavailable: func(err error) int {
					if strings.Contains(err.Error(), "database is down") {
						return c.retry
					}
					return 0
				}})
				tt.breakBackend(e.fake)
				w := e.do(t, tt.method, tt.path, tt.auth, tt.body)
				if want := strconv.Itoa(c.retry); w.Code != c.status || c.retry > 0 && w.Header().Get("Retry-After") != want {
					t.Errorf("%s with an unavailable backend (Retry-After %d) = %d, Retry-After %q; want %d", tt.name, c.retry, w.Code, w.Header().Get("Retry-After"), c.status)
				}
			}
		})
	}
}

func TestNewPanicsWithoutBackend(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("New(Config{}) did not panic")
		}
	}()
	webservice.New(webservice.Config{PassTypeID: passType})
}

// FuzzHandler sends arbitrary requests: the handler never panics and, with
// a well-behaved backend, never answers 5xx.
func FuzzHandler(f *testing.F) {
	f.Add("POST", regPath(device, passType, serial), goodAuth, regBody)
	f.Add("DELETE", "/passkit//v1/devices/"+device+"/registrations/"+passType+"/"+serial+"/", goodAuth, "")
	f.Add("GET", "/passkit/v1/devices/"+device+"/registrations/"+passType+"?passesUpdatedSince=0", "", "")
	f.Add("GET", "/passkit/v1/passes/"+passType+"/"+serial, goodAuth, "")
	f.Add("HEAD", "/passkit/v1/passes/"+passType+"/%2e%2e", "ApplePass  ", "")
	f.Add("POST", "/passkit/v1/log", "", `{"logs":["a","\u0000b"]}`)
	f.Add("CONNECT", "/passkit/v1/log", "", "")
	f.Add("POST", "/v1/devices/%00/registrations/x/y", "ApplePass \x00", `{"pushToken":null}`)
	f.Fuzz(func(t *testing.T, method, target, auth, body string) {
		u, err := url.Parse(target)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n") {
			t.Skip()
		}
		e := newEnv(t, webservice.Config{})
		e.fake.passes["fuzz"] = &fakePass{token: "tok", pkpass: []byte("x"), seq: 1}
		r := &http.Request{
			Method:     method,
			URL:        u,
			Header:     http.Header{"Authorization": {auth}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Host:       "example.com",
			RequestURI: target,
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}
		r = r.WithContext(context.Background())
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Errorf("%s %q = %d, want no 5xx", method, target, w.Code)
		}
		if strings.Contains(e.logs.String(), authToken) {
			t.Errorf("%s %q logged the auth token", method, target)
		}
	})
}

package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/passkit"
)

const adminKey = "server-test-admin-key-0123"

// started is a passd running for one test.
type started struct {
	*server.Server
	dataDir string
	url     string
	stop    func() // stops it now; the test's cleanup calls it too
}

// start runs passd on a loopback port with a temp data folder; extra
// environment overrides the defaults.
func start(t *testing.T, env map[string]string, opts server.Options) *started {
	t.Helper()
	dir := env["PASSD_DATA_DIR"]
	if dir == "" {
		dir = t.TempDir()
	}
	full := map[string]string{"PASSD_DATA_DIR": dir, "PASSD_BOOTSTRAP_ADMIN_KEY": adminKey}
	for k, v := range env {
		full[k] = v
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, stop := servertest.Start(t, full, log, opts)
	return &started{Server: s, dataDir: dir, url: s.URL(), stop: stop}
}

// waitFor polls cond until it holds, failing the test after
// testkit.Deadline; the package's tests call it by this name.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, cond)
}

func call(t *testing.T, method, url string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func enroll(t *testing.T, s *started, name string) map[string]any {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/programs/demo/members", map[string]any{"name": name})
	if res.StatusCode != 201 {
		t.Fatalf("enroll: %d %s", res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// localURL points a link made for PASSD_PUBLIC_URL at the test server.
func (s *started) localURL(link string) string {
	return strings.Replace(link, config.DefaultPublicURL, s.url, 1)
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	s := start(t, nil, server.Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		res, b := call(t, "GET", s.url+p, nil)
		if res.StatusCode != 200 || strings.TrimSpace(string(b)) != "ok" {
			t.Errorf("GET %s = %d %q, want 200 ok", p, res.StatusCode, b)
		}
	}
	enroll(t, s, "Ada")
	res, b := call(t, "GET", s.url+"/metrics", nil)
	for _, want := range []string{"passd_sync_dirty_cards{channel=\"apple\"}", "passd_apple_registrations 0", "passd_http_requests_total{code=\"201\",route=\"/api/v1/programs/{program}/members\"}"} {
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func TestDevCertificatesAndSecretAreGeneratedOnce(t *testing.T) {
	t.Parallel()
	s := start(t, nil, server.Options{})
	for _, f := range []string{passkit.DevWWDRFile, passkit.DevCertFile, passkit.DevKeyFile, "secret", "passd.db"} {
		fi, err := os.Stat(filepath.Join(s.dataDir, f))
		if err != nil {
			t.Errorf("data folder lacks %s: %v", f, err)
			continue
		}
		if (f == passkit.DevKeyFile || f == "secret") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	secret1, _ := os.ReadFile(filepath.Join(s.dataDir, "secret"))
	got, err := server.LoadSecret("", s.dataDir)
	if err != nil || string(got)+"\n" != string(secret1) {
		t.Errorf("LoadSecret() again = %q, %v, want the stored secret", got, err)
	}
}

func TestPassDownload(t *testing.T) {
	t.Parallel()
	s := start(t, nil, server.Options{})
	m := enroll(t, s, "Zoë \"Quotes\" O'Brien")
	link := s.localURL(m["apple_pass_url"].(string))
	res, pkpass := call(t, "GET", link, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.apple.pkpass" {
		t.Fatalf("GET pass = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lm := res.Header.Get("Last-Modified")
	if _, err := http.ParseTime(lm); err != nil {
		t.Fatalf("Last-Modified %q: %v", lm, err)
	}
	wwdr := filepath.Join(s.dataDir, passkit.DevWWDRFile)
	pem, _ := os.ReadFile(wwdr)
	ca, err := passkit.ParseCertificate(pem)
	if err != nil {
		t.Fatal(err)
	}
	if ps := passkit.Verify(pkpass, passkit.VerifyOptions{WWDR: ca}); len(ps) > 0 {
		t.Fatalf("Verify(downloaded pass) = %v", ps)
	}
	opensslVerify(t, pkpass, wwdr)

	res, _ = call(t, "GET", link, nil, "If-Modified-Since", lm)
	if res.StatusCode != 304 {
		t.Errorf("GET with If-Modified-Since = %d, want 304", res.StatusCode)
	}
	// Tampered or foreign links yield nothing.
	other := enroll(t, s, "Grace")
	sig := link[strings.Index(link, "sig="):]
	foreign := s.url + "/passes/" + other["id"].(string) + ".pkpass?" + sig
	if res, _ := call(t, "GET", foreign, nil); res.StatusCode != 403 {
		t.Errorf("another member's pass with this link's signature = %d, want 403", res.StatusCode)
	}
	if res, _ := call(t, "GET", strings.TrimSuffix(link, sig)+"sig=AAAA", nil); res.StatusCode != 403 {
		t.Errorf("bad signature = %d, want 403", res.StatusCode)
	}
	// After an earn the pass changes and is newer.
	res, b := call(t, "POST", s.url+"/api/v1/members/"+m["id"].(string)+"/transactions",
		map[string]any{"type": "earn", "points": 42}, "Idempotency-Key", "dl-1")
	if res.StatusCode != 201 {
		t.Fatalf("earn: %d %s", res.StatusCode, b)
	}
	res, _ = call(t, "GET", link, nil, "If-Modified-Since", lm)
	if res.StatusCode != 200 || res.Header.Get("Last-Modified") == lm {
		t.Errorf("after an earn GET = %d Last-Modified %s, want 200 with a newer date than %s", res.StatusCode, res.Header.Get("Last-Modified"), lm)
	}
}

// opensslVerify checks a pass's signature with the independent verifier:
// openssl cms -verify over manifest.json against the CA.
func opensslVerify(t *testing.T, pkpass []byte, caFile string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is required for signature checks: %v", err)
	}
	dir := t.TempDir()
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		t.Fatalf("pass is not a zip: %v", err)
	}
	for _, name := range []string{"signature", "manifest.json"} {
		f, err := zr.Open(name)
		if err != nil {
			t.Fatalf("pass lacks %s: %v", name, err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER",
		"-in", filepath.Join(dir, "signature"), "-content", filepath.Join(dir, "manifest.json"),
		"-CAfile", caFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
}

func TestBadConfigurationStopsStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": dir, "PASSD_APPLE_CERT": certFile,
			"PASSD_APPLE_KEY": certFile, "PASSD_APPLE_WWDR": certFile, "PASSD_APPLE_PASS_TYPE_ID": "pass.a.b"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "PASSD_APPLE_CERT: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("New(bad certificate) = %v, want one line naming PASSD_APPLE_CERT", err)
	}
}

func TestBusyPortFailsStart(t *testing.T) {
	t.Parallel()
	s := start(t, nil, server.Options{})
	// The data folder does not exist yet: a busy port must fail start-up
	// before passd writes anything there.
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg, _ := config.FromEnv(func(k string) string {
		return map[string]string{"PASSD_ADDR": s.Addr().String(), "PASSD_DATA_DIR": dataDir}[k]
	})
	_, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "PASSD_ADDR: ") {
		t.Errorf("New(busy port) = %v, want a PASSD_ADDR error", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a busy port the data folder exists (%v): start-up wrote before binding", err)
	}
}

func TestExpiredIdempotencyKeysArePruned(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := start(t, nil, server.Options{Now: now, PruneEvery: 20 * time.Millisecond})
	m := enroll(t, s, "Ada")
	path := s.url + "/api/v1/members/" + m["id"].(string) + "/transactions"
	res, first := call(t, "POST", path, map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", "old-key")
	if res.StatusCode != 201 {
		t.Fatalf("earn: %d %s", res.StatusCode, first)
	}
	// A day later the key still answers the first result.
	offset.Store(int64(24 * time.Hour))
	res, again := call(t, "POST", path, map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", "old-key")
	if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay after a day: %d %s", res.StatusCode, again)
	}
	// Past the retention the key is gone: the same key posts anew.
	offset.Store(int64(server.IdempotencyRetention + time.Hour))
	waitFor(t, func() bool {
		res, _ := call(t, "POST", path, map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", "old-key")
		return res.StatusCode == 201 && res.Header.Get("Idempotent-Replayed") == ""
	})
}

func TestErasedMembersRegistrationsArePruned(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := start(t, nil, server.Options{Now: now, PruneEvery: 20 * time.Millisecond, NoSync: true})
	ctx := t.Context()
	erased, kept := enroll(t, s, "Ada")["id"].(string), enroll(t, s, "Grace")["id"].(string)
	for _, id := range []string{erased, kept} {
		if _, err := s.Store.Register(ctx, loyalty.Registration{DeviceID: "phone", PassTypeID: config.DefaultPassTypeID, MemberID: id, PushToken: "tok"}); err != nil {
			t.Fatal(err)
		}
	}
	if res, b := call(t, "DELETE", s.url+"/api/v1/members/"+erased, nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("erase: %d %s", res.StatusCode, b)
	}
	count := func(id string) int {
		regs, err := s.Store.RegistrationsFor(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(regs)
	}
	// Right after the erasure the phone is still registered, for the
	// voided card's push; past the retention it is not.
	if n := count(erased); n != 1 {
		t.Fatalf("registrations right after erasure = %d, want 1", n)
	}
	offset.Store(int64(server.ErasedRegistrationRetention + time.Hour))
	waitFor(t, func() bool { return count(erased) == 0 })
	if n := count(kept); n != 1 {
		t.Errorf("other member's registrations = %d, want 1", n)
	}
}

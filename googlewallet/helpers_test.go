package googlewallet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sleeps records the waits the Client asks for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testEnv struct {
	fake   *wallettest.Server
	c      *googlewallet.Client
	sleeps *sleeps
	logs   *syncBuffer
	// nseen is how many of the fake's requests seen has answered.
	nseen int
}

// newEnv starts a fake Wallet API and a Client talking to it through the
// real walletobjects client. mod may adjust the Config.
func newEnv(t *testing.T, mod func(*googlewallet.Config)) *testEnv {
	t.Helper()
	fake := wallettest.New(t)
	env := &testEnv{fake: fake, sleeps: &sleeps{}, logs: &syncBuffer{}}
	cfg := googlewallet.Config{
		IssuerID:        wallettest.IssuerID,
		CredentialsJSON: fake.Credentials(),
		BaseURL:         fake.URL,
		HTTPClient:      fake.HTTPClient(),
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), env.logs),
			&slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         func() time.Time { return testNow },
		MaxAttempts: 4,
		MinBackoff:  100 * time.Millisecond,
		MaxBackoff:  time.Second,
		Sleep:       env.sleeps.sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := googlewallet.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	env.c = c
	return env
}

func testProgram() googlewallet.Program {
	return googlewallet.Program{
		ID:              "demo",
		Name:            "Demo Rewards",
		IssuerName:      "Demo Coffee",
		LogoURL:         "https://cdn.passd.example/demo/logo.png",
		HeroURL:         "https://cdn.passd.example/demo/hero.png",
		CallbackURL:     "https://passd.example/google/callbacks",
		BackgroundColor: "#1A73E8",
		Language:        "en",
		Names:           map[string]string{"de": "Demo Prämien", "fr": "Récompenses Démo"},
		Terms: map[string]string{
			"en": "Points expire after 12 months.",
			"de": "Punkte verfallen nach 12 Monaten.",
		},
	}
}

func testCard(member string) googlewallet.Card {
	return googlewallet.Card{
		MemberID:    member,
		ProgramID:   "demo",
		AccountName: "Ada Lovelace",
		AccountID:   "100-200-300",
		Barcode:     "v1." + member + ".mac",
		Points:      120,
		Tier:        "Gold",
	}
}

// withClass inserts the demo class and forgets the requests it took.
func (e *testEnv) withClass(t *testing.T) {
	t.Helper()
	if err := e.c.UpsertClass(t.Context(), testProgram()); err != nil {
		t.Fatalf("UpsertClass() = %v", err)
	}
	e.seen()
}

// seen answers the API requests the fake received since the last call,
// oldest first.
func (e *testEnv) seen() []wallettest.Request {
	reqs := e.fake.Requests()[e.nseen:]
	e.nseen += len(reqs)
	return reqs
}

// methods summarises requests as "METHOD path" lines.
func methods(rs []wallettest.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// body decodes a recorded request body.
func body(t *testing.T, r wallettest.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("request body %q: %v", r.Body, err)
	}
	return m
}

// dig walks a decoded JSON value along keys (strings) and indexes (ints).
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

// golden compares got (JSON) with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	pretty, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(pretty)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

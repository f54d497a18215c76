package googlewallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

// clock is a settable time source, safe for concurrent use; it keeps
// nanoseconds since the epoch.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newVerifier(t *testing.T, s *wallettest.CallbackSigner, c *clock) *googlewallet.CallbackVerifier {
	t.Helper()
	v, err := googlewallet.NewCallbackVerifier(googlewallet.CallbackConfig{
		IssuerID: wallettest.IssuerID,
		KeysURL:  s.URL,
		Now:      c.now,
	})
	if err != nil {
		t.Fatalf("NewCallbackVerifier() = %v", err)
	}
	return v
}

func saveEvent(now time.Time) wallettest.CallbackEvent {
	return wallettest.CallbackEvent{
		ClassID:   wallettest.IssuerID + ".demo",
		ObjectID:  wallettest.IssuerID + ".m1",
		EventType: "save",
		Nonce:     "5f2c6d2e-1a4b-4c1e-9d0a-7b7f3c1d2e3f",
		ExpTime:   now.Add(time.Hour),
	}
}

// rewrite decodes a callback body, lets edit change it and encodes it
// again.
func rewrite(t *testing.T, body []byte, edit func(env map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("json.Unmarshal(callback) = %v", err)
	}
	edit(env)
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatalf("json.Marshal(callback) = %v", err)
	}
	return b
}

func TestVerifyCallbackAccepts(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	s := wallettest.NewCallbackSigner(t, testNow)
	v := newVerifier(t, s, c)
	for _, typ := range []string{googlewallet.EventSave, googlewallet.EventDel} {
		ev := saveEvent(testNow)
		ev.EventType = typ
		ev.Nonce = "nonce-" + typ
		got, err := v.Verify(context.Background(), s.Sign(t, ev))
		if err != nil {
			t.Fatalf("Verify(%s) = %v", typ, err)
		}
		want := googlewallet.Callback{
			ClassID: ev.ClassID, ObjectID: ev.ObjectID, EventType: typ, Nonce: ev.Nonce,
			ExpTime: time.UnixMilli(ev.ExpTime.UnixMilli()),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Verify(%s) mismatch (-want +got):\n%s", typ, diff)
		}
	}
}

func TestVerifyCallbackRefuses(t *testing.T) {
	t.Parallel()
	other := "3388000000099999999"
	tests := []struct {
		name string
		body func(t *testing.T, s *wallettest.CallbackSigner) []byte
	}{
		{"tampered signedMessage", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				env["signedMessage"] = strings.Replace(env["signedMessage"].(string), `"save"`, `"del"`, 1)
			})
		}},
		{"tampered signedKey", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				k := env["intermediateSigningKey"].(map[string]any)
				k["signedKey"] = strings.Replace(k["signedKey"].(string), `"keyExpiration":"`, `"keyExpiration":"9`, 1)
			})
		}},
		{"signature of the message swapped for the key's", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				env["signature"] = env["intermediateSigningKey"].(map[string]any)["signatures"].([]any)[0]
			})
		}},
		{"other recipient", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{Recipient: other})
		}},
		{"sender GooglePay", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{Sender: "GooglePay"})
		}},
		{"protocol ECv2", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{ProtocolVersion: "ECv2"})
		}},
		{"protocol relabelled", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				env["protocolVersion"] = "ECv1"
			})
		}},
		{"expired intermediate key", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{KeyExpiration: testNow.Add(-time.Millisecond)})
		}},
		{"intermediate key expiring now", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{KeyExpiration: testNow})
		}},
		{"expired message", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.ExpTime = testNow.Add(-time.Second)
			return s.Sign(t, ev)
		}},
		{"expired root key", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			old := s.AddRoot(t, testNow.Add(-time.Minute))
			return s.SignWith(t, saveEvent(testNow), wallettest.Envelope{Root: old})
		}},
		{"class of another issuer", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.ClassID = other + ".demo"
			return s.Sign(t, ev)
		}},
		{"object of another issuer", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.ObjectID = other + ".m1"
			return s.Sign(t, ev)
		}},
		{"object id that only starts with the issuer id", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.ObjectID = wallettest.IssuerID + "1.m1"
			return s.Sign(t, ev)
		}},
		{"unknown event type", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.EventType = "update"
			return s.Sign(t, ev)
		}},
		{"no nonce", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			ev := saveEvent(testNow)
			ev.Nonce = ""
			return s.Sign(t, ev)
		}},
		{"malformed json", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return []byte(`{"signature":`)
		}},
		{"empty body", func(t *testing.T, s *wallettest.CallbackSigner) []byte { return nil }},
		{"signature not base64", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) { env["signature"] = "!!not base64!!" })
		}},
		{"key signatures not base64", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				env["intermediateSigningKey"].(map[string]any)["signatures"] = []string{"%%%"}
			})
		}},
		{"oversized body", func(t *testing.T, s *wallettest.CallbackSigner) []byte {
			return rewrite(t, s.Sign(t, saveEvent(testNow)), func(env map[string]any) {
				env["padding"] = strings.Repeat("x", googlewallet.MaxCallbackSize)
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := wallettest.NewCallbackSigner(t, testNow)
			v := newVerifier(t, s, newClock(testNow))
			got, err := v.Verify(context.Background(), tt.body(t, s))
			if !errors.Is(err, googlewallet.ErrCallbackInvalid) {
				t.Errorf("Verify() = %+v, %v, want ErrCallbackInvalid", got, err)
			}
		})
	}
}

func TestVerifyCallbackCachesKeys(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	s := wallettest.NewCallbackSigner(t, testNow)
	s.SetRootExpiration(0, testNow.Add(time.Hour))
	v := newVerifier(t, s, c)
	ctx := context.Background()
	for i := range 2 {
		if _, err := v.Verify(ctx, s.Sign(t, saveEvent(c.now()))); err != nil {
			t.Fatalf("Verify() #%d = %v", i+1, err)
		}
	}
	if got := s.Fetches(); got != 1 {
		t.Fatalf("key fetches after two callbacks = %d, want 1", got)
	}
	// Past the root key's expiry the cache is stale; Google has extended
	// the key meanwhile.
	s.SetRootExpiration(0, testNow.Add(48*time.Hour))
	c.advance(time.Hour)
	if _, err := v.Verify(ctx, s.Sign(t, saveEvent(c.now()))); err != nil {
		t.Fatalf("Verify() after the key expiry = %v", err)
	}
	if got := s.Fetches(); got != 2 {
		t.Errorf("key fetches after the key expiry = %d, want 2", got)
	}
}

func TestVerifyCallbackRefetchesOnUnknownKey(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	s := wallettest.NewCallbackSigner(t, testNow)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	if _, err := v.Verify(ctx, s.Sign(t, saveEvent(c.now()))); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	// Google rotates its root key: the cached keys do not know the new
	// one, so the verifier fetches the keys once more.
	c.advance(2 * time.Minute)
	rotated := s.AddRoot(t, testNow.Add(365*24*time.Hour))
	if _, err := v.Verify(ctx, s.SignWith(t, saveEvent(c.now()), wallettest.Envelope{Root: rotated})); err != nil {
		t.Fatalf("Verify() signed by a rotated root key = %v", err)
	}
	if got := s.Fetches(); got != 2 {
		t.Fatalf("key fetches after a rotation = %d, want 2", got)
	}
	// Forged callbacks cannot make it fetch again and again.
	forged := s.SignWith(t, saveEvent(c.now()), wallettest.Envelope{Sender: "GooglePay"})
	for range 3 {
		if _, err := v.Verify(ctx, forged); !errors.Is(err, googlewallet.ErrCallbackInvalid) {
			t.Fatalf("Verify(forged) = %v, want ErrCallbackInvalid", err)
		}
	}
	if got := s.Fetches(); got != 2 {
		t.Errorf("key fetches after forged callbacks = %d, want 2", got)
	}
}

func TestVerifyCallbackKeysUnavailable(t *testing.T) {
	t.Parallel()
	s := wallettest.NewCallbackSigner(t, testNow)
	v, err := googlewallet.NewCallbackVerifier(googlewallet.CallbackConfig{
		IssuerID: wallettest.IssuerID,
		KeysURL:  s.URL + "/missing",
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatalf("NewCallbackVerifier() = %v", err)
	}
	_, err = v.Verify(context.Background(), s.Sign(t, saveEvent(testNow)))
	if !errors.Is(err, googlewallet.ErrCallbackKeys) || errors.Is(err, googlewallet.ErrCallbackInvalid) {
		t.Errorf("Verify() with no keys = %v, want ErrCallbackKeys only", err)
	}
}

func TestNewCallbackVerifierRejectsConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []googlewallet.CallbackConfig{
		{},
		{IssuerID: "1.2"},
		{IssuerID: wallettest.IssuerID, KeysURL: "ftp://example.com/keys"},
		{IssuerID: wallettest.IssuerID, KeysURL: "keys.json"},
	} {
		if _, err := googlewallet.NewCallbackVerifier(cfg); !errors.Is(err, googlewallet.ErrInvalid) {
			t.Errorf("NewCallbackVerifier(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
}

func FuzzVerifyCallback(f *testing.F) {
	s := wallettest.NewCallbackSigner(f, testNow)
	valid := s.Sign(f, saveEvent(testNow))
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"protocolVersion":"ECv2SigningOnly","signature":"AA==","signedMessage":"{}","intermediateSigningKey":{"signedKey":"{}","signatures":["AA=="]}}`))
	v, err := googlewallet.NewCallbackVerifier(googlewallet.CallbackConfig{
		IssuerID:   wallettest.IssuerID,
		KeysURL:    s.URL,
		HTTPClient: http.DefaultClient,
		Now:        func() time.Time { return testNow },
	})
	if err != nil {
		f.Fatalf("NewCallbackVerifier() = %v", err)
	}
	ev := saveEvent(testNow)
	signed := googlewallet.Callback{
		ClassID: ev.ClassID, ObjectID: ev.ObjectID, EventType: ev.EventType, Nonce: ev.Nonce,
		ExpTime: time.UnixMilli(ev.ExpTime.UnixMilli()),
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := v.Verify(context.Background(), body)
		if err == nil {
			// Only a re-encoding of the signed callback (spacing, extra
			// fields) can pass, and it says what Google signed.
			if cb != signed {
				t.Fatalf("Verify(%q) = %+v, want an error or %+v", body, cb, signed)
			}
			return
		}
		if string(body) == string(valid) {
			t.Fatalf("Verify(valid) = %v", err)
		}
		if !errors.Is(err, googlewallet.ErrCallbackInvalid) && !errors.Is(err, googlewallet.ErrCallbackKeys) {
			t.Fatalf("Verify(%q) = %v, want a sentinel", body, err)
		}
	})
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	jwt "github.com/golang-jwt/jwt/v5"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/templates"
)

const googlePublicURL = "https://passd.example"

// startWithGoogle runs passd with Google Wallet pointed at a fake; tweaks
// change its options.
func startWithGoogle(t *testing.T, fake *wallettest.Server, tweaks ...func(*server.Options)) *started {
	t.Helper()
	return startWithGoogleEnv(t, fake, nil, tweaks...)
}

// startWithGoogleEnv is startWithGoogle with more environment.
func startWithGoogleEnv(t *testing.T, fake *wallettest.Server, env map[string]string, tweaks ...func(*server.Options)) *started {
	t.Helper()
	opts := server.Options{GoogleHTTPClient: fake.HTTPClient(), SyncPoll: 100 * time.Millisecond, SyncDebounce: 10 * time.Millisecond}
	for _, tw := range tweaks {
		tw(&opts)
	}
	full := map[string]string{
		"PASSD_PUBLIC_URL":         googlePublicURL,
		"PASSD_GOOGLE_ISSUER_ID":   wallettest.IssuerID,
		"PASSD_GOOGLE_CREDENTIALS": fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":     fake.URL,
	}
	for k, v := range env {
		full[k] = v
	}
	return start(t, full, opts)
}

func earnPoints(t *testing.T, s *started, memberID string, points int) {
	t.Helper()
	res, b := call(t, "POST", s.url+"/api/v1/members/"+memberID+"/transactions",
		map[string]any{"type": "earn", "points": points}, "Idempotency-Key", "earn-"+time.Now().Format(time.RFC3339Nano))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("earn: %d %s", res.StatusCode, b)
	}
}

func balanceAt(fake *wallettest.Server, objectID string) (float64, bool) {
	obj := fake.Object(objectID)
	lp, _ := obj["loyaltyPoints"].(map[string]any)
	bal, _ := lp["balance"].(map[string]any)
	v, ok := bal["int"].(float64)
	return v, ok
}

func TestGoogleWalletEndToEnd(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake)
	classID := wallettest.IssuerID + ".demo"

	// The class is upserted at start, with its logo served by passd.
	cl := fake.Class(classID)
	if cl == nil {
		t.Fatalf("class %s not upserted at start; requests %v", classID, fake.Requests())
	}
	logo, _ := cl["programLogo"].(map[string]any)
	src, _ := logo["sourceUri"].(map[string]any)
	if u, _ := src["uri"].(string); !strings.HasPrefix(u, googlePublicURL+"/programs/demo/logo.png") {
		t.Errorf("class logo = %v, want passd's public logo URL", src["uri"])
	}

	m := enroll(t, s, "Ada Lovelace")
	id := m["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	waitFor(t, func() bool { return fake.Object(objectID) != nil })
	obj := fake.Object(objectID)
	if obj["accountName"] != "Ada Lovelace" || obj["accountId"] != m["number"] || obj["state"] != "ACTIVE" {
		t.Errorf("object = %v, want Ada's card, active", obj)
	}
	if got, _ := obj["barcode"].(map[string]any)["value"].(string); got != m["barcode"] {
		t.Errorf("object barcode = %q, want the member's barcode %q", got, m["barcode"])
	}
	if got, ok := balanceAt(fake, objectID); !ok || got != 0 {
		t.Errorf("object balance = %v (%v), want 0 sent", got, ok)
	}

	earnPoints(t, s, id, 420)
	waitFor(t, func() bool { got, _ := balanceAt(fake, objectID); return got == 420 })

	// The save link references the object, within the length limit, signed
	// with the service account's key.
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id, nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET member: %d %s", res.StatusCode, b)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, member := range []map[string]any{m, got} {
		checkSaveURL(t, fake, member["google_save_url"], objectID)
	}

	// A merchant message becomes an object message that notifies.
	res, b = call(t, "POST", s.url+"/api/v1/programs/demo/messages", map[string]any{"text": "Free cookie today"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("post message: %d %s", res.StatusCode, b)
	}
	waitFor(t, func() bool {
		msgs, _ := fake.Object(objectID)["messages"].([]any)
		return len(msgs) == 1 && msgs[0].(map[string]any)["body"] == "Free cookie today"
	})
	if n := fake.Notifications(objectID); n != 1 {
		t.Errorf("notifications = %d, want 1", n)
	}

	// Erasure retires the object and strips it.
	if res, b := call(t, "DELETE", s.url+"/api/v1/members/"+id, nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("erase: %d %s", res.StatusCode, b)
	}
	waitFor(t, func() bool { return fake.Object(objectID)["state"] == "INACTIVE" })
	if obj := fake.Object(objectID); len(obj) != 3 {
		t.Errorf("retired object = %v, want only id, classId and state", obj)
	}
}

func TestGoogleWalletUnreachableAtEnrollment(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := start(t, map[string]string{
		"PASSD_PUBLIC_URL":         googlePublicURL,
		"PASSD_GOOGLE_ISSUER_ID":   wallettest.IssuerID,
		"PASSD_GOOGLE_CREDENTIALS": fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":     fake.URL,
	}, server.Options{GoogleHTTPClient: fake.HTTPClient(), SyncPoll: 100 * time.Millisecond,
		SyncDebounce: 10 * time.Millisecond, BackoffBase: 100 * time.Millisecond})
	fake.SetUnavailable(true)
	m := enroll(t, s, "Ada")
	id := m["id"].(string)
	objectID := wallettest.IssuerID + "." + id
	waitFor(t, func() bool {
		states, err := s.Store.SyncStates(context.Background(), id)
		if err != nil {
			return false
		}
		for _, st := range states {
			if st.Channel == loyalty.ChannelGoogle {
				return st.Attempts > 0 && strings.Contains(st.LastError, "503")
			}
		}
		return false
	})
	fake.SetUnavailable(false)
	waitFor(t, func() bool { return fake.Object(objectID) != nil })
}

// checkSaveURL verifies a save link's JWT with the service account's public
// key and checks every claim.
func checkSaveURL(t *testing.T, fake *wallettest.Server, v any, objectID string) {
	t.Helper()
	link, _ := v.(string)
	if !strings.HasPrefix(link, googlewallet.SaveURLPrefix) || len(link) > googlewallet.MaxSaveURLLength {
		t.Fatalf("google_save_url = %q (%d chars), want a save link of at most %d chars",
			link, len(link), googlewallet.MaxSaveURLLength)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(strings.TrimPrefix(link, googlewallet.SaveURLPrefix), claims,
		func(*jwt.Token) (any, error) { return fake.PublicKey(), nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("google"), jwt.WithIssuer(wallettest.Email),
		jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("save JWT does not verify: %v", err)
	}
	if tok.Header["kid"] != wallettest.KeyID {
		t.Errorf("save JWT kid = %v, want %s", tok.Header["kid"], wallettest.KeyID)
	}
	if claims["typ"] != "savetowallet" {
		t.Errorf("typ = %v, want savetowallet", claims["typ"])
	}
	if iat, err := claims.GetIssuedAt(); err != nil || iat == nil || time.Since(iat.Time) > time.Minute {
		t.Errorf("iat = %v, %v, want about now", iat, err)
	}
	if o, _ := claims["origins"].([]any); len(o) != 1 || o[0] != googlePublicURL {
		t.Errorf("origins = %v, want [%s]", claims["origins"], googlePublicURL)
	}
	payload, _ := claims["payload"].(map[string]any)
	objs, _ := payload["loyaltyObjects"].([]any)
	if len(payload) != 1 || len(objs) != 1 {
		t.Fatalf("payload = %v, want one loyalty object reference", payload)
	}
	if ref, _ := objs[0].(map[string]any); len(ref) != 1 || ref["id"] != objectID {
		t.Errorf("payload object = %v, want only {id: %s}", objs[0], objectID)
	}
	for k := range claims {
		switch k {
		case "iss", "aud", "typ", "iat", "origins", "payload":
		default:
			t.Errorf("unexpected claim %q = %v", k, claims[k])
		}
	}
}

func TestGoogleWalletOff(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	// Everything but the issuer id points at the fake: still off.
	s := start(t, map[string]string{
		"PASSD_GOOGLE_CREDENTIALS": fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":     fake.URL,
	}, server.Options{GoogleHTTPClient: fake.HTTPClient(), SyncPoll: 100 * time.Millisecond, SyncDebounce: 10 * time.Millisecond})
	m := enroll(t, s, "Ada")
	if _, ok := m["google_save_url"]; ok {
		t.Errorf("google_save_url present with Google off: %v", m["google_save_url"])
	}
	id := m["id"].(string)
	earnPoints(t, s, id, 10)
	// Once the Apple channel delivered the earn, the sync engine has been
	// through its work; Google must have seen nothing.
	waitFor(t, func() bool {
		states, err := s.Store.SyncStates(context.Background(), id)
		if err != nil {
			return false
		}
		for _, st := range states {
			if st.Channel == loyalty.ChannelApple {
				return st.State == loyalty.SyncOK && st.SyncedVersion == st.WantedVersion && st.SyncedVersion > 1
			}
		}
		return false
	})
	if n, reqs := fake.TokenRequests(), fake.Requests(); n != 0 || len(reqs) != 0 {
		t.Errorf("fake saw %d token requests and API calls %v with Google off, want none", n, reqs)
	}
	res, b := call(t, "GET", s.url+"/api/v1/members/"+id, nil)
	if res.StatusCode != 200 || strings.Contains(string(b), "google_save_url") {
		t.Errorf("GET member = %d %s, want no google_save_url", res.StatusCode, b)
	}
}

func TestGoogleWalletNeedsHTTPSPublicURL(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	env := map[string]string{
		"PASSD_ADDR": "127.0.0.1:0", "PASSD_DATA_DIR": t.TempDir(),
		"PASSD_PUBLIC_URL":         "http://localhost:8080",
		"PASSD_GOOGLE_ISSUER_ID":   wallettest.IssuerID,
		"PASSD_GOOGLE_CREDENTIALS": fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":     fake.URL,
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{GoogleHTTPClient: fake.HTTPClient()})
	var cerr *config.Error
	if err == nil || !errors.As(err, &cerr) || cerr.Var != "PASSD_PUBLIC_URL" {
		if s != nil {
			t.Cleanup(func() { _ = s.Store.Close() })
		}
		t.Fatalf("New(Google on, http public URL) = %v, want an error naming PASSD_PUBLIC_URL", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake saw %d calls from a passd that did not start", n)
	}
}

func TestProgramImage(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s := startWithGoogle(t, fake)
	r := chi.NewRouter()
	r.Get("/programs/{program}/{image}", s.ProgramImage)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	want, err := fs.ReadFile(templates.FS, "demo/logo@3x.png")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(srv.URL + "/programs/demo/logo.png?v=whatever")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || string(body) != string(want) {
		t.Errorf("GET logo = %d %s, %d bytes, want 200 image/png with logo@3x.png", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/programs/demo/logo.png", nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNotModified {
		t.Errorf("GET logo with its ETag = %v, %v, want 304", res, err)
	} else {
		res.Body.Close()
	}
	for _, p := range []string{"/programs/demo/hero.png"} {
		if res, err := http.Get(srv.URL + p); err != nil || res.StatusCode != 200 {
			t.Errorf("GET %s = %v, %v, want 200", p, res, err)
		} else {
			res.Body.Close()
		}
	}
	for _, p := range []string{"/programs/demo/icon.png", "/programs/nope/logo.png"} {
		if res, err := http.Get(srv.URL + p); err != nil || res.StatusCode != 404 {
			t.Errorf("GET %s = %v, %v, want 404", p, res, err)
		} else {
			res.Body.Close()
		}
	}
}

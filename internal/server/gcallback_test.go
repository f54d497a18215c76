package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/store"
)

// postCallback posts body as Google posts a callback and answers the
// status and body.
func postCallback(t *testing.T, s *started, body []byte) (int, []byte) {
	t.Helper()
	res, err := http.Post(s.url+"/google/callbacks", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /google/callbacks: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if res.StatusCode >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST /google/callbacks = %d with Content-Type %q, want problem+json", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res.StatusCode, b
}

func cardInstalls(t *testing.T, s *started, memberID string) []store.CardInstall {
	t.Helper()
	got, err := s.Store.CardInstalls(context.Background(), memberID)
	if err != nil {
		t.Fatalf("CardInstalls(%s) = %v", memberID, err)
	}
	return got
}

func TestGoogleCallbacksEndToEnd(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	signer := wallettest.NewCallbackSigner(t, time.Now())
	s := startWithGoogleEnv(t, fake, map[string]string{"PASSD_GOOGLE_CALLBACK_KEYS_URL": signer.URL})

	// The class tells Google where to post.
	classID := wallettest.IssuerID + ".demo"
	cl := fake.Class(classID)
	if cl == nil {
		t.Fatalf("class %s not upserted at start", classID)
	}
	opts, _ := cl["callbackOptions"].(map[string]any)
	if got, want := opts["url"], googlePublicURL+"/google/callbacks"; got != want {
		t.Errorf("class callbackOptions.url = %v, want %s", got, want)
	}

	m := enroll(t, s, "Ada Lovelace")
	id := m["id"].(string)
	save := wallettest.CallbackEvent{
		ClassID: classID, ObjectID: wallettest.IssuerID + "." + id, EventType: "save",
		Nonce: "0b7c9a52-6f0e-4d8e-9d7e-3f6f1f0c2a11", ExpTime: time.Now().Add(time.Hour),
	}

	// An altered callback is refused and changes nothing.
	var env map[string]any
	if err := json.Unmarshal(signer.Sign(t, save), &env); err != nil {
		t.Fatal(err)
	}
	env["signedMessage"] = strings.Replace(env["signedMessage"].(string), id, "someone-else", 1)
	tampered, _ := json.Marshal(env)
	if code, b := postCallback(t, s, tampered); code != http.StatusUnauthorized {
		t.Errorf("POST tampered callback = %d %s, want 401", code, b)
	}
	if code, b := postCallback(t, s, signer.SignWith(t, save, wallettest.Envelope{Sender: "GooglePay"})); code != http.StatusUnauthorized {
		t.Errorf("POST callback from another sender = %d %s, want 401", code, b)
	}
	if got := cardInstalls(t, s, id); len(got) != 0 {
		t.Fatalf("installs after refused callbacks = %v, want none", got)
	}

	// A genuine save marks the card installed in Google Wallet.
	body := signer.Sign(t, save)
	if code, b := postCallback(t, s, body); code != http.StatusOK {
		t.Fatalf("POST save callback = %d %s, want 200", code, b)
	}
	got := cardInstalls(t, s, id)
	if len(got) != 1 || got[0].Wallet != loyalty.ChannelGoogle || !got[0].Installed {
		t.Fatalf("installs after save = %+v, want installed in google", got)
	}
	first := got[0].UpdatedAt

	// Google's redelivery of the same event, or anything else under its
	// nonce, is acknowledged and ignored.
	del := save
	del.EventType = "del"
	for _, again := range [][]byte{body, signer.Sign(t, del)} {
		if code, b := postCallback(t, s, again); code != http.StatusOK {
			t.Fatalf("POST replayed nonce = %d %s, want 200", code, b)
		}
	}
	if got := cardInstalls(t, s, id); len(got) != 1 || !got[0].Installed || !got[0].UpdatedAt.Equal(first) {
		t.Fatalf("installs after replays = %+v, want the first save only", got)
	}

	// A delete under a new nonce marks it removed.
	del.Nonce = "6a1d3c9e-2b4f-4e7a-8c5d-9e0f1a2b3c4d"
	if code, b := postCallback(t, s, signer.Sign(t, del)); code != http.StatusOK {
		t.Fatalf("POST del callback = %d %s, want 200", code, b)
	}
	if got := cardInstalls(t, s, id); len(got) != 1 || got[0].Installed {
		t.Fatalf("installs after del = %+v, want removed", got)
	}

	// An object of no member is acknowledged, so Google stops retrying.
	ghost := save
	ghost.ObjectID, ghost.Nonce = wallettest.IssuerID+".no-such-member", "ghost-1"
	if code, b := postCallback(t, s, signer.Sign(t, ghost)); code != http.StatusOK {
		t.Errorf("POST callback of an unknown member = %d %s, want 200", code, b)
	}
}

func TestGoogleCallbacksOffWithoutGoogle(t *testing.T) {
	t.Parallel()
	s := start(t, nil, server.Options{})
	signer := wallettest.NewCallbackSigner(t, time.Now())
	body := signer.Sign(t, wallettest.CallbackEvent{
		ClassID: wallettest.IssuerID + ".demo", ObjectID: wallettest.IssuerID + ".m1", EventType: "save",
		Nonce: "n", ExpTime: time.Now().Add(time.Hour),
	})
	res, err := http.Post(s.url+"/google/callbacks", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /google/callbacks with Google off = %d, want 404", res.StatusCode)
	}
}

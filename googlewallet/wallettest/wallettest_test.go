package wallettest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

func TestFakeWithRealClient(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	ctx := context.Background()
	c, err := googlewallet.New(ctx, googlewallet.Config{
		IssuerID: wallettest.IssuerID, CredentialsJSON: fake.Credentials(), BaseURL: fake.URL,
		HTTPClient: fake.HTTPClient(), MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	card := googlewallet.Card{MemberID: "m1", ProgramID: "demo", AccountID: "123", Barcode: "123-ABC"}
	if err := c.InsertObject(ctx, card); !errors.Is(err, googlewallet.ErrNotFound) {
		t.Errorf("InsertObject(no class) = %v, want ErrNotFound", err)
	}
	prog := googlewallet.Program{ID: "demo", Name: "Demo", IssuerName: "Demo Co", LogoURL: "https://example.com/logo.png"}
	if err := c.UpsertClass(ctx, prog); err != nil {
		t.Fatalf("UpsertClass() = %v", err)
	}
	if err := c.InsertObject(ctx, card); err != nil {
		t.Fatalf("InsertObject() = %v", err)
	}
	if got := fake.Object(c.ObjectID("m1"))["accountId"]; got != "123" {
		t.Errorf("stored accountId = %v, want 123", got)
	}
	fake.FailNext(http.StatusBadRequest)
	if err := c.PatchObject(ctx, card); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("PatchObject(injected 400) = %v, want ErrInvalid", err)
	}
	if err := c.AddMessage(ctx, c.ObjectID("m1"), googlewallet.Message{ID: "a", Header: "h", Body: "b"}, true); err != nil {
		t.Fatalf("AddMessage() = %v", err)
	}
	if n := fake.Notifications(c.ObjectID("m1")); n != 1 {
		t.Errorf("Notifications() = %d, want 1", n)
	}
	if err := c.Retire(ctx, c.ObjectID("m1")); err != nil {
		t.Fatalf("Retire() = %v", err)
	}
	if obj := fake.Object(c.ObjectID("m1")); obj["state"] != "INACTIVE" || obj["accountId"] != nil {
		t.Errorf("retired object = %v", obj)
	}
	if fake.TokenRequests() != 1 {
		t.Errorf("TokenRequests() = %d, want 1 (the token is reused)", fake.TokenRequests())
	}
	if a := fake.TokenAssertions(); len(a) != 1 || a[0]["aud"] != fake.TokenURL() || a[0]["iss"] != wallettest.Email || a[0]["scope"] != wallettest.Scope {
		t.Errorf("TokenAssertions() = %v, want one for %s from %s", a, fake.TokenURL(), wallettest.Email)
	}
}

func TestFakeScripting(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	hc := fake.HTTPClient()
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", fake.URL+"walletobjects/v1/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+wallettest.AccessToken)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	id := wallettest.IssuerID + ".demo"
	fake.SetClass(map[string]any{"id": id, "reviewStatus": "APPROVED"})
	if got := fake.Class(id)["reviewStatus"]; got != "APPROVED" {
		t.Errorf("Class() after SetClass = %v, want APPROVED", got)
	}
	if res := get("loyaltyClass/" + id); res.StatusCode != http.StatusOK {
		t.Errorf("GET a class set by SetClass = %d, want 200", res.StatusCode)
	}
	fake.FailNextRetryAfter(7*time.Second, http.StatusTooManyRequests)
	if res := get("loyaltyClass/" + id); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "7" {
		t.Errorf("GET after FailNextRetryAfter = %d, Retry-After %q, want 429, 7", res.StatusCode, res.Header.Get("Retry-After"))
	}
	fake.FailNext(http.StatusServiceUnavailable)
	if res := get("loyaltyClass/" + id); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "" {
		t.Errorf("GET after FailNext = %d, Retry-After %q, want 503, none", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if res := get("loyaltyClass/" + id); res.StatusCode != http.StatusOK {
		t.Errorf("GET after the failures = %d, want 200", res.StatusCode)
	}
	fake.Close()
	if _, err := hc.Get(fake.URL + "walletobjects/v1/loyaltyClass/" + id); err == nil {
		t.Error("GET after Close succeeded, want a connection error")
	}
}

func TestFakeRequiresBearerAndValidIDs(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	hc := fake.HTTPClient()
	res, err := hc.Post(fake.URL+"walletobjects/v1/loyaltyClass", "application/json", strings.NewReader(`{"id":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a token = %d, want 401", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", fake.URL+"walletobjects/v1/loyaltyClass", strings.NewReader(`{"id":"999.demo"}`))
	req.Header.Set("Authorization", "Bearer "+wallettest.AccessToken)
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST with a foreign issuer id = %d, want 400", res.StatusCode)
	}
	if got := fake.Requests(); len(got) != 2 || got[1].Status != http.StatusBadRequest {
		t.Errorf("Requests() = %v, want both recorded", got)
	}
}

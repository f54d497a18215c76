package wallettest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

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

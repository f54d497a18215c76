package googlewallet_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v5"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

func TestSaveURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ids := []string{e.c.ObjectID("0b6f3c7e-5a1d-4c2b-9e8f-1a2b3c4d5e6f")}
	link, err := e.c.SaveURL(ids, []string{"https://passd.example", "https://shop.example:8443/"})
	if err != nil {
		t.Fatalf("SaveURL() = %v", err)
	}
	raw, ok := strings.CutPrefix(link, "https://pay.google.com/gp/v/save/")
	if !ok {
		t.Fatalf("SaveURL() = %q, want the pay.google.com save prefix", link)
	}
	if len(link) > googlewallet.MaxSaveURLLength {
		t.Errorf("len(SaveURL()) = %d, want <= %d", len(link), googlewallet.MaxSaveURLLength)
	}

	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) {
		return e.fake.PublicKey(), nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience("google"),
		jwt.WithIssuer(wallettest.Email),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return testNow }),
	)
	if err != nil {
		t.Fatalf("verify save JWT: %v", err)
	}
	if tok.Header["kid"] != wallettest.KeyID || tok.Header["alg"] != "RS256" {
		t.Errorf("JWT header = %v, want alg RS256, kid %s", tok.Header, wallettest.KeyID)
	}
	if got := claims["iat"]; got != float64(testNow.Unix()) {
		t.Errorf("iat = %v, want %d", got, testNow.Unix())
	}
	if claims["typ"] != "savetowallet" || claims["aud"] != "google" || claims["iss"] != wallettest.Email {
		t.Errorf("claims = %v", claims)
	}
	if got := dig(map[string]any(claims), "payload", "loyaltyObjects", 0, "id"); got != ids[0] {
		t.Errorf("payload.loyaltyObjects[0].id = %v, want %s", got, ids[0])
	}
	delete(claims, "iat")
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "save_claims.golden.json", b)
}

func TestSaveURLLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var ids []string
	for i := range 40 {
		ids = append(ids, e.c.ObjectID(fmt.Sprintf("member-%04d", i)))
	}
	if _, err := e.c.SaveURL(ids, nil); !errors.Is(err, googlewallet.ErrSaveURLTooLong) {
		t.Errorf("SaveURL(40 objects) = %v, want ErrSaveURLTooLong", err)
	}
	for name, tc := range map[string]struct{ ids, origins []string }{
		"no ids":         {nil, nil},
		"foreign issuer": {[]string{"1234.m-1"}, nil},
		"bad id":         {[]string{wallettest.IssuerID + ".a b"}, nil},
		"origin path":    {[]string{e.c.ObjectID("m")}, []string{"https://passd.example/join"}},
		"origin scheme":  {[]string{e.c.ObjectID("m")}, []string{"passd.example"}},
	} {
		if _, err := e.c.SaveURL(tc.ids, tc.origins); !errors.Is(err, googlewallet.ErrInvalid) {
			t.Errorf("SaveURL(%s) = %v, want ErrInvalid", name, err)
		}
	}
	link, err := e.c.SaveURL([]string{e.c.ObjectID("m")}, nil)
	if err != nil {
		t.Fatalf("SaveURL(no origins) = %v", err)
	}
	if n := len(link); n > googlewallet.MaxSaveURLLength {
		t.Errorf("len(SaveURL()) = %d", n)
	}
}

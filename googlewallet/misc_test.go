package googlewallet_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	if got, want := googlewallet.ClassID(wallettest.IssuerID, "demo"), wallettest.IssuerID+".demo"; got != want {
		t.Errorf("ClassID(demo) = %q, want %q", got, want)
	}
	tests := []struct {
		in, want string
	}{
		{"0b6f3c7e-5a1d-4c2b-9e8f-1a2b3c4d5e6f", "0b6f3c7e-5a1d-4c2b-9e8f-1a2b3c4d5e6f"},
		{"Member_1.x", "Member_1.x"},
		{"a b", "a_b-"},
		{"a/b", "a_b-"},
		{"jürgen@x", "j_rgen_x-"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		got := googlewallet.ObjectID(wallettest.IssuerID, tc.in)
		suffix := strings.TrimPrefix(got, wallettest.IssuerID+".")
		if !strings.HasPrefix(suffix, tc.want) {
			t.Errorf("ObjectID(%q) = %q, want suffix starting %q", tc.in, got, tc.want)
		}
		for _, r := range suffix {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
				t.Errorf("ObjectID(%q) = %q has invalid character %q", tc.in, got, r)
			}
		}
		if other, dup := seen[got]; dup {
			t.Errorf("ObjectID(%q) = ObjectID(%q) = %q", tc.in, other, got)
		}
		seen[got] = tc.in
	}
}

func TestNotifyAllowed(t *testing.T) {
	t.Parallel()
	now := testNow
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name string
		sent []time.Time
		want bool
	}{
		{"none", nil, true},
		{"two today", []time.Time{ago(time.Hour), ago(2 * time.Hour)}, true},
		{"three today", []time.Time{ago(time.Minute), ago(time.Hour), ago(23 * time.Hour)}, false},
		{"one expired", []time.Time{ago(time.Minute), ago(time.Hour), ago(25 * time.Hour)}, true},
		{"exactly 24h ago", []time.Time{ago(time.Minute), ago(time.Hour), ago(24 * time.Hour)}, true},
		{"future counts", []time.Time{now.Add(time.Hour), ago(time.Hour), ago(2 * time.Hour)}, false},
		{"unordered", []time.Time{ago(48 * time.Hour), ago(time.Hour), ago(30 * time.Hour), ago(2 * time.Hour), ago(3 * time.Hour)}, false},
	}
	for _, tc := range tests {
		if got := googlewallet.NotifyAllowed(tc.sent, now); got != tc.want {
			t.Errorf("NotifyAllowed(%s) = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestConfigFromEnvValues(t *testing.T) {
	t.Parallel()
	good := wallettest.New(t).WriteCredentials(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"type":"authorized_user"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, enabled, err := googlewallet.ConfigFromEnvValues("", "", "")
	if err != nil || enabled {
		t.Errorf("ConfigFromEnvValues(empty) = %v, %t, %v, want disabled", cfg, enabled, err)
	}
	cfg, enabled, err = googlewallet.ConfigFromEnvValues(wallettest.IssuerID, good, "https://wallet.test/")
	if err != nil || !enabled || cfg.IssuerID != wallettest.IssuerID || cfg.BaseURL != "https://wallet.test/" || len(cfg.CredentialsJSON) == 0 {
		t.Errorf("ConfigFromEnvValues(good) = %+v, %t, %v", cfg.IssuerID, enabled, err)
	}
	for _, tc := range []struct {
		name, issuer, creds, url, wantVar string
	}{
		{"issuer not numeric", "abc", good, "", "PASSD_GOOGLE_ISSUER_ID"},
		{"no credentials", wallettest.IssuerID, "", "", "PASSD_GOOGLE_CREDENTIALS"},
		{"missing file", wallettest.IssuerID, filepath.Join(dir, "nope.json"), "", "PASSD_GOOGLE_CREDENTIALS"},
		{"not a service account", wallettest.IssuerID, bad, "", "PASSD_GOOGLE_CREDENTIALS"},
		{"bad url", wallettest.IssuerID, good, "walletobjects.googleapis.com", "PASSD_GOOGLE_API_URL"},
	} {
		_, _, err := googlewallet.ConfigFromEnvValues(tc.issuer, tc.creds, tc.url)
		if err == nil || !strings.HasPrefix(err.Error(), tc.wantVar) {
			t.Errorf("ConfigFromEnvValues(%s) = %v, want an error naming %s", tc.name, err, tc.wantVar)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("ConfigFromEnvValues(%s) error leaks the key: %v", tc.name, err)
		}
	}
}

func TestConfigRedacted(t *testing.T) {
	t.Parallel()
	cfg := googlewallet.Config{IssuerID: wallettest.IssuerID, CredentialsJSON: wallettest.New(t).Credentials()}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "google", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, wallettest.Email) {
			t.Errorf("printed Config leaks credentials: %s", s)
		}
		if !strings.Contains(s, wallettest.IssuerID) {
			t.Errorf("printed Config lacks the issuer id: %s", s)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	creds := wallettest.New(t).Credentials()
	for name, cfg := range map[string]googlewallet.Config{
		"empty issuer":  {CredentialsJSON: creds},
		"issuer digits": {IssuerID: "33x", CredentialsJSON: creds},
		"no key":        {IssuerID: wallettest.IssuerID},
		"user creds":    {IssuerID: wallettest.IssuerID, CredentialsJSON: []byte(`{"type":"authorized_user","client_id":"x"}`)},
		"bad base url":  {IssuerID: wallettest.IssuerID, CredentialsJSON: creds, BaseURL: "ftp://x"},
	} {
		if _, err := googlewallet.New(t.Context(), cfg); err == nil {
			t.Errorf("New(%s) = nil error", name)
		}
	}
	if _, err := googlewallet.New(t.Context(), googlewallet.Config{CredentialsJSON: creds}); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("New(empty issuer) = %v, want ErrInvalid", err)
	}
}

package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.PublicURL != "http://localhost:8080" || c.DataDir != "data" || c.DatabaseURL != "" ||
		c.APNSURL != "https://api.push.apple.com" || c.GoogleEnabled() ||
		c.GoogleCallbackKeysURL != "https://pay.google.com/gp/m/issuer/keys" || !c.DevCertificates() || c.LogLevel != slog.LevelInfo ||
		c.WebhookAllowHTTP {
		t.Errorf("FromEnv(empty) = %+v, want the documented defaults", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env     map[string]string
		varName string
	}{
		{map[string]string{"PASSD_LOG_LEVEL": "loud"}, "PASSD_LOG_LEVEL"},
		{map[string]string{"PASSD_ADDR": "8080"}, "PASSD_ADDR"},
		{map[string]string{"PASSD_PUBLIC_URL": "localhost:8080"}, "PASSD_PUBLIC_URL"},
		{map[string]string{"PASSD_DATABASE_URL": "mysql://x"}, "PASSD_DATABASE_URL"},
		{map[string]string{"PASSD_SECRET": "short"}, "PASSD_SECRET"},
		{map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": "short"}, "PASSD_BOOTSTRAP_ADMIN_KEY"},
		{map[string]string{"PASSD_APPLE_PASS_TYPE_ID": "com.example"}, "PASSD_APPLE_PASS_TYPE_ID"},
		{map[string]string{"PASSD_APPLE_TEAM_ID": "ab cd"}, "PASSD_APPLE_TEAM_ID"},
		{map[string]string{"PASSD_APPLE_CERT": f}, "PASSD_APPLE_CERT"},
		{map[string]string{"PASSD_APPLE_CERT": f, "PASSD_APPLE_KEY": f, "PASSD_APPLE_PASS_TYPE_ID": "pass.a.b"}, "PASSD_APPLE_WWDR"},
		{map[string]string{"PASSD_APPLE_CERT": f, "PASSD_APPLE_KEY": f, "PASSD_APPLE_WWDR": f}, "PASSD_APPLE_PASS_TYPE_ID"},
		{map[string]string{"PASSD_APPLE_P12": filepath.Join(dir, "missing.p12")}, "PASSD_APPLE_P12"},
		{map[string]string{"PASSD_APNS_URL": "http://api.push.apple.com"}, "PASSD_APNS_URL"},
		{map[string]string{"PASSD_APNS_CA": "/nonexistent/ca.pem"}, "PASSD_APNS_CA"},
		{map[string]string{"PASSD_GOOGLE_ISSUER_ID": "abc"}, "PASSD_GOOGLE_ISSUER_ID"},
		{map[string]string{"PASSD_GOOGLE_ISSUER_ID": "3388000000012345"}, "PASSD_GOOGLE_CREDENTIALS"},
		{map[string]string{"PASSD_GOOGLE_CALLBACK_KEYS_URL": "pay.google.com/keys"}, "PASSD_GOOGLE_CALLBACK_KEYS_URL"},
		{map[string]string{"PASSD_TEMPLATES_DIR": "/nonexistent"}, "PASSD_TEMPLATES_DIR"},
		{map[string]string{"PASSD_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, "PASSD_TRUSTED_PROXIES"},
		{map[string]string{"PASSD_JOIN_LIMIT_PER_ADDRESS": "20"}, "PASSD_JOIN_LIMIT_PER_ADDRESS"},
		{map[string]string{"PASSD_JOIN_LIMIT_PER_PROGRAM": "20/forever"}, "PASSD_JOIN_LIMIT_PER_PROGRAM"},
		{map[string]string{"PASSD_AUTH_FAILURE_LIMIT": "-1/1m"}, "PASSD_AUTH_FAILURE_LIMIT"},
		{map[string]string{"PASSD_METRICS_TOKEN": "short"}, "PASSD_METRICS_TOKEN"},
		{map[string]string{"PASSD_METRICS_ADDR": "9090"}, "PASSD_METRICS_ADDR"},
		{map[string]string{"PASSD_WEBHOOK_ALLOW_HTTP": "yes"}, "PASSD_WEBHOOK_ALLOW_HTTP"},
	} {
		_, err := FromEnv(env(tc.env))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.varName || !strings.HasPrefix(err.Error(), tc.varName+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("FromEnv(%v) = %v, want one line naming %s", tc.env, err, tc.varName)
		}
	}
}

func TestAbuseSettings(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.JoinLimitPerAddress.Burst != 20 || c.JoinLimitPerAddress.PerMinute != 2 || c.JoinLimitPerProgram.Burst != 120 ||
		c.AuthFailureLimit.Burst != 20 || c.AuthFailureLimit.PerMinute != 10 || len(c.TrustedProxies) != 0 || c.APNSURLExplicit {
		t.Errorf("FromEnv(empty) limits = %+v %+v %+v, want the documented defaults", c.JoinLimitPerAddress, c.JoinLimitPerProgram, c.AuthFailureLimit)
	}
	c, err = FromEnv(env(map[string]string{"PASSD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7", "PASSD_JOIN_LIMIT_PER_ADDRESS": "off",
		"PASSD_AUTH_FAILURE_LIMIT": "5/30s", "PASSD_APNS_URL": DefaultAPNSURL, "PASSD_METRICS_TOKEN": "metrics-token-0123456789"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.7/32" || c.JoinLimitPerAddress.Valid() ||
		c.AuthFailureLimit.Burst != 5 || c.AuthFailureLimit.PerMinute != 10 || !c.APNSURLExplicit {
		t.Errorf("FromEnv(settings) = proxies %v, limits %+v %+v, apns explicit %v", c.TrustedProxies, c.JoinLimitPerAddress, c.AuthFailureLimit, c.APNSURLExplicit)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "config", c)
	if strings.Contains(b.String(), "metrics-token-0123456789") || !strings.Contains(b.String(), "metrics_token_set=true") {
		t.Errorf("logged config %q shows the metrics token or not that it is set", b.String())
	}
}

func TestLogValueRedactsSecrets(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{
		"PASSD_SECRET":              strings.Repeat("s", 40),
		"PASSD_BOOTSTRAP_ADMIN_KEY": "admin-key-very-secret",
		"PASSD_DATABASE_URL":        "postgres://u:hunter2@db/passd",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "config", c)
	out := b.String()
	for _, secret := range []string{"ssssssss", "admin-key-very-secret", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("logged config %q contains a secret", out)
		}
	}
	if !strings.Contains(out, "secret_set=true") {
		t.Errorf("logged config %q lacks secret_set=true", out)
	}
}

func TestWebhookAllowHTTP(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{"PASSD_WEBHOOK_ALLOW_HTTP": "1"}))
	if err != nil || !c.WebhookAllowHTTP {
		t.Errorf("FromEnv(PASSD_WEBHOOK_ALLOW_HTTP=1) = %v, %v; want allowed", c.WebhookAllowHTTP, err)
	}
}

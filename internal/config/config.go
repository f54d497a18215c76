// Package config reads passd's configuration from the environment, as
// listed in API.md, and validates it once so that a bad value stops start-up
// with one line naming the variable.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/passd/passd/internal/clientaddr"
	"github.com/passd/passd/internal/ratelimit"
)

// Defaults of the development setup.
const (
	DefaultAddr       = ":8080"
	DefaultPublicURL  = "http://localhost:8080"
	DefaultDataDir    = "./data"
	DefaultPassTypeID = "pass.dev.passd.loyalty"
	DefaultTeamID     = "PASSDDEV01"
	DefaultAPNSURL    = "https://api.push.apple.com"
	DefaultGoogleURL  = "https://walletobjects.googleapis.com/"
	// DefaultGoogleCallbackKeysURL is where Google publishes the keys that
	// sign save and delete callbacks.
	DefaultGoogleCallbackKeysURL = "https://pay.google.com/gp/m/issuer/keys"
	// DefaultJoinLimitPerAddress lets one address (a family, a shop's
	// Wi-Fi) enrol 20 members at once, then 2 a minute.
	DefaultJoinLimitPerAddress = "20/10m"
	// DefaultJoinLimitPerProgram lets a programme take 120 enrolments at
	// once, then 2 a second.
	DefaultJoinLimitPerProgram = "120/1m"
	// DefaultAuthFailureLimit lets an address send 20 unknown API keys at
	// once, then 10 a minute.
	DefaultAuthFailureLimit = "20/2m"
	// MinSecretLen is the shortest accepted PASSD_SECRET, in bytes.
	MinSecretLen = 32
)

// Config is passd's whole configuration.
type Config struct {
	Addr              string
	PublicURL         string
	DataDir           string
	DatabaseURL       string
	TemplatesDir      string
	Secret            string
	BootstrapAdminKey string
	ApplePassTypeID   string
	AppleTeamID       string
	AppleCert         string
	AppleKey          string
	AppleP12          string
	AppleP12Password  string
	AppleWWDR         string
	APNSURL           string
	APNSCA            string
	GoogleIssuerID    string
	GoogleCredentials string
	GoogleAPIURL      string
	// GoogleCallbackKeysURL serves the root keys of Google's callbacks.
	GoogleCallbackKeysURL string
	LogLevel              slog.Level
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address (PASSD_TRUSTED_PROXIES); none by default.
	TrustedProxies []netip.Prefix
	// JoinLimitPerAddress and JoinLimitPerProgram bound enrolments on the
	// join pages; AuthFailureLimit bounds failed API-key attempts per
	// client address. A zero Limit is off.
	JoinLimitPerAddress ratelimit.Limit
	JoinLimitPerProgram ratelimit.Limit
	AuthFailureLimit    ratelimit.Limit
	// MetricsToken, when set, is the bearer token /metrics asks for;
	// MetricsAddr, when set, serves /metrics on its own listener instead
	// of the main one.
	MetricsToken string
	MetricsAddr  string
	// APNSURLExplicit reports that PASSD_APNS_URL was set.
	APNSURLExplicit bool
	// WebhookAllowHTTP lets webhook endpoints use plain http to loopback
	// and private addresses (PASSD_WEBHOOK_ALLOW_HTTP=1).
	WebhookAllowHTTP   bool
	passTypeIDExplicit bool
}

// Error is a configuration problem naming its variable.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// FromEnv reads the configuration through getenv (os.Getenv in main, a map
// in tests).
func FromEnv(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:                  get("PASSD_ADDR", DefaultAddr),
		PublicURL:             strings.TrimRight(get("PASSD_PUBLIC_URL", DefaultPublicURL), "/"),
		DataDir:               get("PASSD_DATA_DIR", DefaultDataDir),
		DatabaseURL:           get("PASSD_DATABASE_URL", ""),
		TemplatesDir:          get("PASSD_TEMPLATES_DIR", ""),
		Secret:                getenv("PASSD_SECRET"),
		BootstrapAdminKey:     getenv("PASSD_BOOTSTRAP_ADMIN_KEY"),
		ApplePassTypeID:       get("PASSD_APPLE_PASS_TYPE_ID", DefaultPassTypeID),
		AppleTeamID:           get("PASSD_APPLE_TEAM_ID", DefaultTeamID),
		AppleCert:             get("PASSD_APPLE_CERT", ""),
		AppleKey:              get("PASSD_APPLE_KEY", ""),
		AppleP12:              get("PASSD_APPLE_P12", ""),
		AppleP12Password:      getenv("PASSD_APPLE_P12_PASSWORD"),
		AppleWWDR:             get("PASSD_APPLE_WWDR", ""),
		APNSURL:               strings.TrimRight(get("PASSD_APNS_URL", DefaultAPNSURL), "/"),
		APNSCA:                get("PASSD_APNS_CA", ""),
		GoogleIssuerID:        get("PASSD_GOOGLE_ISSUER_ID", ""),
		GoogleCredentials:     get("PASSD_GOOGLE_CREDENTIALS", ""),
		GoogleAPIURL:          get("PASSD_GOOGLE_API_URL", DefaultGoogleURL),
		GoogleCallbackKeysURL: get("PASSD_GOOGLE_CALLBACK_KEYS_URL", DefaultGoogleCallbackKeysURL),
	}
	c.passTypeIDExplicit = strings.TrimSpace(getenv("PASSD_APPLE_PASS_TYPE_ID")) != ""
	c.APNSURLExplicit = strings.TrimSpace(getenv("PASSD_APNS_URL")) != ""
	c.MetricsToken = getenv("PASSD_METRICS_TOKEN")
	c.MetricsAddr = get("PASSD_METRICS_ADDR", "")
	switch v := get("PASSD_WEBHOOK_ALLOW_HTTP", "0"); v {
	case "1":
		c.WebhookAllowHTTP = true
	case "0":
	default:
		return Config{}, &Error{"PASSD_WEBHOOK_ALLOW_HTTP", fmt.Sprintf("%q is not 1 or 0", v)}
	}
	if err := c.parse(get("PASSD_LOG_LEVEL", "info")); err != nil {
		return Config{}, err
	}
	if err := c.parseAbuse(get); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseAbuse reads the abuse limits, the trusted proxies and the metrics
// settings.
func (c *Config) parseAbuse(get func(k, def string) string) error {
	var err error
	if c.TrustedProxies, err = clientaddr.ParsePrefixes(get("PASSD_TRUSTED_PROXIES", "")); err != nil {
		return &Error{"PASSD_TRUSTED_PROXIES", err.Error()}
	}
	for _, l := range []struct {
		name, def string
		to        *ratelimit.Limit
	}{
		{"PASSD_JOIN_LIMIT_PER_ADDRESS", DefaultJoinLimitPerAddress, &c.JoinLimitPerAddress},
		{"PASSD_JOIN_LIMIT_PER_PROGRAM", DefaultJoinLimitPerProgram, &c.JoinLimitPerProgram},
		{"PASSD_AUTH_FAILURE_LIMIT", DefaultAuthFailureLimit, &c.AuthFailureLimit},
	} {
		if *l.to, err = ratelimit.ParseLimit(get(l.name, l.def)); err != nil {
			return &Error{l.name, err.Error()}
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return &Error{"PASSD_METRICS_TOKEN", "must be at least 16 characters"}
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return &Error{"PASSD_METRICS_ADDR", fmt.Sprintf("%q is not a host:port listen address", c.MetricsAddr)}
		}
	}
	return nil
}

func (c *Config) parse(level string) error {
	switch strings.ToLower(level) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return &Error{"PASSD_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", level)}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return &Error{"PASSD_ADDR", fmt.Sprintf("%q is not a host:port listen address", c.Addr)}
	}
	if err := checkURL(c.PublicURL, "http", "https"); err != nil {
		return &Error{"PASSD_PUBLIC_URL", err.Error()}
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return &Error{"PASSD_DATABASE_URL", "must be a postgres:// URL (leave it empty for SQLite)"}
		}
	}
	if c.Secret != "" && len(c.Secret) < MinSecretLen {
		return &Error{"PASSD_SECRET", fmt.Sprintf("must be at least %d bytes, got %d", MinSecretLen, len(c.Secret))}
	}
	if c.BootstrapAdminKey != "" && len(c.BootstrapAdminKey) < 16 {
		return &Error{"PASSD_BOOTSTRAP_ADMIN_KEY", "must be at least 16 characters"}
	}
	if !validPassTypeID(c.ApplePassTypeID) {
		return &Error{"PASSD_APPLE_PASS_TYPE_ID", fmt.Sprintf("%q is not a pass type identifier such as pass.com.example.loyalty", c.ApplePassTypeID)}
	}
	if !validTeamID(c.AppleTeamID) {
		return &Error{"PASSD_APPLE_TEAM_ID", fmt.Sprintf("%q is not a team identifier (letters and digits)", c.AppleTeamID)}
	}
	if (c.AppleCert == "") != (c.AppleKey == "") {
		return &Error{"PASSD_APPLE_CERT", "PASSD_APPLE_CERT and PASSD_APPLE_KEY must be set together"}
	}
	if c.AppleP12 != "" && c.AppleCert != "" {
		return &Error{"PASSD_APPLE_P12", "set either PASSD_APPLE_P12 or PASSD_APPLE_CERT/PASSD_APPLE_KEY, not both"}
	}
	for _, f := range []struct{ name, path string }{
		{"PASSD_APPLE_CERT", c.AppleCert}, {"PASSD_APPLE_KEY", c.AppleKey},
		{"PASSD_APPLE_P12", c.AppleP12}, {"PASSD_APPLE_WWDR", c.AppleWWDR},
		{"PASSD_APNS_CA", c.APNSCA}, {"PASSD_GOOGLE_CREDENTIALS", c.GoogleCredentials},
		{"PASSD_TEMPLATES_DIR", c.TemplatesDir},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return &Error{f.name, fmt.Sprintf("cannot read %s: %v", f.path, unwrapPathErr(err))}
		}
	}
	if c.AppleCert != "" || c.AppleP12 != "" {
		if c.AppleWWDR == "" {
			return &Error{"PASSD_APPLE_WWDR", "is required with a configured pass certificate (Apple's WWDR intermediate, PEM)"}
		}
		if !c.passTypeIDExplicit {
			return &Error{"PASSD_APPLE_PASS_TYPE_ID", "is required with a configured pass certificate"}
		}
	}
	if err := checkURL(c.APNSURL, "https"); err != nil {
		return &Error{"PASSD_APNS_URL", err.Error()}
	}
	if err := checkURL(c.GoogleAPIURL, "https", "http"); err != nil {
		return &Error{"PASSD_GOOGLE_API_URL", err.Error()}
	}
	if err := checkURL(c.GoogleCallbackKeysURL, "https", "http"); err != nil {
		return &Error{"PASSD_GOOGLE_CALLBACK_KEYS_URL", err.Error()}
	}
	if c.GoogleIssuerID != "" {
		if strings.Trim(c.GoogleIssuerID, "0123456789") != "" {
			return &Error{"PASSD_GOOGLE_ISSUER_ID", "must be the numeric issuer id from the Google Pay & Wallet console"}
		}
		if c.GoogleCredentials == "" {
			return &Error{"PASSD_GOOGLE_CREDENTIALS", "is required when PASSD_GOOGLE_ISSUER_ID is set"}
		}
	}
	c.DataDir = filepath.Clean(c.DataDir)
	return nil
}

// DevCertificates reports whether no Apple certificate is configured, so
// passd uses (and on first start generates) development certificates.
func (c Config) DevCertificates() bool { return c.AppleCert == "" && c.AppleP12 == "" }

// GoogleEnabled reports whether Google Wallet is configured.
func (c Config) GoogleEnabled() bool { return c.GoogleIssuerID != "" }

// LogValue redacts secrets whenever the configuration is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("public_url", c.PublicURL),
		slog.String("data_dir", c.DataDir),
		slog.String("database", redactURL(c.DatabaseURL)),
		slog.String("templates_dir", c.TemplatesDir),
		slog.Bool("secret_set", c.Secret != ""),
		slog.Bool("bootstrap_admin_key_set", c.BootstrapAdminKey != ""),
		slog.String("apple_pass_type_id", c.ApplePassTypeID),
		slog.Bool("apple_dev_certificates", c.DevCertificates()),
		slog.String("apns_url", c.APNSURL),
		slog.Bool("google_enabled", c.GoogleEnabled()),
		slog.Int("trusted_proxies", len(c.TrustedProxies)),
		slog.Bool("metrics_token_set", c.MetricsToken != ""),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Bool("webhook_allow_http", c.WebhookAllowHTTP),
	)
}

func redactURL(s string) string {
	if s == "" {
		return "sqlite"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	for _, sc := range schemes {
		if u.Scheme == sc {
			return nil
		}
	}
	return fmt.Errorf("%q must use %s", s, strings.Join(schemes, " or "))
}

func validPassTypeID(s string) bool {
	if !strings.HasPrefix(s, "pass.") || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return !strings.HasSuffix(s, ".") && !strings.Contains(s, "..")
}

func validTeamID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

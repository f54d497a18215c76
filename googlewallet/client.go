package googlewallet

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	jwt "github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
	walletobjects "google.golang.org/api/walletobjects/v1"
)

// DefaultBaseURL is the production Wallet Objects API endpoint.
const DefaultBaseURL = "https://walletobjects.googleapis.com/"

// defaultHTTPTimeout bounds one HTTP exchange when the caller gives no client.
const defaultHTTPTimeout = 30 * time.Second

// Config holds what New needs. Only IssuerID and CredentialsJSON are
// required.
type Config struct {
	// IssuerID is the numeric issuer id from the Pay & Wallet Console. It
	// prefixes every class and object id. An empty issuer id means Google
	// Wallet is off; that decision belongs to the caller, New rejects it.
	IssuerID string
	// CredentialsJSON is the service-account key file (type
	// "service_account"). Its token_uri is used as the OAuth token endpoint
	// and its private key also signs save links.
	CredentialsJSON []byte
	// BaseURL is the Wallet Objects API endpoint; empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient carries both the token requests and the API calls; its
	// Transport and Timeout are kept (tests use it to trust a TLS fake). Nil
	// means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives retry warnings and debug events; nil discards. Tokens
	// and keys are never logged.
	Logger *slog.Logger
	// Now is the clock used for the save JWT's iat; nil means time.Now.
	Now func() time.Time

	// MaxAttempts bounds the tries of one API call, the first included;
	// zero means DefaultMaxAttempts.
	MaxAttempts int
	// MinBackoff is the wait before the first retry (before jitter); zero
	// means DefaultMinBackoff.
	MinBackoff time.Duration
	// MaxBackoff caps every wait, a Retry-After included; zero means
	// DefaultMaxBackoff.
	MaxBackoff time.Duration
	// Sleep waits between attempts and must return early with ctx.Err()
	// when ctx ends; nil means a real timer. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error

	// RequestsPerSecond paces the API calls of the Client, retries
	// included, to at most this many a second (a second's worth may go
	// at once after a quiet spell); callers wait for their turn. Zero
	// means no pacing. Google's API quota is about 20 a second.
	RequestsPerSecond float64
}

// String describes c without its key material, so that a Config printed by
// mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("googlewallet.Config{IssuerID:%q BaseURL:%q CredentialsJSON:%s}",
		c.IssuerID, c.BaseURL, redacted(c.CredentialsJSON))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue describes c for log/slog without its key material.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer_id", c.IssuerID),
		slog.String("base_url", c.BaseURL),
		slog.String("credentials", redacted(c.CredentialsJSON)),
	)
}

func redacted(b []byte) string {
	if len(b) == 0 {
		return "<none>"
	}
	return "<redacted>"
}

// ConfigFromEnvValues builds a Config from the values of the passd settings
// PASSD_GOOGLE_ISSUER_ID, PASSD_GOOGLE_CREDENTIALS (a path to the
// service-account JSON, read here) and PASSD_GOOGLE_API_URL (may be empty).
// It reports enabled=false, with no error, when the issuer id is empty.
// Errors name the variable at fault. Logger, HTTPClient, clock and retry
// settings are left for the caller to fill in.
func ConfigFromEnvValues(issuerID, credentialsPath, apiURL string) (cfg Config, enabled bool, err error) {
	issuerID = strings.TrimSpace(issuerID)
	if issuerID == "" {
		return Config{}, false, nil
	}
	if !isDigits(issuerID) {
		return Config{}, false, errors.New("PASSD_GOOGLE_ISSUER_ID: must be the numeric issuer id from the Pay & Wallet Console")
	}
	if credentialsPath == "" {
		return Config{}, false, errors.New("PASSD_GOOGLE_CREDENTIALS: required when PASSD_GOOGLE_ISSUER_ID is set")
	}
	b, err := os.ReadFile(credentialsPath)
	if err != nil {
		return Config{}, false, fmt.Errorf("PASSD_GOOGLE_CREDENTIALS: %w", err)
	}
	if _, err := google.JWTConfigFromJSON(b, walletobjects.WalletObjectIssuerScope); err != nil {
		return Config{}, false, fmt.Errorf("PASSD_GOOGLE_CREDENTIALS: not a service-account key: %w", err)
	}
	if apiURL != "" {
		if _, err := normalizeBaseURL(apiURL); err != nil {
			return Config{}, false, fmt.Errorf("PASSD_GOOGLE_API_URL: %w", err)
		}
	}
	return Config{IssuerID: issuerID, CredentialsJSON: b, BaseURL: apiURL}, true, nil
}

// Client talks to the Wallet Objects API for one issuer. Besides its pacer
// (Config.RequestsPerSecond) it holds no mutable state of its own, and it
// is safe for concurrent use.
type Client struct {
	issuerID string
	svc      *walletobjects.Service
	email    string
	key      *rsa.PrivateKey
	keyID    string
	log      *slog.Logger
	now      func() time.Time

	sleep       func(context.Context, time.Duration) error
	pace        *pacer
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration

	// holdMu guards holdUntil: after a 429 (the issuer's quota, shared by
	// every call, is used up) no call of this client starts before it.
	holdMu    sync.Mutex
	holdUntil time.Time
}

// New builds a Client. It parses the key and prepares the OAuth token
// source but makes no network call; the first token is fetched on the first
// API call. ctx only bounds set-up: its values (not its cancellation) are
// kept for later token refreshes.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if !isDigits(cfg.IssuerID) {
		return nil, fmt.Errorf("googlewallet: issuer id %q must be the numeric issuer id: %w", cfg.IssuerID, ErrInvalid)
	}
	jc, err := google.JWTConfigFromJSON(cfg.CredentialsJSON, walletobjects.WalletObjectIssuerScope)
	if err != nil {
		return nil, fmt.Errorf("googlewallet: read service-account key: %w", err)
	}
	if jc.Email == "" {
		return nil, errors.New("googlewallet: service-account key has no client_email")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(jc.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("googlewallet: parse service-account private key: %w", err)
	}
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("googlewallet: base url: %w", err)
	}

	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	// The oauth2 package takes its HTTP client (for the token endpoint and
	// as the API transport's base) from the context, and keeps that context
	// for every later refresh, so it must outlive the caller's ctx.
	octx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, hc)
	authed := jc.Client(octx)
	authed.Timeout = hc.Timeout

	svc, err := walletobjects.NewService(ctx, option.WithHTTPClient(authed), option.WithEndpoint(base))
	if err != nil {
		return nil, fmt.Errorf("googlewallet: create wallet objects service: %w", err)
	}

	c := &Client{
		issuerID:    cfg.IssuerID,
		svc:         svc,
		email:       jc.Email,
		key:         key,
		keyID:       jc.PrivateKeyID,
		log:         cfg.Logger,
		now:         cfg.Now,
		sleep:       cfg.Sleep,
		maxAttempts: cfg.MaxAttempts,
		minBackoff:  cfg.MinBackoff,
		maxBackoff:  cfg.MaxBackoff,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.minBackoff > c.maxBackoff {
		c.minBackoff = c.maxBackoff
	}
	c.pace = newPacer(cfg.RequestsPerSecond, c.now, c.sleep)
	return c, nil
}

// IssuerID returns the issuer id the Client was built with.
func (c *Client) IssuerID() string { return c.issuerID }

// ClassID returns the class id for a program on this Client's issuer.
func (c *Client) ClassID(programID string) string { return ClassID(c.issuerID, programID) }

// ObjectID returns the object id for a member on this Client's issuer.
func (c *Client) ObjectID(memberID string) string { return ObjectID(c.issuerID, memberID) }

func normalizeBaseURL(s string) (string, error) {
	if s == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

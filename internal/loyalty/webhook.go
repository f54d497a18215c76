package loyalty

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
)

// EventType names a webhook event.
type EventType string

// The webhook events passd sends. Each is written to the outbox in the
// transaction of its cause (store.Emit).
const (
	EventMemberEnrolled    EventType = "member.enrolled"
	EventMemberUpdated     EventType = "member.updated"
	EventMemberErased      EventType = "member.erased"
	EventTransactionPosted EventType = "transaction.posted"
	EventTierChanged       EventType = "tier.changed"
	EventVoucherIssued     EventType = "voucher.issued"
	EventVoucherUsed       EventType = "voucher.used"
	EventPointsExpired     EventType = "points.expired"
	EventCardInstalled     EventType = "card.installed"
	EventCardRemoved       EventType = "card.removed"
	// EventWebhookTest is the test event an endpoint gets on request
	// (store.SendTestWebhook), whatever it subscribes to.
	EventWebhookTest EventType = "webhook.test"
)

const (
	maxWebhookURLBytes       = 2048
	webhookSecretPrefix      = "whsec_"
	webhookSecretBytes       = 32
	webhookMaxSecretKeyBytes = 64
)

// EventTypes lists the event types an endpoint may subscribe to, in the
// order the API documents them.
func EventTypes() []EventType {
	return []EventType{EventMemberEnrolled, EventMemberUpdated, EventMemberErased, EventTransactionPosted,
		EventTierChanged, EventVoucherIssued, EventVoucherUsed, EventPointsExpired, EventCardInstalled, EventCardRemoved}
}

// WebhookEndpoint is where passd sends a programme's events (or every
// programme's, when Program is "").
type WebhookEndpoint struct {
	ID      string
	Program string
	URL     string
	Events  []EventType
	// Secret is "whsec_" and the base64 of the signing key; the API shows
	// it once, when the endpoint is created.
	Secret    string
	CreatedAt time.Time
	// DisabledAt is set when the receiver answered 410 Gone: nothing is
	// sent to the endpoint any more.
	DisabledAt     *time.Time
	DisabledReason string
}

// Wants reports whether the endpoint subscribes to t.
func (e WebhookEndpoint) Wants(t EventType) bool { return slices.Contains(e.Events, t) }

// WebhookInput is a webhook endpoint as the API receives it.
type WebhookInput struct {
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Program string   `json:"program"`
}

// Validate checks in and answers the endpoint it describes, without ID,
// secret or creation time; each invalid field is named in a
// *balances.ValidationError. allowHTTP is the operator's
// PASSD_WEBHOOK_ALLOW_HTTP: without it only https URLs are taken. A URL
// naming an address literally is checked here as CheckWebhookAddr checks
// every address at connection time.
func (in WebhookInput) Validate(allowHTTP bool) (WebhookEndpoint, error) {
	v := &balances.ValidationError{}
	e := WebhookEndpoint{Program: in.Program, URL: strings.TrimSpace(in.URL)}
	if in.Program != "" && !idPattern.MatchString(in.Program) {
		v.AddReason("program", ReasonInvalid, "is not a program id")
	}
	if msg := checkWebhookURL(e.URL, allowHTTP); msg != "" {
		v.AddReason("url", ReasonInvalid, msg)
	}
	if len(in.Events) == 0 {
		v.AddReason("events", ReasonRequired, "must list at least one event type")
	}
	known := EventTypes()
	for _, t := range in.Events {
		et := EventType(t)
		if !slices.Contains(known, et) {
			v.AddReason("events", ReasonInvalid, fmt.Sprintf("%q is not an event type", t))
			continue
		}
		if !slices.Contains(e.Events, et) {
			e.Events = append(e.Events, et)
		}
	}
	if err := v.Err(); err != nil {
		return WebhookEndpoint{}, err
	}
	return e, nil
}

// checkWebhookURL answers what is wrong with a webhook URL, "" for nothing.
func checkWebhookURL(raw string, allowHTTP bool) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > maxWebhookURLBytes {
		return fmt.Sprintf("must be at most %d bytes", maxWebhookURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute URL"
	}
	if u.User != nil || u.Fragment != "" {
		return "must have no user information or fragment"
	}
	plain := false
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return "must be https (http needs PASSD_WEBHOOK_ALLOW_HTTP=1, and then reaches only loopback and private addresses)"
		}
		plain = true
	default:
		return "must be https"
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := CheckWebhookAddr(a, plain); err != nil {
			return err.Error()
		}
	}
	return ""
}

// ErrWebhookAddr is an address webhooks may not reach.
var ErrWebhookAddr = errors.New("address not allowed for webhooks")

// ErrWebhookDisabled is an endpoint disabled by its receiver's 410.
var ErrWebhookDisabled = errors.New("webhook endpoint disabled")

// metadataAddrs are cloud instance metadata services outside the
// link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure wire server
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

// CheckWebhookAddr is the one rule of where webhooks may connect: never to
// unspecified, multicast, link-local (169.254.0.0/16, fe80::/10, where
// cloud metadata services live) or known metadata addresses; over plain
// http (plain is true) only to loopback and private addresses. Delivery
// checks every resolved address with it before connecting to that very
// address, so a name that resolves elsewhere later cannot bypass it.
func CheckWebhookAddr(a netip.Addr, plain bool) error {
	a = a.Unmap()
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.IsMulticast(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), slices.Contains(metadataAddrs, a):
		return fmt.Errorf("%s: %w (unspecified, multicast, link-local or metadata)", a, ErrWebhookAddr)
	case plain && !a.IsLoopback() && !a.IsPrivate():
		return fmt.Errorf("%s: %w over http (http reaches only loopback and private addresses)", a, ErrWebhookAddr)
	}
	return nil
}

// NewWebhookSecret draws a signing secret: "whsec_" and the base64 of 32
// random bytes, the Standard Webhooks form.
func NewWebhookSecret() (string, error) {
	b := make([]byte, webhookSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// WebhookCreator stores a new webhook endpoint (store.Store).
type WebhookCreator interface {
	CreateWebhook(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error)
}

// CreateWebhook gives an endpoint that Validate answered its id and
// secret and stores it: the one way the API and the console make one.
// The answer carries the secret, to be shown this once.
func CreateWebhook(ctx context.Context, st WebhookCreator, e WebhookEndpoint) (WebhookEndpoint, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("webhook id: %w", err)
	}
	e.ID = id.String()
	if e.Secret, err = NewWebhookSecret(); err != nil {
		return WebhookEndpoint{}, err
	}
	return st.CreateWebhook(ctx, e)
}

// WebhookSecretKey answers the signing key of a secret: the bytes its
// base64 part decodes to.
func WebhookSecretKey(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, webhookSecretPrefix)
	if !ok {
		return nil, errors.New("webhook secret: no whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 || len(key) > webhookMaxSecretKeyBytes {
		return nil, errors.New("webhook secret: not base64 of 1 to 64 bytes")
	}
	return key, nil
}

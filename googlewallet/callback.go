package googlewallet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultCallbackKeysURL is where Google publishes the root keys that sign
// save and delete callbacks.
const DefaultCallbackKeysURL = "https://pay.google.com/gp/m/issuer/keys"

// MaxCallbackSize bounds the body Verify accepts. Google's callbacks are
// well under 2 KiB.
const MaxCallbackSize = 64 << 10

// Callback event types.
const (
	// EventSave means a user saved the object to their wallet.
	EventSave = "save"
	// EventDel means a user deleted the object from their wallet.
	EventDel = "del"
)

// Names of Google's callback signing scheme.
const (
	callbackSender   = "GooglePayPasses"
	callbackProtocol = "ECv2SigningOnly"
	// maxKeysSize bounds the root keys document.
	maxKeysSize = 1 << 20
	// minKeysRefetch spaces the refetches caused by a callback that no
	// cached root key verifies, so forged callbacks cannot make passd hammer
	// Google's keys URL.
	minKeysRefetch = time.Minute
)

// Sentinel errors of callback verification.
var (
	// ErrCallbackInvalid means a callback is not one Google signed for this
	// issuer, is malformed, or has expired. Verify wraps it with the reason.
	ErrCallbackInvalid = errors.New("googlewallet: invalid callback")
	// ErrCallbackKeys means Google's root signing keys could not be fetched
	// or held no usable key, so the callback could not be checked; it is
	// worth answering with a retryable status.
	ErrCallbackKeys = errors.New("googlewallet: callback keys unavailable")
)

// CallbackConfig holds what NewCallbackVerifier needs. Only IssuerID is
// required.
type CallbackConfig struct {
	// IssuerID is the numeric issuer id: the callback's recipient and the
	// prefix of its class and object ids.
	IssuerID string
	// KeysURL serves Google's root signing keys; empty means
	// DefaultCallbackKeysURL.
	KeysURL string
	// HTTPClient fetches the keys; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for every expiry check; nil means time.Now.
	Now func() time.Time
}

// Callback is a verified save or delete event.
type Callback struct {
	// ClassID is the object's class, "{issuer}.{program}".
	ClassID string
	// ObjectID is the saved or deleted object, "{issuer}.{member}".
	ObjectID string
	// EventType is EventSave or EventDel.
	EventType string
	// Nonce identifies the event; Google retries deliveries, so the same
	// nonce can arrive more than once.
	Nonce string
	// ExpTime is when the signed message expires.
	ExpTime time.Time
}

// CallbackVerifier checks callbacks as Google signs them (ECv2SigningOnly,
// sender GooglePayPasses, the issuer id as recipient). It caches the root
// keys until the earliest of their expiries and is safe for concurrent use.
type CallbackVerifier struct {
	issuerID string
	keysURL  string
	hc       *http.Client
	now      func() time.Time

	mu        sync.Mutex
	keys      []rootKey
	keysUntil time.Time // the cache is stale from then on
	fetchedAt time.Time // zero before the first fetch
}

type rootKey struct {
	pub *ecdsa.PublicKey
	exp time.Time
}

// NewCallbackVerifier returns a verifier for cfg. It fetches nothing yet.
func NewCallbackVerifier(cfg CallbackConfig) (*CallbackVerifier, error) {
	if cfg.IssuerID == "" || strings.Contains(cfg.IssuerID, ".") {
		return nil, fmt.Errorf("googlewallet: callback verifier: issuer id %q: %w", cfg.IssuerID, ErrInvalid)
	}
	keysURL := cfg.KeysURL
	if keysURL == "" {
		keysURL = DefaultCallbackKeysURL
	}
	u, err := url.Parse(keysURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("googlewallet: callback verifier: keys url %q must be an http(s) url: %w", keysURL, ErrInvalid)
	}
	v := &CallbackVerifier{issuerID: cfg.IssuerID, keysURL: keysURL, hc: cfg.HTTPClient, now: cfg.Now}
	if v.hc == nil {
		v.hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// callbackEnvelope is the POST body.
type callbackEnvelope struct {
	Signature              string `json:"signature"`
	IntermediateSigningKey struct {
		SignedKey  string   `json:"signedKey"`
		Signatures []string `json:"signatures"`
	} `json:"intermediateSigningKey"`
	ProtocolVersion string `json:"protocolVersion"`
	SignedMessage   string `json:"signedMessage"`
}

type signedKey struct {
	KeyValue      string `json:"keyValue"`
	KeyExpiration string `json:"keyExpiration"`
}

type signedMessage struct {
	ClassID       string          `json:"classId"`
	ObjectID      string          `json:"objectId"`
	EventType     string          `json:"eventType"`
	ExpTimeMillis json.RawMessage `json:"expTimeMillis"`
	Nonce         string          `json:"nonce"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("googlewallet: callback: %s: %w", fmt.Sprintf(format, args...), ErrCallbackInvalid)
}

// Verify checks body as a Google callback and returns its event. Every
// refusal wraps ErrCallbackInvalid with the reason; ErrCallbackKeys means
// the root keys could not be had. The steps are Google's ECv2SigningOnly
// ones: an intermediate key signed by an unexpired root key and itself
// unexpired, the message signed by that key for this issuer, then the
// message's expiry and its class and object ids under this issuer.
func (v *CallbackVerifier) Verify(ctx context.Context, body []byte) (Callback, error) {
	if len(body) > MaxCallbackSize {
		return Callback{}, invalid("body of %d bytes exceeds %d", len(body), MaxCallbackSize)
	}
	var env callbackEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Callback{}, invalid("body is not json: %v", err)
	}
	if env.ProtocolVersion != callbackProtocol {
		return Callback{}, invalid("protocol version %q, want %s", env.ProtocolVersion, callbackProtocol)
	}
	if env.SignedMessage == "" || env.Signature == "" || env.IntermediateSigningKey.SignedKey == "" {
		return Callback{}, invalid("signature, signedMessage or intermediateSigningKey.signedKey missing")
	}
	msgSig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil {
		return Callback{}, invalid("signature is not base64")
	}
	var keySigs [][]byte
	for _, s := range env.IntermediateSigningKey.Signatures {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			keySigs = append(keySigs, b)
		}
	}
	if len(keySigs) == 0 {
		return Callback{}, invalid("intermediate key has no base64 signature")
	}

	// 1. The intermediate key is signed by a root key.
	keyData := lengthPrefixed(callbackSender, callbackProtocol, env.IntermediateSigningKey.SignedKey)
	if err := v.verifyByRoot(ctx, keyData, keySigs); err != nil {
		return Callback{}, err
	}

	// 2. The intermediate key has not expired.
	var sk signedKey
	if err := json.Unmarshal([]byte(env.IntermediateSigningKey.SignedKey), &sk); err != nil {
		return Callback{}, invalid("signedKey is not json: %v", err)
	}
	kexp, err := parseMillis(sk.KeyExpiration)
	if err != nil {
		return Callback{}, invalid("signedKey keyExpiration: %v", err)
	}
	now := v.now()
	if !kexp.After(now) {
		return Callback{}, invalid("intermediate key expired at %s", kexp.UTC().Format(time.RFC3339))
	}
	ikey, err := parseKey(sk.KeyValue)
	if err != nil {
		return Callback{}, invalid("intermediate key: %v", err)
	}

	// 3. The message is signed by the intermediate key, for this issuer.
	msgData := lengthPrefixed(callbackSender, v.issuerID, callbackProtocol, env.SignedMessage)
	if !verifySig(ikey, msgData, msgSig) {
		return Callback{}, invalid("message signature does not verify")
	}

	// 4. The message is current and about this issuer's objects.
	var m signedMessage
	if err := json.Unmarshal([]byte(env.SignedMessage), &m); err != nil {
		return Callback{}, invalid("signedMessage is not json: %v", err)
	}
	mexp, err := parseMillis(strings.Trim(string(m.ExpTimeMillis), `"`))
	if err != nil {
		return Callback{}, invalid("expTimeMillis: %v", err)
	}
	if !mexp.After(now) {
		return Callback{}, invalid("message expired at %s", mexp.UTC().Format(time.RFC3339))
	}
	prefix := v.issuerID + "."
	if !strings.HasPrefix(m.ClassID, prefix) || len(m.ClassID) == len(prefix) {
		return Callback{}, invalid("class id is not under issuer %s", v.issuerID)
	}
	if !strings.HasPrefix(m.ObjectID, prefix) || len(m.ObjectID) == len(prefix) {
		return Callback{}, invalid("object id is not under issuer %s", v.issuerID)
	}
	if m.EventType != EventSave && m.EventType != EventDel {
		return Callback{}, invalid("event type %q, want save or del", m.EventType)
	}
	if m.Nonce == "" {
		return Callback{}, invalid("nonce missing")
	}
	return Callback{ClassID: m.ClassID, ObjectID: m.ObjectID, EventType: m.EventType, Nonce: m.Nonce, ExpTime: mexp}, nil
}

// verifyByRoot reports whether one of sigs over data verifies with an
// unexpired root key. When none does with the cached keys, the keys are
// fetched again once (at most once a minute), since Google may have
// rotated them.
func (v *CallbackVerifier) verifyByRoot(ctx context.Context, data []byte, sigs [][]byte) error {
	keys, fresh, err := v.rootKeys(ctx, false)
	if err != nil {
		return err
	}
	if anyVerifies(keys, v.now(), data, sigs) {
		return nil
	}
	if !fresh {
		keys, fresh, err = v.rootKeys(ctx, true)
		if err != nil {
			return err
		}
		if fresh && anyVerifies(keys, v.now(), data, sigs) {
			return nil
		}
	}
	return invalid("intermediate key signature does not verify with any root key")
}

func anyVerifies(keys []rootKey, now time.Time, data []byte, sigs [][]byte) bool {
	for _, k := range keys {
		if !k.exp.After(now) {
			continue
		}
		for _, s := range sigs {
			if verifySig(k.pub, data, s) {
				return true
			}
		}
	}
	return false
}

// rootKeys returns the root keys, fetching them when the cache is empty or
// stale, or when force is set and the last fetch is at least
// minKeysRefetch old. fresh reports whether they were fetched by this call.
func (v *CallbackVerifier) rootKeys(ctx context.Context, force bool) (keys []rootKey, fresh bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	stale := v.fetchedAt.IsZero() || !now.Before(v.keysUntil)
	if !stale && !(force && now.Sub(v.fetchedAt) >= minKeysRefetch) {
		return v.keys, false, nil
	}
	if !stale && force {
		// A refetch forced by an unknown signature keeps the cached keys
		// if Google cannot be reached.
		keys, until, err := v.fetchKeys(ctx)
		v.fetchedAt = now
		if err != nil {
			return v.keys, false, nil
		}
		v.keys, v.keysUntil = keys, until
		return keys, true, nil
	}
	keys, until, err := v.fetchKeys(ctx)
	if err != nil {
		return nil, false, err
	}
	v.keys, v.keysUntil, v.fetchedAt = keys, until, now
	return keys, true, nil
}

// fetchKeys reads Google's root keys document and keeps its unexpired
// ECv2SigningOnly keys. until is the earliest of their expiries.
func (v *CallbackVerifier) fetchKeys(ctx context.Context) (keys []rootKey, until time.Time, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.keysURL, nil)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: %w: %w", ErrCallbackKeys, err)
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: %w: %w", ErrCallbackKeys, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: status %d: %w", resp.StatusCode, ErrCallbackKeys)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysSize+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: %w: %w", ErrCallbackKeys, err)
	}
	if len(b) > maxKeysSize {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: document exceeds %d bytes: %w", maxKeysSize, ErrCallbackKeys)
	}
	var doc struct {
		Keys []struct {
			KeyValue        string `json:"keyValue"`
			ProtocolVersion string `json:"protocolVersion"`
			KeyExpiration   string `json:"keyExpiration"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: not json: %w: %w", ErrCallbackKeys, err)
	}
	now := v.now()
	for _, k := range doc.Keys {
		if k.ProtocolVersion != callbackProtocol {
			continue
		}
		exp, err := parseMillis(k.KeyExpiration)
		if err != nil || !exp.After(now) {
			continue
		}
		pub, err := parseKey(k.KeyValue)
		if err != nil {
			continue
		}
		keys = append(keys, rootKey{pub: pub, exp: exp})
		if until.IsZero() || exp.Before(until) {
			until = exp
		}
	}
	if len(keys) == 0 {
		return nil, time.Time{}, fmt.Errorf("googlewallet: fetch callback keys: no unexpired %s key: %w", callbackProtocol, ErrCallbackKeys)
	}
	return keys, until, nil
}

// lengthPrefixed is Google's signed-string format: each part preceded by
// its length as 4 little-endian bytes.
func lengthPrefixed(parts ...string) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(p)))
		b.Write(n[:])
		b.WriteString(p)
	}
	return b.Bytes()
}

func verifySig(pub *ecdsa.PublicKey, data, sig []byte) bool {
	h := sha256.Sum256(data)
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// parseKey reads a base64 X.509 SubjectPublicKeyInfo holding a P-256 key.
func parseKey(s string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("key is not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("key is not x509: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("key is not ecdsa p-256")
	}
	return pub, nil
}

// parseMillis reads a decimal count of milliseconds since the epoch.
func parseMillis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a millisecond time", s)
	}
	return time.UnixMilli(ms), nil
}

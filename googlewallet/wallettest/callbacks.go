package wallettest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// CallbackSigner plays Google's side of save and delete callbacks: it holds
// root and intermediate P-256 keys, serves the root keys document at URL in
// the format of https://pay.google.com/gp/m/issuer/keys, and signs callback
// bodies as Google does (ECv2SigningOnly, sender "GooglePayPasses", the
// issuer id as recipient). It is written from Google's description of the
// scheme, independently of googlewallet's verifier, so that tests of the
// verifier check it against a second reading of the format.
type CallbackSigner struct {
	// URL serves the root keys document.
	URL string

	mu       sync.Mutex
	roots    []*ecdsa.PrivateKey
	rootExp  []time.Time
	inter    *ecdsa.PrivateKey
	interExp time.Time
	fetches  int
}

// keysPath is the path of Google's keys document.
const keysPath = "/gp/m/issuer/keys"

// CallbackEvent is what a signed callback message says.
type CallbackEvent struct {
	ClassID   string
	ObjectID  string
	EventType string // "save" or "del"
	Nonce     string
	ExpTime   time.Time
}

// Envelope changes how a callback is signed; zero fields mean what Google
// does. Tests use it to forge callbacks a verifier must refuse.
type Envelope struct {
	// Sender is the sender id in both signed strings; empty means
	// "GooglePayPasses".
	Sender string
	// Recipient is the recipient id in the message's signed string; empty
	// means IssuerID.
	Recipient string
	// ProtocolVersion is the envelope's protocolVersion, also used in both
	// signed strings; empty means "ECv2SigningOnly".
	ProtocolVersion string
	// KeyExpiration is the intermediate key's keyExpiration; zero means the
	// signer's (a week after its creation).
	KeyExpiration time.Time
	// Root is the index of the root key that signs the intermediate key.
	Root int
}

// NewCallbackSigner starts a keys server with one root key valid for a year
// from now and makes an intermediate key valid for a week.
func NewCallbackSigner(t testing.TB, now time.Time) *CallbackSigner {
	t.Helper()
	s := &CallbackSigner{inter: newP256(t), interExp: now.Add(7 * 24 * time.Hour)}
	s.roots = append(s.roots, newP256(t))
	s.rootExp = append(s.rootExp, now.Add(365*24*time.Hour))
	srv := httptest.NewServer(http.HandlerFunc(s.serveKeys))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + keysPath
	return s
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey() = %v", err)
	}
	return k
}

// AddRoot publishes a new root key expiring at exp and returns its index
// for Envelope.Root: a key rotation.
func (s *CallbackSigner) AddRoot(t testing.TB, exp time.Time) int {
	t.Helper()
	k := newP256(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots = append(s.roots, k)
	s.rootExp = append(s.rootExp, exp)
	return len(s.roots) - 1
}

// SetRootExpiration changes the published keyExpiration of root key i.
func (s *CallbackSigner) SetRootExpiration(i int, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rootExp[i] = exp
}

// Fetches reports how many times the keys document was served.
func (s *CallbackSigner) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func (s *CallbackSigner) serveKeys(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != keysPath {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.fetches++
	type key struct {
		KeyValue        string `json:"keyValue"`
		ProtocolVersion string `json:"protocolVersion"`
		KeyExpiration   string `json:"keyExpiration"`
	}
	var doc struct {
		Keys []key `json:"keys"`
	}
	for i, k := range s.roots {
		doc.Keys = append(doc.Keys, key{
			KeyValue:        spki(&k.PublicKey),
			ProtocolVersion: "ECv2SigningOnly",
			KeyExpiration:   strconv.FormatInt(s.rootExp[i].UnixMilli(), 10),
		})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func spki(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("wallettest: marshal public key: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(der)
}

// Sign returns the body Google would post for ev.
func (s *CallbackSigner) Sign(t testing.TB, ev CallbackEvent) []byte {
	t.Helper()
	return s.SignWith(t, ev, Envelope{})
}

// SignWith returns a callback body for ev signed as e says.
func (s *CallbackSigner) SignWith(t testing.TB, ev CallbackEvent, e Envelope) []byte {
	t.Helper()
	sender := e.Sender
	if sender == "" {
		sender = "GooglePayPasses"
	}
	recipient := e.Recipient
	if recipient == "" {
		recipient = IssuerID
	}
	protocol := e.ProtocolVersion
	if protocol == "" {
		protocol = "ECv2SigningOnly"
	}
	s.mu.Lock()
	root := s.roots[e.Root]
	inter := s.inter
	kexp := s.interExp
	s.mu.Unlock()
	if !e.KeyExpiration.IsZero() {
		kexp = e.KeyExpiration
	}

	signedKey, err := json.Marshal(map[string]string{
		"keyValue":      spki(&inter.PublicKey),
		"keyExpiration": strconv.FormatInt(kexp.UnixMilli(), 10),
	})
	if err != nil {
		t.Fatalf("json.Marshal(signedKey) = %v", err)
	}
	message, err := json.Marshal(map[string]any{
		"classId":       ev.ClassID,
		"objectId":      ev.ObjectID,
		"eventType":     ev.EventType,
		"expTimeMillis": ev.ExpTime.UnixMilli(),
		"count":         1,
		"nonce":         ev.Nonce,
	})
	if err != nil {
		t.Fatalf("json.Marshal(signedMessage) = %v", err)
	}

	// Google's signed strings: every part preceded by its length in four
	// little-endian bytes.
	var keyData []byte
	for _, part := range []string{sender, protocol, string(signedKey)} {
		keyData = binary.LittleEndian.AppendUint32(keyData, uint32(len(part)))
		keyData = append(keyData, part...)
	}
	var msgData []byte
	for _, part := range []string{sender, recipient, protocol, string(message)} {
		msgData = binary.LittleEndian.AppendUint32(msgData, uint32(len(part)))
		msgData = append(msgData, part...)
	}

	body, err := json.Marshal(map[string]any{
		"signature": sign(t, inter, msgData),
		"intermediateSigningKey": map[string]any{
			"signedKey":  string(signedKey),
			"signatures": []string{sign(t, root, keyData)},
		},
		"protocolVersion": protocol,
		"signedMessage":   string(message),
	})
	if err != nil {
		t.Fatalf("json.Marshal(callback) = %v", err)
	}
	return body
}

func sign(t testing.TB, k *ecdsa.PrivateKey, data []byte) string {
	t.Helper()
	h := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatalf("ecdsa.SignASN1() = %v", err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

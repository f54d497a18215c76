// Package wallettest is a fake Google Wallet for tests: one TLS server that
// is both the Wallet Objects REST API (loyalty classes and objects, in
// memory) and the OAuth token endpoint of a service account it makes up.
// Tests point googlewallet (or passd's PASSD_GOOGLE_* settings) at it and
// drive the real walletobjects client against it.
//
// The fake follows the behaviours of the real API that passd depends on
// (https://developers.google.com/wallet/reference/rest): ids prefixed by
// the issuer id, 409 on a second insert, 404 for an object whose class is
// missing, PATCH replacing top-level fields (arrays whole) and dropping those
// sent as null, PUT replacing the whole resource, addMessage appending to
// the object's messages, no DELETE, a bearer token required on every
// call, and partial responses (the fields parameter, top-level names).
//
// [CallbackSigner] plays Google's other role: it publishes root signing
// keys and signs save and delete callbacks, for tests of
// googlewallet.CallbackVerifier and of the service that receives them.
package wallettest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v5"
)

// Identities of the fake service account and issuer.
const (
	// IssuerID is an issuer id in the format of the Pay & Wallet Console.
	IssuerID = "3388000000022000001"
	// Email is the service account's client_email.
	Email = "passd-wallet@wallettest.iam.gserviceaccount.com"
	// KeyID is the service account's private_key_id.
	KeyID = "wallettest-key-1"
	// AccessToken is the bearer token the token endpoint hands out and the
	// API requires.
	AccessToken = "wallettest-access-token"
	// Scope is the OAuth scope a token request must ask for.
	Scope = "https://www.googleapis.com/auth/wallet_object.issuer"

	apiPrefix = "/walletobjects/v1/"
	tokenPath = "/token"
)

// key is generated once per test binary: 2048-bit RSA generation is slow
// under the race detector, and the key is never modified.
var key = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("wallettest: generate key: %v", err))
	}
	return k
})

// Request is one API request the fake received (token requests excluded).
type Request struct {
	Method string
	// Path is the decoded path below walletobjects/v1/, such as
	// "loyaltyObject/3388000000022000001.m1/addMessage".
	Path  string
	Query url.Values
	Body  []byte
	// Status is the status the fake answered.
	Status int
	At     time.Time
}

// String is "METHOD path".
func (r Request) String() string { return r.Method + " " + r.Path }

// JSON decodes the request body; nil when empty or not a JSON object.
func (r Request) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API base URL (PASSD_GOOGLE_API_URL, googlewallet
	// Config.BaseURL); the token endpoint lives under it too.
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	classes    map[string]map[string]any
	objects    map[string]map[string]any
	requests   []Request
	assertions []map[string]any
	failures   []failure
	unhealthy  bool
}

// failure is one injected API failure.
type failure struct {
	code int
	// retryAfter, when positive, is sent as a Retry-After header.
	retryAfter time.Duration
}

// New starts a fake Wallet API over TLS, stopped when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{classes: map[string]map[string]any{}, objects: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenPath, s.token)
	mux.HandleFunc(apiPrefix, s.api)
	s.srv = httptest.NewTLSServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/"
	return s
}

// Close stops the server before the test ends, as when Google cannot be
// reached: later API and token requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// HTTPClient answers a client that trusts the fake's TLS certificate.
func (s *Server) HTTPClient() *http.Client {
	c := s.srv.Client()
	c.Timeout = 30 * time.Second
	return c
}

// TokenURL is the token endpoint, the token_uri of Credentials.
func (s *Server) TokenURL() string { return s.srv.URL + tokenPath }

// PublicKey is the service account's public key, to verify save JWTs.
func (s *Server) PublicKey() *rsa.PublicKey { return &key().PublicKey }

// Credentials answers a service-account key file (JSON) whose token_uri
// is the fake's token endpoint.
func (s *Server) Credentials() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key())
	if err != nil {
		panic(fmt.Sprintf("wallettest: marshal key: %v", err))
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "wallettest",
		"private_key_id": KeyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   Email,
		"client_id":      "1234567890",
		"token_uri":      s.TokenURL(),
	})
	if err != nil {
		panic(fmt.Sprintf("wallettest: marshal credentials: %v", err))
	}
	return b
}

// WriteCredentials writes Credentials to a file in a temporary folder of t
// and answers its path (PASSD_GOOGLE_CREDENTIALS).
func (s *Server) WriteCredentials(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "google-service-account.json")
	if err := os.WriteFile(p, s.Credentials(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// FailNext makes the next API requests (not token requests) fail with the
// given statuses, in order.
func (s *Server) FailNext(codes ...int) { s.FailNextRetryAfter(0, codes...) }

// FailNextRetryAfter is FailNext with a Retry-After header of after, in
// whole seconds, on each of those failures; 0 sends none.
func (s *Server) FailNextRetryAfter(after time.Duration, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.failures = append(s.failures, failure{code: c, retryAfter: after})
	}
}

// SetUnavailable makes every API request fail with 503 until called with
// false.
func (s *Server) SetUnavailable(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = down
}

// Requests answers every API request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// TokenRequests answers how many access tokens were handed out.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.assertions)
}

// TokenAssertions answers the claims of the JWT assertion of each token
// request that got a token (aud, iss, scope, iat, exp), oldest first.
func (s *Server) TokenAssertions() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.assertions))
	for i, a := range s.assertions {
		out[i] = deepCopy(a)
	}
	return out
}

// Object answers a copy of the stored loyalty object, nil when none.
func (s *Server) Object(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopy(s.objects[id])
}

// Class answers a copy of the stored loyalty class, nil when none.
func (s *Server) Class(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopy(s.classes[id])
}

// SetObject stores obj as the object of its "id", as if Google held it.
func (s *Server) SetObject(obj map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := obj["id"].(string)
	s.objects[id] = deepCopy(obj)
}

// SetClass stores cls as the class of its "id", as if Google held it (say
// after approving it and adding fields of its own).
func (s *Server) SetClass(cls map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := cls["id"].(string)
	s.classes[id] = deepCopy(cls)
}

// Notifications answers how many requests asked Google to notify the
// holder of an object: addMessage with TEXT_AND_NOTIFY, and updates with
// notifyPreference NOTIFY_ON_UPDATE, counting only those that succeeded.
func (s *Server) Notifications(objectID string) int {
	n := 0
	for _, r := range s.Requests() {
		path := "loyaltyObject/" + objectID
		if r.Status != http.StatusOK || (r.Path != path && r.Path != path+"/addMessage") {
			continue
		}
		body := r.JSON()
		if r.Path == path+"/addMessage" {
			if m, _ := body["message"].(map[string]any); m != nil && m["messageType"] == "TEXT_AND_NOTIFY" {
				n++
			}
		} else if body["notifyPreference"] == "NOTIFY_ON_UPDATE" {
			n++
		}
	}
	return n
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) {
		return &key().PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.TokenURL()), jwt.WithIssuer(Email))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": err.Error()})
		return
	}
	if scope, _ := claims["scope"].(string); !slices.Contains(strings.Fields(scope), Scope) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
		return
	}
	s.mu.Lock()
	s.assertions = append(s.assertions, claims)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// partial answers the top-level members of v that fields (Google's
// partial-response parameter, "id" or "messages,classId" or
// "resource/id") names, or v whole without fields. Only the first path
// segment is honoured: "resource/id" keeps all of resource.
func partial(v map[string]any, fields string) map[string]any {
	if fields == "" {
		return v
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(f), "/")
		if x, ok := v[name]; ok {
			out[name] = x
		}
	}
	return out
}

// apiError answers Google's error shape, which the Go client turns into a
// *googleapi.Error.
func apiError(w http.ResponseWriter, code int, msg string) int {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": strings.ToUpper(strings.ReplaceAll(http.StatusText(code), " ", "_")),
	}})
	return code
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, apiPrefix), Query: r.URL.Query(), Body: body, At: time.Now()}
	req.Status = s.serve(w, r, req)
	s.requests = append(s.requests, req)
}

// serve answers one API request under s.mu and returns the status sent.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, req Request) int {
	if r.Header.Get("Authorization") != "Bearer "+AccessToken {
		return apiError(w, http.StatusUnauthorized, "Request is missing required authentication credential.")
	}
	if s.unhealthy {
		return apiError(w, http.StatusServiceUnavailable, "The service is currently unavailable.")
	}
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
		return apiError(w, f.code, "injected failure")
	}

	parts := strings.Split(req.Path, "/")
	var store map[string]map[string]any
	kind := parts[0]
	switch kind {
	case "loyaltyClass":
		store = s.classes
	case "loyaltyObject":
		store = s.objects
	default:
		return apiError(w, http.StatusNotFound, "no such collection "+kind)
	}
	var in map[string]any
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &in); err != nil {
			return apiError(w, http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
		}
	}

	switch {
	case len(parts) == 1 && r.Method == http.MethodPost:
		id, _ := in["id"].(string)
		if msg := s.validate(kind, in); msg != "" {
			return apiError(w, http.StatusBadRequest, msg)
		}
		if _, ok := store[id]; ok {
			return apiError(w, http.StatusConflict, "Resource already exists: "+id)
		}
		if kind == "loyaltyObject" {
			cls, _ := in["classId"].(string)
			if _, ok := s.classes[cls]; !ok {
				return apiError(w, http.StatusNotFound, "Class not found: "+cls)
			}
		}
		store[id] = in
		writeJSON(w, http.StatusOK, partial(in, req.Query.Get("fields")))
		return http.StatusOK
	case len(parts) == 2:
		id := parts[1]
		cur, ok := store[id]
		if !ok {
			return apiError(w, http.StatusNotFound, "Resource not found: "+id)
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, partial(cur, req.Query.Get("fields")))
		case http.MethodPut:
			if in == nil {
				in = map[string]any{}
			}
			in["id"] = id
			if msg := s.validate(kind, in); msg != "" {
				return apiError(w, http.StatusBadRequest, msg)
			}
			store[id] = in
			writeJSON(w, http.StatusOK, partial(in, req.Query.Get("fields")))
		case http.MethodPatch:
			for k, v := range in {
				if v == nil {
					delete(cur, k)
				} else {
					cur[k] = v
				}
			}
			writeJSON(w, http.StatusOK, partial(cur, req.Query.Get("fields")))
		default:
			return apiError(w, http.StatusNotFound, "no method "+r.Method+" for "+kind)
		}
		return http.StatusOK
	case len(parts) == 3 && parts[2] == "addMessage" && r.Method == http.MethodPost:
		cur, ok := store[parts[1]]
		if !ok {
			return apiError(w, http.StatusNotFound, "Resource not found: "+parts[1])
		}
		m, _ := in["message"].(map[string]any)
		if m == nil || m["header"] == nil || m["body"] == nil {
			return apiError(w, http.StatusBadRequest, "message header and body are required")
		}
		msgs, _ := cur["messages"].([]any)
		cur["messages"] = append(msgs, m)
		writeJSON(w, http.StatusOK, partial(map[string]any{"resource": cur}, req.Query.Get("fields")))
		return http.StatusOK
	default:
		return apiError(w, http.StatusNotFound, "no route "+r.Method+" "+req.Path)
	}
}

// validate checks the fields Google requires of a new or replaced resource
// and answers what is wrong, or "".
func (s *Server) validate(kind string, in map[string]any) string {
	id, _ := in["id"].(string)
	if !strings.HasPrefix(id, IssuerID+".") || len(id) == len(IssuerID)+1 {
		return fmt.Sprintf("Invalid resource ID %q: must be %s.<suffix>", id, IssuerID)
	}
	for _, r := range strings.TrimPrefix(id, IssuerID+".") {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("Invalid resource ID %q: bad character %q", id, r)
		}
	}
	switch kind {
	case "loyaltyClass":
		for _, f := range []string{"issuerName", "programName", "reviewStatus"} {
			if v, _ := in[f].(string); v == "" {
				return "missing required field " + f
			}
		}
		logo, _ := in["programLogo"].(map[string]any)
		src, _ := logo["sourceUri"].(map[string]any)
		if u, _ := src["uri"].(string); !strings.HasPrefix(u, "https://") {
			return "programLogo.sourceUri.uri must be an https URL"
		}
	case "loyaltyObject":
		if st, _ := in["state"].(string); st == "" {
			return "missing required field state"
		}
		if cls, _ := in["classId"].(string); cls == "" {
			return "missing required field classId"
		}
	}
	return ""
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

package googlewallet_test

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
	"strings"
	"sync"
	"testing"

	jwt "github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer      = "3388000000022000000"
	testEmail       = "passd-wallet@passd-test.iam.gserviceaccount.com"
	testKeyID       = "test-key-1"
	fakeAccessToken = "fake-token-7c1e"
	walletPrefix    = "/walletobjects/v1/"
)

// testKey is generated once per test binary: RSA generation is slow under
// -race and the key carries no state.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// recorded is one request the fake API received.
type recorded struct {
	Method string
	Path   string // decoded, without the walletobjects/v1/ prefix
	Body   []byte
}

// fakeWallet is a Wallet Objects API and an OAuth token endpoint in one TLS
// server. It keeps classes and objects in memory as generic JSON.
type fakeWallet struct {
	t     *testing.T
	srv   *httptest.Server
	creds []byte

	mu         sync.Mutex
	classes    map[string]map[string]any
	objects    map[string]map[string]any
	requests   []recorded
	tokenHits  int
	assertions []jwt.MapClaims
	failures   []int
	badBearer  int
	retryAfter string
}

func newFakeWallet(t *testing.T) *fakeWallet {
	t.Helper()
	fw := &fakeWallet{
		t:       t,
		classes: map[string]map[string]any{},
		objects: map[string]map[string]any{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", fw.token)
	mux.HandleFunc(walletPrefix, fw.api)
	fw.srv = httptest.NewTLSServer(mux)
	t.Cleanup(fw.srv.Close)

	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	fw.creds, err = json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "passd-test",
		"private_key_id": testKeyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   testEmail,
		"client_id":      "1234567890",
		"token_uri":      fw.tokenURI(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

func (fw *fakeWallet) tokenURI() string { return fw.srv.URL + "/oauth2/token" }

// failNext makes the next API requests (not token requests) fail with the
// given statuses, in order.
func (fw *fakeWallet) failNext(codes ...int) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.failures = append(fw.failures, codes...)
}

func (fw *fakeWallet) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, "bad grant_type "+g, http.StatusBadRequest)
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) {
		return &testKey().PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}))
	if err != nil {
		http.Error(w, "bad assertion: "+err.Error(), http.StatusBadRequest)
		return
	}
	fw.mu.Lock()
	fw.tokenHits++
	fw.assertions = append(fw.assertions, claims)
	fw.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, fakeAccessToken)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (fw *fakeWallet) api(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	path := strings.TrimPrefix(r.URL.Path, walletPrefix)

	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.requests = append(fw.requests, recorded{Method: r.Method, Path: path, Body: body})
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+fakeAccessToken {
		fw.badBearer++
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "bad bearer token")
		return
	}
	if len(fw.failures) > 0 {
		code := fw.failures[0]
		fw.failures = fw.failures[1:]
		if fw.retryAfter != "" {
			w.Header().Set("Retry-After", fw.retryAfter)
		}
		apiError(w, code, http.StatusText(code), "injected failure")
		return
	}

	parts := strings.Split(path, "/")
	var store map[string]map[string]any
	switch parts[0] {
	case "loyaltyClass":
		store = fw.classes
	case "loyaltyObject":
		store = fw.objects
	default:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "no such collection")
		return
	}

	var in map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		}
	}

	switch {
	case len(parts) == 1 && r.Method == http.MethodPost: // insert
		id, _ := in["id"].(string)
		if id == "" {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "missing id")
			return
		}
		if _, ok := store[id]; ok {
			apiError(w, http.StatusConflict, "ALREADY_EXISTS", "Resource already exists: "+id)
			return
		}
		if parts[0] == "loyaltyObject" {
			cls, _ := in["classId"].(string)
			if _, ok := fw.classes[cls]; !ok {
				apiError(w, http.StatusNotFound, "NOT_FOUND", "Class not found: "+cls)
				return
			}
		}
		store[id] = in
		writeJSON(w, http.StatusOK, in)
	case len(parts) == 2:
		id := parts[1]
		cur, ok := store[id]
		if !ok {
			apiError(w, http.StatusNotFound, "NOT_FOUND", "Wallet Object "+id+" not found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, cur)
		case http.MethodPut:
			in["id"] = id
			store[id] = in
			writeJSON(w, http.StatusOK, in)
		case http.MethodPatch:
			// Top-level merge: arrays and objects sent replace the old
			// value whole, null removes it.
			for k, v := range in {
				if v == nil {
					delete(cur, k)
				} else {
					cur[k] = v
				}
			}
			writeJSON(w, http.StatusOK, cur)
		default:
			apiError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method)
		}
	case len(parts) == 3 && parts[2] == "addMessage" && r.Method == http.MethodPost:
		cur, ok := store[parts[1]]
		if !ok {
			apiError(w, http.StatusNotFound, "NOT_FOUND", "Wallet Object "+parts[1]+" not found")
			return
		}
		msgs, _ := cur["messages"].([]any)
		cur["messages"] = append(msgs, in["message"])
		writeJSON(w, http.StatusOK, map[string]any{"resource": cur})
	default:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "no route "+r.Method+" "+path)
	}
}

// object returns a deep copy of a stored object, or nil.
func (fw *fakeWallet) object(id string) map[string]any {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return deepCopy(fw.objects[id])
}

func (fw *fakeWallet) class(id string) map[string]any {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return deepCopy(fw.classes[id])
}

// seen returns the API requests received so far and forgets them.
func (fw *fakeWallet) seen() []recorded {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	r := fw.requests
	fw.requests = nil
	return r
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

// methods summarises requests as "METHOD path" lines.
func methods(rs []recorded) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Method + " " + r.Path
	}
	return out
}

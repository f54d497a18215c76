package apnstest_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/passd/passd/passkit/apns/apnstest"
)

func TestServerChecksRequests(t *testing.T) {
	t.Parallel()
	const topic = "pass.com.example"
	srv := apnstest.NewServer(t, apnstest.Options{Topic: topic})
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: srv.CAPool(), Certificates: []tls.Certificate{srv.ClientCertificate(t, topic)}},
		Protocols:       protocols,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	tok := strings.Repeat("ab", 32)

	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		reason                   string
	}{
		{"ok", "POST", "/3/device/" + tok, "{}", map[string]string{"apns-topic": topic}, 200, ""},
		{"get", "GET", "/3/device/" + tok, "", nil, 405, "MethodNotAllowed"},
		{"bad path", "POST", "/2/device/" + tok, "{}", nil, 404, "BadPath"},
		{"no token", "POST", "/3/device/", "{}", nil, 400, "MissingDeviceToken"},
		{"empty payload", "POST", "/3/device/" + tok, "", map[string]string{"apns-topic": topic}, 400, "PayloadEmpty"},
		{"large payload", "POST", "/3/device/" + tok, `{"a":"` + strings.Repeat("x", 5000) + `"}`, map[string]string{"apns-topic": topic}, 413, "PayloadTooLarge"},
		{"no topic", "POST", "/3/device/" + tok, "{}", nil, 400, "MissingTopic"},
		{"other topic", "POST", "/3/device/" + tok, "{}", map[string]string{"apns-topic": "pass.other"}, 400, "TopicDisallowed"},
		{"background at 10", "POST", "/3/device/" + tok, "{}", map[string]string{"apns-topic": topic, "apns-push-type": "background", "apns-priority": "10"}, 400, "BadPriority"},
		{"bad expiration", "POST", "/3/device/" + tok, "{}", map[string]string{"apns-topic": topic, "apns-expiration": "soon"}, 400, "BadExpirationDate"},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var e struct {
			Reason string `json:"reason"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.status || e.Reason != tt.reason {
			t.Errorf("%s: %d %q, want %d %q", tt.name, resp.StatusCode, e.Reason, tt.status, tt.reason)
		}
		if resp.Header.Get("Apns-Id") == "" {
			t.Errorf("%s: no apns-id header", tt.name)
		}
	}
	if got := len(srv.Pushes()); got != len(tests) {
		t.Errorf("Pushes() holds %d, want %d", got, len(tests))
	}
	if c := srv.Counts(); c[200] != 1 || c[400] != 6 {
		t.Errorf("Counts() = %v, want 1×200, 6×400", c)
	}
}

func TestServerRefusesHTTP1(t *testing.T) {
	t.Parallel()
	srv := apnstest.NewServer(t, apnstest.Options{})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CAPool(), Certificates: []tls.Certificate{srv.ClientCertificate(t, "x")}}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(srv.URL+"/3/device/abcd", "application/json", strings.NewReader("{}"))
	// A client offering only http/1.1 fails ALPN; one offering no ALPN
	// gets through TLS and is answered 505.
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusHTTPVersionNotSupported {
			t.Fatalf("HTTP/1.1 request: status %d, want 505 or a failed handshake", resp.StatusCode)
		}
	}
	if c := srv.Counts(); c[200] != 0 {
		t.Errorf("HTTP/1.1 request answered 200: %v", c)
	}
}

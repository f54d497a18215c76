package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/testpg"
)

// TestDatabaseOutageEverySurface stops PostgreSQL under a running passd:
// every surface that needs the database then answers 503 with a
// Retry-After, never 500: the JSON API, the PassKit web service, pass
// downloads, the join pages and the console (its pages in the page's
// language).
func TestDatabaseOutageEverySurface(t *testing.T) {
	t.Parallel()
	cluster := testpg.NewCluster(t)
	s := start(t, map[string]string{"PASSD_DATABASE_URL": cluster.URL()}, server.Options{})
	m := enroll(t, s, "Ada")
	ph := addPass(t, s, m, "device-outage", strings.Repeat("ab", 32))
	if code := ph.register(ph.token); code != http.StatusCreated {
		t.Fatalf("register = %d, want 201", code)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, s.url+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.url)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Body" { // a JSON body rather than a header
				req.Body, req.ContentLength = io.NopCloser(strings.NewReader(hdr[i+1])), int64(len(hdr[i+1]))
				req.Header.Set("Content-Type", "application/json")
				continue
			}
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	hidden := func(page, name string) string {
		t.Helper()
		v := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
		if v == nil {
			t.Fatalf("no %s field in the page", name)
		}
		return v[1]
	}
	// The forms' tokens are drawn while the database is up.
	_, joinForm := get("GET", "/join/demo", nil)
	joinToken := hidden(joinForm, "token")
	_, loginForm := get("GET", "/console/login", nil)
	loginCSRF := hidden(loginForm, "csrf")

	if err := cluster.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	passPath := strings.TrimPrefix(s.localURL(m["apple_pass_url"].(string)), s.url)
	ws := "/passkit/v1/devices/device-outage/registrations/" + ph.passType
	auth := "ApplePass " + ph.token
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
		hdr                []string
		want               string // in the body
	}{
		{"api member", "GET", "/api/v1/members/" + ph.serial, nil, []string{"Authorization", "Bearer " + adminKey}, `"code":"unavailable"`},
		{"passkit register", "POST", ws + "/" + ph.serial, nil, []string{"Authorization", auth, "Body", `{"pushToken":"` + strings.Repeat("cd", 32) + `"}`}, ""},
		{"passkit unregister", "DELETE", ws + "/" + ph.serial, nil, []string{"Authorization", auth}, ""},
		{"passkit updated serials", "GET", ws, nil, nil, ""},
		{"passkit latest pass", "GET", "/passkit/v1/passes/" + ph.passType + "/" + ph.serial, nil, []string{"Authorization", auth}, ""},
		{"pass download", "GET", passPath, nil, nil, `"code":"unavailable"`},
		{"join page", "POST", "/join/demo", url.Values{"token": {joinToken}, "name": {"Grace"}, "email": {"grace@example.com"}, "consent": {"yes"}}, []string{"Accept-Language", "fr"}, "momentanément indisponible"},
		{"console sign-in", "POST", "/console/login", url.Values{"csrf": {loginCSRF}, "email": {"ada@example.com"}, "password": {"correct horse battery"}}, nil, "unavailable for a moment"},
		{"console page", "GET", "/console", nil, []string{"Cookie", "passd_console=" + strings.Repeat("x", 43)}, "unavailable for a moment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(tc.method, tc.path, tc.form, tc.hdr...)
			retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			if res.StatusCode != http.StatusServiceUnavailable || retry <= 0 {
				t.Fatalf("%s %s = %d, Retry-After %q; want 503 with a Retry-After:\n%s", tc.method, tc.path, res.StatusCode, res.Header.Get("Retry-After"), body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("the answer lacks %q:\n%s", tc.want, body)
			}
		})
	}
}

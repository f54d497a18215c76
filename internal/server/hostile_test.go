package server_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/passd/passd/internal/testpg"
)

// rawCall sends body as it is (it may hold bytes that are not UTF-8) with
// the admin key.
func rawCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "hostile-"+strings.ReplaceAll(t.Name(), "/", "-")+"-"+method+"-"+url[len(url)-8:]+"-"+string(rune('a'+len(body)%26)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// refusedField answers the fields a validation_failed problem names.
func refusedFields(t *testing.T, b []byte) []string {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Code != "validation_failed" {
		t.Fatalf("answer %s is not a validation_failed problem", b)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// TestHostileTextRefusedOnBothStores sends control characters and bytes
// that are not UTF-8 in every kind of text field of the JSON API: each is
// refused with 422 naming the field, the same on SQLite and PostgreSQL,
// and nothing of it is stored.
func TestHostileTextRefusedOnBothStores(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if db == "postgres" {
				env["PASSD_DATABASE_URL"] = testpg.FreshSchema(t)
			}
			s := start(t, env, fastSync)
			id := enroll(t, s, "Ada")["id"].(string)
			api := s.url + "/api/v1"
			for _, c := range []struct {
				name, method, path, body, field string
			}{
				{"NUL in a name", "POST", "/programs/demo/members", `{"name":"Ada\u0000Lovelace"}`, "name"},
				{"invalid UTF-8 in a name", "POST", "/programs/demo/members", "{\"name\":\"Ada \xff\xfe Lovelace\"}", "name"},
				{"escape in an email", "POST", "/programs/demo/members", `{"name":"Ada","email":"ada\u0007@example.com"}`, "email"},
				{"NUL in an external id", "POST", "/programs/demo/members", `{"name":"Ada","external_id":"crm\u00001"}`, "external_id"},
				{"NUL in a profile edit", "PATCH", "/members/" + id, `{"name":"Ada\u0000"}`, "name"},
				{"NUL in a reference", "POST", "/members/" + id + "/transactions", `{"type":"earn","points":10,"reference":"receipt\u00001042"}`, "reference"},
				{"invalid UTF-8 in a reference", "POST", "/members/" + id + "/transactions", "{\"type\":\"earn\",\"points\":10,\"reference\":\"r\xc3\"}", "reference"},
				{"NUL in a message", "POST", "/members/" + id + "/messages", `{"text":"Hello\u0000"}`, "text"},
				{"C1 control in a programme message", "POST", "/programs/demo/messages", `{"text":"Hello\u0085all"}`, "text"},
				{"NUL in a reward", "POST", "/programs/demo/rewards", `{"name":"Coffee\u0000","cost_points":100}`, "name"},
				{"NUL in a reward description", "POST", "/programs/demo/rewards", `{"name":"Coffee","cost_points":100,"description":"hot\u0000"}`, "description"},
				{"NUL in a campaign", "POST", "/programs/demo/campaigns", `{"name":"Double\u0000","multiplier":2,"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-02-01T00:00:00Z"}`, "name"},
				{"NUL in a programme text", "PATCH", "/programs/demo", `{"locales":{"en":{"description":"x\u0000y"}}}`, "locales.en.description"},
			} {
				st, b := rawCall(t, c.method, api+c.path, c.body)
				if st != http.StatusUnprocessableEntity {
					t.Errorf("%s: %s %s = %d %s, want 422", c.name, c.method, c.path, st, b)
					continue
				}
				if fields := refusedFields(t, b); !slices.Contains(fields, c.field) {
					t.Errorf("%s: refused fields %v, want %q among them", c.name, fields, c.field)
				}
			}
			// A search for a NUL is refused too, and odd bytes in the path
			// are unknown ids, never a 500.
			if st, b := rawCall(t, "GET", api+"/programs/demo/members?q=a%00b", ""); st != 422 {
				t.Errorf("search with a NUL = %d %s, want 422", st, b)
			}
			for _, c := range []struct{ method, path string }{
				{"GET", "/members/a%00b"}, {"GET", "/members/%FF%FE"}, {"GET", "/campaigns/a%00b"},
				{"GET", "/programs/a%00b"}, {"PATCH", "/rewards/a%00b"}, {"DELETE", "/apikeys/a%00b"},
				{"GET", "/programs/a%00b/members"},
			} {
				if st, b := rawCall(t, c.method, api+c.path, `{}`); st != 404 {
					t.Errorf("%s %s = %d %s, want 404", c.method, c.path, st, b)
				}
			}
			if st, b := rawCall(t, "POST", api+"/vouchers/a%00b/use", `{}`); st >= 500 {
				t.Errorf("POST a voucher code with a NUL = %d %s, want a 4xx", st, b)
			}
			// Query parameters and the other surfaces' paths: a 4xx, never
			// a 500, whatever odd bytes they carry.
			for _, c := range []struct{ method, url, body string }{
				{"GET", api + "/programs/demo/members?cursor=a%00b", ""},
				{"GET", api + "/programs/demo/members?tier=a%00b", ""},
				{"GET", api + "/programs/demo/members?email=a%FFb", ""},
				{"GET", api + "/members/" + id + "/transactions?cursor=a%00b", ""},
				{"POST", api + "/members/" + id + "/redemptions", `{"reward_id":"a\u0000b"}`},
				{"POST", api + "/programs/demo/messages", `{"text":"hi","tier":"a\u0000b"}`},
				{"POST", s.url + "/passkit/v1/devices/a%00b/registrations/pass.dev.passd.loyalty/x%00y", `{"pushToken":"a"}`},
				{"GET", s.url + "/passkit/v1/devices/a%00b/registrations/pass.dev.passd.loyalty?passesUpdatedSince=a%00b", ""},
				{"GET", s.url + "/passkit/v1/passes/pass.dev.passd.loyalty/a%00b", ""},
				{"GET", s.url + "/passes/a%00b.pkpass?sig=x", ""},
				{"GET", s.url + "/programs/a%00b/logo.png", ""},
			} {
				if st, b := rawCall(t, c.method, c.url, c.body); st >= 500 || st < 400 {
					t.Errorf("%s %s = %d %s, want a 4xx", c.method, c.url, st, b)
				}
			}
			// The join page refuses the same, and an odd programme id is
			// its 404 page.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form := func(method, path string, vals url.Values) (int, string) {
				t.Helper()
				var res *http.Response
				var err error
				if method == "GET" {
					res, err = browser.Get(s.url + path)
				} else {
					res, err = browser.PostForm(s.url+path, vals)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			if st, _ := form("GET", "/join/a%00b", nil); st != 404 {
				t.Errorf("join page of a NUL programme = %d, want 404", st)
			}
			_, page := form("GET", "/join/demo", nil)
			m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no form token on the join page")
			}
			for _, name := range []string{"Ada\x00Lovelace", "Ada \xff Lovelace"} {
				st, body := form("POST", "/join/demo", url.Values{"token": {html.UnescapeString(m[1])}, "name": {name},
					"email": {"ada@example.com"}, "consent": {"yes"}})
				if st != 422 || !strings.Contains(body, `id="name-error"`) {
					t.Errorf("join form with name %q = %d, want 422 naming the name", name, st)
				}
			}
			// A console sign-in with such an email is a failed sign-in.
			_, login := form("GET", "/console/login", nil)
			if c := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login); c == nil {
				t.Error("no csrf token on the console's sign-in page")
			} else if st, body := form("POST", "/console/login", url.Values{"csrf": {html.UnescapeString(c[1])},
				"email": {"a\x00b@example.com"}, "password": {"whatever-password"}}); st >= 500 || st < 400 {
				t.Errorf("console sign-in with a NUL email = %d, want a refusal:\n%s", st, body)
			}
			// A line break is allowed in a message, which is multi-line.
			if st, b := rawCall(t, "POST", api+"/members/"+id+"/messages", `{"text":"Line one\nline two"}`); st >= 300 {
				t.Errorf("a two-line message = %d %s, want success", st, b)
			}
			// Nothing hostile was stored: Ada is still the only member, with
			// her name as enrolled.
			_, b := call(t, "GET", api+"/programs/demo/members", nil)
			if bytes.Contains(b, []byte(`\u0000`)) || bytes.Contains(b, []byte("\uFFFD")) || !bytes.Contains(b, []byte(`"Ada"`)) {
				t.Errorf("members after the hostile requests = %s", b)
			}
		})
	}
}

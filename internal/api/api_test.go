package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/programs"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/templates"
)

const adminKey = "test-admin-key-0123456789"

var secret = []byte("test-secret-test-secret-test-secret!")

type env struct {
	t        *testing.T
	srv      *httptest.Server
	store    *store.Store
	programs *programs.Service
}

func newEnv(t *testing.T, opts ...func(*api.Config)) *env {
	t.Helper()
	st := testkit.OpenSQLite(t, store.Options{})
	svc := seededPrograms(t, st)
	cfg := api.Config{
		Deps: surface.Deps{
			Store: st, Programs: svc.Catalog(), Secret: secret, Links: links.New(secret, "https://passd.example"),
			Logger: slog.New(slog.DiscardHandler),
		},
		BootstrapAdminKey: adminKey, ProgramEditor: svc,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e := serve(t, cfg)
	e.programs = svc
	return e
}

// serve runs the API of cfg under /api/v1 until the test ends.
func serve(t *testing.T, cfg api.Config) *env {
	t.Helper()
	a, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: testkit.Serve(t, "/api/v1", a.Handler()), store: cfg.Store}
}

// seededPrograms answers the programmes service of st with the embedded
// templates seeded, as passd starts it.
func seededPrograms(t *testing.T, st *store.Store) *programs.Service {
	t.Helper()
	tmpl, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := tmpl.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := programs.New(programs.Config{Store: st, Catalog: loyalty.NewCatalog(),
		Placeholder: map[string][]byte{"icon.png": demo.Files["icon.png"]}})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*loyalty.Program
	for _, id := range tmpl.IDs() {
		p, _ := tmpl.Get(id)
		ps = append(ps, p)
	}
	if err := svc.Seed(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	return svc
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(method, path, key string, body any, hdr ...string) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &a.body)
	}
	return a
}

// want checks status and, for errors, the problem code and media type.
func (a answer) want(t *testing.T, status int, code string) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body %s", a.status, status, a.raw)
	}
	if code != "" {
		if a.body["code"] != code {
			t.Fatalf("code = %v, want %s; body %s", a.body["code"], code, a.raw)
		}
		if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type = %q, want application/problem+json", ct)
		}
		if a.body["status"] != float64(status) || a.body["title"] == "" || a.body["detail"] == "" {
			t.Fatalf("problem %s lacks status/title/detail", a.raw)
		}
	}
	return a
}

func (e *env) enroll(name string) map[string]any {
	e.t.Helper()
	return e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": name, "email": "m@example.com"}).want(e.t, 201, "").body
}

func (e *env) earn(id, key string, points int64) answer {
	e.t.Helper()
	return e.do("POST", "/api/v1/members/"+id+"/transactions", adminKey, map[string]any{"type": "earn", "points": points}, "Idempotency-Key", key)
}

func (e *env) newKey(role, prog string) string {
	e.t.Helper()
	body := map[string]any{"role": role}
	if prog != "" {
		body["program"] = prog
	}
	return e.do("POST", "/api/v1/apikeys", adminKey, body).want(e.t, 201, "").body["key"].(string)
}

func TestEnroll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.do("POST", "/api/v1/programs/demo/members", adminKey,
		map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "birthday": "1990-12-10"}).want(t, 201, "").body
	for k, want := range map[string]any{"program": "demo", "name": "Ada Lovelace", "email": "ada@example.com",
		"points": float64(0), "lifetime_points": float64(0), "tier": "Bronze", "birthday": "1990-12-10"} {
		if m[k] != want {
			t.Errorf("member[%s] = %v, want %v", k, m[k], want)
		}
	}
	num := m["number"].(string)
	if !loyalty.ValidNumber(num) {
		t.Errorf("number %q has no valid check digit", num)
	}
	if got, err := loyalty.VerifyBarcode(secret, m["barcode"].(string)); err != nil || got != num {
		t.Errorf("VerifyBarcode(%v) = %q, %v, want %q", m["barcode"], got, err, num)
	}
	id := m["id"].(string)
	if u := m["apple_pass_url"].(string); !strings.HasPrefix(u, "https://passd.example/passes/"+id+".pkpass?sig=") {
		t.Errorf("apple_pass_url = %q, want an absolute signed link", u)
	}
	if _, ok := m["google_save_url"]; ok {
		t.Errorf("google_save_url present with Google off")
	}
	if _, err := time.Parse(time.RFC3339, m["created_at"].(string)); err != nil {
		t.Errorf("created_at %v is not RFC 3339", m["created_at"])
	}
	got := e.do("GET", "/api/v1/members/"+id, adminKey, nil).want(t, 200, "").body
	if got["number"] != num || got["barcode"] != m["barcode"] {
		t.Errorf("GET member = %v, want the enrolled member", got)
	}
}

func TestEnrollExternalIDIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := map[string]any{"name": "Grace", "external_id": "crm-42"}
	first := e.do("POST", "/api/v1/programs/demo/members", adminKey, body).want(t, 201, "").body
	again := e.do("POST", "/api/v1/programs/demo/members", adminKey, body).want(t, 200, "").body
	if first["id"] != again["id"] {
		t.Errorf("re-enrolment with the same external_id made member %v, want %v", again["id"], first["id"])
	}
}

func TestEnrollValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, tc := range map[string]struct {
		body   any
		status int
		code   string
		field  string
	}{
		"no name":        {map[string]any{"email": "a@example.com"}, 422, "validation_failed", "name"},
		"blank name":     {map[string]any{"name": "   "}, 422, "validation_failed", "name"},
		"long name":      {map[string]any{"name": strings.Repeat("x", 201)}, 422, "validation_failed", "name"},
		"bad email":      {map[string]any{"name": "A", "email": "not-an-email"}, 422, "validation_failed", "email"},
		"future bday":    {map[string]any{"name": "A", "birthday": "2999-01-01"}, 422, "validation_failed", "birthday"},
		"bad bday":       {map[string]any{"name": "A", "birthday": "10/12/1990"}, 422, "validation_failed", "birthday"},
		"not json":       {"{name:", 400, "malformed_json", ""},
		"empty":          {"", 400, "malformed_json", ""},
		"array":          {"[]", 400, "malformed_json", ""},
		"wrong type":     {map[string]any{"name": 5}, 400, "malformed_json", ""},
		"unknown field":  {map[string]any{"name": "A", "nmae": "B"}, 400, "malformed_json", ""},
		"two values":     {`{"name":"A"}{"name":"B"}`, 400, "malformed_json", ""},
		"too large body": {`{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "body_too_large", ""},
	} {
		a := e.do("POST", "/api/v1/programs/demo/members", adminKey, tc.body)
		if a.status != tc.status || a.body["code"] != tc.code {
			t.Errorf("%s: status %d code %v, want %d %s (%s)", name, a.status, a.body["code"], tc.status, tc.code, a.raw)
			continue
		}
		if tc.field != "" {
			errs, _ := a.body["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
				t.Errorf("%s: errors = %v, want field %s", name, a.body["errors"], tc.field)
			}
		}
	}
	e.do("POST", "/api/v1/programs/nope/members", adminKey, map[string]any{"name": "A"}).want(t, 404, "not_found")
	a := e.do("POST", "/api/v1/programs/demo/members", adminKey, nil, "Content-Type", "text/plain")
	if a.status != 415 {
		t.Errorf("text/plain body: status %d, want 415", a.status)
	}
	// Nothing was stored by any bad request.
	ex := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Only"}).want(t, 201, "").body
	if ex["id"] == "" {
		t.Fatal("no id")
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.enroll("Ada")
	id := m["id"].(string)
	path := "/api/v1/members/" + id
	e.do("GET", path, "", nil).want(t, 401, "unauthorized")
	e.do("GET", path, "wrong-key-wrong-key", nil).want(t, 401, "unauthorized")
	a := e.do("GET", path, "", nil, "Authorization", "Basic YWRtaW46YWRtaW4=")
	a.want(t, 401, "unauthorized")

	pos := e.newKey("pos", "")
	e.do("GET", path, pos, nil).want(t, 200, "")
	e.do("POST", "/api/v1/programs/demo/members", pos, map[string]any{"name": "X"}).want(t, 403, "forbidden")
	e.do("GET", path+"/export", pos, nil).want(t, 403, "forbidden")
	e.do("POST", "/api/v1/apikeys", pos, map[string]any{"role": "admin"}).want(t, 403, "forbidden")

	merchant := e.newKey("merchant", "demo")
	e.do("POST", "/api/v1/programs/demo/members", merchant, map[string]any{"name": "X"}).want(t, 201, "")
	e.do("GET", path+"/export", merchant, nil).want(t, 403, "forbidden")
	e.do("DELETE", path, merchant, nil).want(t, 403, "forbidden")

	// A key scoped to another program sees none of this program's members.
	other, _, err := loyalty.CreateKey(context.Background(), e.store, "admin", "other-program", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", path, other, nil).want(t, 403, "forbidden")
	e.do("POST", "/api/v1/programs/demo/members", other, map[string]any{"name": "X"}).want(t, 403, "forbidden")

	// A revoked key is refused.
	k, err := e.store.APIKeyByHash(context.Background(), loyalty.HashKey(pos))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAPIKey(context.Background(), k.ID); err != nil {
		t.Fatal(err)
	}
	e.do("GET", path, pos, nil).want(t, 401, "unauthorized")
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "root"}).want(t, 422, "validation_failed")
	e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "pos", "program": "nope"}).want(t, 422, "validation_failed")
	a := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "merchant", "program": "demo"}).want(t, 201, "")
	key := a.body["key"].(string)
	if !strings.HasPrefix(key, "passd_") || len(key) < 40 || a.body["role"] != "merchant" || a.body["program"] != "demo" || a.body["id"] == "" {
		t.Errorf("created key answer = %v", a.body)
	}
	// Only the hash is stored.
	k, err := e.store.APIKeyByHash(context.Background(), loyalty.HashKey(key))
	if err != nil || k.Hash == key || k.Role != "merchant" {
		t.Errorf("stored key = %+v, %v", k, err)
	}
	// A scoped key cannot mint a key for all programs.
	e.do("POST", "/api/v1/apikeys", key, map[string]any{"role": "pos"}).want(t, 403, "forbidden")
}

func TestTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	path := "/api/v1/members/" + id + "/transactions"

	e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 5}).want(t, 400, "idempotency_key_required")
	e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", strings.Repeat("k", 256)).want(t, 422, "validation_failed")
	e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", "clé-non-ascii").want(t, 422, "validation_failed")

	first := e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 1200, "reference": "r1"}, "Idempotency-Key", "k1").want(t, 201, "")
	tx := first.body["transaction"].(map[string]any)
	if tx["type"] != "earn" || tx["points"] != float64(1200) || tx["balance_after"] != float64(1200) || tx["reference"] != "r1" || tx["member_id"] != id {
		t.Errorf("transaction = %v", tx)
	}
	mem := first.body["member"].(map[string]any)
	if mem["points"] != float64(1200) || mem["tier"] != "Silver" || mem["lifetime_points"] != float64(1200) {
		t.Errorf("member after earn = %v, want 1200 Silver", mem)
	}

	replay := e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 1200, "reference": "r1"}, "Idempotency-Key", "k1").want(t, 201, "")
	if replay.body["transaction"].(map[string]any)["id"] != tx["id"] || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %v, want transaction %v again", replay.body, tx["id"])
	}
	e.do("POST", path, adminKey, map[string]any{"type": "earn", "points": 1201, "reference": "r1"}, "Idempotency-Key", "k1").want(t, 409, "idempotency_conflict")

	e.do("POST", path, adminKey, map[string]any{"type": "redeem", "points": 5000}, "Idempotency-Key", "k2").want(t, 409, "insufficient_points")
	red := e.do("POST", path, adminKey, map[string]any{"type": "redeem", "points": 200}, "Idempotency-Key", "k3").want(t, 201, "")
	if p := red.body["transaction"].(map[string]any)["points"]; p != float64(-200) {
		t.Errorf("redeem points = %v, want -200 (signed)", p)
	}

	pos := e.newKey("pos", "demo")
	e.do("POST", path, pos, map[string]any{"type": "adjust", "points": -10}, "Idempotency-Key", "k4").want(t, 403, "forbidden")
	e.do("POST", path, adminKey, map[string]any{"type": "adjust", "points": -2000}, "Idempotency-Key", "k5").want(t, 409, "insufficient_points")
	e.do("POST", path, adminKey, map[string]any{"type": "adjust", "points": -10}, "Idempotency-Key", "k6").want(t, 201, "")

	for name, body := range map[string]any{
		"zero":     map[string]any{"type": "earn", "points": 0},
		"missing":  map[string]any{"type": "earn"},
		"too many": map[string]any{"type": "earn", "points": 1_000_000_001},
		"bad type": map[string]any{"type": "gift", "points": 5},
		"no type":  map[string]any{"points": 5},
		"zero adj": map[string]any{"type": "adjust", "points": 0},
		"negative": map[string]any{"type": "redeem", "points": -5},
		"long ref": map[string]any{"type": "earn", "points": 5, "reference": strings.Repeat("r", 256)},
	} {
		a := e.do("POST", path, adminKey, body, "Idempotency-Key", "v-"+name)
		if a.status != 422 || a.body["code"] != "validation_failed" {
			t.Errorf("%s: %d %s, want 422 validation_failed", name, a.status, a.raw)
		}
	}
	for name, body := range map[string]string{"float": `{"type":"earn","points":1.5}`, "string": `{"type":"earn","points":"5"}`} {
		a := e.do("POST", path, adminKey, body, "Idempotency-Key", "m-"+name)
		if a.status != 400 || a.body["code"] != "malformed_json" {
			t.Errorf("%s: %d %s, want 400 malformed_json", name, a.status, a.raw)
		}
	}

	list := e.do("GET", path, adminKey, nil).want(t, 200, "").body
	items := list["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("list has %d items, want 3 (earn, redeem, adjust): %v", len(items), items)
	}
	if items[0].(map[string]any)["type"] != "adjust" || items[2].(map[string]any)["type"] != "earn" {
		t.Errorf("list not newest first: %v", items)
	}
	final := e.do("GET", "/api/v1/members/"+id, adminKey, nil).want(t, 200, "").body
	if final["points"] != float64(990) || final["lifetime_points"] != float64(1200) {
		t.Errorf("final member = %v, want 990 points, 1200 lifetime", final)
	}
}

func TestTransactionsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	for i := range 7 {
		e.earn(id, fmt.Sprint("p", i), int64(i+1)).want(t, 201, "")
	}
	path := "/api/v1/members/" + id + "/transactions"
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		a := e.do("GET", path+"?limit=3&cursor="+cursor, adminKey, nil).want(t, 200, "")
		for _, it := range a.body["items"].([]any) {
			tid := it.(map[string]any)["id"].(string)
			if seen[tid] {
				t.Fatalf("transaction %s on two pages", tid)
			}
			seen[tid] = true
		}
		pages++
		next, _ := a.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("paged %d transactions in %d pages, want 7 in 3", len(seen), pages)
	}
	e.do("GET", path+"?limit=201", adminKey, nil).want(t, 422, "validation_failed")
	e.do("GET", path+"?limit=0", adminKey, nil).want(t, 422, "validation_failed")
	e.do("GET", path+"?cursor=%21%21garbage", adminKey, nil).want(t, 422, "validation_failed")
}

func TestConcurrentReplaysOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := e.earn(id, "same-key", 100)
			if a.status != 201 {
				t.Errorf("replay %d: %d %s", i, a.status, a.raw)
				return
			}
			ids[i] = a.body["transaction"].(map[string]any)["id"].(string)
		}()
	}
	wg.Wait()
	for _, x := range ids {
		if x != ids[0] {
			t.Fatalf("concurrent replays answered different transactions: %v", ids)
		}
	}
	m := e.do("GET", "/api/v1/members/"+id, adminKey, nil).want(t, 200, "").body
	if m["points"] != float64(100) {
		t.Errorf("points after 16 replays = %v, want 100", m["points"])
	}
}

func TestUnknownMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", adminKey, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/members/not-a-uuid", adminKey, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/nothing-here", adminKey, nil).want(t, 404, "not_found")
	e.do("PUT", "/api/v1/members/x", adminKey, nil).want(t, 405, "method_not_allowed")
}

func TestExportAndErase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada Lovelace")["id"].(string)
	e.earn(id, "e1", 1500).want(t, 201, "")
	ex := e.do("GET", "/api/v1/members/"+id+"/export", adminKey, nil).want(t, 200, "").body
	if ex["member"].(map[string]any)["name"] != "Ada Lovelace" || len(ex["entries"].([]any)) != 1 {
		t.Errorf("export = %v", ex)
	}
	events := ex["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["kind"] != "tier_changed" {
		t.Errorf("export events = %v, want one tier_changed", events)
	}
	if sync := ex["sync"].([]any); len(sync) != 2 {
		t.Errorf("export sync = %v, want apple and google", sync)
	}
	if strings.Contains(fmt.Sprint(ex), "push_token") {
		t.Errorf("export carries push tokens")
	}

	e.do("DELETE", "/api/v1/members/"+id, adminKey, nil).want(t, 204, "")
	for _, p := range []string{"", "/transactions", "/export"} {
		e.do("GET", "/api/v1/members/"+id+p, adminKey, nil).want(t, 404, "not_found")
	}
	e.earn(id, "e2", 5).want(t, 404, "not_found")
	e.do("DELETE", "/api/v1/members/"+id, adminKey, nil).want(t, 404, "not_found")
	row, err := e.store.Member(context.Background(), id)
	if err != nil || row.Name != "" || row.Email != "" || row.Account.Points != 1500 || !row.Erased() {
		t.Errorf("erased row = %+v, %v: want no personal data, ledger kept", row, err)
	}
}

func TestMessagesAndRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.enroll("Ada")["id"].(string)
	e.enroll("Grace")
	a := e.do("POST", "/api/v1/programs/demo/messages", adminKey, map[string]any{"text": "Double points this weekend!"}).want(t, 202, "")
	if a.body["cards"] != float64(2) {
		t.Errorf("message cards = %v, want 2", a.body["cards"])
	}
	e.do("POST", "/api/v1/programs/demo/messages", adminKey, map[string]any{"text": strings.Repeat("x", 501)}).want(t, 422, "validation_failed")
	e.do("POST", "/api/v1/programs/demo/messages", adminKey, map[string]any{"text": " "}).want(t, 422, "validation_failed")
	e.do("POST", "/api/v1/programs/demo/messages", e.newKey("pos", ""), map[string]any{"text": "hi"}).want(t, 403, "forbidden")
	before, _ := e.store.Member(context.Background(), id)
	e.do("POST", "/api/v1/members/"+id+"/refresh", adminKey, nil).want(t, 202, "")
	after, _ := e.store.Member(context.Background(), id)
	if after.Account.PassVersion <= before.Account.PassVersion {
		t.Errorf("refresh kept pass version %d", after.Account.PassVersion)
	}
}

package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/links"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/surface"
	"github.com/passd/passd/templates"
)

func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("OpenAPI() is not JSON: %v", err)
	}
	return doc
}

// TestOpenAPIDescribesEveryRoute walks the real router of the JSON API: a
// route the document does not describe fails, and so does a described
// operation the router does not serve.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	cat, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Config{Deps: surface.Deps{Store: newEnv(t).store, Programs: cat, Secret: secret, Links: links.New(secret, "https://passd.example")}})
	if err != nil {
		t.Fatal(err)
	}
	routes, ok := s.Handler().(chi.Routes)
	if !ok {
		t.Fatalf("Handler() is a %T, want chi.Routes", s.Handler())
	}
	var served []string
	err = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" /api/v1"+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var described []string
	for path, item := range openAPIDoc(t)["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			described = append(described, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(described)
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("route %s is served but not described in the OpenAPI document", r)
		}
	}
	for _, d := range described {
		if !slices.Contains(served, d) {
			t.Errorf("operation %s is described but not served", d)
		}
	}
	if len(served) < 11 {
		t.Errorf("walked only %d routes: %v", len(served), served)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if !resolves(doc, r) {
					t.Errorf("$ref %s does not resolve", r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	codes := map[string]bool{}
	for _, c := range dig(doc, "components", "schemas", "Problem", "properties", "code", "enum").([]any) {
		codes[c.(string)] = true
	}
	for _, c := range []string{"malformed_json", "idempotency_key_required", "unauthorized", "forbidden", "not_found",
		"idempotency_conflict", "request_in_progress", "insufficient_points", "body_too_large", "validation_failed",
		"invalid_barcode", "rate_limited"} {
		if !codes[c] {
			t.Errorf("Problem.code lacks %s", c)
		}
	}
	desc := dig(doc, "info", "description").(string)
	statusOf := regexp.MustCompile("\\| (\\d{3}) \\| `([a-z_]+)` \\|")
	inTable := map[string]bool{}
	for _, m := range statusOf.FindAllStringSubmatch(desc, -1) {
		inTable[m[2]] = true
	}
	for c := range codes {
		if !inTable[c] {
			t.Errorf("the error table of info.description lacks %s", c)
		}
	}

	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			o := o.(map[string]any)
			name := strings.ToUpper(method) + " " + path
			if role := o["x-passd-role"]; role != "pos" && role != "merchant" && role != "admin" {
				t.Errorf("%s: x-passd-role = %v", name, role)
			}
			if sec, _ := o["security"].([]any); len(sec) == 0 {
				t.Errorf("%s: no security requirement", name)
			}
			res := o["responses"].(map[string]any)
			for _, status := range []string{"401", "403", "500"} {
				r, ok := res[status].(map[string]any)
				if !ok || dig(r, "content", "application/problem+json") == nil {
					t.Errorf("%s: no problem+json %s answer", name, status)
				}
			}
			if strings.Contains(path, "{id}") && res["404"] == nil {
				t.Errorf("%s: no 404 answer", name)
			}
			if _, hasBody := o["requestBody"]; hasBody && (res["400"] == nil || res["413"] == nil) {
				t.Errorf("%s: a body but no 400/413 answers", name)
			}
		}
	}
	tx := dig(doc, "paths", "/api/v1/members/{id}/transactions", "post").(map[string]any)
	if !strings.Contains(mustJSON(t, tx), "IdempotencyKey") || !strings.Contains(mustJSON(t, tx["responses"]), "idempotency_conflict") {
		t.Errorf("transactions POST does not describe Idempotency-Key and its conflicts")
	}
	patch := dig(doc, "paths", "/api/v1/members/{id}", "patch").(map[string]any)
	if dig(patch, "requestBody", "content", "application/merge-patch+json") == nil || dig(patch, "requestBody", "content", "application/json") == nil ||
		!strings.Contains(mustJSON(t, patch["responses"]), "external_id_taken") {
		t.Errorf("member PATCH does not take merge-patch+json and application/json, or lacks external_id_taken")
	}
	search := mustJSON(t, dig(doc, "paths", "/api/v1/programs/{program}/members", "get"))
	for _, p := range []string{`"q"`, `"email"`, `"external_id"`, `"tier"`, `"inactive_days"`, "Cursor", "Limit", "MemberList"} {
		if !strings.Contains(search, p) {
			t.Errorf("member search does not describe %s", p)
		}
	}
	if !strings.Contains(mustJSON(t, dig(doc, "components", "schemas", "ProgramMessageRequest")), `"tier"`) ||
		dig(doc, "paths", "/api/v1/members/{id}/messages", "post") == nil {
		t.Errorf("messages do not describe tier or the member message")
	}
	scan := dig(doc, "paths", "/api/v1/pos/scan", "post").(map[string]any)
	if !strings.Contains(scan["description"].(string), "allow_manual_entry") || dig(scan, "responses", "429", "headers", "Retry-After") == nil {
		t.Errorf("scan does not describe manual entry and its rate limit")
	}
}

func TestOpenAPIHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.OpenAPIHandler())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /openapi.json = %d %s, %v", res.StatusCode, res.Header.Get("Content-Type"), err)
	}
}

func resolves(doc map[string]any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	return dig(doc, strings.Split(path, "/")...) != nil
}

// dig walks nested objects; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

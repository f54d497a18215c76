package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/testkit"
)

func keyItem(t *testing.T, a answer, id string) map[string]any {
	t.Helper()
	for _, it := range a.body["items"].([]any) {
		if m := it.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("key %s not listed in %s", id, a.raw)
	return nil
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, func(c *api.Config) { c.Now = clk.Now })
	created := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "pos", "program": "demo"}).want(t, 201, "")
	pos, posID := created.body["key"].(string), created.body["id"].(string)
	other := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "admin", "program": "other"})
	if other.status != 422 {
		t.Fatalf("admin key for an unknown program = %d, want 422", other.status)
	}
	scoped := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "admin", "program": "demo"}).want(t, 201, "")
	scopedKey := scoped.body["key"].(string)

	// Listed without the key or its hash, never used yet.
	list := e.do("GET", "/api/v1/apikeys", adminKey, nil).want(t, 200, "")
	it := keyItem(t, list, posID)
	if it["role"] != "pos" || it["program"] != "demo" || it["last_used_at"] != nil || it["revoked_at"] != nil || it["created_at"] == nil {
		t.Errorf("listed key = %v", it)
	}
	for _, k := range []string{"key", "hash"} {
		if _, ok := it[k]; ok {
			t.Errorf("listed key carries %q: %v", k, it)
		}
	}
	if n := len(list.body["items"].([]any)); n != 2 {
		t.Errorf("listed %d keys, want 2 (the bootstrap key is not stored)", n)
	}

	// A use is recorded, then not again within the minute.
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", pos, nil).want(t, 404, "not_found")
	first := keyItem(t, e.do("GET", "/api/v1/apikeys", adminKey, nil), posID)["last_used_at"]
	if first != "2026-12-03T09:00:00Z" {
		t.Fatalf("last_used_at after a use = %v, want 2026-12-03T09:00:00Z", first)
	}
	clk.Add(30 * time.Second)
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", pos, nil).want(t, 404, "not_found")
	if got := keyItem(t, e.do("GET", "/api/v1/apikeys", adminKey, nil), posID)["last_used_at"]; got != first {
		t.Errorf("last_used_at 30 s later = %v, want still %v", got, first)
	}
	clk.Add(31 * time.Second)
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", pos, nil).want(t, 404, "not_found")
	if got := keyItem(t, e.do("GET", "/api/v1/apikeys", adminKey, nil), posID)["last_used_at"]; got != "2026-12-03T09:01:01Z" {
		t.Errorf("last_used_at 61 s later = %v, want 2026-12-03T09:01:01Z", got)
	}

	// Roles and scope.
	e.do("GET", "/api/v1/apikeys", pos, nil).want(t, 403, "forbidden")
	e.do("DELETE", "/api/v1/apikeys/"+posID, pos, nil).want(t, 403, "forbidden")
	e.do("DELETE", "/api/v1/apikeys/key_nope", adminKey, nil).want(t, 404, "not_found")
	scopedList := e.do("GET", "/api/v1/apikeys", scopedKey, nil).want(t, 200, "")
	keyItem(t, scopedList, posID)

	// Revoked: 401 from the next request on, listed with its time, and a
	// second revocation keeps the first time.
	e.do("DELETE", "/api/v1/apikeys/"+posID, scopedKey, nil).want(t, 204, "")
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", pos, nil).want(t, 401, "unauthorized")
	revoked := keyItem(t, e.do("GET", "/api/v1/apikeys", adminKey, nil), posID)["revoked_at"]
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(revoked)); err != nil {
		t.Errorf("revoked_at = %v, want a time", revoked)
	}
	clk.Add(time.Hour)
	e.do("DELETE", "/api/v1/apikeys/"+posID, adminKey, nil).want(t, 204, "")
	if got := keyItem(t, e.do("GET", "/api/v1/apikeys", adminKey, nil), posID)["revoked_at"]; got != revoked {
		t.Errorf("revoked_at after a second revocation = %v, want %v", got, revoked)
	}
}

func TestAPIKeyScopedAdminSeesOnlyItsProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	global := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "pos"}).want(t, 201, "")
	scoped := e.do("POST", "/api/v1/apikeys", adminKey, map[string]any{"role": "admin", "program": "demo"}).want(t, 201, "")
	list := e.do("GET", "/api/v1/apikeys", scoped.body["key"].(string), nil).want(t, 200, "")
	for _, it := range list.body["items"].([]any) {
		if it.(map[string]any)["program"] != "demo" {
			t.Errorf("a demo admin lists %v", it)
		}
	}
	// A key outside its scope is as unknown as a missing one.
	e.do("DELETE", "/api/v1/apikeys/"+global.body["id"].(string), scoped.body["key"].(string), nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/members/00000000-0000-0000-0000-000000000000", global.body["key"].(string), nil).want(t, 404, "not_found")
}

package api_test

import (
	"context"
	"strings"
	"testing"
)

const mergePatch = "application/merge-patch+json"

func TestPatchMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.do("POST", "/api/v1/programs/demo/members", adminKey,
		map[string]any{"name": "Ada", "email": "ada@example.com", "birthday": "1990-12-10", "external_id": "crm-1"}).want(t, 201, "").body
	id := m["id"].(string)
	e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Grace", "external_id": "crm-2"}).want(t, 201, "")
	path := "/api/v1/members/" + id
	before, err := e.store.Member(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}

	got := e.do("PATCH", path, adminKey, `{"name":"  Ada King ","birthday":null}`, "Content-Type", mergePatch).want(t, 200, "").body
	for k, want := range map[string]any{"name": "Ada King", "email": "ada@example.com", "external_id": "crm-1", "marketing_opt_in": false} {
		if got[k] != want {
			t.Errorf("patched member[%s] = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["birthday"]; ok {
		t.Errorf("birthday = %v after null, want it cleared", got["birthday"])
	}
	after, err := e.store.Member(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Account.PassVersion != before.Account.PassVersion+1 {
		t.Errorf("pass version %d after a name change, want %d: the card shows the name", after.Account.PassVersion, before.Account.PassVersion+1)
	}
	// application/json is accepted too; an empty patch changes nothing.
	e.do("PATCH", path, adminKey, map[string]any{"email": nil}).want(t, 200, "")
	same := e.do("PATCH", path, adminKey, map[string]any{}).want(t, 200, "").body
	if same["name"] != "Ada King" || same["email"] != "" {
		t.Errorf("member after an empty patch = %v", same)
	}

	for name, tc := range map[string]struct {
		body   any
		status int
		code   string
		fields []string
	}{
		"null name":       {`{"name":null}`, 422, "validation_failed", []string{"name"}},
		"blank name":      {`{"name":"  "}`, 422, "validation_failed", []string{"name"}},
		"bad fields":      {`{"email":"nope","birthday":"2999-01-01","external_id":"a\u0001"}`, 422, "validation_failed", []string{"email", "birthday", "external_id"}},
		"taken":           {`{"name":"Other","external_id":"crm-2"}`, 409, "external_id_taken", nil},
		"unknown field":   {`{"nickname":"A"}`, 400, "malformed_json", nil},
		"wrong type":      {`{"name":5}`, 400, "malformed_json", nil},
		"null opt-in":     {`{"marketing_opt_in":null}`, 400, "malformed_json", nil},
		"string opt-in":   {`{"marketing_opt_in":"yes"}`, 400, "malformed_json", nil},
		"not an object":   {`["name"]`, 400, "malformed_json", nil},
		"null body":       {`null`, 400, "malformed_json", nil},
		"read-only field": {`{"points":5}`, 400, "malformed_json", nil},
	} {
		a := e.do("PATCH", path, adminKey, tc.body, "Content-Type", mergePatch)
		if a.status != tc.status || a.body["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s (%s)", name, a.status, a.body["code"], tc.status, tc.code, a.raw)
			continue
		}
		errs, _ := a.body["errors"].([]any)
		if len(errs) != len(tc.fields) {
			t.Errorf("%s: errors = %v, want fields %v", name, errs, tc.fields)
			continue
		}
		for i, f := range tc.fields {
			if errs[i].(map[string]any)["field"] != f {
				t.Errorf("%s: errors[%d] = %v, want field %s", name, i, errs[i], f)
			}
		}
	}
	// Nothing was written by any refused patch.
	now, err := e.store.Member(context.Background(), id)
	if err != nil || now.Name != "Ada King" || now.ExternalID != "crm-1" || now.Account.PassVersion != after.Account.PassVersion+1 {
		t.Errorf("member after refused patches = %+v, %v", now, err)
	}

	e.do("PATCH", path, e.newKey("pos", ""), map[string]any{"name": "X"}).want(t, 403, "forbidden")
	e.do("PATCH", path, adminKey, `{"name":"X"}`, "Content-Type", "text/plain").want(t, 415, "unsupported_media_type")
	e.do("PATCH", "/api/v1/members/00000000-0000-0000-0000-000000000000", adminKey, map[string]any{"name": "X"}).want(t, 404, "not_found")
	e.do("DELETE", path, adminKey, nil).want(t, 204, "")
	e.do("PATCH", path, adminKey, map[string]any{"name": "Back"}).want(t, 404, "not_found")
}

func TestMarketingConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	no := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Quiet"}).want(t, 201, "").body
	if no["marketing_opt_in"] != false {
		t.Errorf("marketing_opt_in = %v by default, want false", no["marketing_opt_in"])
	}
	m := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Ada", "marketing_opt_in": true}).want(t, 201, "").body
	if m["marketing_opt_in"] != true {
		t.Errorf("marketing_opt_in = %v, want true as enrolled", m["marketing_opt_in"])
	}
	id := m["id"].(string)
	if got := e.do("PATCH", "/api/v1/members/"+id, adminKey, `{"marketing_opt_in":false}`, "Content-Type", mergePatch).want(t, 200, "").body; got["marketing_opt_in"] != false {
		t.Errorf("after opting out: marketing_opt_in = %v", got["marketing_opt_in"])
	}
	ex := e.do("GET", "/api/v1/members/"+id+"/export", adminKey, nil).want(t, 200, "").body
	cs, _ := ex["consents"].([]any)
	if len(cs) != 2 {
		t.Fatalf("export consents = %v, want the enrolment's and the edit's", ex["consents"])
	}
	for i, want := range []map[string]any{{"marketing_opt_in": true, "source": "api"}, {"marketing_opt_in": false, "source": "api_patch"}} {
		c := cs[i].(map[string]any)
		if c["marketing_opt_in"] != want["marketing_opt_in"] || c["source"] != want["source"] || !strings.HasPrefix(c["at"].(string), "20") {
			t.Errorf("consents[%d] = %v, want %v with its time", i, c, want)
		}
	}
	if ex["member"].(map[string]any)["marketing_opt_in"] != false {
		t.Errorf("export member = %v, want marketing_opt_in false", ex["member"])
	}
}

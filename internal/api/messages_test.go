package api_test

import (
	"context"
	"strings"
	"testing"
)

func TestMemberAndTierMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.enroll("Ada")["id"].(string)
	bob := e.enroll("Bob")["id"].(string)
	sil := e.enroll("Silvia")["id"].(string)
	e.earn(sil, "s1", 1500).want(t, 201, "")
	version := func(id string) int64 {
		t.Helper()
		m, err := e.store.Member(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Account.PassVersion
	}
	before := map[string]int64{ada: version(ada), bob: version(bob), sil: version(sil)}

	a := e.do("POST", "/api/v1/members/"+ada+"/messages", adminKey, map[string]any{"text": "  Your order is ready "}).want(t, 202, "")
	if a.body["cards"] != float64(1) {
		t.Errorf("member message cards = %v, want 1", a.body["cards"])
	}
	m, err := e.store.Member(context.Background(), ada)
	if err != nil || m.MemberMessage != "Your order is ready" || m.Account.PassVersion != before[ada]+1 {
		t.Errorf("after a member message: %q at version %d, %v; want the trimmed text at %d", m.MemberMessage, m.Account.PassVersion, err, before[ada]+1)
	}
	if version(bob) != before[bob] || version(sil) != before[sil] {
		t.Errorf("a member message changed other cards")
	}

	a = e.do("POST", "/api/v1/programs/demo/messages", adminKey, map[string]any{"text": "Silver night", "tier": "Silver"}).want(t, 202, "")
	if a.body["cards"] != float64(1) {
		t.Errorf("tier message cards = %v, want 1", a.body["cards"])
	}
	if version(sil) != before[sil]+1 || version(bob) != before[bob] || version(ada) != before[ada]+1 {
		t.Errorf("a Silver message changed versions %d %d %d, want only Silvia's", version(ada), version(bob), version(sil))
	}
	if a := e.do("POST", "/api/v1/programs/demo/messages", adminKey, map[string]any{"text": "Gold only", "tier": "Gold"}).want(t, 202, ""); a.body["cards"] != float64(0) {
		t.Errorf("message to an empty tier: cards = %v, want 0", a.body["cards"])
	}

	for name, tc := range map[string]struct {
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		"member: empty":       {"/api/v1/members/" + ada + "/messages", map[string]any{"text": " "}, 422, "validation_failed", "text"},
		"member: too long":    {"/api/v1/members/" + ada + "/messages", map[string]any{"text": strings.Repeat("é", 501)}, 422, "validation_failed", "text"},
		"member: tier":        {"/api/v1/members/" + ada + "/messages", map[string]any{"text": "x", "tier": "Silver"}, 400, "malformed_json", ""},
		"member: unknown":     {"/api/v1/members/00000000-0000-0000-0000-000000000000/messages", map[string]any{"text": "x"}, 404, "not_found", ""},
		"program: bad tier":   {"/api/v1/programs/demo/messages", map[string]any{"text": "x", "tier": "Platinum"}, 422, "validation_failed", "tier"},
		"program: case tier":  {"/api/v1/programs/demo/messages", map[string]any{"text": "x", "tier": "silver"}, 422, "validation_failed", "tier"},
		"program: both wrong": {"/api/v1/programs/demo/messages", map[string]any{"text": "", "tier": "Platinum"}, 422, "validation_failed", "text"},
	} {
		a := e.do("POST", tc.path, adminKey, tc.body)
		if a.status != tc.status || a.body["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s (%s)", name, a.status, a.body["code"], tc.status, tc.code, a.raw)
			continue
		}
		if errs, _ := a.body["errors"].([]any); tc.field != "" && (len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field) {
			t.Errorf("%s: errors = %v, want field %s first", name, a.body["errors"], tc.field)
		}
	}
	e.do("POST", "/api/v1/members/"+ada+"/messages", e.newKey("pos", ""), map[string]any{"text": "hi"}).want(t, 403, "forbidden")
	e.do("DELETE", "/api/v1/members/"+bob, adminKey, nil).want(t, 204, "")
	e.do("POST", "/api/v1/members/"+bob+"/messages", adminKey, map[string]any{"text": "hi"}).want(t, 404, "not_found")
}

package api_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

func ids(a answer) []string {
	out := []string{}
	for _, it := range a.body["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestSearchMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Ada Lovelace", "email": "Ada@Example.com", "external_id": "crm-1"}).want(t, 201, "").body
	grace := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}).want(t, 201, "").body
	gone := e.do("POST", "/api/v1/programs/demo/members", adminKey, map[string]any{"name": "Adaline", "email": "adaline@example.com"}).want(t, 201, "").body
	e.earn(grace["id"].(string), "g1", 1500).want(t, 201, "")
	e.do("DELETE", "/api/v1/members/"+gone["id"].(string), adminKey, nil).want(t, 204, "")

	search := func(query string) answer {
		t.Helper()
		return e.do("GET", "/api/v1/programs/demo/members?"+query, adminKey, nil)
	}
	for query, want := range map[string][]string{
		"":           {grace["id"].(string), ada["id"].(string)},
		"q=ADA":      {ada["id"].(string)},
		"q=ada%40ex": {ada["id"].(string)},
		"q=" + url.QueryEscape(grace["number"].(string)[:5]): {grace["id"].(string)},
		"email=ADA@example.COM":                              {ada["id"].(string)},
		"external_id=crm-1":                                  {ada["id"].(string)},
		"tier=Silver":                                        {grace["id"].(string)},
		"tier=Bronze&q=a":                                    {ada["id"].(string)},
		"inactive_days=1":                                    {},
		"q=&tier=":                                           {grace["id"].(string), ada["id"].(string)},
	} {
		a := search(query).want(t, 200, "")
		if got := ids(a); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("search %q = %v, want %v", query, got, want)
		}
		if a.body["next_cursor"] != "" {
			t.Errorf("search %q: next_cursor = %v, want none", query, a.body["next_cursor"])
		}
	}
	item := search("q=grace").want(t, 200, "").body["items"].([]any)[0].(map[string]any)
	if item["points"] != float64(1500) || item["tier"] != "Silver" || item["barcode"] == "" || item["last_activity_at"] == "" {
		t.Errorf("search item = %v, want the member object", item)
	}

	page := search("limit=1").want(t, 200, "")
	next, _ := page.body["next_cursor"].(string)
	if got := ids(page); len(got) != 1 || got[0] != grace["id"] || next == "" {
		t.Fatalf("first page = %v, next %q; want Grace and a cursor", got, next)
	}
	if got := ids(search("limit=1&cursor="+next).want(t, 200, "")); len(got) != 1 || got[0] != ada["id"] {
		t.Errorf("second page = %v, want Ada", got)
	}

	for query, field := range map[string]string{
		"tier=Platinum":        "tier",
		"inactive_days=0":      "inactive_days",
		"inactive_days=x":      "inactive_days",
		"inactive_days=36501":  "inactive_days",
		"limit=0":              "limit",
		"limit=201":            "limit",
		"limit=ten":            "limit",
		"cursor=%21%21garbage": "cursor",
		"q=a%01b":              "q",
		"email=a%00":           "email",
	} {
		a := search(query).want(t, 422, "validation_failed")
		errs, _ := a.body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("search %q: errors = %v, want field %s", query, a.body["errors"], field)
		}
	}
	e.do("GET", "/api/v1/programs/nope/members", adminKey, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/programs/demo/members", e.newKey("pos", "demo"), nil).want(t, 403, "forbidden")
	other, _, err := loyalty.CreateKey(context.Background(), e.store, "merchant", "other-program", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/api/v1/programs/demo/members", other, nil).want(t, 403, "forbidden")
	e.do("GET", "/api/v1/programs/demo/members", e.newKey("merchant", "demo"), nil).want(t, 200, "")
}

func TestLastActivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.enroll("Ada")
	if m["last_activity_at"] != m["created_at"] {
		t.Errorf("new member: last_activity_at %v, want created_at %v", m["last_activity_at"], m["created_at"])
	}
	a := e.earn(m["id"].(string), "k1", 10).want(t, 201, "")
	tx, mem := a.body["transaction"].(map[string]any), a.body["member"].(map[string]any)
	if mem["last_activity_at"] != tx["created_at"] {
		t.Errorf("after an earn: last_activity_at %v, want the transaction's %v", mem["last_activity_at"], tx["created_at"])
	}
	if got := e.do("GET", "/api/v1/members/"+m["id"].(string), adminKey, nil).want(t, 200, "").body; got["last_activity_at"] != tx["created_at"] {
		t.Errorf("GET member: last_activity_at %v, want %v", got["last_activity_at"], tx["created_at"])
	}
}

package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/api"
	"github.com/passd/passd/internal/store"
)

func TestWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/api/v1/programs", adminKey, newProgram("other")).want(t, 201, "")
	merchant := e.newKey("merchant", "demo")
	otherMerchant := e.newKey("merchant", "other")
	pos := e.newKey("pos", "demo")
	hook := map[string]any{"url": "https://crm.example/hooks/passd", "events": []string{"member.enrolled", "transaction.posted"}}

	// A pos key cannot; a merchant key makes one of its own programme.
	e.do("POST", "/api/v1/webhooks", pos, hook).want(t, 403, "forbidden")
	a := e.do("POST", "/api/v1/webhooks", merchant, hook).want(t, 201, "")
	id, _ := a.body["id"].(string)
	sec, _ := a.body["secret"].(string)
	if !strings.HasPrefix(sec, "whsec_") || len(sec) < 40 || a.body["program"] != "demo" ||
		a.header.Get("Location") != "/api/v1/webhooks/"+id || a.body["disabled_at"] != nil {
		t.Fatalf("create = %s", a.raw)
	}
	// Scoped elsewhere, or every programme with a merchant key: refused.
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": hook["url"], "events": hook["events"], "program": "other"}).want(t, 403, "forbidden")
	unscoped := e.newKey("merchant", "")
	e.do("POST", "/api/v1/webhooks", unscoped, hook).want(t, 403, "forbidden")
	global := e.do("POST", "/api/v1/webhooks", adminKey, hook).want(t, 201, "")
	if global.body["program"] != nil {
		t.Errorf("admin endpoint without program = %s, want program null", global.raw)
	}
	e.do("POST", "/api/v1/webhooks", adminKey, map[string]any{"url": hook["url"], "events": hook["events"], "program": "nope"}).want(t, 404, "not_found")

	// The secret is never listed.
	for _, key := range []string{merchant, adminKey} {
		l := e.do("GET", "/api/v1/webhooks", key, nil).want(t, 200, "")
		if strings.Contains(l.raw, "whsec_") || strings.Contains(l.raw, "secret") {
			t.Errorf("list shows a secret: %s", l.raw)
		}
	}
	if items := e.do("GET", "/api/v1/webhooks", merchant, nil).body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("merchant list = %v, want only its programme's", items)
	}
	if items := e.do("GET", "/api/v1/webhooks", adminKey, nil).body["items"].([]any); len(items) != 2 {
		t.Errorf("admin list = %v, want both", items)
	}
	if items := e.do("GET", "/api/v1/webhooks", otherMerchant, nil).body["items"].([]any); len(items) != 0 {
		t.Errorf("another programme's merchant list = %v, want none", items)
	}
	got := e.do("GET", "/api/v1/webhooks/"+id, merchant, nil).want(t, 200, "")
	if strings.Contains(got.raw, "whsec_") || got.body["url"] != hook["url"] {
		t.Errorf("get = %s", got.raw)
	}
	e.do("GET", "/api/v1/webhooks/"+id, otherMerchant, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/webhooks/"+global.body["id"].(string), merchant, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/webhooks/"+id, pos, nil).want(t, 403, "forbidden")

	// The deliveries log lists the store's attempts, newest first.
	ctx := context.Background()
	e.enroll("Ada")
	ds, err := e.store.ClaimWebhooks(ctx, 10, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("ClaimWebhooks = %d, %v; want member.enrolled to both endpoints", len(ds), err)
	}
	for _, d := range ds {
		if d.EndpointID != id {
			continue
		}
		if err := e.store.RecordWebhookAttempt(ctx, d, store.WebhookAttempt{AttemptedAt: time.Now(), Duration: 40 * time.Millisecond, Error: "connection refused"},
			store.WebhookOutcome{State: store.WebhookPending, RetryAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.RecordWebhookAttempt(ctx, d, store.WebhookAttempt{AttemptedAt: time.Now(), Status: 204, Duration: 7 * time.Millisecond},
			store.WebhookOutcome{State: store.WebhookDelivered}); err != nil {
			t.Fatal(err)
		}
	}
	log := e.do("GET", "/api/v1/webhooks/"+id+"/deliveries", merchant, nil).want(t, 200, "").body["items"].([]any)
	if len(log) != 2 {
		t.Fatalf("deliveries = %v, want 2", log)
	}
	newest, oldest := log[0].(map[string]any), log[1].(map[string]any)
	if newest["status"] != float64(204) || newest["duration_ms"] != float64(7) || newest["type"] != "member.enrolled" ||
		oldest["status"] != nil || oldest["error"] != "connection refused" || oldest["event_id"] != newest["event_id"] {
		t.Errorf("deliveries = %v", log)
	}

	// Validation names each field; plain http needs the operator's consent.
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"member.enrolled"}}).
		wantFields(t, "http without allow", "url")
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "https://169.254.169.254/latest", "events": []string{}}).
		wantFields(t, "metadata and no events", "url", "events")
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "ftp://x.example/", "events": []string{"member.enrolled", "nope"}}).
		wantFields(t, "scheme and unknown event", "url", "events")

	e.do("DELETE", "/api/v1/webhooks/"+id, otherMerchant, nil).want(t, 404, "not_found")
	e.do("DELETE", "/api/v1/webhooks/"+id, merchant, nil).want(t, 204, "")
	e.do("GET", "/api/v1/webhooks/"+id, merchant, nil).want(t, 404, "not_found")
	e.do("GET", "/api/v1/webhooks/"+id+"/deliveries", merchant, nil).want(t, 404, "not_found")
}

func TestWebhookAllowHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.WebhookAllowHTTP = true })
	merchant := e.newKey("merchant", "demo")
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"member.enrolled"}}).want(t, 201, "")
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "http://192.168.1.20/x", "events": []string{"member.enrolled"}}).want(t, 201, "")
	e.do("POST", "/api/v1/webhooks", merchant, map[string]any{"url": "http://8.8.8.8/x", "events": []string{"member.enrolled"}}).
		wantFields(t, "public over http", "url")
}

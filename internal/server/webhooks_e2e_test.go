package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/webhooks/webhookstest"
)

// A black-box receiver: signed events in order, the same webhook-id again
// after two 503s, nothing more after a 410, and the secret shown once.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	// The receiver answers member.enrolled events as scripted for the
	// member's name, in turn; everything else gets 204.
	var mu sync.Mutex
	answers := map[string][]int{}
	rc := webhookstest.New(t, true, func(_ int, d webhookstest.Delivery) (int, http.Header) {
		var ev struct{ Data struct{ Name string } }
		_ = json.Unmarshal(d.Body, &ev)
		mu.Lock()
		defer mu.Unlock()
		if q := answers[ev.Data.Name]; len(q) > 0 {
			answers[ev.Data.Name] = q[1:]
			// Retry-After 0: the retry is due at once.
			return q[0], http.Header{"Retry-After": {"0"}}
		}
		return 204, nil
	})
	s := start(t, nil, server.Options{WebhookTLS: rc.TLSConfig(), WebhookPoll: 10 * time.Millisecond})

	hook := map[string]any{"url": rc.URL("/passd"), "program": "demo",
		"events": []string{"member.enrolled", "transaction.posted", "tier.changed", "member.erased"}}
	res, b := call(t, "POST", s.url+"/api/v1/apikeys", map[string]any{"role": "pos", "program": "demo"})
	var key struct{ Key string }
	if err := json.Unmarshal(b, &key); err != nil || res.StatusCode != 201 {
		t.Fatalf("pos key: %d %s", res.StatusCode, b)
	}
	if res, b := call(t, "POST", s.url+"/api/v1/webhooks", hook, "Authorization", "Bearer "+key.Key); res.StatusCode != 403 {
		t.Errorf("a pos key creating a webhook = %d %s, want 403", res.StatusCode, b)
	}
	res, b = call(t, "POST", s.url+"/api/v1/webhooks", hook)
	var created struct{ ID, Secret string }
	if err := json.Unmarshal(b, &created); err != nil || res.StatusCode != 201 || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("create webhook: %d %s", res.StatusCode, b)
	}
	if _, b := call(t, "GET", s.url+"/api/v1/webhooks", nil); strings.Contains(string(b), created.Secret) || !strings.Contains(string(b), created.ID) {
		t.Errorf("list = %s, want the endpoint without its secret", b)
	}

	events := func() []webhookstest.Event {
		var out []webhookstest.Event
		for _, d := range rc.Deliveries() {
			ev, err := webhookstest.Verify(created.Secret, d)
			if err != nil {
				t.Fatalf("delivery does not verify: %v", err)
			}
			out = append(out, ev)
		}
		return out
	}

	// Enrol, earn into Silver (1,000 points), erase.
	ada := enroll(t, s, "Ada Lovelace")
	adaID := ada["id"].(string)
	if res, b := call(t, "POST", s.url+"/api/v1/members/"+adaID+"/transactions", map[string]any{"type": "earn", "points": 1200},
		"Idempotency-Key", "e1"); res.StatusCode != 201 {
		t.Fatalf("earn: %d %s", res.StatusCode, b)
	}
	if res, b := call(t, "DELETE", s.url+"/api/v1/members/"+adaID, nil); res.StatusCode != 204 {
		t.Fatalf("erase: %d %s", res.StatusCode, b)
	}
	waitFor(t, func() bool { return len(rc.Deliveries()) >= 4 })
	var types []string
	for _, ev := range events() {
		types = append(types, ev.Type)
		if ev.Data["member_id"] != adaID {
			t.Errorf("%s about %v, want %s", ev.Type, ev.Data["member_id"], adaID)
		}
	}
	if got := strings.Join(types, " "); got != "member.enrolled transaction.posted tier.changed member.erased" {
		t.Errorf("received %s", got)
	}
	erased := rc.Deliveries()[3]
	if strings.Contains(string(erased.Body), "Ada") || strings.Contains(string(erased.Body), "@") || strings.Contains(string(erased.Body), "Lovelace") {
		t.Errorf("member.erased = %s, want no name or email", erased.Body)
	}

	// Two 503s, then a 200: the same webhook-id three times.
	mu.Lock()
	answers["Grace"] = []int{503, 503}
	mu.Unlock()
	before := len(rc.Deliveries())
	grace := enroll(t, s, "Grace")["id"].(string)
	waitFor(t, func() bool { return len(rc.Deliveries()) >= before+3 })
	var ids []string
	for _, ev := range events()[before:] {
		ids = append(ids, ev.ID)
		if ev.Data["member_id"] != grace {
			t.Errorf("retry carries member %v, want %s", ev.Data["member_id"], grace)
		}
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("webhook-ids after two 503s = %v, want one id three times", ids)
	}

	// A 410 disables the endpoint: later events are not sent.
	mu.Lock()
	answers["Hedy"] = []int{410}
	mu.Unlock()
	before = len(rc.Deliveries())
	enroll(t, s, "Hedy")
	waitFor(t, func() bool {
		_, b := call(t, "GET", s.url+"/api/v1/webhooks/"+created.ID, nil)
		return strings.Contains(string(b), `"disabled_at":"`)
	})
	enroll(t, s, "Joan")
	if _, err := s.Webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(rc.Deliveries()); got != before+1 {
		t.Errorf("receiver got %d requests after the 410, want only the 410's", got-before)
	}
	_, b = call(t, "GET", s.url+"/api/v1/webhooks/"+created.ID+"/deliveries", nil)
	var log struct {
		Items []struct {
			Status *int `json:"status"`
		}
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Items) != 8 || log.Items[0].Status == nil || *log.Items[0].Status != 410 {
		t.Errorf("deliveries log = %s, want 8 attempts, the newest the 410", b)
	}
	_, b = call(t, "GET", s.url+"/metrics", nil)
	for _, want := range []string{`passd_webhook_attempts_total{outcome="delivered"} 5`, `passd_webhook_attempts_total{outcome="retry"} 2`,
		`passd_webhook_attempts_total{outcome="disabled"} 1`, `passd_webhook_outbox_lag_seconds 0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

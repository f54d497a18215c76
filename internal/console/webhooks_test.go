package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/internal/webhooks/webhookstest"
)

// createWebhook adds an endpoint on the demo webhooks page and answers
// its id and the secret the answer shows.
func createWebhook(t *testing.T, b *browser, hookURL string, events ...string) (id, secret string) {
	t.Helper()
	const list = "/console/programs/demo/webhooks"
	res, page := b.post(list, list, url.Values{"url": {hookURL}, "events": events})
	if res.StatusCode != http.StatusCreated || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create webhook = %d, Cache-Control %q; page:\n%s", res.StatusCode, res.Header.Get("Cache-Control"), page)
	}
	secret = unescape(text(page, "secret"))
	m := regexpAll(`id="webhook-([0-9a-f-]{36})">`+regexp.QuoteMeta(hookURL)+`<`, page)
	if len(m) != 1 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the answer lists %d endpoints at %s with secret %q", len(m), hookURL, secret)
	}
	return m[0][1], secret
}

// TestWebhooksPage: an endpoint made on the page shows its secret once;
// a test event reaches a loopback receiver, signed with that secret, and
// shows in the deliveries log; deleting asks first; another programme's
// merchant, a cashier and a form without its CSRF token get nothing.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	rc := webhookstest.New(t, false, nil)
	p := start(t, false, map[string]string{"PASSD_WEBHOOK_ALLOW_HTTP": "1"})
	p.newProgram(t, "other")
	ctx := context.Background()
	const list = "/console/programs/demo/webhooks"
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	if page := b.page("/console/programs/demo", http.StatusOK); !strings.Contains(page, `href="`+list+`" id="nav-webhooks"`) {
		t.Error("the programme's navigation has no webhooks link")
	}
	if page := b.page(list, http.StatusOK); text(page, "no-webhooks") == "" {
		t.Error("an empty webhooks page says nothing")
	}

	// A refused form keeps what was typed and says why, in words.
	res, page := b.post(list, list, url.Values{"url": {"ftp://receiver.example/hook"}, "events": {"member.enrolled"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "must be https") ||
		!strings.Contains(page, `value="ftp://receiver.example/hook"`) || !strings.Contains(page, `value="member.enrolled" checked`) {
		t.Errorf("a bad URL = %d, want 422 with the reason and the form kept; page:\n%s", res.StatusCode, page)
	}
	if res, page := b.post(list, list, url.Values{"url": {rc.URL("/hook")}}); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "must list at least one event type") {
		t.Errorf("no events = %d, want 422 naming the events", res.StatusCode)
	}

	id, secret := createWebhook(t, b, rc.URL("/hook"), "member.enrolled", "transaction.posted")
	e, err := p.srv.Store.Webhook(ctx, id)
	if err != nil || e.Program != "demo" || e.Secret != secret || len(e.Events) != 2 {
		t.Fatalf("stored endpoint = %+v, %v; want demo's with the secret shown", e, err)
	}
	listed := b.page(list, http.StatusOK)
	endpoint := b.page(list+"/"+id, http.StatusOK)
	for name, page := range map[string]string{"list": listed, "endpoint": endpoint} {
		if strings.Contains(unescape(page), strings.TrimPrefix(secret, "whsec_")) {
			t.Errorf("the %s page shows the secret again", name)
		}
	}
	if !strings.Contains(listed, rc.URL("/hook")) || !strings.Contains(listed, "member.enrolled, transaction.posted") {
		t.Error("the list lacks the endpoint's URL or events")
	}
	if text(endpoint, "no-deliveries") == "" {
		t.Error("a new endpoint's log is not empty")
	}

	// Without its CSRF token the test button does nothing.
	if res, _ := b.do("POST", list+"/"+id+"/test", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("test without CSRF = %d, want 403", res.StatusCode)
	}
	res, _ = b.post(list+"/"+id, list+"/"+id+"/test", url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != list+"/"+id+"?done=test_sent" {
		t.Fatalf("test = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	testkit.WaitFor(t, func() bool { return len(rc.Deliveries()) > 0 })
	ds := rc.Deliveries()
	ev, err := webhookstest.Verify(secret, ds[0])
	if len(ds) != 1 || err != nil || ev.Type != string(loyalty.EventWebhookTest) || ev.Data["endpoint_id"] != id {
		t.Fatalf("the receiver got %d deliveries, the first %+v (%v); want one signed webhook.test", len(ds), ev, err)
	}
	var logged string
	testkit.WaitFor(t, func() bool {
		logged = b.page(list+"/"+id, http.StatusOK)
		return strings.Contains(logged, `id="deliveries"`)
	})
	if rows := regexpAll(`<tr><td>[^<]+</td><td>webhook\.test</td><td class="num">204</td><td class="num">\d+ ms</td><td>-</td></tr>`, logged); len(rows) != 1 {
		t.Errorf("the deliveries log has %d webhook.test rows answered 204, want 1", len(rows))
	}

	// Programme other's merchant, a cashier, and an admin.
	bob := p.signedInAs(t, "bob@example.com", loyalty.RoleMerchant, "other")
	for _, path := range []string{list, list + "/" + id, list + "/" + id + "/delete", "/console/programs/other/webhooks/" + id} {
		bob.page(path, http.StatusNotFound)
	}
	if page := bob.page("/console/programs/other/webhooks", http.StatusOK); strings.Contains(page, rc.URL("/hook")) {
		t.Error("programme other's list shows demo's endpoint")
	}
	for _, action := range []string{"/test", "/delete"} {
		if res, _ := bob.post("/console/programs/other/webhooks", "/console/programs/other/webhooks/"+id+action, url.Values{}); res.StatusCode != http.StatusNotFound {
			t.Errorf("other's POST %s on demo's endpoint = %d, want 404", action, res.StatusCode)
		}
	}
	pos := p.signedInAs(t, "till@example.com", loyalty.RolePOS, "demo")
	pos.page(list, http.StatusForbidden)
	pos.page(list+"/"+id, http.StatusForbidden)
	secretAll, err := loyalty.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	global, err := p.srv.Store.CreateWebhook(ctx, loyalty.WebhookEndpoint{ID: "0190f0e0-0000-7000-8000-000000000001", URL: "https://all.example/hook",
		Events: []loyalty.EventType{loyalty.EventMemberEnrolled}, Secret: secretAll})
	if err != nil {
		t.Fatal(err)
	}
	if page := b.page(list, http.StatusOK); strings.Contains(page, "all.example") {
		t.Error("a merchant sees an endpoint of every programme")
	}
	b.page(list+"/"+global.ID, http.StatusNotFound)
	admin := p.signedInAs(t, "root@example.com", loyalty.RoleAdmin, "")
	if page := admin.page(list, http.StatusOK); !strings.Contains(page, "all.example") || !strings.Contains(page, rc.URL("/hook")) {
		t.Error("an admin does not see both the programme's endpoint and the global one")
	}

	// Only an admin's form may make an endpoint of every programme.
	if res, _ := b.post(list, list, url.Values{"url": {"https://mine.example/hook"}, "events": {"member.enrolled"}, "every": {"on"}}); res.StatusCode != http.StatusCreated {
		t.Fatalf("a merchant's endpoint = %d", res.StatusCode)
	}
	if res, _ := admin.post(list, list, url.Values{"url": {"https://every.example/hook"}, "events": {"member.enrolled"}, "every": {"on"}}); res.StatusCode != http.StatusCreated {
		t.Fatalf("an admin's endpoint of every programme = %d", res.StatusCode)
	}
	all, err := p.srv.Store.Webhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	programOf := map[string]string{}
	for _, e := range all {
		programOf[e.URL] = e.Program
	}
	for u, want := range map[string]string{"https://mine.example/hook": "demo", "https://every.example/hook": ""} {
		if got, ok := programOf[u]; !ok || got != want {
			t.Errorf("endpoint %s: stored %v, of programme %q; want of %q", u, ok, got, want)
		}
	}
	if strings.Contains(b.page(list, http.StatusOK), `id="every"`) {
		t.Error("a merchant is offered an endpoint of every programme")
	}

	// Deleting asks first, then deletes.
	confirm := b.page(list+"/"+id+"/delete", http.StatusOK)
	if !strings.Contains(text(confirm, "confirm-text"), rc.URL("/hook")) || !strings.Contains(confirm, `action="`+list+"/"+id+`/delete"`) {
		t.Errorf("the delete confirmation does not name the endpoint; page:\n%s", confirm)
	}
	if _, err := p.srv.Store.Webhook(ctx, id); err != nil {
		t.Fatalf("the confirmation page deleted the endpoint: %v", err)
	}
	if res, _ := b.do("POST", list+"/"+id+"/delete", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("delete without CSRF = %d, want 403", res.StatusCode)
	}
	res, _ = b.post(list+"/"+id+"/delete", list+"/"+id+"/delete", url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != list+"?done=webhook_deleted" {
		t.Fatalf("delete = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := p.srv.Store.Webhook(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the endpoint after delete: %v, want not found", err)
	}
	if page := b.page(list+"?done=webhook_deleted", http.StatusOK); text(page, "done") == "" || strings.Contains(page, rc.URL("/hook")) {
		t.Error("after delete the list still shows the endpoint or says nothing")
	}
}

// TestWebhookWarnings: the programme's dashboard says nothing of webhooks
// while they are well, then warns of an endpoint turned off by a 410 and
// of events waiting past StuckAfter, with what to do.
func TestWebhookWarnings(t *testing.T) {
	t.Parallel()
	gone := webhookstest.New(t, false, func(int, webhookstest.Delivery) (int, http.Header) { return http.StatusGone, nil })
	busy := webhookstest.New(t, false, func(int, webhookstest.Delivery) (int, http.Header) { return http.StatusServiceUnavailable, nil })
	p := start(t, false, map[string]string{"PASSD_WEBHOOK_ALLOW_HTTP": "1"})
	ctx := context.Background()
	const dash = "/console/programs/demo"
	b := p.signedInAs(t, "ada@example.com", loyalty.RoleMerchant, "demo")
	if page := b.page(dash, http.StatusOK); strings.Contains(page, "webhook endpoint") || strings.Contains(page, "webhook events") {
		t.Fatal("a programme without endpoints shows webhook words on its dashboard")
	}

	goneID, _ := createWebhook(t, b, gone.URL("/hook"), "member.enrolled")
	busyID, _ := createWebhook(t, b, busy.URL("/hook"), "member.enrolled")
	for _, id := range []string{goneID, busyID} {
		if res, _ := b.post(dash+"/webhooks/"+id, dash+"/webhooks/"+id+"/test", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("test %s = %d", id, res.StatusCode)
		}
	}
	testkit.WaitFor(t, func() bool {
		e, err := p.srv.Store.Webhook(ctx, goneID)
		return err == nil && e.DisabledAt != nil && len(busy.Deliveries()) > 0
	})
	page := b.page(dash, http.StatusOK)
	if !strings.Contains(page, "The webhook endpoint "+gone.URL("/hook")+" was turned off") {
		t.Errorf("the dashboard does not warn of the endpoint turned off; page:\n%s", page)
	}
	if strings.Contains(page, "webhook events have waited") {
		t.Error("a fresh retry shows as waiting too long")
	}
	// A turned-off endpoint offers no test and says why when sent one.
	if strings.Contains(b.page(dash+"/webhooks/"+goneID, http.StatusOK), `id="test-form"`) {
		t.Error("a turned-off endpoint offers a test event")
	}
	if res, page := b.post(dash+"/webhooks/"+busyID, dash+"/webhooks/"+goneID+"/test", url.Values{}); res.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "410 Gone") {
		t.Errorf("a test to a turned-off endpoint = %d, want 409 in words", res.StatusCode)
	}

	// Eleven minutes on, the busy receiver's test event still waits.
	p.clock.Add(11 * time.Minute)
	page = b.page(dash, http.StatusOK)
	if !strings.Contains(page, "1 webhook events have waited longer than they should (the oldest for 11m0s)") {
		t.Errorf("the dashboard does not warn of the waiting event; page:\n%s", page)
	}
	// The dashboard of a one-programme merchant shows the same.
	if !strings.Contains(b.page("/console", http.StatusOK), "webhook events have waited") {
		t.Error("the merchant's dashboard lacks the webhook warning")
	}
}

package loyalty

import (
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/passd/passd/balances"
)

func TestWebhookInputValidate(t *testing.T) {
	t.Parallel()
	ok := []string{"member.enrolled"}
	tests := []struct {
		name      string
		in        WebhookInput
		allowHTTP bool
		fields    []string
	}{
		{"https", WebhookInput{URL: "https://crm.example/hook", Events: ok}, false, nil},
		{"https literal public", WebhookInput{URL: "https://8.8.8.8/hook", Events: ok}, false, nil},
		{"http refused", WebhookInput{URL: "http://127.0.0.1:8080/hook", Events: ok}, false, []string{"url"}},
		{"http loopback allowed", WebhookInput{URL: "http://127.0.0.1:8080/hook", Events: ok}, true, nil},
		{"http private allowed", WebhookInput{URL: "http://10.1.2.3/hook", Events: ok}, true, nil},
		{"http name allowed (checked when connecting)", WebhookInput{URL: "http://receiver.internal/hook", Events: ok}, true, nil},
		{"http public refused", WebhookInput{URL: "http://8.8.8.8/hook", Events: ok}, true, []string{"url"}},
		{"metadata", WebhookInput{URL: "https://169.254.169.254/latest", Events: ok}, false, []string{"url"}},
		{"ipv6 link-local", WebhookInput{URL: "https://[fe80::1]/", Events: ok}, false, []string{"url"}},
		{"alibaba metadata", WebhookInput{URL: "http://100.100.100.200/", Events: ok}, true, []string{"url"}},
		{"user info", WebhookInput{URL: "https://u:p@crm.example/", Events: ok}, false, []string{"url"}},
		{"relative", WebhookInput{URL: "/hook", Events: ok}, false, []string{"url"}},
		{"ftp", WebhookInput{URL: "ftp://crm.example/", Events: ok}, false, []string{"url"}},
		{"no events", WebhookInput{URL: "https://crm.example/"}, false, []string{"events"}},
		{"unknown event", WebhookInput{URL: "https://crm.example/", Events: []string{"member.enrolled", "member.born"}}, false, []string{"events"}},
		{"bad program", WebhookInput{URL: "https://crm.example/", Events: ok, Program: "Bad Id"}, false, []string{"program"}},
		{"long url", WebhookInput{URL: "https://crm.example/" + strings.Repeat("a", 2048), Events: ok}, false, []string{"url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := tc.in.Validate(tc.allowHTTP)
			var ve *balances.ValidationError
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if e.URL != tc.in.URL || len(e.Events) == 0 {
					t.Errorf("Validate = %+v", e)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				if !slices.Contains(got, f.Field) {
					got = append(got, f.Field)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("Validate names %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	e, err := WebhookInput{URL: "https://crm.example/", Events: []string{"tier.changed", "tier.changed", "member.erased"}}.Validate(false)
	if err != nil || !slices.Equal(e.Events, []EventType{EventTierChanged, EventMemberErased}) || !e.Wants(EventMemberErased) || e.Wants(EventVoucherUsed) {
		t.Errorf("Validate(duplicate events) = %+v, %v", e.Events, err)
	}
}

func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	a, err := NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewWebhookSecret()
	key, err := WebhookSecretKey(a)
	if err != nil || len(key) != 32 || a == b || !strings.HasPrefix(a, "whsec_") {
		t.Errorf("NewWebhookSecret = %q (key %d bytes, %v), then %q", a, len(key), err, b)
	}
	for _, bad := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"} {
		if _, err := WebhookSecretKey(bad); err == nil {
			t.Errorf("WebhookSecretKey(%q) = nil error", bad)
		}
	}
}

// FuzzWebhookInput: Validate never panics, and what it accepts is an
// absolute https URL (or http when allowed) whose literal address, if
// any, CheckWebhookAddr allows, with known event types.
func FuzzWebhookInput(f *testing.F) {
	for _, s := range []string{"https://crm.example/hook", "http://127.0.0.1:9/x", "https://[::ffff:169.254.1.1]/", "https://%zz", "http://[fe80::1%25eth0]/"} {
		f.Add(s, "member.enrolled", true)
	}
	f.Fuzz(func(t *testing.T, raw, event string, allowHTTP bool) {
		e, err := WebhookInput{URL: raw, Events: []string{event}}.Validate(allowHTTP)
		if err != nil {
			return
		}
		u, perr := url.Parse(e.URL)
		if perr != nil || (u.Scheme != "https" && (u.Scheme != "http" || !allowHTTP)) || u.Hostname() == "" {
			t.Fatalf("Validate accepted %q", raw)
		}
		if a, perr := netip.ParseAddr(u.Hostname()); perr == nil && CheckWebhookAddr(a, u.Scheme == "http") != nil {
			t.Fatalf("Validate accepted %q, whose address is forbidden", raw)
		}
		if !slices.Contains(EventTypes(), EventType(event)) {
			t.Fatalf("Validate accepted event %q", event)
		}
	})
}

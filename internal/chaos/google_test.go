package chaos_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server"
	"github.com/passd/passd/internal/server/servertest"
	"github.com/passd/passd/internal/testkit"
)

// TestGoogleStorm: Google answers a storm of 429 and 503 with
// Retry-After: 1 while every card changes. passd (in this process: the
// fake's TLS certificate is trusted through Options) honours Retry-After
// on the same object, holds every call back for it after a 429 (the
// issuer's quota is shared), and once the storm is over every card shows
// its balance, none waiting or in error.
func TestGoogleStorm(t *testing.T) {
	t.Parallel()
	fake := wallettest.New(t)
	s, _ := servertest.Start(t, map[string]string{
		"PASSD_PUBLIC_URL":          "https://passd.example",
		"PASSD_GOOGLE_ISSUER_ID":    wallettest.IssuerID,
		"PASSD_GOOGLE_CREDENTIALS":  fake.WriteCredentials(t),
		"PASSD_GOOGLE_API_URL":      fake.URL,
		"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey,
	}, nil, server.Options{GoogleHTTPClient: fake.HTTPClient(), SyncPoll: 50 * time.Millisecond,
		SyncDebounce: 10 * time.Millisecond, BackoffBase: 100 * time.Millisecond})
	ctx := deadline(t, 2*time.Minute)
	l := newLoad(t, s.URL())
	l.enrol(ctx, 6)
	object := func(m string) string { return wallettest.IssuerID + "." + m }
	for _, m := range l.members {
		testkit.WaitFor(t, func() bool { return fake.Object(object(m)) != nil })
	}
	stormAt := len(fake.Requests())
	var codes []int
	for range rounds(6, 30) {
		codes = append(codes, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	}
	fake.FailNextRetryAfter(time.Second, codes...)
	for i, m := range l.members {
		l.earnFor(ctx, m, 0, i)
	}
	synced := func() bool {
		waiting, _, errored, err := s.Store.SyncStats(context.Background(), loyalty.ChannelGoogle)
		return err == nil && waiting == 0 && errored == 0
	}
	if !testkit.Poll(time.Minute, synced) {
		t.Fatal("Google cards still waiting after the storm")
	}
	for _, m := range l.members {
		points, _ := l.ledger(ctx, m)
		if got, ok := balanceOf(fake.Object(object(m))); !ok || got != points {
			t.Errorf("object of %s shows %v (%v), want %d", m, got, ok, points)
		}
	}
	reqs := fake.Requests()[stormAt:]
	refused := 0
	for i, r := range reqs {
		if r.Status != http.StatusTooManyRequests && r.Status != http.StatusServiceUnavailable {
			continue
		}
		refused++
		for _, next := range reqs[i+1:] {
			if next.Path == r.Path && next.At.Sub(r.At) < time.Second-50*time.Millisecond {
				t.Errorf("%s again %v after a %d with Retry-After: 1", r, next.At.Sub(r.At), r.Status)
			}
		}
	}
	if refused != len(codes) {
		t.Errorf("%d requests refused, want the storm's %d", refused, len(codes))
	}

	// The quota: a 429 for one card holds the other cards' calls back too.
	quotaAt := len(fake.Requests())
	fake.FailNextRetryAfter(2*time.Second, http.StatusTooManyRequests)
	first, second := l.members[0], l.members[1]
	l.earnFor(ctx, first, 1, 0)
	var throttled time.Time
	testkit.WaitFor(t, func() bool {
		for _, r := range fake.Requests()[quotaAt:] {
			if r.Status == http.StatusTooManyRequests {
				throttled = r.At
				return true
			}
		}
		return false
	})
	l.earnFor(ctx, second, 1, 1)
	if !testkit.Poll(time.Minute, synced) {
		t.Fatal("Google cards still waiting after the 429")
	}
	for _, r := range fake.Requests()[quotaAt:] {
		if r.Path == "loyaltyObject/"+object(second) && r.At.Sub(throttled) < 2*time.Second-50*time.Millisecond {
			t.Errorf("%s %v after another card's 429 with Retry-After: 2", r, r.At.Sub(throttled))
		}
	}
	l.check(ctx)
}

// balanceOf reads a loyalty object's points balance.
func balanceOf(obj map[string]any) (int64, bool) {
	lp, _ := obj["loyaltyPoints"].(map[string]any)
	bal, _ := lp["balance"].(map[string]any)
	v, ok := bal["int"].(float64)
	return int64(v), ok
}

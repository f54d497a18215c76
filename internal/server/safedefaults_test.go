package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/server/servertest"
)

// TestDevModePushesAreLogged: with development certificates and no
// PASSD_APNS_URL, passd says at start that pushes are logged, and a
// registered phone's update is logged and settled instead of sent to
// Apple's APNs, which could never take it.
func TestDevModePushesAreLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	srv, stop := servertest.Start(t, map[string]string{"PASSD_BOOTSTRAP_ADMIN_KEY": adminKey},
		slog.New(slog.NewTextHandler(logs, nil)), fastSync)
	s := &started{Server: srv, url: srv.URL(), stop: stop}
	waitFor(t, func() bool {
		return strings.Contains(logs.String(), "pushes to iPhones are logged here, not sent to Apple")
	})
	m := enroll(t, s, "Ada")
	ph := addPass(t, s, m, "device-dev", pushToken)
	if got := ph.register(ph.token); got != 201 {
		t.Fatalf("register = %d, want 201", got)
	}
	res, b := call(t, "POST", s.url+"/api/v1/members/"+m["id"].(string)+"/transactions",
		map[string]any{"type": "earn", "points": 5}, "Idempotency-Key", "dev-push-1")
	if res.StatusCode != 201 {
		t.Fatalf("earn = %d %s", res.StatusCode, b)
	}
	settled(t, s, ph.serial)
	waitFor(t, func() bool {
		return strings.Contains(logs.String(), "development mode: push logged, not sent to Apple")
	})
	if strings.Contains(logs.String(), pushToken) {
		t.Error("the log holds a push token")
	}
	if strings.Contains(logs.String(), "APNs not reachable") || strings.Contains(logs.String(), "APNs accepted") {
		t.Error("passd called APNs in development mode")
	}
}

// TestMetricsProtection: PASSD_METRICS_TOKEN asks for a bearer token, and
// PASSD_METRICS_ADDR moves /metrics to its own listener, off the main one.
func TestMetricsProtection(t *testing.T) {
	t.Parallel()
	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const token = "metrics-token-0123456789"
	s := start(t, map[string]string{"PASSD_METRICS_TOKEN": token}, fastSync)
	if st, _ := get(s.url+"/metrics", ""); st != 401 {
		t.Errorf("/metrics without the token = %d, want 401", st)
	}
	if st, _ := get(s.url+"/metrics", "wrong-token-0123456789"); st != 401 {
		t.Errorf("/metrics with a wrong token = %d, want 401", st)
	}
	if st, b := get(s.url+"/metrics", token); st != 200 || !strings.Contains(b, "passd_http_requests_total") {
		t.Errorf("/metrics with the token = %d, want the metrics", st)
	}

	apart := start(t, map[string]string{"PASSD_METRICS_ADDR": "127.0.0.1:0"}, fastSync)
	addr := apart.MetricsAddr().String()
	if st, _ := get(apart.url+"/metrics", ""); st != 404 {
		t.Errorf("/metrics on the main listener with PASSD_METRICS_ADDR = %d, want 404", st)
	}
	if st, b := get("http://"+addr+"/metrics", ""); st != 200 || !strings.Contains(b, "passd_sync_dirty_cards") {
		t.Errorf("/metrics on PASSD_METRICS_ADDR = %d, want the metrics", st)
	}
	if st, _ := get("http://"+addr+"/api/v1/programs", ""); st != 404 {
		t.Errorf("the API on PASSD_METRICS_ADDR = %d, want 404", st)
	}
}

// TestGoogleTurnedOnDeliversEveryCard: with Google off, cards queue for
// Apple only and no Google series is exported (nothing grows for an
// operator who never turned Google on); turning Google on later delivers
// every card to Google's API once.
func TestGoogleTurnedOnDeliversEveryCard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	off := start(t, map[string]string{"PASSD_DATA_DIR": dir}, fastSync)
	ids := []string{enroll(t, off, "Ada")["id"].(string), enroll(t, off, "Grace")["id"].(string)}
	earnPoints(t, off, ids[0], 10)
	for _, id := range ids {
		states, err := off.Store.SyncStates(context.Background(), id)
		if err != nil || len(states) != 1 || states[0].Channel != loyalty.ChannelApple {
			t.Fatalf("sync states with Google off = %+v, %v, want Apple's alone", states, err)
		}
	}
	_, metrics := call(t, "GET", off.url+"/metrics", nil)
	if strings.Contains(string(metrics), `channel="google"`) || !strings.Contains(string(metrics), `passd_sync_dirty_cards{channel="apple"}`) {
		t.Errorf("metrics with Google off hold Google series, or no Apple ones:\n%s", metrics)
	}
	off.stop()

	fake := wallettest.New(t)
	on := startWithGoogleEnv(t, fake, map[string]string{"PASSD_DATA_DIR": dir})
	for _, id := range ids {
		objectID := wallettest.IssuerID + "." + id
		waitFor(t, func() bool { return fake.Object(objectID) != nil })
	}
	if bal, ok := balanceAt(fake, wallettest.IssuerID+"."+ids[0]); !ok || bal != 10 {
		t.Errorf("Ada's Google balance = %v, %v, want 10", bal, ok)
	}
	for _, id := range ids {
		settledOn(t, on, id, loyalty.ChannelGoogle)
	}
}

// settledOn waits until the member's card on channel is delivered.
func settledOn(t *testing.T, s *started, id, channel string) {
	t.Helper()
	waitFor(t, func() bool {
		states, err := s.Store.SyncStates(context.Background(), id)
		if err != nil {
			return false
		}
		for _, st := range states {
			if st.Channel == channel {
				return st.State == loyalty.SyncOK && st.SyncedVersion == st.WantedVersion
			}
		}
		return false
	})
}
